// What the benchmark scripts (bench/run.mjs, bench/instructions.mjs) share about the workers
// they run: snapshots of the built worker and of the baseline, and finding, inside a
// `wrangler dev`, the runtime process and the worker's own socket behind wrangler's dev proxy.
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../scripts/lib.mjs';

export const BENCH = join(ROOT, 'bench');
export const BUILD = join(ROOT, 'build');

/**
 * A snapshot of a build (so that rebuilds by anyone else during a run change nothing) with
 * the project's wrangler.toml, minus its [build] step. Answers the config's path.
 */
export function snapshotWorker(dir, from = BUILD) {
  mkdirSync(dir, { recursive: true });
  // The whole output (index.js imports its siblings), without the build's staging directory.
  cpSync(from, dir, { recursive: true, filter: (src) => !relative(from, src).startsWith('.stage') });
  const text = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  const out = [];
  let inBuild = false;
  let mains = 0;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (/^\[\[?[^\]]+\]\]?$/.test(t)) inBuild = t === '[build]';
    if (inBuild) continue;
    if (/^main\s*=/.test(t)) {
      mains++;
      out.push('main = "index.js"');
    } else out.push(line);
  }
  if (mains !== 1) throw new Error('wrangler.toml: expected one top-level `main`');
  writeFileSync(join(dir, 'wrangler.toml'), out.join('\n'));
  return join(dir, 'wrangler.toml');
}

/** A copy of the plain-JavaScript baseline (bench/baseline/). Answers the config's path. */
export function snapshotBaseline(dir) {
  mkdirSync(dir, { recursive: true });
  for (const f of ['index.js', 'wrangler.toml']) copyFileSync(join(BENCH, 'baseline', f), join(dir, f));
  return join(dir, 'wrangler.toml');
}

/** Descendant pids of a process (Linux /proc). */
export function descendants(pid) {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(d), ppid);
    } catch { /* exited */ }
  }
  const out = [];
  const walk = (p) => {
    for (const [c, pp] of parent) if (pp === p) { out.push(c); walk(c); }
  };
  walk(pid);
  return out;
}

/** 127.0.0.1 ports a process listens on (Linux /proc). */
export function listeningPorts(pid) {
  const inodes = new Set();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
        if (m) inodes.add(m[1]);
      } catch { /* closed */ }
    }
  } catch { return []; }
  const ports = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9])) continue;
    const [addr, port] = f[1].split(':');
    if (addr === '0100007F') ports.push(parseInt(port, 16));
  }
  return ports;
}

/**
 * The worker's own socket inside wrangler dev, behind wrangler's dev proxy (a second workerd
 * that forwards every request): found by asking each loopback port of the runtime's
 * processes for `path` and keeping the one that answers like the proxied URL does.
 * Answers `{ url, pid }` (pid: the runtime process that owns the socket), or null.
 */
export async function directSocket(w, path, expectStatus, expectLocation, timeoutMs = 2000) {
  const front = Number(new URL(w.url).port);
  for (const pid of descendants(w.proc.pid)) {
    let cmd = '';
    try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; }
    if (!cmd.includes('workerd')) continue;
    for (const port of listeningPorts(pid)) {
      if (port === front) continue;
      try {
        const r = await fetch(`http://127.0.0.1:${port}${path}`, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
        await r.arrayBuffer();
        if (r.status === expectStatus && r.headers.get('location') === expectLocation) return { url: `http://127.0.0.1:${port}`, pid };
      } catch { /* not HTTP */ }
    }
  }
  return null;
}
