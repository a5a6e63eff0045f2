import { readdirSync, readFileSync } from 'node:fs';
import { ClientError } from '@gatehouse/client';
import { describe, expect, it } from 'vitest';
import { type GatehouseWebOptions, gatehouseWeb } from './gatehouse-web.js';

const base: GatehouseWebOptions = {
  issuer: 'http://127.0.0.1:1',
  clientId: 'app',
  clientSecret: 'client-secret-0123456789-abcdefghijklmnop',
  baseUrl: 'http://localhost:3000',
  secret: 'cookie-secret-0123456789-abcdefghijklmnop',
  // Never reached: every case fails before discovery.
  fetch: () => Promise.reject(new Error('no network in this test')),
};

async function refusal(options: Partial<GatehouseWebOptions>): Promise<ClientError> {
  const err = await gatehouseWeb({ ...base, ...options } as GatehouseWebOptions).catch((e) => e);
  expect(err).toBeInstanceOf(ClientError);
  expect(err.code).toBe('config_invalid');
  return err as ClientError;
}

describe('gatehouseWeb() options', () => {
  it.each<[string, Partial<GatehouseWebOptions>, RegExp]>([
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
    ['a negative skew', { refreshSkewSeconds: -1 }, /`refreshSkewSeconds`/],
    ['a non-boolean errorPage', { errorPage: 'yes' as unknown as boolean }, /`errorPage`/],
    ['a non-function onError', { onError: 'log' as never }, /`onError`/],
  ])('refuses %s, naming the option', async (_, options, message) => {
    const err = await refusal(options);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^gatehouseWeb\(\): /);
  });

  it('with valid options, goes on to discover the provider (and says when it cannot)', async () => {
    const err = await gatehouseWeb(base).catch((e) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect(err.code).not.toBe('config_invalid');
  });
});

describe('portability', () => {
  it('imports nothing from Node.js: Web-standard APIs only (Bun, Deno, workers, edge)', () => {
    const dir = new URL('./', import.meta.url);
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
    );
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      // Code only: the doc comments' examples may mention process.env.
      const source = readFileSync(new URL(file, dir), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
      expect(source, file).not.toMatch(/from ['"](node:|fs|crypto|path|http|buffer)['"/]/);
      expect(source, file).not.toMatch(/\b(Buffer|process)\./);
    }
  });
});
