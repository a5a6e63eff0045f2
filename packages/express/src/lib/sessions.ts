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
 *
 * The session's JSON and its chunked cookie are @gatehouse/web's (`SessionCookie`); the sealing
 * (node:crypto) and the store are Express's.
 */
import { randomBytes } from 'node:crypto';
import type { IdTokenClaims } from '@gatehouse/client';
import {
  SessionCookie,
  type SessionRecord,
  type SessionTokens,
  sessionFromJson,
  sessionToJson,
  sessionTokensFromJson,
} from '@gatehouse/web/kit';
import type { SessionStore, StoredSession } from '../session.js';
import type { RequestCookieJar } from './cookies.js';
import { type Sealer, sealer } from './seal.js';

export { CHUNK_BYTES, MAX_CHUNKS, type SessionTokens } from '@gatehouse/web/kit';

export interface Session extends SessionRecord {
  /** The store's id (store mode only). */
  id?: string;
}

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
  private readonly cookie: SessionCookie;

  constructor(private readonly options: SessionsOptions) {
    this.cookieSealer = sealer(options.secret, 'session cookie');
    this.tokenSealer = sealer(options.secret, 'session store tokens');
    this.cookie = new SessionCookie({
      cookieName: options.cookieName,
      secure: options.secure,
      now: options.now,
      tooLargeHint:
        'ask for fewer scopes or claims, or keep sessions server-side with the `session.store` option',
    });
  }

  /** A new session for a login that just succeeded. */
  create(user: IdTokenClaims, tokens: SessionTokens): Session {
    const now = this.options.now();
    return { user, tokens, createdAt: now, expiresAt: now + this.options.maxAgeSeconds * 1000 };
  }

  /** The request's session, or undefined (and its cookies cleared when they are not valid). */
  async read(jar: RequestCookieJar): Promise<Session | undefined> {
    // No session cookie: nothing to decrypt (the common case costs a header parse).
    if (this.cookie.names(jar).length === 0) return undefined;
    const session = await this.open(jar);
    if (session === undefined) this.cookie.clear(jar);
    return session;
  }

  /** Writes the session (a new one, or one with refreshed tokens). */
  async write(jar: RequestCookieJar, session: Session): Promise<Session> {
    const { cookieName, store } = this.options;
    if (!store) {
      const value = this.cookieSealer.seal(sessionToJson(session), cookieName);
      this.cookie.write(jar, value, session.expiresAt);
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
      this.cookie.write(jar, this.cookieSealer.seal(id, cookieName), session.expiresAt);
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
    this.cookie.clear(jar);
  }

  private async open(jar: RequestCookieJar): Promise<Session | undefined> {
    const { cookieName, store, now } = this.options;
    const value = this.cookie.value(jar);
    if (value === undefined) return undefined;
    const plain = this.cookieSealer.open(value, cookieName);
    if (plain === undefined) return undefined;
    if (!store) {
      const session = sessionFromJson(plain);
      return session && session.expiresAt > now() ? session : undefined;
    }
    const stored = await store.get(plain);
    if (!stored) return undefined;
    if (!(stored.expiresAt > now())) {
      await store.destroy(plain);
      return undefined;
    }
    const tokens = this.tokenSealer.open(stored.tokens, plain);
    const parsed = tokens === undefined ? undefined : sessionTokensFromJson(tokens);
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
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
