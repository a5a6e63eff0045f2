/**
 * The application session — who is signed in and their tokens — kept in the browser: the whole
 * session as JSON, AES-256-GCM with the cookie name as additional data; a value longer than one
 * cookie holds is split over `<name>.0`, `<name>.1`, … and joined again on read.
 *
 * Whatever is wrong with a session cookie (altered, sealed under another secret or for another
 * cookie name, chunks missing, expired) makes it no session, and its cookies are cleared.
 */
import { ClientError, type IdTokenClaims } from '@gatehouse/client';
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

export interface SessionRecord {
  user: IdTokenClaims;
  tokens: SessionTokens;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds: the session ends then, whatever the tokens say. */
  expiresAt: number;
}

/**
 * Longest value put in one cookie. Browsers keep at least 4096 bytes per cookie, name and
 * attributes included (RFC 6265 §6.1); this leaves room for both.
 */
export const CHUNK_BYTES = 3800;
/**
 * Most chunks written. Servers limit request headers (Node.js: 16 KiB by default; many proxies
 * 8 KiB), and transaction cookies share the `Cookie` header.
 */
export const MAX_CHUNKS = 3;

export interface SessionsOptions {
  secret: string;
  cookieName: string;
  maxAgeSeconds: number;
  secure: boolean;
  now: () => number;
}

export class Sessions {
  private readonly sealer: Sealer;
  private readonly attributes;

  constructor(private readonly options: SessionsOptions) {
    this.sealer = sealer(options.secret, 'session cookie');
    this.attributes = {
      httpOnly: true,
      secure: options.secure,
      sameSite: 'Lax',
      path: '/',
    } as const;
  }

  /** A new session for a login that just succeeded. */
  create(user: IdTokenClaims, tokens: SessionTokens): SessionRecord {
    const now = this.options.now();
    return { user, tokens, createdAt: now, expiresAt: now + this.options.maxAgeSeconds * 1000 };
  }

  /** The request's session, or undefined (and its cookies cleared when they are not valid). */
  async read(jar: RequestCookieJar): Promise<SessionRecord | undefined> {
    // No session cookie: nothing to decrypt (the common case costs a header parse).
    if (this.cookieNames(jar).length === 0) return undefined;
    const session = await this.open(jar);
    if (session === undefined) this.clear(jar);
    return session;
  }

  /** Writes the session (a new one, or one with refreshed tokens), replacing its old cookies. */
  async write(jar: RequestCookieJar, session: SessionRecord): Promise<void> {
    const { cookieName, now } = this.options;
    const value = await this.sealer.seal(JSON.stringify(toJson(session)), cookieName);
    const chunks: string[] = [];
    for (let i = 0; i < value.length; i += CHUNK_BYTES) {
      chunks.push(value.slice(i, i + CHUNK_BYTES));
    }
    if (chunks.length > MAX_CHUNKS) {
      throw new ClientError(
        'config_invalid',
        `the session is too large for cookies (${value.length} bytes; at most ${MAX_CHUNKS * CHUNK_BYTES})`,
        { hint: 'ask for fewer scopes or claims' },
      );
    }
    const remaining = Math.ceil((session.expiresAt - now()) / 1000);
    const attributes = { ...this.attributes, maxAge: Math.max(1, remaining) };
    const written = chunks.length === 1 ? [cookieName] : chunks.map((_, i) => `${cookieName}.${i}`);
    for (const name of this.cookieNames(jar)) {
      if (!written.includes(name)) jar.delete(name, this.attributes);
    }
    written.forEach((name, i) => {
      jar.set(name, chunks[i]!, attributes);
    });
  }

  /** Deletes the session's cookies (those the request sent, and any written since). */
  clear(jar: RequestCookieJar): void {
    for (const name of this.cookieNames(jar)) jar.delete(name, this.attributes);
  }

  private async open(jar: RequestCookieJar): Promise<SessionRecord | undefined> {
    const { cookieName, now } = this.options;
    const value = this.joined(jar);
    if (value === undefined) return undefined;
    const plain = await this.sealer.open(value, cookieName);
    if (plain === undefined) return undefined;
    const session = fromJson(plain);
    return session && session.expiresAt > now() ? session : undefined;
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

  /** The session's cookies in this request: `<name>` and `<name>.<n>`. */
  private cookieNames(jar: RequestCookieJar): string[] {
    const { cookieName } = this.options;
    return jar
      .namesStartingWith(cookieName)
      .filter((name) => name === cookieName || /^\.\d+$/.test(name.slice(cookieName.length)));
  }
}

/** The session as it goes into the cookie (readable names; the cookie is encrypted anyway). */
function toJson(session: SessionRecord): Record<string, unknown> {
  return {
    v: 1,
    user: session.user,
    tokens: session.tokens,
    createdAt: session.createdAt,
    expiresAt: session.expiresAt,
  };
}

/** The session out of an authenticated cookie, still checked field by field. */
function fromJson(json: string): SessionRecord | undefined {
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
