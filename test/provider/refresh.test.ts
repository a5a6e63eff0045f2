/**
 * The refresh_token grant (RFC 6749 §6, RFC 9700 §4.14.2, OIDC Core §12): rotation with reuse
 * detection, binding to the client and the granted scope, expiry, public clients, and the ID
 * token a refresh returns.
 */
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JWTPayload,
  jwtVerify,
} from 'jose';
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
  VERIFIER,
  WEB_SECRET,
} from '../support/harness.js';

type Tokens = Record<string, string>;

let tp: TestProvider;
beforeEach(async () => {
  tp = await startTestProvider();
});

const SPA_REDIRECT = 'http://localhost:5173/callback';
const POST_REDIRECT = 'https://post.example.com/cb';
const DAY = 86_400_000;

/** How each configured client authenticates at the token endpoint. */
function clientAuth(clientId: string): { headers: Record<string, string>; body: Tokens } {
  switch (clientId) {
    case 'web-app':
      return { headers: { authorization: basic('web-app', WEB_SECRET) }, body: {} };
    case 'post-app':
      return { headers: {}, body: { client_id: 'post-app', client_secret: POST_SECRET } };
    default:
      return { headers: {}, body: { client_id: clientId } };
  }
}

async function tokenRequest(
  params: Record<string, string>,
  headers: Record<string, string> = {},
  extraHeaders: Record<string, string> = {},
): Promise<Response> {
  return tp.fetch(`${tp.issuer}/v1/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...headers,
      ...extraHeaders,
    },
    body: new URLSearchParams(params).toString(),
  });
}

async function refresh(
  refreshToken: string,
  o: { clientId?: string; scope?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const auth = clientAuth(o.clientId ?? 'web-app');
  return tokenRequest(
    {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      ...(o.scope !== undefined ? { scope: o.scope } : {}),
      ...auth.body,
    },
    auth.headers,
    o.headers,
  );
}

/** Signs alice in for a client and redeems the code; returns the token response. */
async function obtainTokens(
  o: { clientId?: string; scope?: string; nonce?: string } = {},
): Promise<Tokens> {
  const clientId = o.clientId ?? 'web-app';
  const redirectUri =
    clientId === 'spa-app'
      ? SPA_REDIRECT
      : clientId === 'post-app'
        ? POST_REDIRECT
        : 'http://localhost:3000/callback';
  const browser = new Browser(tp);
  const url = await authorizeUrl(tp, {
    clientId,
    redirectUri,
    ...(o.scope !== undefined ? { scope: o.scope } : {}),
    ...(o.nonce !== undefined ? { nonce: o.nonce } : {}),
  });
  const code = (await signIn(browser, url)).searchParams.get('code');
  expect(code).toBeTruthy();
  let res: Response;
  if (clientId === 'post-app') {
    res = await tokenRequest({
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: redirectUri,
      code_verifier: VERIFIER,
      ...clientAuth('post-app').body,
    });
  } else {
    res = await exchange(tp, code!, { clientId, redirectUri });
  }
  expect(res.status).toBe(200);
  return (await res.json()) as Tokens;
}

async function userinfoStatus(accessToken: string): Promise<number> {
  const res = await tp.fetch(`${tp.issuer}/v1/oauth/userinfo`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  return res.status;
}

async function expectError(res: Response, status: number, error: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = (await res.json()) as Tokens;
  expect(body['error']).toBe(error);
}

async function jwks(): Promise<ReturnType<typeof createLocalJWKSet>> {
  const res = await tp.fetch(`${tp.issuer}/.well-known/jwks.json`);
  return createLocalJWKSet((await res.json()) as Parameters<typeof createLocalJWKSet>[0]);
}

async function verifyIdToken(idToken: string, audience: string): Promise<JWTPayload> {
  const { payload } = await jwtVerify(idToken, await jwks(), {
    issuer: tp.issuer,
    audience,
    currentDate: new Date(tp.clock.now()),
  });
  return payload;
}

describe('rotation', () => {
  it('issues a new refresh token on every use; each previous one then fails with invalid_grant', async () => {
    const first = await obtainTokens();
    const seen = new Set([first['refresh_token']!]);
    let current = first['refresh_token']!;
    const used: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await refresh(current);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const next = (await res.json()) as Tokens;
      expect(next['token_type']).toBe('Bearer');
      expect(next['refresh_token']).toMatch(/^[A-Za-z0-9_-]{43,}$/);
      expect(seen.has(next['refresh_token']!)).toBe(false);
      seen.add(next['refresh_token']!);
      expect(await userinfoStatus(next['access_token']!)).toBe(200);
      used.push(current);
      current = next['refresh_token']!;
    }
    // The newest one is still good until someone presents an old one.
    const old = await refresh(used[1]!);
    await expectError(old, 400, 'invalid_grant');
  });

  it('a rotated refresh token presented again revokes the whole family', async () => {
    const first = await obtainTokens();
    const second = (await (await refresh(first['refresh_token']!)).json()) as Tokens;
    const third = (await (await refresh(second['refresh_token']!)).json()) as Tokens;
    expect(await userinfoStatus(third['access_token']!)).toBe(200);

    // An attacker (or a confused client) replays the first, already rotated, refresh token.
    await expectError(await refresh(first['refresh_token']!), 400, 'invalid_grant');

    // The newest refresh token and every access token of the grant are dead.
    await expectError(await refresh(third['refresh_token']!), 400, 'invalid_grant');
    expect(await userinfoStatus(third['access_token']!)).toBe(401);
    expect(await userinfoStatus(second['access_token']!)).toBe(401);
    expect(await userinfoStatus(first['access_token']!)).toBe(401);
  });

  it('lets only one of two simultaneous refreshes with the same token succeed', async () => {
    const first = await obtainTokens();
    const results = await Promise.all([
      refresh(first['refresh_token']!),
      refresh(first['refresh_token']!),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 400]);
    const loser = results.find((r) => r.status === 400)!;
    expect(((await loser.json()) as Tokens)['error']).toBe('invalid_grant');
  });

  it('revokes nothing when the owning client fails to authenticate (the token is not consumed)', async () => {
    const first = await obtainTokens();
    const noAuth = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: first['refresh_token']!,
      client_id: 'web-app',
    });
    await expectError(noAuth, 401, 'invalid_client');
    const wrongSecret = await tokenRequest(
      { grant_type: 'refresh_token', refresh_token: first['refresh_token']! },
      { authorization: basic('web-app', `${WEB_SECRET}-wrong`) },
    );
    await expectError(wrongSecret, 401, 'invalid_client');
    // RFC 6749 §5.2: an attempt with the Authorization header gets a challenge for its scheme.
    expect(wrongSecret.headers.get('www-authenticate') ?? '').toMatch(/^Basic /);

    const ok = await refresh(first['refresh_token']!);
    expect(ok.status).toBe(200);
    expect(await userinfoStatus(first['access_token']!)).toBe(200);
  });
});

describe('the ID token of a refresh (OIDC Core §12.2)', () => {
  it('keeps iss, sub, aud, auth_time and sid; has a new iat and no nonce', async () => {
    const first = await obtainTokens({ nonce: 'nonce-at-login' });
    const original = await verifyIdToken(first['id_token']!, 'web-app');
    expect(original['nonce']).toBe('nonce-at-login');

    tp.clock.advance(90_000);
    const res = await refresh(first['refresh_token']!);
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as Tokens;
    expect(tokens['id_token']).toBeTruthy();
    const refreshed = await verifyIdToken(tokens['id_token']!, 'web-app');

    expect(refreshed.iss).toBe(tp.issuer);
    expect(refreshed.sub).toBe(original.sub);
    expect(refreshed.aud).toEqual(original.aud);
    expect(refreshed['auth_time']).toBe(original['auth_time']);
    expect(typeof refreshed['sid']).toBe('string');
    expect(refreshed['sid']).toBe(original['sid']);
    expect(refreshed.iat).toBe(Math.floor(tp.clock.now() / 1000));
    expect(refreshed.iat).toBeGreaterThan(original.iat!);
    expect(refreshed.exp).toBeGreaterThan(original.exp!);
    expect(refreshed).not.toHaveProperty('nonce');
    expect(decodeProtectedHeader(tokens['id_token']!).alg).toBe('EdDSA');
  });

  it('is signed with the algorithm the client registered (spa-app: ES256, post-app: RS256)', async () => {
    for (const [clientId, alg] of [
      ['spa-app', 'ES256'],
      ['post-app', 'RS256'],
    ] as const) {
      const first = await obtainTokens({ clientId });
      expect(decodeProtectedHeader(first['id_token']!).alg).toBe(alg);
      const res = await refresh(first['refresh_token']!, { clientId });
      expect(res.status).toBe(200);
      const tokens = (await res.json()) as Tokens;
      const header = decodeProtectedHeader(tokens['id_token']!);
      expect(header.alg).toBe(alg);
      expect(header.kid).toBeTruthy();
      const claims = await verifyIdToken(tokens['id_token']!, clientId);
      // at_hash binds the new ID token to the new access token (SHA-256 for ES256 and RS256).
      const digest = new Uint8Array(
        await crypto.subtle.digest('SHA-256', new TextEncoder().encode(tokens['access_token']!)),
      );
      const half = Buffer.from(digest.slice(0, 16)).toString('base64url');
      expect(claims['at_hash']).toBe(half);
    }
  });
});

describe('scope', () => {
  it('may be narrowed; the access token and ID token then carry only the narrower scope', async () => {
    const first = await obtainTokens({ scope: 'openid profile email offline_access' });
    const res = await refresh(first['refresh_token']!, { scope: 'openid' });
    expect(res.status).toBe(200);
    const narrowed = (await res.json()) as Tokens;
    expect(narrowed['scope']).toBe('openid');
    expect(decodeJwt(narrowed['access_token']!)['scope']).toBe('openid');
    const id = decodeJwt(narrowed['id_token']!);
    expect(id).not.toHaveProperty('email');
    expect(id).not.toHaveProperty('name');
    const info = await tp.fetch(`${tp.issuer}/v1/oauth/userinfo`, {
      headers: { authorization: `Bearer ${narrowed['access_token']}` },
    });
    expect(info.status).toBe(200);
    const claims = (await info.json()) as Record<string, unknown>;
    expect(Object.keys(claims)).toEqual(['sub']);
  });

  it('keeps the original scope on the new refresh token after a narrowed refresh (RFC 6749 §6)', async () => {
    const first = await obtainTokens({ scope: 'openid profile email offline_access' });
    const narrowed = (await (
      await refresh(first['refresh_token']!, { scope: 'openid profile' })
    ).json()) as Tokens;
    const res = await refresh(narrowed['refresh_token']!);
    expect(res.status).toBe(200);
    const full = (await res.json()) as Tokens;
    expect(full['scope']!.split(' ').sort()).toEqual(
      ['email', 'offline_access', 'openid', 'profile'].sort(),
    );
    expect(decodeJwt(full['id_token']!)['email']).toBe('alice@example.com');
  });

  it('may not be widened: invalid_scope', async () => {
    for (const scope of ['openid email profile', 'openid phone', 'openid reports.read']) {
      const first = await obtainTokens({ scope: 'openid email offline_access' });
      const res = await refresh(first['refresh_token']!, { scope });
      await expectError(res, 400, 'invalid_scope');
    }
  });

  it('a refused widening does not cost the client its refresh token or its grant', async () => {
    // RFC 6749 §6: the old refresh token may be revoked *after issuing a new one*. An error
    // response issues nothing, so the client must still be able to refresh with what it holds.
    const first = await obtainTokens({ scope: 'openid email offline_access' });
    await expectError(
      await refresh(first['refresh_token']!, { scope: 'openid profile' }),
      400,
      'invalid_scope',
    );
    const retry = await refresh(first['refresh_token']!);
    expect(retry.status).toBe(200);
    expect(await userinfoStatus(first['access_token']!)).toBe(200);
  });
});

describe('binding to the client', () => {
  for (const thief of ['post-app', 'spa-app']) {
    it(`a refresh token presented by another client (${thief}) fails and revokes the grant`, async () => {
      const first = await obtainTokens();
      const stolen = await refresh(first['refresh_token']!, { clientId: thief });
      await expectError(stolen, 400, 'invalid_grant');

      expect(await userinfoStatus(first['access_token']!)).toBe(401);
      await expectError(await refresh(first['refresh_token']!), 400, 'invalid_grant');
    });
  }

  it('a public client without client_id cannot refresh', async () => {
    const first = await obtainTokens({ clientId: 'spa-app' });
    const res = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: first['refresh_token']!,
    });
    await expectError(res, 401, 'invalid_client');
    // ...and the attempt did not consume it.
    expect((await refresh(first['refresh_token']!, { clientId: 'spa-app' })).status).toBe(200);
  });
});

describe('issuing and lifetime', () => {
  it('issues no refresh token when offline_access was not requested', async () => {
    const tokens = await obtainTokens({ scope: 'openid profile email' });
    expect(tokens['access_token']).toBeTruthy();
    expect(tokens).not.toHaveProperty('refresh_token');
    expect(tokens['scope']!.split(' ')).not.toContain('offline_access');
  });

  it('works until ttl.refreshToken and fails with invalid_grant after it', async () => {
    const ttl = tp.provider.config.ttl.refreshToken * 1000;
    const first = await obtainTokens();
    tp.clock.advance(ttl - 60_000);
    const res = await refresh(first['refresh_token']!);
    expect(res.status).toBe(200);
    const second = (await res.json()) as Tokens;
    // Rotation does not extend the absolute lifetime of the grant.
    tp.clock.advance(61_000);
    await expectError(await refresh(second['refresh_token']!), 400, 'invalid_grant');
  });

  it('an unused refresh token expires after ttl.refreshToken', async () => {
    const first = await obtainTokens();
    tp.clock.advance(tp.provider.config.ttl.refreshToken * 1000 + 1000);
    await expectError(await refresh(first['refresh_token']!), 400, 'invalid_grant');
  });

  it('a public client (spa) refreshes with client_id only, across origins with CORS', async () => {
    const first = await obtainTokens({ clientId: 'spa-app' });
    expect(first['refresh_token']).toBeTruthy();
    tp.clock.advance(DAY);
    const res = await refresh(first['refresh_token']!, {
      clientId: 'spa-app',
      headers: { origin: 'http://localhost:5173' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const tokens = (await res.json()) as Tokens;
    expect(tokens['refresh_token']).toBeTruthy();
    expect(tokens['refresh_token']).not.toBe(first['refresh_token']);
    expect(decodeJwt(tokens['access_token']!)['client_id']).toBe('spa-app');
    expect(await userinfoStatus(tokens['access_token']!)).toBe(200);
    // Public clients rely on rotation with reuse detection (RFC 9700 §4.14.2).
    await expectError(
      await refresh(first['refresh_token']!, { clientId: 'spa-app' }),
      400,
      'invalid_grant',
    );
    expect(await userinfoStatus(tokens['access_token']!)).toBe(401);
  });
});
