/**
 * In-process V8 CPU profiles for bench/client-callback.mjs: the sampling profiler of the bench
 * process itself (inspector `Profiler`, main JS thread only) around a measured window, and a
 * summary of where the samples fall — by category (which library, which part of Node) and by
 * function (self and inclusive time).
 */
import { Session } from 'node:inspector/promises';
import { ruleCategory, summarizeProfiles } from '../profile-summary.mjs';

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

/** Native frames (no URL) take the category of their nearest JS caller. */
function category(frame, caller) {
  if (frame.url) return ruleCategory(CATEGORY_RULES, frame.url);
  if (frame.functionName.startsWith('(')) return frame.functionName;
  return caller ? ruleCategory(CATEGORY_RULES, caller.url) : 'native / V8 builtins';
}

/** Self samples per function and per category, inclusive samples per JS function. */
export function summarizeProfile(profile, top) {
  return summarizeProfiles([profile], { top, category, categoriesShown: 30 });
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
