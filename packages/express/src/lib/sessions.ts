/**
 * The application session: who is signed in and their tokens, kept
 *
 * - in the cookie (default): the whole session as JSON, AES-256-GCM with the cookie name as
 *   additional data; a value longer than one cookie holds is split over `<name>.0`, `<name>.1`,
 *   … and joined again on read;
 * - or in a `SessionStore`: the cookie holds the session id (encrypted the same way), the store
 *   holds the claims and the tokens — the tokens encrypted under a key of their own, with the
 *   session id as additional data.
 *
 * Whatever is wrong with a session cookie (altered, sealed under another secret, chunks missing,
 * expired, unknown to the store) makes it no session, and its cookies are cleared.
 */
import { randomBytes } from 'node:crypto';
import { ClientError, type IdTokenClaims } from '@gatehouse/client';
import type { SessionStore, StoredSession } from '../session.js';
import type { RequestCookieJar } from './cookies.js';
import { type Sealer, sealer } from './seal.js';

export interface SessionTokens {
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  /** Epoch milliseconds when the access token expires, when the provider said. */
  expiresAt?: number;
  scope?: string;
}

export interface Session {
  user: IdTokenClaims;
  tokens: SessionTokens;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds: the session ends then, whatever the tokens say. */
  expiresAt: number;
  /** The store's id (store mode only). */
  id?: string;
}

/**
 * Longest value put in one cookie. Browsers keep at least 4096 bytes per cookie, name and
 * attributes included (RFC 6265 §6.1); this leaves room for both.
 */
export const CHUNK_BYTES = 3800;
/**
 * Most chunks written. Node's default limit on request headers is 16 KiB, and transaction
 * cookies share it: a session that needs more belongs in a `SessionStore`.
 */
export const MAX_CHUNKS = 3;

export interface SessionsOptions {
  secret: string;
  cookieName: string;
  maxAgeSeconds: number;
  secure: boolean;
  store?: SessionStore;
  now: () => number;
}

export class Sessions {
  private readonly cookieSealer: Sealer;
  private readonly tokenSealer: Sealer;
  private readonly attributes;

  constructor(private readonly options: SessionsOptions) {
    this.cookieSealer = sealer(options.secret, 'session cookie');
    this.tokenSealer = sealer(options.secret, 'session store tokens');
    this.attributes = {
      httpOnly: true,
      secure: options.secure,
      sameSite: 'Lax',
      path: '/',
    } as const;
  }

  /** A new session for a login that just succeeded. */
  create(user: IdTokenClaims, tokens: SessionTokens): Session {
    const now = this.options.now();
    return { user, tokens, createdAt: now, expiresAt: now + this.options.maxAgeSeconds * 1000 };
  }

  /** The request's session, or undefined (and its cookies cleared when they are not valid). */
  async read(jar: RequestCookieJar): Promise<Session | undefined> {
    // No session cookie: nothing to decrypt (the common case costs a header parse).
    if (this.cookieNames(jar).length === 0) return undefined;
    const session = await this.open(jar);
    if (session === undefined) this.clearCookies(jar);
    return session;
  }

  /** Writes the session (a new one, or one with refreshed tokens). */
  async write(jar: RequestCookieJar, session: Session): Promise<Session> {
    const { cookieName, store } = this.options;
    if (!store) {
      const value = this.cookieSealer.seal(JSON.stringify(toJson(session)), cookieName);
      this.setCookie(jar, value, session.expiresAt);
      return session;
    }
    const id = session.id ?? randomBytes(32).toString('base64url');
    const stored: StoredSession = {
      user: session.user,
      tokens: this.tokenSealer.seal(JSON.stringify(session.tokens), id),
      createdAt: session.createdAt,
      expiresAt: session.expiresAt,
    };
    await store.set(id, stored);
    if (session.id === undefined) {
      this.setCookie(jar, this.cookieSealer.seal(id, cookieName), session.expiresAt);
    }
    return { ...session, id };
  }

  /** Replaces the current session (if any) with a new one, under a new id in a store. */
  async replace(jar: RequestCookieJar, old: Session | undefined, next: Session): Promise<Session> {
    if (old?.id !== undefined) await this.options.store?.destroy(old.id);
    const { id: _, ...fresh } = next;
    return this.write(jar, fresh);
  }

  async destroy(jar: RequestCookieJar, session: Session | undefined): Promise<void> {
    if (session?.id !== undefined) await this.options.store?.destroy(session.id);
    this.clearCookies(jar);
  }

  private async open(jar: RequestCookieJar): Promise<Session | undefined> {
    const { cookieName, store, now } = this.options;
    const value = this.joined(jar);
    if (value === undefined) return undefined;
    const plain = this.cookieSealer.open(value, cookieName);
    if (plain === undefined) return undefined;
    if (!store) {
      const session = fromJson(plain);
      return session && session.expiresAt > now() ? session : undefined;
    }
    const stored = await store.get(plain);
    if (!stored) return undefined;
    if (!(stored.expiresAt > now())) {
      await store.destroy(plain);
      return undefined;
    }
    const tokens = this.tokenSealer.open(stored.tokens, plain);
    const parsed = tokens === undefined ? undefined : parseTokens(safeJson(tokens));
    if (!parsed || !isObject(stored.user) || typeof stored.user['sub'] !== 'string') {
      return undefined;
    }
    return {
      id: plain,
      user: stored.user,
      tokens: parsed,
      createdAt: stored.createdAt,
      expiresAt: stored.expiresAt,
    };
  }

  /** The cookie's value: the single cookie, or the chunks `.0`, `.1`, … joined. */
  private joined(jar: RequestCookieJar): string | undefined {
    const { cookieName } = this.options;
    const single = jar.get(cookieName);
    if (single !== undefined) return single;
    let value = '';
    for (let i = 0; i < MAX_CHUNKS; i++) {
      const chunk = jar.get(`${cookieName}.${i}`);
      if (chunk === undefined) break;
      value += chunk;
    }
    return value === '' ? undefined : value;
  }

  /** Writes the value, in one cookie or in chunks; the cookies live as long as the session. */
  private setCookie(jar: RequestCookieJar, value: string, expiresAt: number): void {
    const { cookieName, now } = this.options;
    const remaining = Math.ceil((expiresAt - now()) / 1000);
    const attributes = { ...this.attributes, maxAge: Math.max(1, remaining) };
    const chunks: string[] = [];
    for (let i = 0; i < value.length; i += CHUNK_BYTES)
      chunks.push(value.slice(i, i + CHUNK_BYTES));
    if (chunks.length > MAX_CHUNKS) {
      throw new ClientError(
        'config_invalid',
        `the session is too large for cookies (${value.length} bytes; at most ${MAX_CHUNKS * CHUNK_BYTES})`,
        {
          hint: 'ask for fewer scopes or claims, or keep sessions server-side with the `session.store` option',
        },
      );
    }
    const written = chunks.length === 1 ? [cookieName] : chunks.map((_, i) => `${cookieName}.${i}`);
    for (const name of this.cookieNames(jar)) {
      if (!written.includes(name)) jar.delete(name, this.attributes);
    }
    written.forEach((name, i) => {
      jar.set(name, chunks[i]!, attributes);
    });
  }

  private clearCookies(jar: RequestCookieJar): void {
    for (const name of this.cookieNames(jar)) jar.delete(name, this.attributes);
  }

  /** The session's cookies in this request: `<name>` and `<name>.<n>`. */
  private cookieNames(jar: RequestCookieJar): string[] {
    const { cookieName } = this.options;
    return jar
      .namesStartingWith(cookieName)
      .filter((name) => name === cookieName || /^\.\d+$/.test(name.slice(cookieName.length)));
  }
}

/** The session as it goes into the cookie (readable names; the cookie is encrypted anyway). */
function toJson(session: Session): Record<string, unknown> {
  return {
    v: 1,
    user: session.user,
    tokens: session.tokens,
    createdAt: session.createdAt,
    expiresAt: session.expiresAt,
  };
}

/** The session out of an authenticated cookie, still checked field by field. */
function fromJson(json: string): Session | undefined {
  const p = safeJson(json);
  if (!isObject(p) || p['v'] !== 1) return undefined;
  const user = p['user'];
  const tokens = parseTokens(p['tokens']);
  const createdAt = p['createdAt'];
  const expiresAt = p['expiresAt'];
  if (!isObject(user) || typeof user['sub'] !== 'string' || tokens === undefined) return undefined;
  if (typeof createdAt !== 'number' || typeof expiresAt !== 'number') return undefined;
  return { user: user as IdTokenClaims, tokens, createdAt, expiresAt };
}

function parseTokens(value: unknown): SessionTokens | undefined {
  if (!isObject(value) || typeof value['accessToken'] !== 'string') return undefined;
  const tokens: SessionTokens = { accessToken: value['accessToken'] };
  for (const name of ['refreshToken', 'idToken', 'scope'] as const) {
    const v = value[name];
    if (v === undefined) continue;
    if (typeof v !== 'string') return undefined;
    tokens[name] = v;
  }
  const expiresAt = value['expiresAt'];
  if (expiresAt !== undefined) {
    if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) return undefined;
    tokens.expiresAt = expiresAt;
  }
  return tokens;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
