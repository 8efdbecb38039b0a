// Which crates the Wasm bundle's code comes from: sums function body sizes by the crate that
// names each function, from the `name` section of the module cargo built (before wasm-bindgen
// and wasm-opt, which drop the names; the shipped module is smaller, the proportions similar).
//
//   node bench/wasm-weight.mjs [target/wasm32-unknown-unknown/release/in2carts_edge.wasm] [--top N]
//
// Prints a markdown table: crate, code bytes, share, functions; then the N largest functions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../scripts/lib.mjs';

const args = process.argv.slice(2);
const topIdx = args.indexOf('--top');
const top = topIdx >= 0 ? Number(args.splice(topIdx, 2)[1]) : 15;
const file = args[0] ?? join(ROOT, 'target', 'wasm32-unknown-unknown', 'release', 'in2carts_edge.wasm');
const b = readFileSync(file);
if (b.readUInt32LE(0) !== 0x6d736100) throw new Error(`${file}: not a Wasm module`);

let o = 8;
const leb = () => {
  let r = 0;
  let shift = 0;
  let x;
  do {
    x = b[o++];
    r += (x & 0x7f) * 2 ** shift;
    shift += 7;
  } while (x & 0x80);
  return r;
};
const str = () => {
  const n = leb();
  const s = b.toString('utf8', o, o + n);
  o += n;
  return s;
};

let importedFuncs = 0;
const bodies = []; // sizes, by defined-function index
const names = new Map();
const sections = [];
while (o < b.length) {
  const id = b[o++];
  const len = leb();
  const start = o;
  const end = start + len;
  let name = '';
  if (id === 0) name = str();
  sections.push({ id, name, len });
  if (id === 2) { // imports: count functions
    for (let n = leb(); n > 0; n--) {
      str(); str();
      const kind = b[o++];
      if (kind === 0) { leb(); importedFuncs++; }
      else if (kind === 1) { o++; const f = leb(); leb(); if (f & 1) leb(); }
      else if (kind === 2) { const f = leb(); leb(); if (f & 1) leb(); }
      else if (kind === 3) { o += 2; }
      else if (kind === 4) { o++; leb(); }
      else throw new Error(`import kind ${kind}`);
    }
  } else if (id === 10) {
    for (let n = leb(); n > 0; n--) {
      const size = leb();
      bodies.push(size);
      o += size;
    }
  } else if (id === 0 && name === 'name') {
    while (o < end) {
      const sub = b[o++];
      const sublen = leb();
      const subEnd = o + sublen;
      if (sub === 1) {
        for (let n = leb(); n > 0; n--) {
          const idx = leb();
          names.set(idx, str());
        }
      }
      o = subEnd;
    }
  }
  o = end;
}
if (names.size === 0) throw new Error(`${file} has no function names (build it with cargo first)`);

const LEGACY_ESCAPES = [['$LT$', '<'], ['$GT$', '>'], ['$RF$', '&'], ['$BP$', '*'], ['$C$', ','], ['$SP$', '@'],
  ['$u20$', ' '], ['$u27$', "'"], ['$u5b$', '['], ['$u5d$', ']'], ['$u7b$', '{'], ['$u7d$', '}'], ['$u7e$', '~'], ['..', '::']];

/** Rust legacy (`_ZN…E`) symbol → `a::b::c` (hash dropped); other names unchanged. */
function demangle(sym) {
  if (!sym.startsWith('_ZN')) return sym;
  const parts = [];
  let i = 3;
  while (i < sym.length && sym[i] !== 'E') {
    const m = sym.slice(i).match(/^(\d+)/);
    if (!m) break;
    i += m[1].length;
    let part = sym.slice(i, i + Number(m[1]));
    i += Number(m[1]);
    if (/^h[0-9a-f]{16}$/.test(part)) continue;
    if (part.startsWith('_$')) part = part.slice(1);
    for (const [from, to] of LEGACY_ESCAPES) part = part.split(from).join(to);
    parts.push(part);
  }
  return parts.join('::');
}

/** The crate a function belongs to: the first path's crate (for `<T as Trait>`, T's). */
function crateOf(sym) {
  if (sym.startsWith('_R')) { // v0 mangling: the first crate root `C[s<disambiguator>_]<len><ident>`
    const m = sym.match(/C(?:s[0-9A-Za-z]*_)?(\d+)/);
    const crate = m ? sym.substr(m.index + m[0].length, Number(m[1])) : '';
    if (/^[A-Za-z_]\w*$/.test(crate) && !crate.startsWith('__')) return crate;
  }
  let s = demangle(sym);
  while (/^[<&(\[*\s]/.test(s) || /^(mut|dyn|const)\s/.test(s)) s = s.replace(/^[<&(\[*\s]+|^(mut|dyn|const)\s+/, '');
  if (/^__wbindgen|^__wbg|^__externref/.test(s)) return 'wasm_bindgen (generated)';
  const m = s.match(/^([A-Za-z_]\w*)::/);
  if (m) return m[1];
  return '(unnamed / compiler)';
}

const byCrate = new Map();
let total = 0;
const fns = bodies.map((size, i) => {
  const name = names.get(importedFuncs + i) ?? `func${importedFuncs + i}`;
  const crate = crateOf(name);
  const c = byCrate.get(crate) ?? { bytes: 0, n: 0 };
  c.bytes += size;
  c.n += 1;
  byCrate.set(crate, c);
  total += size;
  return { name, size };
});

const data = sections.find((s) => s.id === 11)?.len ?? 0;
console.log(`${file}: ${b.length} B; code ${total} B in ${bodies.length} functions; data ${data} B\n`);
console.log('| crate | code bytes | share | functions |\n|---|---:|---:|---:|');
for (const [crate, c] of [...byCrate].sort((x, y) => y[1].bytes - x[1].bytes)) {
  console.log(`| ${crate} | ${c.bytes} | ${((100 * c.bytes) / total).toFixed(1)}% | ${c.n} |`);
}
console.log(`\nLargest ${top} functions:\n\n| bytes | function |\n|---:|---|`);
for (const f of fns.sort((x, y) => y.size - x.size).slice(0, top)) {
  console.log(`| ${f.size} | \`${demangle(f.name).slice(0, 140).replace(/\|/g, '\\|')}\` |`);
}
