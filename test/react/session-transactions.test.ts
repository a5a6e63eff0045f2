/** The sessionStorage transaction store of @gatehouse/react. */
import type { Transaction } from '@gatehouse/client';
import { sessionTransactionStore } from '@gatehouse/react';
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from './support.js';

const T0 = 1_700_000_000_000;

function tx(state: string, at = T0, extra: Partial<Transaction> = {}): Transaction {
  return {
    state,
    issuer: 'https://id.example',
    redirectUri: 'https://app.example/callback',
    nonce: `nonce-${state}`,
    codeVerifier: `verifier-${state}`,
    returnTo: '/here',
    createdAt: at,
    expiresAt: at + 15 * 60_000,
    ...extra,
  };
}

function setup(options: { ttlMs?: number; maxEntries?: number } = {}) {
  let now = T0;
  const storage = new MemoryStorage();
  const store = sessionTransactionStore({ storage, now: () => now, ...options });
  return { store, storage, advance: (ms: number) => (now += ms) };
}

describe('sessionTransactionStore', () => {
  it('keeps one entry per login, keyed by state, and gives each back once (take = read + delete)', async () => {
    const { store, storage } = setup();
    await store.save(undefined, tx('state-a'));
    await store.save(undefined, tx('state-b'));
    expect(storage.keys().sort()).toEqual(['gatehouse.tx.state-a', 'gatehouse.tx.state-b']);
    expect(store.pendingNow()).toBe(2);

    expect(store.takeNow('state-a')).toEqual(tx('state-a'));
    expect(storage.getItem('gatehouse.tx.state-a')).toBeNull();
    expect(store.takeNow('state-a')).toBeUndefined();
    expect(await store.take(undefined, 'state-a')).toBeUndefined();
    // The other login is untouched.
    expect(await store.pending!(undefined)).toBe(1);
    expect(await store.take(undefined, 'state-b')).toEqual(tx('state-b'));
    expect(store.pendingNow()).toBe(0);
  });

  it('takes synchronously: the entry is gone when takeNow returns, before any await', async () => {
    const { store, storage } = setup();
    await store.save(undefined, tx('sync'));
    const promise = store.take(undefined, 'sync');
    expect(storage.getItem('gatehouse.tx.sync')).toBeNull();
    expect(await promise).toMatchObject({ state: 'sync' });
  });

  it('expires transactions after 15 minutes at most, whatever expiresAt says', async () => {
    const { store, advance } = setup();
    await store.save(undefined, tx('long', T0, { expiresAt: T0 + 60 * 60_000 }));
    await store.save(undefined, tx('ok'));
    advance(15 * 60_000 - 1);
    expect(store.takeNow('ok')).toMatchObject({ state: 'ok' });
    advance(1);
    expect(store.pendingNow()).toBe(0);
    expect(store.takeNow('long')).toBeUndefined();
  });

  it('honours a shorter ttlMs, and refuses one above 15 minutes', async () => {
    const { store, advance } = setup({ ttlMs: 60_000 });
    await store.save(undefined, tx('short'));
    advance(60_000);
    expect(store.takeNow('short')).toBeUndefined();
    expect(() => sessionTransactionStore({ ttlMs: 15 * 60_000 + 1 })).toThrow(
      expect.objectContaining({ code: 'config_invalid' }),
    );
    expect(() => sessionTransactionStore({ maxEntries: 0 })).toThrow(/maxEntries/);
  });

  it('keeps at most maxEntries logins per tab, dropping expired then oldest entries on save', async () => {
    const { store, storage, advance } = setup({ maxEntries: 2 });
    await store.save(undefined, tx('one', T0));
    advance(1000);
    await store.save(undefined, tx('two', T0 + 1000));
    advance(1000);
    await store.save(undefined, tx('three', T0 + 2000));
    expect(storage.keys().sort()).toEqual(['gatehouse.tx.three', 'gatehouse.tx.two']);
  });

  it('keeps the silent flag, and leaves the keys of others alone', async () => {
    const { store, storage } = setup();
    storage.setItem('app.setting', 'kept');
    await store.save(undefined, { ...tx('quiet'), silent: true });
    expect(store.takeNow('quiet')).toMatchObject({ state: 'quiet', silent: true });
    expect(storage.getItem('app.setting')).toBe('kept');
  });

  it('treats an altered or moved entry as no transaction, and deletes it', async () => {
    const { store, storage } = setup();
    storage.setItem('gatehouse.tx.garbage', '{not json');
    storage.setItem('gatehouse.tx.moved', JSON.stringify(tx('elsewhere')));
    storage.setItem('gatehouse.tx.typed', JSON.stringify({ ...tx('typed'), codeVerifier: 42 }));
    for (const state of ['garbage', 'moved', 'typed']) {
      expect(store.takeNow(state)).toBeUndefined();
      expect(storage.getItem(`gatehouse.tx.${state}`)).toBeNull();
    }
    expect(store.takeNow('')).toBeUndefined();
  });

  it('reports blocked storage: save fails with config_invalid and a hint; take finds nothing', async () => {
    const blocked = () => {
      throw new DOMException('The operation is insecure.', 'SecurityError');
    };
    const store = sessionTransactionStore({ storage: blocked });
    await expect(store.save(undefined, tx('x'))).rejects.toMatchObject({
      code: 'config_invalid',
      hint: expect.stringContaining('sessionStorage is not available'),
    });
    expect(store.takeNow('x')).toBeUndefined();
    expect(store.pendingNow()).toBe(0);
  });
});
