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
  it.each<[string, Partial<GatehouseOptions>, RegExp]>([
    ['a short secret', { secret: 'short' }, /`secret` must be a string of at least 32/],
    ['a missing secret', { secret: undefined as unknown as string }, /`secret`/],
    ['a relative baseUrl', { baseUrl: '/app' }, /`baseUrl`/],
    ['a baseUrl with a query', { baseUrl: 'https://app.example/?x=1' }, /`baseUrl`/],
    ['a non-http baseUrl', { baseUrl: 'ftp://app.example' }, /`baseUrl`/],
    ['a route without a slash', { routes: { login: 'login' } }, /`routes.login`/],
    [
      'a protocol-relative route',
      { routes: { postLogoutRedirect: '//evil' } },
      /`routes.postLogoutRedirect`/,
    ],
    ['two routes on one path', { routes: { logout: '/login' } }, /must differ/],
    ['a bad cookie name', { session: { cookieName: 'a b' } }, /`session.cookieName`/],
    ['__Host- over http', { session: { cookieName: '__Host-s' } }, /https/],
    ['a short session', { session: { maxAgeSeconds: 5 } }, /`session.maxAgeSeconds`/],
    [
      'a store without destroy',
      { session: { store: { get: async () => undefined } as never } },
      /`session.store`/,
    ],
    ['a negative skew', { refreshSkewSeconds: -1 }, /`refreshSkewSeconds`/],
    ['a non-boolean errorPage', { errorPage: 'yes' as unknown as boolean }, /`errorPage`/],
  ])('refuses %s, naming the option', async (_, options, message) => {
    expect((await refusal(options)).message).toMatch(message);
  });

  it('with valid options, goes on to discover the provider (and says when it cannot)', async () => {
    const err = await gatehouse(base).catch((e) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect(err.code).not.toBe('config_invalid');
  });
});
