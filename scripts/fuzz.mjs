#!/usr/bin/env node
// `npm run fuzz`: runs every cargo-fuzz target in fuzz/ for a bounded time and reports.
//
//   npm run fuzz                       every target, 60 s each
//   FUZZ_SECONDS=300 npm run fuzz      longer
//   npm run fuzz -- rfc3339 qr_options only these targets
//   FUZZ_SANITIZER=none npm run fuzz   without AddressSanitizer (see below)
//   FUZZ_KEEP_GOING=1 npm run fuzz     fork mode: record crashes and keep fuzzing until time is up
//                                      (for targets with a known, not yet fixed crash)
//
// Stable Rust: cargo-fuzz passes nightly-only flags to rustc (`-Zsanitizer=address`, and the
// `-Z` options of the SanitizerCoverage instrumentation). This machine has only a stable
// toolchain, so the script sets RUSTC_BOOTSTRAP=1, which lets a stable rustc accept them (the
// same compiler source as nightly; the flag is meant for building the compiler itself and is
// fine for a dev-only tool run, never for shipped code). AddressSanitizer works on stable
// x86_64 Linux (its runtime ships with the standard library). If the ASan build still fails
// (another platform, a toolchain without the runtime), the script retries with
// `--sanitizer none`: libFuzzer and its coverage stay, only memory-error detection goes, which
// matters little for a crate without `unsafe` in its domain code (panics, overflows and
// failed assertions are still caught: fuzz builds keep debug assertions and overflow checks).
//
// Seeds (realistic inputs) are written into fuzz/corpus/<target>/ at every run; the corpus,
// the crash artifacts (fuzz/artifacts/<target>/) and fuzz/target are not committed. The exit
// status is non-zero when any target crashed, with the artifact to reproduce it.

import { spawn, spawnSync } from "node:child_process";
import {
  createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const CARGO_FUZZ_VERSION = "0.13.2";
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const FUZZ = join(ROOT, "fuzz");
const LOGS = join(FUZZ, "target", "fuzz-logs");

const seconds = Number.parseInt(process.env.FUZZ_SECONDS ?? "60", 10);
if (!Number.isFinite(seconds) || seconds < 1) {
  console.error(`FUZZ_SECONDS must be a positive whole number (got ${process.env.FUZZ_SECONDS})`);
  process.exit(2);
}
let sanitizer = process.env.FUZZ_SANITIZER ?? "address";
if (!["address", "none"].includes(sanitizer)) {
  console.error(`FUZZ_SANITIZER must be address or none (got ${sanitizer})`);
  process.exit(2);
}
const env = { ...process.env, RUSTC_BOOTSTRAP: "1" };

// Per target: extra libFuzzer options (dictionary, input size).
const TARGETS = {
  validate_link: ["-max_len=16384", `-dict=${join(FUZZ, "dicts", "validate_link.dict")}`],
  validate_link_structured: ["-max_len=16384"],
  record_decoder: ["-max_len=8192", `-dict=${join(FUZZ, "dicts", "record_decoder.dict")}`],
  qr_options: ["-max_len=512"],
  client_classify: ["-max_len=4096"],
  rfc3339: ["-max_len=64", `-dict=${join(FUZZ, "dicts", "rfc3339.dict")}`],
};

const wanted = process.argv.slice(2);
for (const t of wanted) {
  if (!(t in TARGETS)) {
    console.error(`unknown target ${t}; targets: ${Object.keys(TARGETS).join(", ")}`);
    process.exit(2);
  }
}
const targets = wanted.length ? wanted : Object.keys(TARGETS);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, env, stdio: "inherit", ...opts });
  return r.status ?? 1;
}

// --- cargo-fuzz, pinned -------------------------------------------------------------------
function cargoFuzzVersion() {
  const r = spawnSync("cargo", ["fuzz", "--version"], { cwd: ROOT, env, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim().split(/\s+/).pop() : null;
}
const have = cargoFuzzVersion();
if (have !== CARGO_FUZZ_VERSION) {
  console.log(
    `cargo-fuzz ${have ? have + " found, want" : "missing, installing"} ${CARGO_FUZZ_VERSION}`,
  );
  const code = run("cargo", [
    "install", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION, "--locked", "--force",
  ]);
  if (code !== 0 || cargoFuzzVersion() !== CARGO_FUZZ_VERSION) {
    console.error("could not install cargo-fuzz");
    process.exit(1);
  }
}
console.log(`cargo-fuzz ${CARGO_FUZZ_VERSION}, RUSTC_BOOTSTRAP=1 (stable toolchain), ${seconds} s per target`);

// --- seeds --------------------------------------------------------------------------------
const json = (v) => JSON.stringify(v);
const link = (extra) => ({ projectId: "prj_01HZX3K5", name: "Summer grilling", ...extra });
const SEEDS = {
  validate_link: {
    walmart_cart: json(link({
      retailer: "walmart", intent: "add_to_cart",
      products: [{ retailerProductId: "945193065", quantity: 2, backupProductIds: ["660768275", 123] }, { retailerProductId: "660768274" }],
      location: { storeId: "5678", zipCode: "94107" },
      tracking: { utm: { source: "instagram", campaign: "summer sale & more" }, tags: ["grilling", "q3"], params: { ref: "bio" } },
      options: { startsAt: "2026-05-20T07:19:00Z", expiresAt: "2026-06-01T00:00:00.250+02:00", maxClicks: 1000, forwardQuery: true },
      metadata: { campaign: "s1", tags: ["a", 1, null] },
      defaultQrCode: { name: "Poster", metadata: { wall: 2 }, style: { size: 512, margin: 4, ec: "M", fg: "#1a237e", bg: "#ffffff" } },
    })),
    walmart_offers: json(link({ retailer: "walmart", intent: "add_to_cart", products: [{ offerId: "A1B2C3D4E5", quantity: 3 }] })),
    walmart_pdp: json(link({ retailer: "walmart", intent: "product_detail", products: [{ retailerProductId: 945193065 }] })),
    walmart_custom: json(link({
      retailer: "walmart", intent: "custom_url", customUrl: "https://example.com/promo", products: [{ retailerProductId: "1" }],
    })),
    target_pdp: json(link({ retailer: "target", intent: "product_detail", products: [{ retailerProductId: "12345678" }] })),
    target_cart: json(link({
      retailer: "target", intent: "add_to_cart", products: [{ retailerProductId: "1" }, { retailerProductId: "2" }],
      fallbackUrl: "https://www.target.com/c/grilling",
    })),
    instacart_list: json(link({
      retailer: "instacart", intent: "shopping_list", publicName: "Weeknight tacos",
      options: {
        instacart: {
          shoppingList: {
            title: "Tacos", imageUrl: "https://example.com/t.jpg", instructions: ["Warm the tortillas"],
            lineItems: [
              { name: "tortillas", quantity: 2, unit: "package", brandFilters: ["Mission"] },
              { name: "milk", measurements: [{ quantity: 0.5, unit: "Gallon" }, { quantity: 2, unit: "l" }], healthFilters: ["organic"] },
              { name: "butter", upcs: ["012345678905"], displayText: "Kerrygold butter" },
              { name: "eggs", productIds: [123, 456] },
            ],
          },
          expiresInDays: 30, partnerLinkbackUrl: "https://example.com/back", retailerKey: "safeway",
        },
      },
    })),
    instacart_recipe: json(link({
      retailer: "instacart", intent: "recipe",
      options: {
        instacart: {
          recipe: {
            servings: 4, cookingTime: 30, author: "Ann", instructions: ["Mix", "Bake"], imageUrl: "https://example.com/i.jpg",
            ingredients: [{ name: "flour", quantity: 2, unit: "cups" }],
          },
          enablePantryItems: true,
        },
      },
    })),
    custom: json(link({
      retailer: "custom", intent: "custom_url", customUrl: "https://example.com/sale?x=1#top",
      tracking: { utm: { source: "newsletter", medium: "email", term: "t", content: "c" }, params: { "a[]": 1, "b.c": true } },
    })),
    invalid: json({ projectId: "", retailer: "walmart", intent: "recipe", products: [{ id: "x", quantity: 0 }], utm_source: "ig" }),
    rules: json(link({
      retailer: "target", intent: "add_to_cart", customUrl: "https://example.com/",
      products: [{ retailerProductId: "1", backupProductIds: ["1"] }, { retailerProductId: 1 }, { offerId: "A1" }],
      tracking: { utm: { source: "a" }, params: { utm_source: "b" } },
    })),
    not_object: "[1,2,3]",
  },
  record_decoder: {
    walmart: '{"d":"https://www.walmart.com/sc/cart/addToCart?items=1_2&utm_source=ig","l":"lnk_X","c":[["1","qr_A"],["2","qr_B"]],"w":true}\0qr=1&coupon=SAVE10&utm_medium=social\u00001779261540000',
    scheduled: '{"d":"https://x.com/p#frag","f":"https://x.com/fallback","l":"lnk_01J","s":1779261540000,"e":1780000000000,"m":100,"x":false,"w":true,"c":[["q1","qr_01J"]]}\0a=1&qr=q1&qr=q2\0' + "1779261540000",
    disabled: '{"d":"https://www.target.com/p/-/A-12345678?","l":"lnk_Y","x":true}\0qr=7',
    minimal: '{"d":"https://example.com","l":"l"}',
  },
  qr_options: {
    all: "\x1f\x00512\n4\nM\n#1a237e\n#ffffff\n1",
    some: "\x05\x01256\n\nH\n\n\nqr_marker",
    colours: "\x18\x04\n\n\n#000\n#FFF\n2",
    svg: "\x3f\x01128\n0\nq\n#1A237E\n#fafafa\nposter",
    bad: "\x1f\x0299999\n-1\nX\nred\n#12345g\n3",
    none: "\x00\x00",
  },
  client_classify: {
    iphone_instagram: "\x00https://l.instagram.com/?u=x\nMozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 327.0.0.0.0",
    android_chrome: "\x01android-app://com.google.android.gm/\nMozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    googlebot: "\x02https://www.google.com/\nMozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    whatsapp: "\x00\nWhatsApp/2.23.20.0 A",
    okhttp: "\x01https://t.co/abc\nokhttp/4.12.0",
    desktop: "\x00https://EXAMPLE.com:8080/p\nMozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 Edg/124.0",
  },
  rfc3339: {
    utc: "2026-05-20T07:19:00Z",
    offset: "2026-05-20T09:19:00.250+02:00",
    negative: "2026-05-20T02:19:00-05:00",
    leap_day: "2000-02-29T00:00:00Z",
    leap_second: "2016-12-31T23:59:60Z",
    epoch: "1970-01-01T00:00:00Z",
    lower: "2026-05-20t07:19:00.123456789z",
  },
  // Structured (arbitrary-based) target: its bytes are not JSON; a few byte patterns only.
  validate_link_structured: {
    zeros: Buffer.alloc(64, 0),
    ones: Buffer.alloc(256, 1),
    ramp: Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) & 0xff)),
  },
};

for (const t of targets) {
  const dir = join(FUZZ, "corpus", t);
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(SEEDS[t] ?? {})) {
    writeFileSync(join(dir, `seed-${name}`), content);
  }
}
mkdirSync(LOGS, { recursive: true });

// --- build --------------------------------------------------------------------------------
const buildArgs = (san) => ["fuzz", "build", "--sanitizer", san];
console.log(`building fuzz targets (sanitizer: ${sanitizer})…`);
if (run("cargo", buildArgs(sanitizer)) !== 0) {
  if (sanitizer === "none") process.exit(1);
  console.warn("\nbuild with AddressSanitizer failed; retrying with --sanitizer none");
  sanitizer = "none";
  if (run("cargo", buildArgs(sanitizer)) !== 0) process.exit(1);
}

// --- run ----------------------------------------------------------------------------------
// FUZZ_KEEP_GOING=1: libFuzzer's fork mode, which records a crash and carries on, so a target
// with a known (not yet fixed) crash still gets its whole time budget.
const keepGoing = process.env.FUZZ_KEEP_GOING === "1";

function newArtifacts(target, since) {
  const dir = join(FUZZ, "artifacts", target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^(crash|timeout|oom|leak)-/.test(f))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).mtimeMs >= since);
}

function fuzzOne(target) {
  return new Promise((done) => {
    const logPath = join(LOGS, `${target}.log`);
    const log = createWriteStream(logPath);
    const started = Date.now() - 1000;
    const args = [
      "fuzz", "run", "--sanitizer", sanitizer, target, "--",
      `-max_total_time=${seconds}`, "-print_final_stats=1", "-timeout=10", "-rss_limit_mb=2048",
      ...(keepGoing ? ["-fork=1", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"] : []),
      ...TARGETS[target],
    ];
    const child = spawn("cargo", args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    let firstCrash = null; // the output from the first crash report on (at most 20 kB)
    const onData = (chunk) => {
      log.write(chunk);
      const text = chunk.toString();
      tail = (tail + text).slice(-200_000);
      if (firstCrash === null) {
        const i = tail.search(/thread .* panicked at|==\d+==ERROR: AddressSanitizer|ERROR: libFuzzer: (timeout|out-of-memory)/);
        if (i >= 0) firstCrash = tail.slice(i);
      } else if (firstCrash.length < 20_000) {
        firstCrash += text;
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    // Safety net over libFuzzer's own -max_total_time (a hang in a single input is caught by
    // -timeout): the build is done already, so this is generous.
    const guard = setTimeout(() => child.kill("SIGKILL"), (seconds * 2 + 300) * 1000);
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      log.end();
      const last = (re) => [...tail.matchAll(re)].pop()?.[1] ?? "?";
      const execs = tail.match(/stat::number_of_executed_units:\s*(\d+)/)?.[1] ?? last(/^#(\d+):?\s/gm);
      const execPerSec = tail.match(/stat::average_exec_per_sec:\s*(\d+)/)?.[1] ?? last(/exec\/s: (\d+)/g);
      const artifacts = newArtifacts(target, started);
      const ok = artifacts.length === 0 && (code === 0 || keepGoing);
      done({
        target, code, signal, ok, execs, execPerSec, logPath, firstCrash, artifacts,
        cov: last(/\bcov: (\d+)/g), corpus: last(/\bcorp: (\d+)/g),
      });
    });
  });
}

/** The panic message (or sanitizer report) and the stack frames in this repository. */
function crashExcerpt(text) {
  if (!text) return "(no panic message captured; see the log)";
  const ours = (l) => l.includes(ROOT) || /\bat \.\/(src|fuzz)\//.test(l);
  const out = [];
  let frame = null; // a numbered Rust backtrace frame, kept when its location is ours
  for (const line of text.split("\n")) {
    if (/^\s*\d+: /.test(line)) {
      frame = line;
    } else if (/^\s*at /.test(line)) {
      if (ours(line)) out.push(...(frame ? [frame] : []), line);
      frame = null;
    } else if (/^\s+#\d+ 0x/.test(line)) {
      if (ours(line)) out.push(line);
    } else if (!/^note: Some details are omitted/.test(line)) {
      out.push(line);
    }
    if (/ERROR: libFuzzer: deadly signal|SUMMARY: /.test(line) || out.length > 40) break;
  }
  return out.join("\n");
}

/** Replays a crash input on the built target: its panic message and our frames. */
function replay(target, artifact) {
  const bin = join(FUZZ, "target", "x86_64-unknown-linux-gnu", "release", target);
  if (!existsSync(bin)) return null;
  const r = spawnSync(bin, [artifact], {
    cwd: ROOT, env: { ...env, RUST_BACKTRACE: "1" }, encoding: "utf8", timeout: 60_000,
  });
  const text = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  const i = text.search(/thread .* panicked at|==\d+==ERROR: AddressSanitizer|ERROR: libFuzzer: (timeout|out-of-memory)/);
  return i >= 0 ? crashExcerpt(text.slice(i)) : null;
}

const results = [];
for (const t of targets) {
  process.stdout.write(`fuzzing ${t} for ${seconds} s… `);
  const r = await fuzzOne(t);
  console.log(r.ok ? `ok (${r.execs} execs)` : `CRASH (exit ${r.code ?? r.signal}, ${r.artifacts.length} artifact(s))`);
  r.reports = r.artifacts.map((a) => replay(t, a));
  if (!r.ok) console.log(crashExcerpt(r.firstCrash ?? r.reports.find(Boolean)).replace(/^/gm, "  | "));
  results.push(r);
}

// --- summary ------------------------------------------------------------------------------
console.log(`\nfuzz summary (cargo-fuzz ${CARGO_FUZZ_VERSION}, sanitizer ${sanitizer}, ${seconds} s per target${keepGoing ? ", fork mode" : ""})`);
const pad = (s, n) => String(s).padEnd(n);
console.log(pad("target", 26) + pad("result", 8) + pad("execs", 12) + pad("exec/s", 9) + pad("cov", 7) + "corpus");
for (const r of results) {
  console.log(
    pad(r.target, 26) + pad(r.ok ? "ok" : "CRASH", 8) + pad(r.execs, 12) + pad(r.execPerSec, 9) +
      pad(r.cov, 7) + r.corpus,
  );
}
const utf8 = new TextDecoder("utf-8", { fatal: true });
const show = (bytes) => {
  try {
    return JSON.stringify(utf8.decode(bytes));
  } catch {
    return `hex ${bytes.toString("hex")}`;
  }
};
const crashed = results.filter((r) => !r.ok);
for (const r of crashed) {
  console.log(`\n${r.target}: ${r.artifacts.length ? "crash input(s):" : "failed without an artifact"} (log ${relative(ROOT, r.logPath)})`);
  for (const [i, a] of r.artifacts.entries()) {
    const rel = relative(ROOT, a);
    const bytes = readFileSync(a);
    console.log(`  ${rel} (${bytes.length} bytes): ${show(bytes)}`);
    const what = r.reports[i]?.split("\n").filter((l) => l.trim()).slice(0, 2).join(" / ");
    if (what) console.log(`    ${what}`);
    console.log(`    reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer ${sanitizer} ${r.target} ${rel}`);
    console.log(`    minimise:  RUSTC_BOOTSTRAP=1 cargo fuzz tmin --sanitizer ${sanitizer} ${r.target} ${rel}`);
  }
}
process.exit(crashed.length ? 1 : 0);
