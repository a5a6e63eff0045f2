/**
 * Token revocation (RFC 7009) and introspection (RFC 7662): who may call them, what each does to
 * the grant, and that neither leaks facts about tokens of other clients.
 */
import { decodeJwt } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  Browser,
  basic,
  exchange,
  POST_SECRET,
  signIn,
  startTestProvider,
  type TestProvider,
  WEB_SECRET,
} from '../support/harness.js';

type Tokens = Record<string, string>;
type Json = Record<string, unknown>;

let tp: TestProvider;
beforeEach(async () => {
  tp = await startTestProvider();
});

/** Credentials of each configured client, the way it registered to send them. */
function credentials(clientId: string): { headers: Record<string, string>; body: Tokens } {
  switch (clientId) {
    case 'web-app':
      return { headers: { authorization: basic('web-app', WEB_SECRET) }, body: {} };
    case 'svc':
      return { headers: { authorization: basic('svc', WEB_SECRET) }, body: {} };
    case 'post-app':
      return { headers: {}, body: { client_id: 'post-app', client_secret: POST_SECRET } };
    case 'anonymous':
      return { headers: {}, body: {} };
    default:
      return { headers: {}, body: { client_id: clientId } };
  }
}

async function post(
  endpoint: 'revoke' | 'introspect' | 'token',
  clientId: string,
  params: Record<string, string>,
): Promise<Response> {
  const c = credentials(clientId);
  return tp.fetch(`${tp.issuer}/v1/oauth/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...c.headers },
    body: new URLSearchParams({ ...params, ...c.body }).toString(),
  });
}

const revoke = (clientId: string, token: string, hint?: string) =>
  post('revoke', clientId, { token, ...(hint !== undefined ? { token_type_hint: hint } : {}) });

async function introspect(clientId: string, token: string): Promise<Json> {
  const res = await post('introspect', clientId, { token });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  return (await res.json()) as Json;
}

const refresh = (clientId: string, token: string) =>
  post('token', clientId, { grant_type: 'refresh_token', refresh_token: token });

async function obtainTokens(clientId: 'web-app' | 'spa-app' = 'web-app'): Promise<Tokens> {
  const redirectUri =
    clientId === 'spa-app' ? 'http://localhost:5173/callback' : 'http://localhost:3000/callback';
  const url = await authorizeUrl(tp, { clientId, redirectUri });
  const code = (await signIn(new Browser(tp), url)).searchParams.get('code')!;
  const res = await exchange(tp, code, { clientId, redirectUri });
  expect(res.status).toBe(200);
  return (await res.json()) as Tokens;
}

async function userinfoStatus(token: string): Promise<number> {
  return (
    await tp.fetch(`${tp.issuer}/v1/oauth/userinfo`, {
      headers: { authorization: `Bearer ${token}` },
    })
  ).status;
}

/** The same JWT with header fields replaced (the signature no longer matches). */
function withHeader(jwt: string, fields: Record<string, unknown>): string {
  const [h, p, sig] = jwt.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...header, ...fields })).toString('base64url');
  return `${forged}.${p}.${sig}`;
}

async function expectError(res: Response, status: number, error: string): Promise<Json> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as Json;
  expect(body['error']).toBe(error);
  return body;
}

async function expectRevocationOk(res: Response): Promise<void> {
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('');
}

describe('revocation (RFC 7009)', () => {
  it('revoking a refresh token revokes its grant: access tokens die, refresh fails', async () => {
    const tokens = await obtainTokens();
    expect(await userinfoStatus(tokens['access_token']!)).toBe(200);
    await expectRevocationOk(await revoke('web-app', tokens['refresh_token']!, 'refresh_token'));
    expect(await userinfoStatus(tokens['access_token']!)).toBe(401);
    await expectError(await refresh('web-app', tokens['refresh_token']!), 400, 'invalid_grant');
    expect(await introspect('web-app', tokens['access_token']!)).toEqual({ active: false });
  });

  it('revoking an access token: introspection says inactive, userinfo 401', async () => {
    const tokens = await obtainTokens();
    expect((await introspect('web-app', tokens['access_token']!))['active']).toBe(true);
    await expectRevocationOk(await revoke('web-app', tokens['access_token']!, 'access_token'));
    expect(await introspect('web-app', tokens['access_token']!)).toEqual({ active: false });
    expect(await userinfoStatus(tokens['access_token']!)).toBe(401);
  });

  it('finds the token whatever the hint says (RFC 7009 §2.1)', async () => {
    const tokens = await obtainTokens();
    await expectRevocationOk(await revoke('web-app', tokens['refresh_token']!, 'access_token'));
    await expectError(await refresh('web-app', tokens['refresh_token']!), 400, 'invalid_grant');

    const other = await obtainTokens();
    await expectRevocationOk(await revoke('web-app', other['access_token']!, 'refresh_token'));
    expect(await userinfoStatus(other['access_token']!)).toBe(401);
  });

  it('a public client revokes its own refresh token with client_id only', async () => {
    const tokens = await obtainTokens('spa-app');
    await expectRevocationOk(await revoke('spa-app', tokens['refresh_token']!));
    await expectError(await refresh('spa-app', tokens['refresh_token']!), 400, 'invalid_grant');
    expect(await userinfoStatus(tokens['access_token']!)).toBe(401);
  });

  it('an unknown or malformed token → 200 (RFC 7009 §2.2)', async () => {
    for (const token of ['no-such-token', 'a.b.c', 'x'.repeat(400)]) {
      await expectRevocationOk(await revoke('web-app', token));
    }
  });

  it("another client's tokens → 200, but nothing is revoked", async () => {
    const tokens = await obtainTokens();
    for (const thief of ['post-app', 'spa-app']) {
      await expectRevocationOk(await revoke(thief, tokens['refresh_token']!));
      await expectRevocationOk(await revoke(thief, tokens['access_token']!));
    }
    expect(await userinfoStatus(tokens['access_token']!)).toBe(200);
    expect((await introspect('web-app', tokens['access_token']!))['active']).toBe(true);
    expect((await refresh('web-app', tokens['refresh_token']!)).status).toBe(200);
  });

  it('an unknown token_type_hint → 400 unsupported_token_type', async () => {
    const tokens = await obtainTokens();
    const body = await expectError(
      await revoke('web-app', tokens['refresh_token']!, 'id_token'),
      400,
      'unsupported_token_type',
    );
    expect(body['error_description']).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/);
  });

  it('an unauthenticated caller → 401 invalid_client, and nothing is revoked', async () => {
    const tokens = await obtainTokens();
    await expectError(await revoke('anonymous', tokens['refresh_token']!), 401, 'invalid_client');
    const wrong = await tp.fetch(`${tp.issuer}/v1/oauth/revoke`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('web-app', 'not-the-secret-at-all-0123456789-abcdef'),
      },
      body: new URLSearchParams({ token: tokens['refresh_token']! }).toString(),
    });
    await expectError(wrong, 401, 'invalid_client');
    expect(wrong.headers.get('www-authenticate') ?? '').toMatch(/^Basic /);
    // A confidential client cannot revoke by naming itself without its secret.
    await expectError(
      await post('revoke', 'anonymous', { token: tokens['refresh_token']!, client_id: 'web-app' }),
      401,
      'invalid_client',
    );
    expect(await userinfoStatus(tokens['access_token']!)).toBe(200);
    expect((await refresh('web-app', tokens['refresh_token']!)).status).toBe(200);
  });

  it('a forged JWT with a non-string typ header is an unknown token (200), not a server error', async () => {
    const tokens = await obtainTokens();
    const forged = withHeader(tokens['access_token']!, { typ: 1 });
    const res = await revoke('web-app', forged);
    expect(res.status).toBe(200);
    expect(await userinfoStatus(tokens['access_token']!)).toBe(200);
  });

  it('a missing token → 400 invalid_request', async () => {
    await expectError(await post('revoke', 'web-app', {}), 400, 'invalid_request');
  });

  it('refuses GET and parameters in the URL', async () => {
    const tokens = await obtainTokens();
    const get = await tp.fetch(`${tp.issuer}/v1/oauth/revoke?token=${tokens['refresh_token']}`, {
      headers: credentials('web-app').headers,
    });
    expect(get.status).toBeGreaterThanOrEqual(400);
    expect(get.status).toBeLessThan(500);
    const query = await tp.fetch(`${tp.issuer}/v1/oauth/revoke?token=${tokens['refresh_token']}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...credentials('web-app').headers,
      },
      body: '',
    });
    await expectError(query, 400, 'invalid_request');
    expect((await refresh('web-app', tokens['refresh_token']!)).status).toBe(200);
  });
});

describe('introspection (RFC 7662)', () => {
  it('describes an access token to the client it was issued to', async () => {
    const tokens = await obtainTokens();
    const claims = decodeJwt(tokens['access_token']!);
    const info = await introspect('web-app', tokens['access_token']!);
    expect(info['active']).toBe(true);
    expect(info['client_id']).toBe('web-app');
    expect(info['sub']).toBe(decodeJwt(tokens['id_token']!).sub);
    expect(info['scope']).toBe(tokens['scope']);
    expect(info['iss']).toBe(tp.issuer);
    expect(info['exp']).toBe(claims.exp);
    expect(info['iat']).toBe(claims.iat);
    expect(String(info['token_type']).toLowerCase()).toBe('bearer');
  });

  it('describes a refresh token to its client', async () => {
    const tokens = await obtainTokens();
    const info = await introspect('web-app', tokens['refresh_token']!);
    expect(info['active']).toBe(true);
    expect(info['client_id']).toBe('web-app');
    expect(info['sub']).toBe(decodeJwt(tokens['id_token']!).sub);
    expect(info['scope']).toBe(tokens['scope']);
    expect(info['exp']).toBe(
      Math.floor(tp.clock.now() / 1000) + tp.provider.config.ttl.refreshToken,
    );
  });

  it('introspecting a refresh token does not consume it', async () => {
    const tokens = await obtainTokens();
    for (let i = 0; i < 3; i++) {
      expect((await introspect('web-app', tokens['refresh_token']!))['active']).toBe(true);
    }
    const res = await refresh('web-app', tokens['refresh_token']!);
    expect(res.status).toBe(200);
    const next = (await res.json()) as Tokens;
    // Now it is rotated: inactive, and its successor is active.
    expect(await introspect('web-app', tokens['refresh_token']!)).toEqual({ active: false });
    expect((await introspect('web-app', next['refresh_token']!))['active']).toBe(true);
    expect(await userinfoStatus(next['access_token']!)).toBe(200);
  });

  it('another client learns nothing about a token: { active: false } only', async () => {
    const tokens = await obtainTokens();
    for (const other of ['post-app', 'svc']) {
      expect(await introspect(other, tokens['access_token']!)).toEqual({ active: false });
      expect(await introspect(other, tokens['refresh_token']!)).toEqual({ active: false });
    }
    // And looking did not harm the token.
    expect((await refresh('web-app', tokens['refresh_token']!)).status).toBe(200);
  });

  it('a forged JWT with a non-string typ header is inactive, not a server error', async () => {
    const tokens = await obtainTokens();
    for (const typ of [1, true, ['at+jwt']]) {
      expect(await introspect('web-app', withHeader(tokens['access_token']!, { typ }))).toEqual({
        active: false,
      });
    }
  });

  it('unknown, expired and ID tokens are inactive', async () => {
    const tokens = await obtainTokens();
    expect(await introspect('web-app', 'no-such-token')).toEqual({ active: false });
    expect(await introspect('web-app', tokens['id_token']!)).toEqual({ active: false });
    tp.clock.advance((tp.provider.config.ttl.accessToken + 1) * 1000);
    expect(await introspect('web-app', tokens['access_token']!)).toEqual({ active: false });
    tp.clock.advance(tp.provider.config.ttl.refreshToken * 1000);
    expect(await introspect('web-app', tokens['refresh_token']!)).toEqual({ active: false });
  });

  it("describes a service client's client_credentials token to that client", async () => {
    const res = await post('token', 'svc', {
      grant_type: 'client_credentials',
      scope: 'reports.read',
    });
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as Tokens;
    const info = await introspect('svc', access_token!);
    expect(info['active']).toBe(true);
    expect(info['client_id']).toBe('svc');
    expect(info['scope']).toBe('reports.read');
  });

  it('a public client cannot introspect: 401 invalid_client', async () => {
    const tokens = await obtainTokens('spa-app');
    const res = await post('introspect', 'spa-app', { token: tokens['access_token']! });
    await expectError(res, 401, 'invalid_client');
  });

  it('an unauthenticated caller or a wrong secret → 401 invalid_client', async () => {
    const tokens = await obtainTokens();
    await expectError(
      await post('introspect', 'anonymous', { token: tokens['access_token']! }),
      401,
      'invalid_client',
    );
    const wrong = await tp.fetch(`${tp.issuer}/v1/oauth/introspect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('web-app', 'not-the-secret-at-all-0123456789-abcdef'),
      },
      body: new URLSearchParams({ token: tokens['access_token']! }).toString(),
    });
    await expectError(wrong, 401, 'invalid_client');
  });
});
