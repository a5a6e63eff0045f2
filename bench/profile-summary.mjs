/**
 * Summaries of V8 CPU profiles (`.cpuprofile`), shared by the provider bench (run.mjs) and the
 * client bench (client-callback.mjs): self samples per function and per category, inclusive
 * samples per JS function. Each bench says how a frame is categorised.
 */
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The category of a URL by the first matching rule: `[regexp, name | (match) => name]`. */
export function ruleCategory(rules, url) {
  for (const [re, name] of rules) {
    const m = re.exec(url);
    if (m) return typeof name === 'function' ? name(m) : name;
  }
  return 'other';
}

/** A frame's location relative to the repository. */
export function where(frame) {
  const url = frame.url.replace(/^file:\/\//, '').replace(ROOT, '');
  return url ? `${url}:${frame.lineNumber + 1}` : '';
}

/** Function + location; a native frame is named with its caller (`run ← jobPromise …`). */
export function frameKey(frame, caller) {
  const fn = frame.functionName || '(anonymous)';
  if (frame.url || fn.startsWith('(') || !caller)
    return { key: `${fn}\t${where(frame)}`, fn, where: where(frame) };
  const callerFn = caller.functionName || '(anonymous)';
  return {
    key: `${fn}\t${callerFn}\t${where(caller)}`,
    fn: `${fn} [native] ← ${callerFn}`,
    where: where(caller),
  };
}

/**
 * Self and total (inclusive) samples per function over several profiles, and self samples per
 * category (`category(frame, caller)`; a native frame's caller is its nearest JS ancestor).
 * `(idle)` is left out of the percentages: they are of the busy samples. Inclusive figures only
 * see synchronous stacks: work after an `await` hangs off the root.
 */
export function summarizeProfiles(profiles, { top, category, categoriesShown = 40 }) {
  const self = new Map();
  const total = new Map();
  const categories = new Map();
  let busy = 0;
  let idle = 0;
  let durationUs = 0;
  const bump = (map, key, n, extra) => {
    const e = map.get(key) ?? { ...extra, samples: 0 };
    e.samples += n;
    map.set(key, e);
  };
  for (const profile of profiles) {
    durationUs += profile.endTime - profile.startTime;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const counts = new Map();
    for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
    const callerOf = (id) => {
      // The nearest ancestor with a URL (skipping other native frames).
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
      // Inclusive: every distinct JS function on the stack once.
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
    profiledMs: Math.round(durationUs / 100) / 10,
    topSelf: list(self, top),
    categories: list(categories, categoriesShown),
    topTotal: list(
      total,
      top,
      (e) => e.category.startsWith('gatehouse') || e.category.startsWith('npm:'),
    ),
  };
}
