/**
 * The session cookie as every adapter writes it, whatever seals its value: the session as JSON
 * (checked field by field on the way back), and the sealed value in one cookie or, when longer
 * than one cookie holds, split over `<name>.0`, `<name>.1`, … and joined again on read. No
 * crypto here: the adapter seals (`crypto.subtle` here, node:crypto in @gatehouse/express).
 */
import { ClientError, type CookieJar, type IdTokenClaims } from '@gatehouse/client';

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

/** A jar that can also list its cookies by prefix. */
export interface SessionCookieJar extends CookieJar {
  namesStartingWith(prefix: string): string[];
}

export interface SessionCookieOptions {
  cookieName: string;
  secure: boolean;
  now: () => number;
  /** What to do about a session too large for cookies (the error's hint). */
  tooLargeHint: string;
}

/** The session cookie's chunks in a jar: read joined, written split, cleared. */
export class SessionCookie {
  private readonly attributes;

  constructor(private readonly options: SessionCookieOptions) {
    this.attributes = {
      httpOnly: true,
      secure: options.secure,
      sameSite: 'Lax',
      path: '/',
    } as const;
  }

  /** The cookie's value: the single cookie, or the chunks `.0`, `.1`, … joined. */
  value(jar: SessionCookieJar): string | undefined {
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

  /**
   * Writes the value, in one cookie or in chunks, replacing the old ones; the cookies live as
   * long as the session (until `expiresAt`).
   */
  write(jar: SessionCookieJar, value: string, expiresAt: number): void {
    const { cookieName, now } = this.options;
    const remaining = Math.ceil((expiresAt - now()) / 1000);
    const attributes = { ...this.attributes, maxAge: Math.max(1, remaining) };
    const chunks: string[] = [];
    for (let i = 0; i < value.length; i += CHUNK_BYTES) {
      chunks.push(value.slice(i, i + CHUNK_BYTES));
    }
    if (chunks.length > MAX_CHUNKS) {
      throw new ClientError(
        'config_invalid',
        `the session is too large for cookies (${value.length} bytes; at most ${MAX_CHUNKS * CHUNK_BYTES})`,
        { hint: this.options.tooLargeHint },
      );
    }
    const written = chunks.length === 1 ? [cookieName] : chunks.map((_, i) => `${cookieName}.${i}`);
    for (const name of this.names(jar)) {
      if (!written.includes(name)) jar.delete(name, this.attributes);
    }
    written.forEach((name, i) => {
      jar.set(name, chunks[i]!, attributes);
    });
  }

  /** Deletes the session's cookies (those the request sent, and any written since). */
  clear(jar: SessionCookieJar): void {
    for (const name of this.names(jar)) jar.delete(name, this.attributes);
  }

  /** The session's cookies in this request: `<name>` and `<name>.<n>`. */
  names(jar: SessionCookieJar): string[] {
    const { cookieName } = this.options;
    return jar
      .namesStartingWith(cookieName)
      .filter((name) => name === cookieName || /^\.\d+$/.test(name.slice(cookieName.length)));
  }
}

/** The session as it goes into the cookie (readable names; the cookie is encrypted anyway). */
export function sessionToJson(session: SessionRecord): string {
  return JSON.stringify({
    v: 1,
    user: session.user,
    tokens: session.tokens,
    createdAt: session.createdAt,
    expiresAt: session.expiresAt,
  });
}

/** The session out of an authenticated cookie, still checked field by field. */
export function sessionFromJson(json: string): SessionRecord | undefined {
  const p = safeJson(json);
  if (!isObject(p) || p['v'] !== 1) return undefined;
  const user = p['user'];
  const tokens = parseSessionTokens(p['tokens']);
  const createdAt = p['createdAt'];
  const expiresAt = p['expiresAt'];
  if (!isObject(user) || typeof user['sub'] !== 'string' || tokens === undefined) return undefined;
  if (typeof createdAt !== 'number' || typeof expiresAt !== 'number') return undefined;
  return { user: user as IdTokenClaims, tokens, createdAt, expiresAt };
}

/** Tokens out of JSON (a session store's), checked field by field. */
export function sessionTokensFromJson(json: string): SessionTokens | undefined {
  return parseSessionTokens(safeJson(json));
}

function parseSessionTokens(value: unknown): SessionTokens | undefined {
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
