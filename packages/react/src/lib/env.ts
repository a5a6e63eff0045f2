/**
 * The few browser facilities the adapter uses, behind one small interface: the page's URL,
 * `history.replaceState`, leaving the page, sessionStorage, Web Locks and BroadcastChannel.
 * The browser provides them ({@link browserEnv}); tests pass fakes.
 */

/** What a `BroadcastChannel` constructor gives (the standard one satisfies it). */
export interface Channel {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((event: MessageEvent) => void) | null;
}

export interface BrowserEnv {
  /** The page's current URL. */
  url(): URL;
  /** Replaces the current history entry's URL (keeping its state): no navigation, no reload. */
  replaceUrl(url: string): void;
  /** Leaves the page for `url` (to the provider). */
  navigate(url: string): void;
  /** The tab's sessionStorage; may throw when the browser blocks storage. */
  sessionStorage(): Storage;
  /** Web Locks, when the browser has them. */
  locks: LockManager | undefined;
  /** `BroadcastChannel`, when the browser has it. */
  openChannel: ((name: string) => Channel) | undefined;
  /** Clock, epoch milliseconds. */
  now(): number;
}

/** The real browser. Read lazily (at `AuthProvider` mount), never at import or on the server. */
export function browserEnv(): BrowserEnv {
  const w = globalThis as typeof globalThis & Partial<Pick<Window, 'location' | 'history'>>;
  if (!w.location || !w.history) {
    throw new TypeError('the Gatehouse React adapter runs in a browser (no window.location)');
  }
  const { location, history } = w;
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  return {
    url: () => new URL(location.href),
    replaceUrl: (url) => history.replaceState(history.state, '', url),
    navigate: (url) => location.assign(url),
    sessionStorage: () => globalThis.sessionStorage,
    locks: typeof locks?.request === 'function' ? locks : undefined,
    openChannel:
      typeof globalThis.BroadcastChannel === 'function'
        ? (name) => new BroadcastChannel(name)
        : undefined,
    now: Date.now,
  };
}
