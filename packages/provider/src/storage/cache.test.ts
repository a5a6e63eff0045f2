import { describe, expect, it } from 'vitest';
import { withReadCache } from './cache.js';
import { memoryStorage } from './memory.js';
import { client, user } from './storage.suite.js';
import type { Storage } from './types.js';

/** A memory storage that counts the reads reaching it. */
function counted(): { storage: Storage; reads: Record<string, number> } {
  const storage = memoryStorage();
  const reads = { client: 0, user: 0, consent: 0 };
  const clientsGet = storage.clients.get.bind(storage.clients);
  const usersGet = storage.users.get.bind(storage.users);
  const consentsGet = storage.consents.get.bind(storage.consents);
  storage.clients.get = (id) => {
    reads.client++;
    return clientsGet(id);
  };
  storage.users.get = (sub) => {
    reads.user++;
    return usersGet(sub);
  };
  storage.consents.get = (sub, clientId) => {
    reads.consent++;
    return consentsGet(sub, clientId);
  };
  return { storage, reads };
}

function setup(ttlMs = 1000) {
  const { storage, reads } = counted();
  let now = 0;
  const cached = withReadCache(storage, { ttlMs, clock: () => now });
  return {
    storage,
    cached,
    reads,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('withReadCache', () => {
  it('serves clients, users and consents from memory within the TTL', async () => {
    const { storage, cached, reads, advance } = setup();
    await storage.clients.put(client('app'));
    await storage.users.put(user('sub-1', 'alice'));
    await storage.consents.put('sub-1', 'app', ['openid'], 0);

    for (let i = 0; i < 3; i++) {
      expect(await cached.clients.get('app')).toEqual(client('app'));
      expect((await cached.users.get('sub-1'))?.username).toBe('alice');
      expect(await cached.consents.get('sub-1', 'app')).toEqual(['openid']);
      advance(300);
    }
    expect(reads).toEqual({ client: 1, user: 1, consent: 1 });
  });

  it('reads again once the TTL has passed: a write by another process shows up then', async () => {
    const { storage, cached, reads, advance } = setup(1000);
    await storage.clients.put(client('app'));
    expect((await cached.clients.get('app'))?.scope).toBe('openid profile email');
    // Written behind the cache's back (another process sharing the database).
    await storage.clients.put(client('app', { scope: 'openid' }));
    advance(999);
    expect((await cached.clients.get('app'))?.scope).toBe('openid profile email');
    advance(1);
    expect((await cached.clients.get('app'))?.scope).toBe('openid');
    expect(reads.client).toBe(2);
  });

  it('drops an entry on every write made through it', async () => {
    const { cached, reads } = setup();
    await cached.clients.put(client('app'));
    await cached.clients.get('app');
    await cached.clients.put(client('app', { scope: 'openid' }));
    expect((await cached.clients.get('app'))?.scope).toBe('openid');
    expect(await cached.clients.remove('app')).toBe(true);
    expect(await cached.clients.get('app')).toBeUndefined();

    await cached.users.put(user('sub-1', 'alice'));
    await cached.users.get('sub-1');
    await cached.users.put(user('sub-1', 'alice', { claims: { name: 'Alice' } }));
    expect((await cached.users.get('sub-1'))?.claims).toEqual({ name: 'Alice' });
    expect(await cached.users.remove('sub-1')).toBe(true);
    expect(await cached.users.get('sub-1')).toBeUndefined();

    await cached.consents.put('sub-1', 'app', ['openid'], 0);
    await cached.consents.get('sub-1', 'app');
    await cached.consents.put('sub-1', 'app', ['openid', 'email'], 0);
    expect(await cached.consents.get('sub-1', 'app')).toEqual(['openid', 'email']);
    expect(reads).toEqual({ client: 3, user: 3, consent: 2 });
  });

  it('does not cache what does not exist', async () => {
    const { storage, cached, reads } = setup();
    expect(await cached.clients.get('app')).toBeUndefined();
    await storage.clients.put(client('app'));
    expect(await cached.clients.get('app')).toBeDefined();
    expect(await cached.consents.get('sub-1', 'app')).toBeUndefined();
    await storage.consents.put('sub-1', 'app', ['openid'], 0);
    expect(await cached.consents.get('sub-1', 'app')).toEqual(['openid']);
    expect(reads).toMatchObject({ client: 2, consent: 2 });
  });

  it('keeps consents apart per (sub, client), whatever the ids contain', async () => {
    const { cached } = setup();
    await cached.consents.put('a:1', 'b', ['openid'], 0);
    await cached.consents.put('a', ':1b', ['email'], 0);
    expect(await cached.consents.get('a:1', 'b')).toEqual(['openid']);
    expect(await cached.consents.get('a', ':1b')).toEqual(['email']);
  });

  it('hands out frozen records, so that no caller can change what others read', async () => {
    const { cached } = setup();
    await cached.clients.put(client('app'));
    const got = (await cached.clients.get('app'))!;
    expect(() => got.redirect_uris.push('https://evil.example/')).toThrow(TypeError);
    expect(() => {
      got.scope = 'changed';
    }).toThrow(TypeError);
    expect(await cached.clients.get('app')).toEqual(client('app'));
  });

  it('does not keep a value read before a write that overtook it', async () => {
    const { storage, cached } = setup();
    await storage.clients.put(client('app'));
    // A slow read: it starts, then a write completes, then the read returns the old record.
    const get = storage.clients.get.bind(storage.clients);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    storage.clients.get = async (id) => {
      const old = await get(id);
      await gate;
      return old;
    };
    const slow = cached.clients.get('app');
    storage.clients.get = get;
    await cached.clients.put(client('app', { scope: 'openid' }));
    release();
    expect((await slow)?.scope).toBe('openid profile email');
    expect((await cached.clients.get('app'))?.scope).toBe('openid');
  });

  it('holds at most maxEntries records of a kind, dropping the oldest', async () => {
    const { storage, reads } = counted();
    const cached = withReadCache(storage, { ttlMs: 1000, maxEntries: 2, clock: () => 0 });
    for (const id of ['a', 'b', 'c']) await storage.clients.put(client(id));
    for (const id of ['a', 'b', 'c']) await cached.clients.get(id);
    await cached.clients.get('c');
    await cached.clients.get('b');
    expect(reads.client).toBe(3);
    await cached.clients.get('a');
    expect(reads.client).toBe(4);
  });

  it('passes everything else straight through, and a TTL of 0 turns it off', async () => {
    const { storage } = counted();
    expect(withReadCache(storage, { ttlMs: 0 })).toBe(storage);
    const cached = withReadCache(storage, { ttlMs: 1000 });
    expect(cached.codes).toBe(storage.codes);
    expect(cached.sessions).toBe(storage.sessions);
    expect(cached.grants).toBe(storage.grants);
    expect(cached.refreshTokens).toBe(storage.refreshTokens);
    expect(cached.counters).toBe(storage.counters);
    await cached.users.put(user('sub-1', 'alice'));
    expect((await cached.users.findByUsername('ALICE'))?.sub).toBe('sub-1');
    expect((await cached.users.list()).length).toBe(1);
  });
});
