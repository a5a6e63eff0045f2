/**
 * Where the application session lives. By default it is all in the cookie (encrypted, chunked
 * when large); with a `SessionStore` the cookie holds only an encrypted session id and the
 * store holds the session — its tokens still encrypted, so the store never sees them in clear.
 */
import type { IdTokenClaims } from '@gatehouse/client';

/** One session as a `SessionStore` keeps it (plain JSON: a store may serialise it as it likes). */
export interface StoredSession {
  /** The signed-in user's ID token claims. */
  user: IdTokenClaims;
  /** The tokens, AES-256-GCM encrypted under a key derived from the adapter's `secret`. */
  tokens: string;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds; the store may forget the session after it. */
  expiresAt: number;
}

/**
 * A server-side session store (Redis, a database table, …), by session id. The id is 256 random
 * bits; the browser only ever sees it encrypted.
 */
export interface SessionStore {
  get(id: string): Promise<StoredSession | undefined>;
  /** Creates or replaces the session; it need not be kept after `session.expiresAt`. */
  set(id: string, session: StoredSession): Promise<void>;
  destroy(id: string): Promise<void>;
}

export interface MemorySessionStoreOptions {
  /** Sessions kept at most; the oldest goes first. Default 10 000. */
  maxEntries?: number;
  /** Clock, epoch milliseconds. Default `Date.now`. */
  now?: () => number;
}

/**
 * Sessions in a `Map` of this instance: the reference store, for one process and for tests.
 * Behind a load balancer use a shared store (or the default cookie sessions).
 *
 * @example
 * ```ts
 * const auth = await gatehouse({ ...options, session: { store: memorySessionStore() } });
 * ```
 */
export function memorySessionStore(options: MemorySessionStoreOptions = {}): SessionStore {
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const sessions = new Map<string, StoredSession>();
  return {
    async get(id) {
      const session = sessions.get(id);
      if (session === undefined) return undefined;
      if (session.expiresAt <= now()) {
        sessions.delete(id);
        return undefined;
      }
      return structuredClone(session);
    },
    async set(id, session) {
      sessions.delete(id);
      for (const oldest of sessions.keys()) {
        if (sessions.size < maxEntries) break;
        sessions.delete(oldest);
      }
      sessions.set(id, structuredClone(session));
    },
    async destroy(id) {
      sessions.delete(id);
    },
  };
}
