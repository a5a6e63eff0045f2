/**
 * One session shared by the tabs of an origin, with the tokens in memory only: tabs hand the
 * session to each other over a `BroadcastChannel`, and refresh it one at a time under a Web
 * Lock.
 *
 * Why this is needed: the provider rotates refresh tokens and treats the reuse of a rotated one as
 * theft, revoking the whole grant (RFC 9700 §4.14.2). If tab A rotates the refresh token and tab B
 * then presents the old one, both tabs are signed out. So:
 *
 * - Refreshes take the exclusive lock `gatehouse-refresh:<clientId>` (one refresh at a time in the
 *   whole browser), and the tab that refreshed announces the new session on the channel.
 * - Messages and lock grants travel separately, so a tab can get the lock before the announcement
 *   of the refresh that preceded it. To close that gap, each tab holding a generation of a
 *   session also holds a *shared* lock named after it, `gatehouse-tokens:<clientId>:<id>:<n>`,
 *   taken before the refresh lock is released. Inside the refresh lock, a tab first looks
 *   (`navigator.locks.query()`) for a generation above its own: if there is one, it waits for
 *   that announcement instead of presenting its rotated refresh token.
 *
 * Used only when the browser has both Web Locks and BroadcastChannel; otherwise each tab keeps a
 * session of its own and refreshes it alone (in-tab single flight).
 */
import type { IdTokenClaims, TokenSet } from '@gatehouse/client';
import type { BrowserEnv, Channel } from './env.js';

/** A signed-in session, as the tabs share it. */
export interface SharedSession {
  /** Random, per login: tells one login's generations from another's. */
  id: string;
  /** 1 at the login, +1 at each refresh. */
  generation: number;
  /** When the login completed (epoch ms): the newer login wins. */
  createdAt: number;
  tokens: TokenSet;
  claims: IdTokenClaims;
}

type Message =
  | { v: 1; issuer: string; type: 'session'; session: SharedSession }
  | { v: 1; issuer: string; type: 'ask' }
  | { v: 1; issuer: string; type: 'ended'; id: string };

export interface TabListener {
  session(session: SharedSession): void;
  ask(): void;
  ended(id: string): void;
}

/** Whether `a` should replace `b`: a later generation of the same login, or a newer login. */
export function newer(a: SharedSession, b: SharedSession | undefined): boolean {
  if (b === undefined) return true;
  if (a.id === b.id) return a.generation > b.generation;
  return a.createdAt > b.createdAt;
}

export class Tabs {
  private channel: Channel | undefined;
  private marker: { name: string; release: () => void } | undefined;
  private readonly refreshLock: string;
  private readonly markerPrefix: string;

  constructor(
    private readonly env: BrowserEnv & {
      locks: LockManager;
      openChannel: (name: string) => Channel;
    },
    clientId: string,
    private readonly issuer: string,
    private readonly listener: TabListener,
  ) {
    this.refreshLock = `gatehouse-refresh:${clientId}`;
    this.markerPrefix = `gatehouse-tokens:${clientId}:`;
    this.channel = env.openChannel(`gatehouse:${clientId}`);
    this.channel.onmessage = (event) => this.receive(event.data);
  }

  /** Whether this environment can share a session between tabs. */
  static supported(env: BrowserEnv): env is BrowserEnv & {
    locks: LockManager;
    openChannel: (name: string) => Channel;
  } {
    return env.locks !== undefined && env.openChannel !== undefined;
  }

  close(): void {
    this.channel?.close();
    this.channel = undefined;
    this.marker?.release();
    this.marker = undefined;
  }

  announce(session: SharedSession): void {
    this.post({ v: 1, issuer: this.issuer, type: 'session', session });
  }

  ask(): void {
    this.post({ v: 1, issuer: this.issuer, type: 'ask' });
  }

  ended(id: string): void {
    this.post({ v: 1, issuer: this.issuer, type: 'ended', id });
  }

  /** Runs `fn` holding the browser-wide refresh lock. */
  withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
    // The DOM typings give Promise<Promise<T>>; the lock's promise resolves with fn's value.
    return this.env.locks.request(this.refreshLock, fn) as unknown as Promise<T>;
  }

  /**
   * Holds the marker of `session`'s generation (and lets go of the previous one). Resolves once
   * the lock is granted, so a tab that queries after this sees it.
   */
  async mark(session: SharedSession | undefined): Promise<void> {
    const name =
      session === undefined ? undefined : `${this.markerPrefix}${session.id}:${session.generation}`;
    if (this.marker?.name === name) return;
    const previous = this.marker;
    this.marker = undefined;
    if (name !== undefined) {
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      await new Promise<void>((granted, failed) => {
        this.env.locks
          .request(name, { mode: 'shared' }, () => {
            granted();
            return held;
          })
          .catch(failed);
      });
      if (this.channel === undefined) {
        // Closed while waiting for the grant.
        release();
      } else {
        this.marker = { name, release };
      }
    }
    previous?.release();
  }

  /** Whether some tab (another one: this one asks before it has a session) holds a session. */
  async anySession(): Promise<boolean> {
    const { held = [] } = await this.env.locks.query();
    return held.some((lock) => lock.name?.startsWith(this.markerPrefix) === true);
  }

  /** The highest generation of login `id` that some tab holds (0 when none). */
  async highestGeneration(id: string): Promise<number> {
    const prefix = `${this.markerPrefix}${id}:`;
    const { held = [] } = await this.env.locks.query();
    let highest = 0;
    for (const lock of held) {
      if (!lock.name?.startsWith(prefix)) continue;
      const generation = Number(lock.name.slice(prefix.length));
      if (Number.isSafeInteger(generation) && generation > highest) highest = generation;
    }
    return highest;
  }

  private post(message: Message): void {
    try {
      this.channel?.postMessage(message);
    } catch {
      // A closed channel, or a value the browser refuses to clone: the other tabs miss one
      // announcement and ask again when they need it.
    }
  }

  private receive(data: unknown): void {
    const message = parseMessage(data, this.issuer);
    if (message === undefined) return;
    if (message.type === 'session') this.listener.session(message.session);
    else if (message.type === 'ask') this.listener.ask();
    else this.listener.ended(message.id);
  }
}

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isOptional = (v: unknown, check: (v: unknown) => boolean) => v === undefined || check(v);

/**
 * A message from another tab, checked: same origin is guaranteed by the channel, but the shape
 * is not (another version of the app, another library using the same name).
 */
function parseMessage(data: unknown, issuer: string): Message | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const m = data as Record<string, unknown>;
  if (m['v'] !== 1 || m['issuer'] !== issuer) return undefined;
  if (m['type'] === 'ask') return { v: 1, issuer, type: 'ask' };
  if (m['type'] === 'ended')
    return isString(m['id']) ? { v: 1, issuer, type: 'ended', id: m['id'] } : undefined;
  if (m['type'] !== 'session') return undefined;
  const session = parseSession(m['session'], issuer);
  return session ? { v: 1, issuer, type: 'session', session } : undefined;
}

function parseSession(data: unknown, issuer: string): SharedSession | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const s = data as Record<string, unknown>;
  const tokens = s['tokens'] as Record<string, unknown> | null | undefined;
  const claims = s['claims'] as Record<string, unknown> | null | undefined;
  if (
    !isString(s['id']) ||
    !Number.isSafeInteger(s['generation']) ||
    !Number.isFinite(s['createdAt'])
  ) {
    return undefined;
  }
  if (
    typeof tokens !== 'object' ||
    tokens === null ||
    typeof claims !== 'object' ||
    claims === null
  ) {
    return undefined;
  }
  const tokensOk =
    isString(tokens['accessToken']) &&
    tokens['tokenType'] === 'Bearer' &&
    isOptional(tokens['expiresAt'], Number.isFinite) &&
    isOptional(tokens['expiresIn'], Number.isFinite) &&
    isOptional(tokens['refreshToken'], isString) &&
    isOptional(tokens['idToken'], isString) &&
    isOptional(tokens['scope'], (v) => typeof v === 'string');
  if (!tokensOk || !isString(claims['sub']) || claims['iss'] !== issuer) return undefined;
  return {
    id: s['id'],
    generation: s['generation'] as number,
    createdAt: s['createdAt'] as number,
    tokens: tokens as unknown as TokenSet,
    claims: claims as IdTokenClaims,
  };
}
