/**
 * The application session — who is signed in and their tokens — kept in the browser: the whole
 * session as JSON, AES-256-GCM with the cookie name as additional data, in one cookie or in
 * chunks (`session-cookie.ts`).
 *
 * Whatever is wrong with a session cookie (altered, sealed under another secret or for another
 * cookie name, chunks missing, expired) makes it no session, and its cookies are cleared.
 */
import type { IdTokenClaims } from '@gatehouse/client';
import type { RequestCookieJar } from './cookies.js';
import { type Sealer, sealer } from './seal.js';
import {
  SessionCookie,
  type SessionRecord,
  type SessionTokens,
  sessionFromJson,
  sessionToJson,
} from './session-cookie.js';

export type { SessionRecord, SessionTokens } from './session-cookie.js';

export interface SessionsOptions {
  secret: string;
  cookieName: string;
  maxAgeSeconds: number;
  secure: boolean;
  now: () => number;
}

export class Sessions {
  private readonly sealer: Sealer;
  private readonly cookie: SessionCookie;

  constructor(private readonly options: SessionsOptions) {
    this.sealer = sealer(options.secret, 'session cookie');
    this.cookie = new SessionCookie({
      cookieName: options.cookieName,
      secure: options.secure,
      now: options.now,
      tooLargeHint: 'ask for fewer scopes or claims',
    });
  }

  /** A new session for a login that just succeeded. */
  create(user: IdTokenClaims, tokens: SessionTokens): SessionRecord {
    const now = this.options.now();
    return { user, tokens, createdAt: now, expiresAt: now + this.options.maxAgeSeconds * 1000 };
  }

  /** The request's session, or undefined (and its cookies cleared when they are not valid). */
  async read(jar: RequestCookieJar): Promise<SessionRecord | undefined> {
    // No session cookie: nothing to decrypt (the common case costs a header parse).
    if (this.cookie.names(jar).length === 0) return undefined;
    const session = await this.open(jar);
    if (session === undefined) this.clear(jar);
    return session;
  }

  /** Writes the session (a new one, or one with refreshed tokens), replacing its old cookies. */
  async write(jar: RequestCookieJar, session: SessionRecord): Promise<void> {
    const value = await this.sealer.seal(sessionToJson(session), this.options.cookieName);
    this.cookie.write(jar, value, session.expiresAt);
  }

  /** Deletes the session's cookies (those the request sent, and any written since). */
  clear(jar: RequestCookieJar): void {
    this.cookie.clear(jar);
  }

  private async open(jar: RequestCookieJar): Promise<SessionRecord | undefined> {
    const { cookieName, now } = this.options;
    const value = this.cookie.value(jar);
    if (value === undefined) return undefined;
    const plain = await this.sealer.open(value, cookieName);
    if (plain === undefined) return undefined;
    const session = sessionFromJson(plain);
    return session && session.expiresAt > now() ? session : undefined;
  }
}
