/**
 * In-process V8 CPU profiles for bench/client-callback.mjs: the sampling profiler of the bench
 * process itself (inspector `Profiler`, main JS thread only) around a measured window, and a
 * summary of where the samples fall — by category (which library, which part of Node) and by
 * function (self and inclusive time).
 */
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function startProfiler(intervalUs) {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    await session.post('Profiler.disable');
    session.disconnect();
    return profile;
  };
}

const CATEGORY_RULES = [
  [/packages\/client\/dist\//, 'gatehouse: @gatehouse/client'],
  [/packages\/oauth\/dist\//, 'gatehouse: @gatehouse/oauth'],
  [/node_modules\/([^/]+)\//, (m) => `npm: ${m[1]}`],
  [/^node:internal\/deps\/undici/, 'node: undici (fetch, Request/Response/Headers)'],
  [/^node:internal\/webstreams/, 'node: web streams'],
  [/^node:internal\/crypto|^node:crypto/, 'node: crypto / WebCrypto'],
  [/^node:internal\/(url|querystring)|^node:url/, 'node: URL / URLSearchParams'],
  [/^node:internal\/(abort_controller|event_target)/, 'node: AbortSignal / EventTarget'],
  [/^node:internal\/(encoding|util\/types)|^node:buffer|^node:internal\/buffer/, 'node: encoding'],
  [
    /^node:(_http|http|internal\/http|net|internal\/net|internal\/stream|stream|internal\/streams|internal\/stream_base)/,
    'node: http / net / streams',
  ],
  [/^node:internal\/(timers|process\/task_queues)|^node:timers/, 'node: timers / microtasks'],
  [/^node:/, 'node: other core'],
  [/bench\//, 'bench harness'],
];

function urlCategory(url) {
  for (const [re, name] of CATEGORY_RULES) {
    const m = re.exec(url);
    if (m) return typeof name === 'function' ? name(m) : name;
  }
  return 'other';
}

/** Native frames (no URL) take the category of their nearest JS caller. */
function category(frame, caller) {
  if (frame.url) return urlCategory(frame.url);
  if (frame.functionName.startsWith('(')) return frame.functionName;
  return caller ? urlCategory(caller.url) : 'native / V8 builtins';
}

function where(frame) {
  const url = frame.url.replace(/^file:\/\//, '').replace(ROOT, '');
  return url ? `${url}:${frame.lineNumber + 1}` : '';
}

function frameKey(frame, caller) {
  const fn = frame.functionName || '(anonymous)';
  if (frame.url || fn.startsWith('(') || !caller) {
    return { key: `${fn}\t${where(frame)}`, fn, where: where(frame) };
  }
  const callerFn = caller.functionName || '(anonymous)';
  return {
    key: `${fn}\t${callerFn}\t${where(caller)}`,
    fn: `${fn} [native] ← ${callerFn}`,
    where: where(caller),
  };
}

/**
 * Self samples per function and per category, inclusive samples per JS function. `(idle)` is
 * left out: percentages are of the busy samples. Inclusive figures see synchronous stacks only.
 */
export function summarizeProfile(profile, top) {
  const self = new Map();
  const total = new Map();
  const categories = new Map();
  let busy = 0;
  let idle = 0;
  const bump = (map, key, n, extra) => {
    const e = map.get(key) ?? { ...extra, samples: 0 };
    e.samples += n;
    map.set(key, e);
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const callerOf = (id) => {
    for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur).callFrame;
      if (f.url) return f;
    }
    return undefined;
  };
  for (const [id, n] of counts) {
    const frame = byId.get(id).callFrame;
    if (frame.functionName === '(idle)') {
      idle += n;
      continue;
    }
    busy += n;
    const caller = frame.url ? undefined : callerOf(id);
    const k = frameKey(frame, caller);
    const cat = category(frame, caller);
    bump(self, k.key, n, { fn: k.fn, where: k.where, category: cat });
    bump(categories, cat, n, { fn: cat });
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur).callFrame;
      if (!f.url) continue;
      const kk = frameKey(f);
      if (seen.has(kk.key)) continue;
      seen.add(kk.key);
      bump(total, kk.key, n, { fn: kk.fn, where: kk.where, category: category(f) });
    }
  }
  const pct = (n) => Math.round((1000 * n) / (busy || 1)) / 10;
  const list = (map, n, filter = () => true) =>
    [...map.values()]
      .filter(filter)
      .sort((a, b) => b.samples - a.samples)
      .slice(0, n)
      .map((e) => ({ ...e, pct: pct(e.samples) }));
  return {
    busySamples: busy,
    idleSamples: idle,
    profiledMs: Math.round((profile.endTime - profile.startTime) / 100) / 10,
    categories: list(categories, 30),
    topSelf: list(self, top),
    topTotal: list(
      total,
      top,
      (e) => e.category.startsWith('gatehouse') || e.category.startsWith('npm:'),
    ),
  };
}

export function printProfileSummary(title, s) {
  const line = (e) =>
    `  ${String(e.pct).padStart(6)}%  ${String(e.samples).padStart(6)}  ${e.fn.slice(0, 58).padEnd(58)}  ${e.where}`;
  console.log(
    `\n${title}\n  ${s.busySamples} busy samples (idle ${s.idleSamples} left out), ${s.profiledMs} ms profiled; main JS thread of the bench process only`,
  );
  console.log('\n  self time by category');
  for (const e of s.categories) {
    console.log(`  ${String(e.pct).padStart(6)}%  ${String(e.samples).padStart(6)}  ${e.fn}`);
  }
  console.log('\n  top functions by self time\n       %  samples  function');
  for (const e of s.topSelf) console.log(line(e));
  console.log('\n  top library functions by total (inclusive) time\n       %  samples  function');
  for (const e of s.topTotal) console.log(line(e));
}
