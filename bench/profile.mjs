// Where the worker's CPU goes under load: V8's sampling profiler, through the DevTools
// inspector that `wrangler dev --inspector-port` exposes, attached to the worker's isolate for
// a few seconds while bench/run.mjs drives the redirect. Prints one JSON object: how much of
// the isolate's busy time (every sample that is not idle) went to click recording.
//
//   node bench/profile.mjs --inspector PORT [--seconds 8] [--interval 100]
//
// Run it against a build with names (`node scripts/build.mjs --names DIR`): the same machine
// code as the release build, with the Wasm name section and the JavaScript's identifiers kept,
// so a sample's stack says which function it is in.
//
// A sample counts as click recording when any frame of its stack is one of:
// - the step that queues a visit (`http::stats::record_click`) or the batch's JavaScript helpers
//   (`visit_fields`, `record_clicks`, `sleep`);
// - anything else of `http::stats`, `domain::stats` or `clicks` (the click shard), and the
//   shard's RPC method (`LinkClicks.record`);
// - a Rust future being polled (`js_sys::futures`): in the redirect-only load the only futures
//   are the batch task and the shard's `record` (the redirect's fast path awaits nothing in
//   Rust). The same attribution over the worker with recording off is the control: it must
//   find (next to) nothing.
// Garbage collection and time outside JavaScript and Wasm ("(program)") are counted in the
// busy time but attributed to nobody.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

// The WebSocket client of miniflare (a dependency of wrangler, pinned by package-lock.json):
// Node 20 has no WebSocket of its own that can send the `Origin` header the inspector requires.
const WebSocket = createRequire(import.meta.url)('ws');

const RECORDING = [
  /(^|::)record_click(::|$)/,
  /^(visit_fields|record_clicks|sleep)$/,
  /in2carts_edge::(http::stats|domain::stats|clicks)::/,
  /^js_sys::futures::/,
  /^linkclicks_/,
];

/** The recording share of a V8 CPU profile (`Profiler.stop`'s `profile`). */
export function attribute(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const isRecording = (frame) =>
    RECORDING.some((re) => re.test(frame.functionName)) ||
    (frame.functionName === 'record' && /index\.js$/.test(frame.url));
  // Whether a node's stack (it and its ancestors) holds a recording frame, memoised.
  const memo = new Map();
  const onStack = (id) => {
    if (id === undefined) return false;
    if (memo.has(id)) return memo.get(id);
    const v = isRecording(byId.get(id).callFrame) || onStack(parent.get(id));
    memo.set(id, v);
    return v;
  };
  const us = { idle: 0, program: 0, gc: 0, recording: 0, other: 0 };
  let samples = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const leaf = byId.get(id).callFrame.functionName;
    const kind = leaf === '(idle)' ? 'idle'
      : leaf === '(program)' ? 'program'
        : leaf === '(garbage collector)' ? 'gc'
          : onStack(id) ? 'recording' : 'other';
    us[kind] += dt;
    if (kind !== 'idle') samples++;
  });
  const busy = us.program + us.gc + us.recording + us.other;
  return {
    samples,
    busyMs: busy / 1000,
    idleMs: us.idle / 1000,
    recordingMs: us.recording / 1000,
    share: busy > 0 ? us.recording / busy : NaN,
    gcShare: busy > 0 ? us.gc / busy : NaN,
    programShare: busy > 0 ? us.program / busy : NaN,
  };
}

/** Profiles the worker behind a `wrangler dev --inspector-port` for `seconds`. */
export async function profileWorker(port, seconds, intervalUs = 100) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  // wrangler's inspector proxy lists the worker itself (and, in some versions, its own proxy).
  const target = targets.find((t) => !/proxy/i.test(t.title ?? '')) ?? targets[0];
  if (!target?.webSocketDebuggerUrl) throw new Error(`no inspector target on :${port}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl, { origin: `http://127.0.0.1:${port}` });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', (e) => reject(new Error(`inspector connection failed: ${e.message}`)));
  });
  let nextId = 0;
  const pending = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    if (msg.id !== undefined && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  });
  const call = (method, params = {}) => new Promise((resolve, reject) => {
    const id = ++nextId;
    pending.set(id, (msg) => (msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result)));
    ws.send(JSON.stringify({ id, method, params }));
  });
  try {
    await call('Profiler.enable');
    await call('Profiler.setSamplingInterval', { interval: intervalUs });
    await call('Profiler.start');
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const { profile } = await call('Profiler.stop');
    return profile;
  } finally {
    ws.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { inspector: { type: 'string' }, seconds: { type: 'string', default: '8' }, interval: { type: 'string', default: '100' } },
  });
  if (!values.inspector) throw new Error('--inspector PORT is required');
  const profile = await profileWorker(Number(values.inspector), Number(values.seconds), Number(values.interval));
  console.log(JSON.stringify(attribute(profile)));
}
