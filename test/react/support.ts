/**
 * The browser, faked only where it is the component under the adapter: a page (its URL,
 * `history.replaceState`, leaving it), the tab's sessionStorage, the origin's Web Locks and a
 * BroadcastChannel bus. The provider is the real one, in process (test/support/harness.ts).
 *
 * A page load is a fresh import of the adapter (`loadAdapter`): module state (the callbacks
 * handled in this page) does not survive a reload in a browser, and does not here.
 */
import { vi } from 'vitest';
import type { BrowserEnv, Channel } from '../../packages/react/src/lib/env.js';
import {
  Browser,
  baseConfig,
  signIn,
  startTestProvider,
  type TestProvider,
} from '../support/harness.js';

export const ORIGIN = 'http://localhost:5173';
export const CLIENT_ID = 'react-spa';
export const REDIRECT_URI = `${ORIGIN}/callback`;

/** sessionStorage: a Map behind the Storage interface. */
export class MemoryStorage implements Storage {
  [name: string]: unknown;
  private readonly items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, String(value));
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  clear(): void {
    this.items.clear();
  }
  keys(): string[] {
    return [...this.items.keys()];
  }
}

/** Web Locks of one origin: exclusive and shared modes, FIFO, grants in a later task. */
export class FakeLocks {
  private held: { name: string; mode: LockMode }[] = [];
  private queue: {
    name: string;
    mode: LockMode;
    start: (lock: { name: string; mode: LockMode }) => void;
  }[] = [];

  request(
    name: string,
    a: LockOptions | LockGrantedCallback<unknown>,
    b?: LockGrantedCallback<unknown>,
  ): Promise<unknown> {
    const options = typeof a === 'function' ? {} : a;
    const callback = (typeof a === 'function' ? a : b)!;
    const mode = options.mode ?? 'exclusive';
    return new Promise((resolve, reject) => {
      this.queue.push({
        name,
        mode,
        start: (lock) => {
          Promise.resolve()
            .then(() => callback(lock as Lock))
            .then(resolve, reject)
            .finally(() => {
              this.held.splice(this.held.indexOf(lock), 1);
              this.pump();
            });
        },
      });
      this.pump();
    });
  }

  async query(): Promise<LockManagerSnapshot> {
    return {
      held: this.held.map(({ name, mode }) => ({ name, mode, clientId: 'tab' })),
      pending: this.queue.map(({ name, mode }) => ({ name, mode, clientId: 'tab' })),
    };
  }

  private pump(): void {
    for (let i = 0; i < this.queue.length; i++) {
      const entry = this.queue[i]!;
      const earlier = this.queue.slice(0, i).filter((e) => e.name === entry.name);
      const holders = this.held.filter((h) => h.name === entry.name);
      const grantable =
        entry.mode === 'exclusive'
          ? holders.length === 0 && earlier.length === 0
          : holders.every((h) => h.mode === 'shared') && earlier.every((e) => e.mode === 'shared');
      if (!grantable) continue;
      this.queue.splice(i--, 1);
      const lock = { name: entry.name, mode: entry.mode };
      this.held.push(lock);
      setTimeout(() => entry.start(lock), 0);
    }
  }
}

/** BroadcastChannel between the tabs of one origin; `delayMs` slows delivery down. */
export class Bus {
  private readonly channels = new Set<Channel & { name: string }>();
  constructor(public delayMs = 0) {}

  open = (name: string): Channel => {
    const bus = this;
    const channel: Channel & { name: string } = {
      name,
      onmessage: null,
      postMessage(message: unknown) {
        if (!bus.channels.has(channel)) throw new Error('InvalidStateError: channel closed');
        for (const other of bus.channels) {
          if (other === channel || other.name !== name) continue;
          const data = structuredClone(message);
          setTimeout(() => {
            if (bus.channels.has(other)) other.onmessage?.({ data } as MessageEvent);
          }, bus.delayMs);
        }
      },
      close() {
        bus.channels.delete(channel);
      },
    };
    this.channels.add(channel);
    return channel;
  };
}

/** One page of one tab: where it is, where it went, what replaced its URL. */
export interface Page {
  env: BrowserEnv;
  storage: MemoryStorage;
  /** The address bar. */
  url: string;
  /** URLs the page left for (`location.assign`). */
  navigations: string[];
  /** `history.replaceState` calls, in order. */
  replaced: string[];
}

export function page(options: {
  url: string;
  storage?: MemoryStorage;
  locks?: FakeLocks;
  bus?: Bus;
  now?: () => number;
}): Page {
  const p: Page = {
    url: options.url,
    storage: options.storage ?? new MemoryStorage(),
    navigations: [],
    replaced: [],
    env: undefined as unknown as BrowserEnv,
  };
  p.env = {
    url: () => new URL(p.url),
    replaceUrl: (url) => {
      p.replaced.push(url);
      p.url = new URL(url, p.url).href;
    },
    navigate: (url) => {
      p.navigations.push(url);
    },
    sessionStorage: () => p.storage,
    locks: options.locks as unknown as LockManager | undefined,
    openChannel: options.bus?.open,
    now: options.now ?? Date.now,
  };
  return p;
}

/** A fresh copy of the adapter's modules: what a page load gets. */
export async function loadAdapter() {
  vi.resetModules();
  return import('../../packages/react/src/lib/controller.js');
}

export type Adapter = Awaited<ReturnType<typeof loadAdapter>>;
export type Controller = InstanceType<Adapter['AuthController']>;

/** Resolves once `check()` holds (polled), or fails after `ms`. */
export async function until(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const settled = (c: Controller) =>
  until(() => !c.getSnapshot().isLoading, 5000, 'the controller to settle');

/** A test provider with the SPA client, and a fetch that records what it is asked. */
export interface World {
  tp: TestProvider;
  /** The SPA's fetch (routes to the provider in process). */
  fetch: typeof fetch;
  /** `grant_type` of each token request, in order. */
  grants: string[];
  /** Paths of every request, in order. */
  requests: string[];
  /** Called before each token request is answered (may delay it). */
  onTokenRequest?: (body: URLSearchParams) => Promise<void> | void;
}

export async function startWorld(
  client: Record<string, unknown> = {},
  config: Record<string, unknown> = {},
): Promise<World> {
  const base = baseConfig();
  const tp = await startTestProvider({
    config: {
      ...base,
      ...config,
      clients: [
        ...base.clients!,
        {
          client_id: CLIENT_ID,
          type: 'spa',
          redirect_uris: [REDIRECT_URI],
          post_logout_redirect_uris: [`${ORIGIN}/`],
          allowed_origins: [ORIGIN],
          ...client,
        },
      ],
    },
  });
  const world: World = {
    tp,
    grants: [],
    requests: [],
    fetch: async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      world.requests.push(new URL(url).pathname);
      if (new URL(url).pathname === '/v1/oauth/token') {
        const body = new URLSearchParams(String(init?.body ?? ''));
        world.grants.push(body.get('grant_type') ?? '');
        await world.onTokenRequest?.(body);
      }
      // As a browser does: the page's Origin goes along, and an answer without CORS permission
      // for it is a network error to the page.
      const headers = new Headers(init?.headers);
      headers.set('origin', ORIGIN);
      const res = await tp.fetch(url, { ...init, headers });
      const allowed = res.headers.get('access-control-allow-origin');
      if (allowed !== '*' && allowed !== ORIGIN) {
        throw new TypeError(`Failed to fetch: ${new URL(url).pathname} does not allow ${ORIGIN}`);
      }
      return res;
    },
  };
  return world;
}

/** The options of the AuthProvider under test. */
export function options(world: World, extra: Record<string, unknown> = {}) {
  return {
    issuer: world.tp.issuer,
    clientId: CLIENT_ID,
    client: { fetch: world.fetch, now: world.tp.clock.now },
    ...extra,
  };
}

/**
 * A login up to the callback: a page at `from` calls `login()`, the user signs in at the
 * provider; returns the callback URL and the tab's sessionStorage (which the callback page sees).
 */
export async function loginUntilCallback(
  world: World,
  adapter: Adapter,
  o: {
    from?: string;
    storage?: MemoryStorage;
    browser?: Browser;
    decision?: 'allow' | 'deny';
    extra?: Record<string, unknown>;
    loginOptions?: Record<string, unknown>;
  } = {},
): Promise<{ callback: URL; storage: MemoryStorage; authorize: URL }> {
  const start = page({
    url: o.from ?? `${ORIGIN}/`,
    ...(o.storage ? { storage: o.storage } : {}),
    now: world.tp.clock.now,
  });
  const c = new adapter.AuthController(options(world, o.extra) as never, () => start.env);
  await c.login(o.loginOptions ?? {});
  const authorize = new URL(start.navigations[0]!);
  const callback = await signIn(
    o.browser ?? new Browser(world.tp),
    authorize.href,
    undefined,
    o.decision ?? 'allow',
  );
  return { callback, storage: start.storage, authorize };
}
