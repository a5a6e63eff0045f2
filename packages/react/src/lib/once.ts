/**
 * The callbacks this page has handled, by client and `state`: each is handled once per page,
 * whoever asks — StrictMode's second effect run, a re-render, a second or re-mounted
 * `AuthProvider`.
 *
 * Module-level on purpose, and the only such state in the adapter: React may create, discard and
 * re-create the provider's state during one page life, while a code exchange must not happen
 * twice (the second would fail with `invalid_grant` — and make the provider revoke the tokens of
 * the first, RFC 6749 §4.1.2). The page is the unit that sees the callback URL once, so the record
 * lives as long as the page. A reload starts a new page with an empty record; see
 * `handleCallbackOnce` in controller.ts for why a reload cannot exchange twice either.
 */

/** A handled callback: its tokens are no longer kept here, only the fact. */
const DONE = Symbol('done');

const runs = new Map<string, Promise<unknown> | typeof DONE>();

/** The key of a callback: client and state (or, without a state, the whole query). */
export function callbackKey(clientId: string, url: URL): string {
  return `callback\n${clientId}\n${url.searchParams.get('state') ?? url.search}`;
}

/**
 * Runs `handle` for `key` the first time; while it runs, answers the same promise; once it has
 * settled, answers `undefined` (handled already: nothing to do, nothing to report).
 */
export function once<T>(key: string, handle: () => Promise<T>): Promise<T> | undefined {
  const run = runs.get(key);
  if (run === DONE) return undefined;
  if (run !== undefined) return run as Promise<T>;
  const promise = handle();
  runs.set(key, promise);
  const forget = () => runs.set(key, DONE);
  promise.then(forget, forget);
  return promise;
}

/** A callback of `clientId` still being handled in this page (for a provider mounted meanwhile). */
export function runningFor<T>(clientId: string): Promise<T> | undefined {
  for (const [key, run] of runs) {
    if (run !== DONE && key.startsWith(`callback\n${clientId}\n`)) return run as Promise<T>;
  }
  return undefined;
}
