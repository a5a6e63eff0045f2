/**
 * The example SPA's resource server (examples/react-spa/api/server.ts) over HTTP: it accepts the
 * SPA's access tokens from the real provider and refuses everything else (RFC 9068 §4, RFC 6750).
 */
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../../examples/react-spa/api/server.js';
import { basic, WEB_SECRET } from '../support/harness.js';
import {
  CLIENT_ID,
  loadAdapter,
  loginUntilCallback,
  ORIGIN,
  options,
  page,
  settled,
  startWorld,
  type World,
} from './support.js';

let world: World;
let api: Awaited<ReturnType<typeof startApi>>;
let accessToken: string;
let idToken: string;

beforeAll(async () => {
  world = await startWorld();
  const jwks = (await (
    await world.tp.fetch(`${world.tp.issuer}/.well-known/jwks.json`)
  ).json()) as JSONWebKeySet;
  api = await startApi({
    issuer: world.tp.issuer,
    clientIds: [CLIENT_ID],
    allowedOrigins: [ORIGIN],
    keys: createLocalJWKSet(jwks),
    port: 0,
  });
  const adapter = await loadAdapter();
  const { callback, storage } = await loginUntilCallback(world, adapter);
  const p = page({ url: callback.href, storage, now: world.tp.clock.now });
  const c = new adapter.AuthController(options(world) as never, () => p.env);
  c.start();
  await settled(c);
  accessToken = await c.getAccessToken();
  idToken = (c as unknown as { session: { tokens: { idToken: string } } }).session.tokens.idToken;
});
afterAll(() => api?.close());

const hello = (headers: Record<string, string> = {}, query = '') =>
  fetch(`${api.url}/api/hello${query}`, { headers: { origin: ORIGIN, ...headers } });

describe('the example API', () => {
  it('answers a valid access token of the SPA with its claims, readable by the SPA (CORS)', async () => {
    const res = await hello({ authorization: `Bearer ${accessToken}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { message: string; claims: Record<string, unknown> };
    expect(body.claims).toMatchObject({ iss: world.tp.issuer, client_id: CLIENT_ID });
    expect(body.claims['aud']).toBe(world.tp.issuer);
    expect(body.message).toBe(`Hello, ${body.claims['sub']}!`);
  });

  it('asks for a token when there is none (RFC 6750 §3.1: no error code)', async () => {
    const res = await hello();
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse-example-api"');
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('access-control-expose-headers')).toBe('WWW-Authenticate');
  });

  it('refuses an ID token (typ is not at+jwt), a forged signature and garbage: invalid_token', async () => {
    const [header, payload] = accessToken.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(86)}`;
    for (const token of [idToken, forged, 'not.a.jwt']) {
      const res = await hello({ authorization: `Bearer ${token}` });
      expect(res.status, token.slice(0, 20)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
      const body = (await res.json()) as { error: string; error_description: string };
      expect(body.error).toBe('invalid_token');
      // The token is never echoed.
      expect(JSON.stringify(body)).not.toContain(token.slice(-20));
    }
  });

  it('refuses an expired token', async () => {
    world.tp.clock.advance(-2 * 3600 * 1000);
    try {
      const res = await world.tp.fetch(`${world.tp.issuer}/v1/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: basic('svc', WEB_SECRET),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials&scope=reports.read',
      });
      const { access_token } = (await res.json()) as { access_token: string };
      const answer = await hello({ authorization: `Bearer ${access_token}` });
      expect(answer.status).toBe(401);
      expect(((await answer.json()) as { error_description: string }).error_description).toBe(
        'the access token has expired',
      );
    } finally {
      world.tp.clock.advance(2 * 3600 * 1000);
    }
  });

  it('refuses a valid token issued to another client', async () => {
    const res = await world.tp.fetch(`${world.tp.issuer}/v1/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: basic('svc', WEB_SECRET),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=reports.read',
    });
    const { access_token } = (await res.json()) as { access_token: string };
    const answer = await hello({ authorization: `Bearer ${access_token}` });
    expect(answer.status).toBe(401);
    expect(((await answer.json()) as { error_description: string }).error_description).toMatch(
      /client this API does not serve/,
    );
  });

  it('never takes a token from the query string', async () => {
    const res = await hello({}, `?access_token=${accessToken}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('answers the SPA origin’s preflight, and no other origin', async () => {
    const ok = await fetch(`${api.url}/api/hello`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-headers': 'authorization' },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(ok.headers.get('access-control-allow-headers')).toBe('authorization');
    const other = await fetch(`${api.url}/api/hello`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const plain = await hello({
      origin: 'https://evil.example',
      authorization: `Bearer ${accessToken}`,
    });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers 503 when the provider’s keys cannot be fetched', async () => {
    const down = await startApi({
      issuer: world.tp.issuer,
      clientIds: [CLIENT_ID],
      allowedOrigins: [ORIGIN],
      keys: async () => {
        throw new TypeError('fetch failed');
      },
      port: 0,
    });
    try {
      const res = await fetch(`${down.url}/api/hello`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(res.status).toBe(503);
    } finally {
      await down.close();
    }
  });
});
