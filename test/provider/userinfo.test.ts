/**
 * UserInfo (OIDC Core §5.3) as a bearer-protected resource (RFC 6750): how the token may be sent,
 * the errors and their WWW-Authenticate challenges, the claims released per scope, and CORS.
 */
import { base64url } from '@gatehouse/oauth';
import { decodeJwt } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  Browser,
  basic,
  exchange,
  signIn,
  startTestProvider,
  type TestProvider,
  WEB_SECRET,
} from '../support/harness.js';

type Tokens = Record<string, string>;

let tp: TestProvider;
let url: string;
beforeEach(async () => {
  tp = await startTestProvider();
  url = `${tp.issuer}/v1/oauth/userinfo`;
});

async function obtainTokens(scope = 'openid profile email offline_access'): Promise<Tokens> {
  const code = (await signIn(new Browser(tp), await authorizeUrl(tp, { scope }))).searchParams.get(
    'code',
  )!;
  const res = await exchange(tp, code);
  expect(res.status).toBe(200);
  return (await res.json()) as Tokens;
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

async function claimsOf(res: Response): Promise<Record<string, unknown>> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  return (await res.json()) as Record<string, unknown>;
}

/** Parses `Bearer realm="…", error="…"` into its auth-params. */
function challenge(res: Response): { scheme: string; params: Record<string, string> } {
  const header = res.headers.get('www-authenticate');
  expect(header, 'WWW-Authenticate').toBeTruthy();
  const scheme = header!.split(' ', 1)[0]!;
  const params: Record<string, string> = {};
  for (const m of header!.slice(scheme.length).matchAll(/([a-z_]+)="([^"]*)"/g))
    params[m[1]!] = m[2]!;
  return { scheme, params };
}

async function expectInvalidToken(res: Response): Promise<void> {
  expect(res.status).toBe(401);
  const { scheme, params } = challenge(res);
  expect(scheme).toBe('Bearer');
  expect(params['realm']).toBe(tp.issuer);
  expect(params['error']).toBe('invalid_token');
  expect(((await res.json()) as Tokens)['error']).toBe('invalid_token');
}

describe('sending the access token', () => {
  it('accepts GET with the Bearer header', async () => {
    const tokens = await obtainTokens();
    const claims = await claimsOf(
      await tp.fetch(url, { headers: bearer(tokens['access_token']!) }),
    );
    expect(claims['sub']).toBe(decodeJwt(tokens['id_token']!).sub);
  });

  it('accepts POST with the Bearer header (and an empty body)', async () => {
    const tokens = await obtainTokens();
    const res = await tp.fetch(url, { method: 'POST', headers: bearer(tokens['access_token']!) });
    expect((await claimsOf(res))['sub']).toBe(decodeJwt(tokens['id_token']!).sub);
  });

  it('accepts the "bearer" scheme name in any case (RFC 9110 §11.1)', async () => {
    const tokens = await obtainTokens();
    const res = await tp.fetch(url, {
      headers: { authorization: `bearer ${tokens['access_token']}` },
    });
    expect(res.status).toBe(200);
  });

  it('accepts POST with access_token in a form body (RFC 6750 §2.2)', async () => {
    const tokens = await obtainTokens();
    const res = await tp.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: tokens['access_token']! }).toString(),
    });
    expect((await claimsOf(res))['sub']).toBe(decodeJwt(tokens['id_token']!).sub);
  });

  it('refuses the token in the URL query: 400 invalid_request', async () => {
    const tokens = await obtainTokens();
    for (const init of [{}, { headers: bearer(tokens['access_token']!) }]) {
      const res = await tp.fetch(`${url}?access_token=${tokens['access_token']}`, init);
      expect(res.status).toBe(400);
      expect(((await res.json()) as Tokens)['error']).toBe('invalid_request');
    }
  });

  it('refuses the token sent twice (header and body): 400 invalid_request (RFC 6750 §2)', async () => {
    const tokens = await obtainTokens();
    const res = await tp.fetch(url, {
      method: 'POST',
      headers: {
        ...bearer(tokens['access_token']!),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ access_token: tokens['access_token']! }).toString(),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Tokens)['error']).toBe('invalid_request');
  });

  it('answers other methods with 405', async () => {
    const tokens = await obtainTokens();
    const res = await tp.fetch(url, { method: 'PUT', headers: bearer(tokens['access_token']!) });
    expect(res.status).toBe(405);
  });
});

describe('token errors (RFC 6750 §3)', () => {
  it('no token → 401 with a Bearer challenge naming the realm and no error code (§3.1)', async () => {
    for (const init of [{}, { method: 'POST' }]) {
      const res = await tp.fetch(url, init);
      expect(res.status).toBe(401);
      const { scheme, params } = challenge(res);
      expect(scheme).toBe('Bearer');
      expect(params['realm']).toBe(tp.issuer);
      // "If the request lacks any authentication information ... the resource server SHOULD NOT
      // include an error code or other error information" (RFC 6750 §3.1).
      expect(params).not.toHaveProperty('error');
    }
  });

  it('a non-Bearer Authorization header → 401 with a Bearer challenge', async () => {
    const res = await tp.fetch(url, { headers: { authorization: basic('web-app', WEB_SECRET) } });
    expect(res.status).toBe(401);
    expect(challenge(res).scheme).toBe('Bearer');
  });

  it('a garbage token → 401 invalid_token', async () => {
    for (const token of ['garbage', 'a.b.c', 'eyJhbGciOiJFZERTQSJ9.e30.AAAA']) {
      await expectInvalidToken(await tp.fetch(url, { headers: bearer(token) }));
    }
  });

  it('an expired token → 401 invalid_token', async () => {
    const tokens = await obtainTokens();
    tp.clock.advance((tp.provider.config.ttl.accessToken - 5) * 1000);
    expect((await tp.fetch(url, { headers: bearer(tokens['access_token']!) })).status).toBe(200);
    tp.clock.advance(10_000);
    await expectInvalidToken(await tp.fetch(url, { headers: bearer(tokens['access_token']!) }));
  });

  it('a tampered token (signature or payload changed) → 401 invalid_token', async () => {
    const tokens = await obtainTokens();
    const [h, p, s] = tokens['access_token']!.split('.') as [string, string, string];
    const mid = Math.floor(s.length / 2);
    const flipped = s.slice(0, mid) + (s[mid] === 'A' ? 'B' : 'A') + s.slice(mid + 1);
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const otherSub = base64url(
      new TextEncoder().encode(JSON.stringify({ ...payload, sub: 'someone-else' })),
    );
    for (const token of [`${h}.${p}.${flipped}`, `${h}.${otherSub}.${s}`, `${h}.${p}.`]) {
      await expectInvalidToken(await tp.fetch(url, { headers: bearer(token) }));
    }
  });

  it('an unsigned (alg none) token → 401 invalid_token', async () => {
    const tokens = await obtainTokens();
    const [, p] = tokens['access_token']!.split('.') as [string, string];
    const header = base64url(
      new TextEncoder().encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' })),
    );
    await expectInvalidToken(await tp.fetch(url, { headers: bearer(`${header}.${p}.`) }));
  });

  it('a JWT whose typ header is not a string → 401 invalid_token, not a server error', async () => {
    const tokens = await obtainTokens();
    const [h, p, s] = tokens['access_token']!.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    for (const typ of [1, true, ['at+jwt'], { v: 'at+jwt' }]) {
      const forged = base64url(new TextEncoder().encode(JSON.stringify({ ...header, typ })));
      const res = await tp.fetch(url, { headers: bearer(`${forged}.${p}.${s}`) });
      expect(res.status, `typ ${JSON.stringify(typ)}`).toBe(401);
      expect(((await res.json()) as Tokens)['error']).toBe('invalid_token');
    }
  });

  it('an ID token is not an access token → 401 invalid_token', async () => {
    const tokens = await obtainTokens();
    await expectInvalidToken(await tp.fetch(url, { headers: bearer(tokens['id_token']!) }));
  });

  it('an access token without the openid scope → 403 insufficient_scope', async () => {
    const cc = await tp.fetch(`${tp.issuer}/v1/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('svc', WEB_SECRET),
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'reports.read',
      }).toString(),
    });
    expect(cc.status).toBe(200);
    const { access_token } = (await cc.json()) as Tokens;
    const res = await tp.fetch(url, { headers: bearer(access_token!) });
    expect(res.status).toBe(403);
    const { scheme, params } = challenge(res);
    expect(scheme).toBe('Bearer');
    expect(params['error']).toBe('insufficient_scope');
    expect(((await res.json()) as Tokens)['error']).toBe('insufficient_scope');
  });
});

describe('claims', () => {
  it('releases the claims of each granted scope and nothing more', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['openid', {}],
      ['openid profile', { name: 'Alice Example' }],
      ['openid email', { email: 'alice@example.com', email_verified: true }],
      [
        'openid profile email',
        { name: 'Alice Example', email: 'alice@example.com', email_verified: true },
      ],
    ];
    for (const [scope, expected] of cases) {
      const tokens = await obtainTokens(scope);
      const claims = await claimsOf(
        await tp.fetch(url, { headers: bearer(tokens['access_token']!) }),
      );
      const sub = decodeJwt(tokens['id_token']!).sub;
      expect(claims, scope).toEqual({ sub, ...expected });
    }
  });

  it('sub equals the ID token sub, and is stable across sign-ins', async () => {
    const a = await obtainTokens();
    const b = await obtainTokens();
    const subA = (await claimsOf(await tp.fetch(url, { headers: bearer(a['access_token']!) })))[
      'sub'
    ];
    const subB = (await claimsOf(await tp.fetch(url, { headers: bearer(b['access_token']!) })))[
      'sub'
    ];
    expect(subA).toBe(decodeJwt(a['id_token']!).sub);
    expect(subB).toBe(subA);
    expect(typeof subA).toBe('string');
    expect((subA as string).length).toBeLessThanOrEqual(255);
  });
});

describe('CORS', () => {
  it('echoes an origin a client registered, on success and on errors', async () => {
    const tokens = await obtainTokens();
    const ok = await tp.fetch(url, {
      headers: { ...bearer(tokens['access_token']!), origin: 'http://localhost:5173' },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(ok.headers.get('vary') ?? '').toMatch(/origin/i);

    const err = await tp.fetch(url, { headers: { origin: 'http://localhost:5173' } });
    expect(err.status).toBe(401);
    expect(err.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('answers a preflight from a registered origin', async () => {
    const res = await tp.fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(res.headers.get('access-control-allow-headers') ?? '').toMatch(/authorization/i);
  });

  it('does not allow an unlisted origin', async () => {
    const tokens = await obtainTokens();
    for (const origin of ['https://evil.example', 'http://localhost:5174', 'null']) {
      const res = await tp.fetch(url, {
        headers: { ...bearer(tokens['access_token']!), origin },
      });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      const pre = await tp.fetch(url, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET' },
      });
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    }
  });
});
