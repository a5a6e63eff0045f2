import { ClientError } from '@gatehouse/client';
import { describe, expect, it } from 'vitest';
import { type GatehouseOptions, gatehouse } from './gatehouse.js';

const base: GatehouseOptions = {
  issuer: 'http://127.0.0.1:1',
  clientId: 'app',
  clientSecret: 'client-secret-0123456789-abcdefghijklmnop',
  baseUrl: 'http://localhost:3000',
  secret: 'cookie-secret-0123456789-abcdefghijklmnop',
  // Never reached: every case fails before discovery.
  fetch: () => Promise.reject(new Error('no network in this test')),
};

async function refusal(options: Partial<GatehouseOptions>): Promise<ClientError> {
  const err = await gatehouse({ ...base, ...options } as GatehouseOptions).catch((e) => e);
  expect(err).toBeInstanceOf(ClientError);
  expect(err.code).toBe('config_invalid');
  return err as ClientError;
}

describe('gatehouse() options', () => {
  // The checks every adapter shares are tested once, in @gatehouse/web; here what is Express's.
  it.each<[string, Partial<GatehouseOptions>, RegExp]>([
    ['a short secret', { secret: 'short' }, /`secret` must be a string of at least 32/],
    [
      'a store without destroy',
      { session: { store: { get: async () => undefined } as never } },
      /`session.store`/,
    ],
  ])('refuses %s, naming the option and gatehouse()', async (_, options, message) => {
    const err = await refusal(options);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^gatehouse\(\): /);
  });

  it('with valid options, goes on to discover the provider (and says when it cannot)', async () => {
    const err = await gatehouse(base).catch((e) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect(err.code).not.toBe('config_invalid');
  });
});
