/**
 * A short-lived read cache in front of the records that every sign-in reads and that rarely
 * change: clients, users (by `sub`) and consents. Everything else (codes, sessions, grants, tokens,
 * counters) goes straight to the storage underneath, so single-use and revocation checks never see
 * a cached answer.
 *
 * Staleness:
 * - Writes made through this storage (`put`, `remove`) drop the cached entry before they return,
 *   so this process reads its own writes.
 * - A write made by another process on the same database (another Gatehouse instance, or the
 *   `gatehouse clients|users` commands) is seen here at most `ttlMs` later. Until then this
 *   process may still accept a removed client or a rotated secret, refuse a new secret, issue an
 *   ID token to a removed user or with old claims, or skip the consent page for scopes whose
 *   consent was replaced.
 * - Only records that exist are cached: a client, user or consent created elsewhere is seen at
 *   once, and unknown ids cannot fill the cache.
 *
 * Cached records are deep-frozen and shared between callers; a caller that wants to change one
 * copies it first (`{ ...client }`), as the engine already does before every `put`.
 */
import type { Client, ConsentStore, Storage, User } from './types.js';

export interface ReadCacheOptions {
  /** How long a record may be served from memory, in ms. 0 turns the cache off. */
  ttlMs: number;
  /** Entries per kind of record (clients, users, consents); the oldest go first. Default 10 000. */
  maxEntries?: number;
  /** Monotonic milliseconds; real time by default (the TTL bounds staleness in real time). */
  clock?: () => number;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  /** Bumped by every invalidation: a read that started before one must not fill the cache. */
  private epoch = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly clock: () => number,
  ) {}

  async read(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      if (hit.expiresAt > this.clock()) return hit.value;
      this.entries.delete(key);
    }
    const epoch = this.epoch;
    const value = await load();
    if (value !== undefined && epoch === this.epoch) {
      if (this.entries.size >= this.maxEntries) {
        // Map iterates in insertion order: the first key is the oldest entry.
        this.entries.delete(this.entries.keys().next().value as string);
      }
      this.entries.set(key, { value: deepFreeze(value), expiresAt: this.clock() + this.ttlMs });
    }
    return value;
  }

  invalidate(key: string): void {
    this.epoch++;
    this.entries.delete(key);
  }
}

/** `storage` with cached reads of clients, users and consents (see above). */
export function withReadCache(storage: Storage, options: ReadCacheOptions): Storage {
  if (options.ttlMs <= 0) return storage;
  const maxEntries = options.maxEntries ?? 10_000;
  const clock = options.clock ?? (() => performance.now());
  const clients = new TtlCache<Client>(options.ttlMs, maxEntries, clock);
  const users = new TtlCache<User>(options.ttlMs, maxEntries, clock);
  const consents = new TtlCache<string[]>(options.ttlMs, maxEntries, clock);
  // The length prefix keeps every (sub, clientId) pair a distinct key, whatever the ids contain.
  const consentKey = (sub: string, clientId: string) => `${sub.length}:${sub}${clientId}`;

  const consentStore: ConsentStore = {
    get: (sub, clientId) =>
      consents.read(consentKey(sub, clientId), () => storage.consents.get(sub, clientId)),
    async put(sub, clientId, scopes, now) {
      try {
        await storage.consents.put(sub, clientId, scopes, now);
      } finally {
        consents.invalidate(consentKey(sub, clientId));
      }
    },
  };

  return {
    // Every other store passes through as it is. The adapters are plain objects whose methods
    // close over their state, so copying their properties is enough.
    ...storage,
    clients: {
      get: (clientId) => clients.read(clientId, () => storage.clients.get(clientId)),
      list: () => storage.clients.list(),
      async put(client) {
        try {
          await storage.clients.put(client);
        } finally {
          clients.invalidate(client.client_id);
        }
      },
      async remove(clientId) {
        try {
          return await storage.clients.remove(clientId);
        } finally {
          clients.invalidate(clientId);
        }
      },
    },
    users: {
      get: (sub) => users.read(sub, () => storage.users.get(sub)),
      findByUsername: (username) => storage.users.findByUsername(username),
      list: () => storage.users.list(),
      async put(user) {
        try {
          await storage.users.put(user);
        } finally {
          users.invalidate(user.sub);
        }
      },
      async remove(sub) {
        try {
          return await storage.users.remove(sub);
        } finally {
          users.invalidate(sub);
        }
      },
    },
    consents: consentStore,
  };
}
