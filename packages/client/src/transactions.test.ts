import { randomToken } from '@gatehouse/oauth';
import { describe, expect, it } from 'vitest';
import { ClientError } from './errors.js';
import {
  type CookieAttributes,
  type CookieJar,
  cookieTransactionStore,
  MAX_TRANSACTION_COOKIE_BYTES,
  memoryTransactionStore,
  type Transaction,
  type TransactionStore,
} from './transactions.js';

const SECRET = 'a-test-secret-of-at-least-32-characters!';
const TTL = 15 * 60 * 1000;
const T0 = 1_750_000_000_000;

/** A controllable clock. */
function clock(start = T0) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

function transaction(now: number, extra: Partial<Transaction> = {}): Transaction {
  return {
    state: randomToken(),
    issuer: 'https://id.example.com',
    redirectUri: 'https://app.example.com/auth/callback',
    nonce: randomToken(),
    codeVerifier: randomToken(),
    maxAge: 3600,
    returnTo: '/dashboard?tab=2',
    createdAt: now,
    expiresAt: now + TTL,
    ...extra,
  };
}

/**
 * A test-only jar that behaves like the browser plus the response: it holds the cookies the
 * browser would send next, and records what the store asked to set and delete.
 */
class TestJar implements CookieJar {
  readonly cookies = new Map<string, { value: string; attributes: CookieAttributes }>();
  readonly deleted: {
    name: string;
    attributes: Pick<CookieAttributes, 'path' | 'secure' | 'sameSite'>;
  }[] = [];

  get(name: string) {
    return this.cookies.get(name)?.value;
  }
  names() {
    return [...this.cookies.keys()];
  }
  set(name: string, value: string, attributes: CookieAttributes) {
    this.cookies.set(name, { value, attributes });
  }
  delete(name: string, attributes: Pick<CookieAttributes, 'path' | 'secure' | 'sameSite'>) {
    this.deleted.push({ name, attributes });
    this.cookies.delete(name);
  }
  /** What an attacker or a browser quirk could put in the request. */
  plant(name: string, value: string) {
    this.cookies.set(name, {
      value,
      attributes: { httpOnly: true, secure: true, sameSite: 'Lax', path: '/', maxAge: 900 },
    });
  }
  only() {
    expect(this.cookies.size).toBe(1);
    const [name, cookie] = [...this.cookies][0]!;
    return { name, ...cookie };
  }
}

// The contract every TransactionStore passes.
const adapters: {
  name: string;
  make(now: () => number): { store: TransactionStore<never>; context: () => never };
}[] = [
  {
    name: 'memoryTransactionStore',
    make: (now) => ({
      store: memoryTransactionStore({ now }) as TransactionStore<never>,
      context: () => undefined as never,
    }),
  },
  {
    name: 'cookieTransactionStore',
    make: (now) => {
      const jar = new TestJar();
      return {
        store: cookieTransactionStore({ secret: SECRET, now }) as TransactionStore<never>,
        context: () => jar as never,
      };
    },
  },
];

describe.each(adapters)('$name (TransactionStore contract)', ({ make }) => {
  it('gives back what was saved, by state', async () => {
    const c = clock();
    const { store, context } = make(c.now);
    const tx = transaction(c.now());
    await store.save(context(), tx);
    expect(await store.take(context(), tx.state)).toEqual(tx);
  });

  it('keeps only the required fields when the optional ones are absent', async () => {
    const c = clock();
    const { store, context } = make(c.now);
    const tx: Transaction = {
      state: randomToken(),
      issuer: 'https://id.example.com',
      redirectUri: 'https://app.example.com/cb',
      createdAt: c.now(),
      expiresAt: c.now() + 60_000,
    };
    await store.save(context(), tx);
    expect(await store.take(context(), tx.state)).toStrictEqual(tx);
  });

  it('is single use: a second take gives undefined', async () => {
    const c = clock();
    const { store, context } = make(c.now);
    const tx = transaction(c.now());
    await store.save(context(), tx);
    expect(await store.take(context(), tx.state)).toBeDefined();
    expect(await store.take(context(), tx.state)).toBeUndefined();
  });

  it('gives undefined for an unknown or empty state', async () => {
    const c = clock();
    const { store, context } = make(c.now);
    await store.save(context(), transaction(c.now()));
    expect(await store.take(context(), randomToken())).toBeUndefined();
    expect(await store.take(context(), '')).toBeUndefined();
  });

  it('expires a transaction at its expiresAt', async () => {
    const c = clock();
    const { store, context } = make(c.now);
    const tx = transaction(c.now(), { expiresAt: c.now() + 60_000 });
    await store.save(context(), tx);
    c.advance(60_000);
    expect(await store.take(context(), tx.state)).toBeUndefined();
  });

  it('never keeps a transaction longer than the TTL, whatever its expiresAt', async () => {
    const c = clock();
    const { store, context } = make(c.now);
    const tx = transaction(c.now(), { expiresAt: c.now() + 24 * 3600_000 });
    await store.save(context(), tx);
    c.advance(TTL);
    expect(await store.take(context(), tx.state)).toBeUndefined();
  });

  it('keeps independent states apart (several tabs), taken in any order', async () => {
    const c = clock();
    const { store, context } = make(c.now);
    const a = transaction(c.now());
    const b = transaction(c.now());
    const d = transaction(c.now());
    await store.save(context(), a);
    await store.save(context(), b);
    await store.save(context(), d);
    expect(await store.take(context(), b.state)).toEqual(b);
    expect(await store.take(context(), d.state)).toEqual(d);
    expect(await store.take(context(), a.state)).toEqual(a);
  });

  it('returns a copy: changing it does not change what is stored', async () => {
    const c = clock();
    const { store, context } = make(c.now);
    const tx = transaction(c.now());
    const original = { ...tx };
    await store.save(context(), tx);
    tx.issuer = 'https://evil.example';
    expect(await store.take(context(), original.state)).toEqual(original);
  });

  it('refuses a transaction without a state', async () => {
    const c = clock();
    const { store, context } = make(c.now);
    await expect(
      store.save(context(), { ...transaction(c.now()), state: '' }),
    ).rejects.toBeInstanceOf(TypeError);
  });
});

describe('memoryTransactionStore', () => {
  it('drops the oldest entry first beyond maxEntries', async () => {
    const c = clock();
    const store = memoryTransactionStore({ maxEntries: 2, now: c.now });
    const [a, b, d] = [transaction(c.now()), transaction(c.now()), transaction(c.now())];
    await store.save(undefined, a);
    await store.save(undefined, b);
    await store.save(undefined, d);
    expect(await store.take(undefined, a.state)).toBeUndefined();
    expect(await store.take(undefined, b.state)).toEqual(b);
    expect(await store.take(undefined, d.state)).toEqual(d);
  });

  it('sweeps expired entries before dropping live ones', async () => {
    const c = clock();
    const store = memoryTransactionStore({ maxEntries: 2, now: c.now });
    const live = transaction(c.now());
    const shortLived = transaction(c.now(), { expiresAt: c.now() + 1000 });
    await store.save(undefined, live);
    await store.save(undefined, shortLived);
    c.advance(2000);
    const next = transaction(c.now());
    await store.save(undefined, next);
    expect(await store.take(undefined, live.state)).toEqual(live);
    expect(await store.take(undefined, next.state)).toEqual(next);
  });

  it('instances are independent (no module-level state)', async () => {
    const one = memoryTransactionStore();
    const two = memoryTransactionStore();
    const tx = transaction(Date.now());
    await one.save(undefined, tx);
    expect(await two.take(undefined, tx.state)).toBeUndefined();
    expect(await one.take(undefined, tx.state)).toEqual(tx);
  });

  it('validates its options, naming them', () => {
    for (const [options, option] of [
      [{ ttlMs: 0 }, 'ttlMs'],
      [{ ttlMs: TTL + 1 }, 'ttlMs'],
      [{ ttlMs: Number.NaN }, 'ttlMs'],
      [{ maxEntries: 0 }, 'maxEntries'],
      [{ maxEntries: 1.5 }, 'maxEntries'],
    ] as const) {
      expect(() => memoryTransactionStore(options)).toThrow(
        expect.objectContaining({
          code: 'config_invalid',
          message: expect.stringContaining(option),
        }),
      );
    }
  });
});

describe('cookieTransactionStore', () => {
  function setup(options: Partial<Parameters<typeof cookieTransactionStore>[0]> = {}) {
    const c = clock();
    const jar = new TestJar();
    const store = cookieTransactionStore({ secret: SECRET, now: c.now, ...options });
    return { c, jar, store };
  }

  it('writes one HttpOnly, Secure, SameSite=Lax cookie with the path and the TTL as Max-Age', async () => {
    const { c, jar, store } = setup();
    const tx = transaction(c.now());
    await store.save(jar, tx);
    const cookie = jar.only();
    expect(cookie.name).toMatch(/^gh_tx\.[A-Za-z0-9_-]{16}$/);
    expect(cookie.value).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(cookie.attributes).toEqual({
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
      path: '/',
      maxAge: 900,
    });
    expect(await store.take(jar, tx.state)).toEqual(tx);
  });

  it('uses the configured path, prefix, TTL and secure flag', async () => {
    const { c, jar, store } = setup({
      path: '/auth',
      cookiePrefix: 'app_tx-',
      ttlMs: 5 * 60_000,
      secure: false,
    });
    const tx = transaction(c.now());
    await store.save(jar, tx);
    const cookie = jar.only();
    expect(cookie.name).toMatch(/^app_tx-[A-Za-z0-9_-]{16}$/);
    expect(cookie.attributes).toEqual({
      httpOnly: true,
      secure: false,
      sameSite: 'Lax',
      path: '/auth',
      maxAge: 300,
    });
    const taken = await store.take(jar, tx.state);
    expect(taken).toEqual({ ...tx, expiresAt: c.now() + 5 * 60_000 });
    expect(jar.deleted).toEqual([
      { name: cookie.name, attributes: { path: '/auth', secure: false, sameSite: 'Lax' } },
    ]);
  });

  it('keeps the state, nonce, verifier and returnTo out of the name and value', async () => {
    const { c, jar, store } = setup();
    const tx = transaction(c.now());
    await store.save(jar, tx);
    const { name, value } = jar.only();
    const decoded = value
      .split('.')
      .slice(1)
      .map((part) => Buffer.from(part, 'base64url').toString('latin1'))
      .join('');
    for (const secret of [tx.state, tx.nonce!, tx.codeVerifier!, tx.returnTo!, tx.issuer]) {
      expect(name).not.toContain(secret);
      expect(value).not.toContain(secret);
      expect(decoded).not.toContain(secret);
    }
  });

  it('encrypts with a fresh IV each time', async () => {
    const { c, store } = setup();
    const tx = transaction(c.now());
    const one = new TestJar();
    const two = new TestJar();
    await store.save(one, tx);
    await store.save(two, tx);
    expect(one.only().name).toBe(two.only().name);
    expect(one.only().value).not.toBe(two.only().value);
  });

  it('lets two tabs log in at once, callbacks in either order', async () => {
    for (const order of [
      [0, 1],
      [1, 0],
    ]) {
      const { c, jar, store } = setup();
      const tabs = [transaction(c.now()), transaction(c.now())];
      await store.save(jar, tabs[0]!);
      await store.save(jar, tabs[1]!);
      expect(jar.cookies.size).toBe(2);
      for (const i of order) expect(await store.take(jar, tabs[i]!.state)).toEqual(tabs[i]);
      expect(jar.cookies.size).toBe(0);
    }
  });

  it('take deletes the cookie; a second take gives undefined', async () => {
    const { c, jar, store } = setup();
    const tx = transaction(c.now());
    await store.save(jar, tx);
    const { name } = jar.only();
    expect(await store.take(jar, tx.state)).toEqual(tx);
    expect(jar.cookies.has(name)).toBe(false);
    expect(jar.deleted.map((d) => d.name)).toEqual([name]);
    expect(jar.deleted[0]!.attributes).toEqual({ path: '/', secure: true, sameSite: 'Lax' });
    expect(await store.take(jar, tx.state)).toBeUndefined();
  });

  it('a replayed cookie value (the browser sends it again) is accepted only until it expires', async () => {
    // Cookies live in the browser: a store cannot revoke a copy. Single use across replays is the
    // provider's job (one-time codes); the store bounds the window by the TTL.
    const { c, jar, store } = setup();
    const tx = transaction(c.now());
    await store.save(jar, tx);
    const { name, value } = jar.only();
    await store.take(jar, tx.state);
    jar.plant(name, value);
    expect(await store.take(jar, tx.state)).toEqual(tx);
    jar.plant(name, value);
    c.advance(TTL);
    expect(await store.take(jar, tx.state)).toBeUndefined();
  });

  it('a tampered value gives undefined, and the cookie is deleted', async () => {
    const { c, jar, store } = setup();
    const tx = transaction(c.now());
    await store.save(jar, tx);
    const { name, value } = jar.only();
    const [v, iv, ct] = value.split('.') as [string, string, string];
    const flipped = ct.slice(0, 10) + (ct[10] === 'A' ? 'B' : 'A') + ct.slice(11);
    for (const bad of [
      `${v}.${iv}.${flipped}`,
      `${v}.${flipped.slice(0, 16)}.${ct}`,
      `v2.${iv}.${ct}`,
      `${value}.extra`,
      `${v}.${iv}`,
      `${v}.${iv}.`,
      `${v}.${iv}.${ct.slice(0, 10)}`,
      `${v}.${iv}.not*base64`,
      'garbage',
      '',
    ]) {
      jar.plant(name, bad);
      expect(await store.take(jar, tx.state)).toBeUndefined();
      expect(jar.cookies.has(name)).toBe(false);
    }
  });

  it('a value moved to another cookie name does not decrypt', async () => {
    const { c, jar, store } = setup();
    const a = transaction(c.now());
    const b = transaction(c.now());
    await store.save(jar, a);
    const { name: nameA, value: valueA } = jar.only();
    await store.save(jar, b);
    const nameB = jar.names().find((n) => n !== nameA)!;
    jar.plant(nameB, valueA);
    expect(await store.take(jar, b.state)).toBeUndefined();
    expect(jar.cookies.has(nameB)).toBe(false);
    expect(await store.take(jar, a.state)).toEqual(a);
  });

  it('a cookie encrypted under another secret gives undefined, and is deleted', async () => {
    const { c, jar } = setup();
    const tx = transaction(c.now());
    await cookieTransactionStore({
      secret: 'another-secret-of-at-least-32-chars!!',
      now: c.now,
    }).save(jar, tx);
    const { name } = jar.only();
    const store = cookieTransactionStore({ secret: SECRET, now: c.now });
    expect(await store.take(jar, tx.state)).toBeUndefined();
    expect(jar.cookies.has(name)).toBe(false);
  });

  it('an expired transaction gives undefined, and its cookie is deleted', async () => {
    const { c, jar, store } = setup({ ttlMs: 60_000 });
    const tx = transaction(c.now());
    await store.save(jar, tx);
    const { name, attributes } = jar.only();
    expect(attributes.maxAge).toBe(60);
    c.advance(60_000);
    expect(await store.take(jar, tx.state)).toBeUndefined();
    expect(jar.cookies.has(name)).toBe(false);
  });

  it('beyond maxTransactions, drops the oldest cookie', async () => {
    const { c, jar, store } = setup({ maxTransactions: 3 });
    const txs: Transaction[] = [];
    for (let i = 0; i < 5; i++) {
      const tx = transaction(c.now());
      txs.push(tx);
      await store.save(jar, tx);
      c.advance(1000);
      expect(jar.cookies.size).toBe(Math.min(i + 1, 3));
    }
    expect(await store.take(jar, txs[0]!.state)).toBeUndefined();
    expect(await store.take(jar, txs[1]!.state)).toBeUndefined();
    for (const tx of txs.slice(2)) expect(await store.take(jar, tx.state)).toEqual(tx);
  });

  it('drops by creation time, not by cookie order, and unreadable or expired cookies first', async () => {
    const { c, jar, store } = setup({ maxTransactions: 3 });
    const newer = transaction(c.now());
    const older = transaction(c.now() - 5000);
    const shortLived = transaction(c.now() - 10_000, { expiresAt: c.now() + 500 });
    await store.save(jar, newer);
    await store.save(jar, older);
    await store.save(jar, shortLived);
    c.advance(1000); // shortLived has expired
    jar.plant('gh_tx.AAAAAAAAAAAAAAAA', 'v1.junk.junk');
    jar.plant('other_cookie', 'kept'); // not ours: never touched

    const next = transaction(c.now());
    await store.save(jar, next); // 4 transaction cookies, 2 of them dead → room made from those
    expect(jar.cookies.has('gh_tx.AAAAAAAAAAAAAAAA')).toBe(false);
    expect(jar.get('other_cookie')).toBe('kept');
    expect(await store.take(jar, shortLived.state)).toBeUndefined();

    const last = transaction(c.now());
    await store.save(jar, newer); // saving a state again replaces its cookie, evicts nothing
    await store.save(jar, last); // now full of live ones: the oldest by createdAt goes
    expect(await store.take(jar, older.state)).toBeUndefined();
    for (const tx of [newer, next, last]) expect(await store.take(jar, tx.state)).toEqual(tx);
  });

  it('fits a 2048-character returnTo in one cookie, under 4096 bytes', async () => {
    const { c, jar, store } = setup();
    const tx = transaction(c.now(), {
      issuer: 'https://login.some-identity-provider.example.com/realms/customers',
      redirectUri: 'https://app.example.com/api/auth/callback/gatehouse',
      returnTo: `/reports?${'q'.repeat(2039)}`,
    });
    expect(tx.returnTo).toHaveLength(2048);
    await store.save(jar, tx);
    const { name, value, attributes } = jar.only();
    const line = `${name}=${value}; Max-Age=${attributes.maxAge}; Path=/; HttpOnly; Secure; SameSite=Lax`;
    expect(line.length).toBeLessThan(4096);
    expect(await store.take(jar, tx.state)).toEqual(tx);
  });

  it('refuses a transaction too large for a cookie, and sets nothing', async () => {
    const { c, jar, store } = setup();
    const tx = transaction(c.now(), { returnTo: `/${'x'.repeat(3000)}` });
    await expect(store.save(jar, tx)).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringContaining(`${MAX_TRANSACTION_COOKIE_BYTES}`),
    });
    expect(jar.cookies.size).toBe(0);
  });

  it('keeps non-ASCII values intact', async () => {
    const { c, jar, store } = setup();
    const tx = transaction(c.now(), { returnTo: '/café/日本?ünï=😀' });
    await store.save(jar, tx);
    expect(jar.only().value).toMatch(/^[\x21-\x7e]+$/);
    expect(await store.take(jar, tx.state)).toEqual(tx);
  });

  it('a short or missing secret is config_invalid, naming the option', () => {
    for (const secret of ['x'.repeat(31), '', undefined, 42]) {
      let error: unknown;
      try {
        cookieTransactionStore({ secret } as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ClientError);
      expect(error).toMatchObject({ code: 'config_invalid' });
      expect((error as Error).message).toContain('secret');
    }
    expect(() => cookieTransactionStore({ secret: 'x'.repeat(32) })).not.toThrow();
  });

  it('validates the other options, naming them', () => {
    for (const [options, option] of [
      [{ path: 'auth' }, 'path'],
      [{ path: '/a;b' }, 'path'],
      [{ path: '/a b' }, 'path'],
      [{ cookiePrefix: '' }, 'cookiePrefix'],
      [{ cookiePrefix: 'a=b' }, 'cookiePrefix'],
      [{ cookiePrefix: 'tx;' }, 'cookiePrefix'],
      [{ cookiePrefix: '__Host-tx.', path: '/auth' }, 'cookiePrefix'],
      [{ cookiePrefix: '__Host-tx.', secure: false }, 'cookiePrefix'],
      [{ cookiePrefix: '__Secure-tx.', secure: false }, 'cookiePrefix'],
      [{ maxTransactions: 0 }, 'maxTransactions'],
      [{ ttlMs: -1 }, 'ttlMs'],
      [{ ttlMs: 60 * 60_000 }, 'ttlMs'],
      [{ secure: 'yes' as unknown as boolean }, 'secure'],
    ] as const) {
      expect(() => cookieTransactionStore({ secret: SECRET, ...options })).toThrow(
        expect.objectContaining({
          code: 'config_invalid',
          message: expect.stringContaining(option),
        }),
      );
    }
    expect(() =>
      cookieTransactionStore({ secret: SECRET, cookiePrefix: '__Host-tx.' }),
    ).not.toThrow();
  });
});
