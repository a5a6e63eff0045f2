/**
 * The in-memory reference adapter: the simplest correct implementation of every storage
 * interface. Each instance is independent (no module-level state). Single-use operations are
 * atomic because they complete synchronously inside one call.
 */
import type {
  AuthorizationCode,
  Client,
  ConsumeResult,
  Interaction,
  PushedRequest,
  RefreshToken,
  Session,
  Storage,
  StoredKey,
  User,
} from './types.js';

interface Consumable<T> {
  record: T;
  usedAt?: number;
}

function consume<T extends { expiresAt: number }>(
  map: Map<string, Consumable<T>>,
  id: string,
  now: number,
): ConsumeResult<T> {
  const entry = map.get(id);
  if (!entry || entry.record.expiresAt <= now) return { status: 'missing' };
  if (entry.usedAt !== undefined)
    return { status: 'reused', record: structuredClone(entry.record) };
  entry.usedAt = now;
  return { status: 'ok', record: structuredClone(entry.record) };
}

function sweepMap<T>(map: Map<string, T>, expired: (value: T) => boolean): void {
  for (const [key, value] of map) if (expired(value)) map.delete(key);
}

/** Creates an empty in-memory storage. */
export function memoryStorage(): Storage {
  const clients = new Map<string, Client>();
  const users = new Map<string, User>();
  const codes = new Map<string, Consumable<AuthorizationCode>>();
  const sessions = new Map<string, Session>();
  const interactions = new Map<string, Interaction>();
  const pushedRequests = new Map<string, PushedRequest>();
  const revokedGrants = new Map<string, number>();
  const revokedAccessTokens = new Map<string, number>();
  const refreshTokens = new Map<string, Consumable<RefreshToken>>();
  const consents = new Map<string, string[]>();
  const keys = new Map<string, StoredKey>();
  const counters = new Map<string, { count: number; resetAt: number }>();
  const onceKeys = new Map<string, number>();
  const clone = <T>(value: T): T => structuredClone(value);

  return {
    clients: {
      async get(id) {
        const c = clients.get(id);
        return c && clone(c);
      },
      async list() {
        return [...clients.values()]
          .map(clone)
          .sort((a, b) => a.client_id.localeCompare(b.client_id));
      },
      async put(client) {
        clients.set(client.client_id, clone(client));
      },
      async remove(id) {
        return clients.delete(id);
      },
    },
    users: {
      async get(sub) {
        const u = users.get(sub);
        return u && clone(u);
      },
      async findByUsername(username) {
        const name = username.toLowerCase();
        for (const u of users.values()) if (u.username === name) return clone(u);
        return undefined;
      },
      async list() {
        return [...users.values()].map(clone).sort((a, b) => a.username.localeCompare(b.username));
      },
      async put(user) {
        for (const u of users.values()) {
          if (u.username === user.username && u.sub !== user.sub) {
            throw new Error(`username ${user.username} is taken`);
          }
        }
        users.set(user.sub, clone(user));
      },
      async remove(sub) {
        return users.delete(sub);
      },
    },
    codes: {
      async save(code) {
        codes.set(code.id, { record: clone(code) });
      },
      async consume(id, now) {
        return consume(codes, id, now);
      },
    },
    sessions: {
      async get(id, now) {
        const s = sessions.get(id);
        return s && s.expiresAt > now ? clone(s) : undefined;
      },
      async put(session) {
        sessions.set(session.id, clone(session));
      },
      async remove(id) {
        sessions.delete(id);
      },
    },
    interactions: {
      async get(id, now) {
        const i = interactions.get(id);
        return i && i.expiresAt > now ? clone(i) : undefined;
      },
      async put(interaction) {
        interactions.set(interaction.id, clone(interaction));
      },
      async remove(id) {
        interactions.delete(id);
      },
    },
    pushedRequests: {
      async save(request) {
        pushedRequests.set(request.id, clone(request));
      },
      async consume(id, now) {
        const r = pushedRequests.get(id);
        if (!r || r.expiresAt <= now) return undefined;
        pushedRequests.delete(id);
        return r;
      },
    },
    grants: {
      async revoke(id, _now, expiresAt) {
        revokedGrants.set(id, Math.max(expiresAt, revokedGrants.get(id) ?? 0));
      },
      async isRevoked(id, now) {
        const until = revokedGrants.get(id);
        return until !== undefined && until > now;
      },
      async revokeAccessToken(jti, expiresAt) {
        revokedAccessTokens.set(jti, expiresAt);
      },
      async isAccessTokenRevoked(jti, now) {
        const until = revokedAccessTokens.get(jti);
        return until !== undefined && until > now;
      },
    },
    refreshTokens: {
      async save(token) {
        refreshTokens.set(token.id, { record: clone(token) });
      },
      async consume(id, now) {
        return consume(refreshTokens, id, now);
      },
      async get(id, now) {
        const entry = refreshTokens.get(id);
        if (!entry || entry.usedAt !== undefined || entry.record.expiresAt <= now) return undefined;
        return clone(entry.record);
      },
      async remove(id) {
        const entry = refreshTokens.get(id);
        refreshTokens.delete(id);
        return entry && clone(entry.record);
      },
    },
    consents: {
      async get(sub, clientId) {
        const c = consents.get(`${sub}\u0000${clientId}`);
        return c && [...c];
      },
      async put(sub, clientId, scopes) {
        consents.set(`${sub}\u0000${clientId}`, [...scopes]);
      },
    },
    keys: {
      async list() {
        return [...keys.values()].map(clone).sort((a, b) => a.createdAt - b.createdAt);
      },
      async put(key) {
        keys.set(key.kid, clone(key));
      },
      async remove(kid) {
        return keys.delete(kid);
      },
    },
    counters: {
      async hit(key, windowMs, now) {
        const c = counters.get(key);
        if (!c || c.resetAt <= now) {
          counters.set(key, { count: 1, resetAt: now + windowMs });
          return 1;
        }
        c.count += 1;
        return c.count;
      },
      async peek(key, now) {
        const c = counters.get(key);
        return c && c.resetAt > now ? c.count : 0;
      },
      async reset(key) {
        counters.delete(key);
      },
      async once(key, expiresAt, now) {
        const until = onceKeys.get(key);
        if (until !== undefined && until > now) return false;
        onceKeys.set(key, expiresAt);
        return true;
      },
    },
    async sweep(now) {
      sweepMap(codes, (c) => c.record.expiresAt <= now);
      sweepMap(refreshTokens, (t) => t.record.expiresAt <= now);
      sweepMap(sessions, (s) => s.expiresAt <= now);
      sweepMap(interactions, (i) => i.expiresAt <= now);
      sweepMap(pushedRequests, (r) => r.expiresAt <= now);
      sweepMap(revokedGrants, (until) => until <= now);
      sweepMap(revokedAccessTokens, (until) => until <= now);
      sweepMap(counters, (c) => c.resetAt <= now);
      sweepMap(onceKeys, (until) => until <= now);
    },
    async close() {},
  };
}
