// QR decode robustness: the PNG layout served now (the code and its quiet zone fill the image)
// against the previous one (whole pixels per module, the leftover as extra border), under the
// same fixed, seeded degradations, decoded with zbar (zbarimg, a decoder nobody here wrote).
//
// Every EC level at 128, 256 and 512 px, margin 4, each image with its own short-link-like URL
// (the same URL for both layouts). The PNGs come from the crate itself (examples/qr_layouts.rs),
// the degradations from Pillow (tests/qr_degrade.py, in .venv-test/), so both layouts are
// measured in one run. tests/qr-robustness.test.mjs runs this as part of `npm test`;
// `npm run bench:qr` also writes the table into bench/RESULTS.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../scripts/lib.mjs';

export const EC_LEVELS = ['L', 'M', 'Q', 'H'];
export const SIZES = [128, 256, 512];
export const MARGIN = 4;
/** Degradations (tests/qr_degrade.py), each drawn SEEDS times with its own seeded parameters. */
export const KINDS = ['down50', 'down33', 'blur', 'rotate', 'keystone', 'jpeg', 'noise'];
export const SEEDS = 4;
/**
 * Measured and reported, but not in the comparison: an exact, pixel-aligned 2 × 2 average (a
 * software thumbnail) favours whole-pixel modules in a way no camera's pixel grid does.
 */
export const ALIGNED_KINDS = ['half'];
export const LAYOUTS = {
  fixed: 'previous (whole pixels per module, leftover as border)',
  fill: 'current (fills the size)',
};
const SHORT_ID_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ';

/** A small seeded PRNG (mulberry32): the same URLs every run. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Two shapes of encoded URL, by turns: a production-like host (33 characters) and the local one
 * (34), whose codes differ in size at some EC levels (33 or 37 modules at H).
 */
const BASES = ['https://in2carts.com', 'http://127.0.0.1:8787'];

/** The images to make: one per EC level, size, degradation and seed (plus one undegraded). */
export function cases() {
  const seen = new Set();
  // The aligned degradations draw their URLs apart, so adding one never changes the others'.
  const rands = { main: prng(20261204), aligned: prng(4122026) };
  const url = (rand, seed) => {
    let id;
    do {
      id = Array.from({ length: 7 }, () => SHORT_ID_ALPHABET[Math.floor(rand() * SHORT_ID_ALPHABET.length)]).join('');
    } while (seen.has(id));
    seen.add(id);
    return `${BASES[seed % BASES.length]}/${id}?qr=1`;
  };
  const out = [];
  for (const ec of EC_LEVELS) {
    for (const size of SIZES) {
      for (const kind of ['none', ...KINDS, ...ALIGNED_KINDS]) {
        const rand = ALIGNED_KINDS.includes(kind) ? rands.aligned : rands.main;
        for (let seed = 0; seed < (kind === 'none' ? 1 : SEEDS); seed++) {
          out.push({ ec, size, kind, seed, data: url(rand, seed), name: `${ec}-${size}-${kind}-${seed}` });
        }
      }
    }
  }
  return out;
}

function python() {
  const p = join(ROOT, '.venv-test', 'bin', 'python');
  if (!existsSync(p)) throw new Error('.venv-test is missing: run `node scripts/setup.mjs --test`');
  return p;
}

/** Decodes every file with one zbarimg process; returns the set of decoded texts. */
function zbar(files) {
  const r = spawnSync('zbarimg', ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', ...files], {
    encoding: 'utf8', maxBuffer: 16 << 20,
  });
  if (r.error) throw r.error;
  // 0: every image had a code; 4: some had none. Anything else is zbarimg failing.
  if (r.status !== 0 && r.status !== 4) throw new Error(`zbarimg exited ${r.status}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/**
 * Renders, degrades and decodes every case with both layouts. Returns
 * { cases: [{ ...case, decoded: { fixed, fill } }], misread: { fixed, fill } } where `misread`
 * counts decoded texts that belong to no image (a decoder error, expected to be 0).
 */
export function measure({ keep = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'qr-robustness-'));
  try {
    const all = cases();
    const lines = [];
    for (const layout of Object.keys(LAYOUTS)) {
      for (const c of all) lines.push(`${layout} ${c.ec} ${c.size} ${MARGIN} ${join(dir, `${layout}-${c.name}.png`)} ${c.data}`);
    }
    execFileSync('cargo', ['run', '--quiet', '--locked', '--example', 'qr_layouts'], {
      cwd: ROOT, input: lines.join('\n') + '\n', stdio: ['pipe', 'inherit', 'inherit'],
    });
    const jobs = [];
    for (const layout of Object.keys(LAYOUTS)) {
      for (const c of all) {
        const ext = c.kind === 'jpeg' ? 'jpg' : 'png';
        c.file ??= {};
        c.file[layout] = join(dir, `${layout}-${c.name}-out.${ext}`);
        jobs.push({ in: join(dir, `${layout}-${c.name}.png`), out: c.file[layout], kind: c.kind, seed: `${c.name}` });
      }
    }
    execFileSync(python(), [join(ROOT, 'tests', 'qr_degrade.py')], {
      input: JSON.stringify(jobs), stdio: ['pipe', 'inherit', 'inherit'],
    });
    const misread = {};
    for (const layout of Object.keys(LAYOUTS)) {
      const texts = zbar(all.map((c) => c.file[layout]));
      const found = new Set(texts);
      const expected = new Set(all.map((c) => c.data));
      misread[layout] = texts.filter((t) => !expected.has(t)).length;
      for (const c of all) {
        c.decoded ??= {};
        c.decoded[layout] = found.has(c.data);
      }
    }
    if (keep) console.error(`[qr-robustness] images kept in ${dir}`);
    return { cases: all, misread };
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** Decoded counts of the degraded images (the undegraded control is counted apart). */
export function tally(result) {
  const count = (filter) => {
    const cs = result.cases.filter(filter);
    const n = (layout) => cs.filter((c) => c.decoded[layout]).length;
    return { total: cs.length, fixed: n('fixed'), fill: n('fill') };
  };
  const degraded = (c) => KINDS.includes(c.kind);
  return {
    control: count((c) => c.kind === 'none'),
    bySize: SIZES.map((size) => ({ size, ...count((c) => degraded(c) && c.size === size) })),
    byKind: KINDS.map((kind) => ({ kind, ...count((c) => c.kind === kind) })),
    byEc: EC_LEVELS.map((ec) => ({ ec, ...count((c) => degraded(c) && c.ec === ec) })),
    aligned: SIZES.flatMap((size) => EC_LEVELS.map((ec) => ({
      size, ec, ...count((c) => ALIGNED_KINDS.includes(c.kind) && c.size === size && c.ec === ec),
    }))),
    overall: count(degraded),
    misread: result.misread,
  };
}

/** A Criterion median (benches/qr.rs) with the time it was measured, if `cargo bench` ran here. */
function criterion(id) {
  const p = join(ROOT, 'target', 'criterion', id, 'new', 'estimates.json');
  if (!existsSync(p)) return null;
  const ns = JSON.parse(readFileSync(p, 'utf8')).median.point_estimate;
  return { ns, at: statSync(p).mtime.toISOString().slice(0, 16) + 'Z' };
}

const pct = (n, total) => `${n}/${total} (${((100 * n) / total).toFixed(1)} %)`;

/** The markdown section for bench/RESULTS.md. */
export function markdown(t, { date, commit, zbarVersion }) {
  const rows = (items, label) => items.map((r) => `| ${label(r)} | ${pct(r.fixed, r.total)} | ${pct(r.fill, r.total)} |`).join('\n');
  return `## QR decode robustness

\`npm run bench:qr\` (also run by \`npm test\`: tests/qr-robustness.test.mjs). Each EC level (L, M, Q,
H) at 128, 256 and 512 px with margin 4, every image with its own short-link URL (33 or 34 characters,
by turns; the same for both layouts); ${KINDS.length} degradations drawn ${SEEDS} times each with seeded
parameters (tests/qr_degrade.py, Pillow): area downscale to 50 % and 33 % at a random sub-pixel
offset, Gaussian blur (radius 1.0–1.6 px), rotation (3–12°), keystone (an edge 8–16 % narrower),
JPEG (quality 20–40), additive noise (sd ≈ 26 grey levels). Decoded with zbarimg${zbarVersion ? ` ${zbarVersion}` : ''};
a decode counts when the text is the image's own URL. Previous layout: whole pixels per module,
leftover as border; current: the code and its quiet zone fill the image (modules of one width when
the leftover fits in the quiet zone within a module, else one pixel wider here and there).

- Date: ${date}
- Commit: ${commit}
- Undegraded control: previous ${pct(t.control.fixed, t.control.total)}, current ${pct(t.control.fill, t.control.total)}; texts that were no image's URL: ${t.misread.fixed} and ${t.misread.fill}

| size | previous layout | current layout |
|---|---:|---:|
${rows(t.bySize, (r) => `${r.size} px`)}
| **all** | **${pct(t.overall.fixed, t.overall.total)}** | **${pct(t.overall.fill, t.overall.total)}** |

| degradation (all sizes) | previous layout | current layout |
|---|---:|---:|
${rows(t.byKind, (r) => r.kind)}

| EC level (all sizes) | previous layout | current layout |
|---|---:|---:|
${rows(t.byEc, (r) => r.ec)}

Not in the comparison above: the image at exactly half its size, each pixel the average of a
2 × 2 block aligned with it (a software thumbnail rather than a camera), ${SEEDS} URLs per row. Modules of one width
keep a uniform pitch there (1.5 px for 3 px modules); a mix of widths does not:

| size, EC level | previous layout | current layout |
|---|---:|---:|
${rows(t.aligned, (r) => `${r.size} px, ${r.ec}`)}
${speed()}`;
}

/** Render time of both layouts at 512 px, from the last `cargo bench --bench qr` here. */
function speed() {
  const [fill, fixed] = [criterion('png_512'), criterion('png_512_fixed_scale')];
  if (!fill || !fixed) return '\nRender time: not measured (`cargo bench --bench qr`).\n';
  const us = (c) => `${(c.ns / 1000).toFixed(1)} µs (${c.at})`;
  return `
Render time, 512 px PNG (\`cargo bench --bench qr -- --warm-up-time 1 --measurement-time 3 png\`, native,
median): current layout ${us(fill)}; previous layout ${us(fixed)}.
`;
}

/** Replaces (or appends) the section in RESULTS.md, leaving the rest as it is. */
export function writeSection(file, section) {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const start = old.indexOf('\n## QR decode robustness\n');
  let text;
  if (start < 0) {
    text = `${old.replace(/\n*$/, '')}\n\n${section}`;
  } else {
    const next = old.indexOf('\n## ', start + 1);
    text = `${old.slice(0, start)}\n${section}${next < 0 ? '' : old.slice(next)}`;
  }
  writeFileSync(file, text);
}

export function zbarVersion() {
  const r = spawnSync('zbarimg', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const t = tally(measure({ keep: process.env.QR_ROBUSTNESS_KEEP === '1' }));
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'examples', 'tests/qr_degrade.py', 'bench/qr-robustness.mjs', 'Cargo.toml', 'Cargo.lock'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const section = markdown(t, {
    date: new Date().toISOString().slice(0, 19) + 'Z',
    commit: dirty ? `${commit} plus uncommitted changes` : commit,
    zbarVersion: zbarVersion(),
  });
  console.log(section);
  writeSection(join(ROOT, 'bench', 'RESULTS.md'), section);
  console.error('[qr-robustness] wrote bench/RESULTS.md');
}
