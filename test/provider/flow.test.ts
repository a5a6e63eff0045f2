import { decodeJwt, decodeProtectedHeader } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  Browser,
  exchange,
  signIn,
  startTestProvider,
  type TestProvider,
  USER,
} from '../support/harness.js';

let tp: TestProvider;
beforeEach(async () => {
  tp = await startTestProvider();
});

describe('authorization code flow', () => {
  it('signs in, consents, redirects with code, state and iss, and exchanges the code', async () => {
    const browser = new Browser(tp);
    const redirect = await signIn(
      browser,
      await authorizeUrl(tp, { state: 'a b/c+d=é', nonce: 'n-1' }),
    );
    expect(redirect.origin + redirect.pathname).toBe('http://localhost:3000/callback');
    expect(redirect.searchParams.get('state')).toBe('a b/c+d=é');
    expect(redirect.searchParams.get('iss')).toBe(tp.issuer);
    const code = redirect.searchParams.get('code')!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43,}$/);

    const res = await exchange(tp, code);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const tokens = (await res.json()) as Record<string, string>;
    expect(tokens['token_type']).toBe('Bearer');
    expect(tokens['refresh_token']).toBeTruthy();
    const header = decodeProtectedHeader(tokens['id_token']!);
    expect(header.alg).toBe('EdDSA');
    expect(header.kid).toBeTruthy();
    const id = decodeJwt(tokens['id_token']!);
    expect(id.iss).toBe(tp.issuer);
    expect(id.aud).toBe('web-app');
    expect(id.nonce).toBe('n-1');
    expect(id['email']).toBe('alice@example.com');
    expect(typeof id['auth_time']).toBe('number');
    expect(typeof id['at_hash']).toBe('string');
    expect(typeof id['sid']).toBe('string');

    const info = await tp.fetch(`${tp.issuer}/v1/oauth/userinfo`, {
      headers: { authorization: `Bearer ${tokens['access_token']}` },
    });
    expect(info.status).toBe(200);
    const claims = (await info.json()) as Record<string, unknown>;
    expect(claims['sub']).toBe(id.sub);
    expect(claims['name']).toBe('Alice Example');
  });

  it('second request of a signed-in user redirects at once (SSO)', async () => {
    const browser = new Browser(tp);
    await signIn(browser, await authorizeUrl(tp));
    const res = await browser.request(await authorizeUrl(tp, { state: 'second' }));
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.searchParams.get('code')).toBeTruthy();
    expect(location.searchParams.get('state')).toBe('second');
  });

  it('replaying a code fails with invalid_grant and revokes the tokens issued from it', async () => {
    const browser = new Browser(tp);
    const code = (await signIn(browser, await authorizeUrl(tp))).searchParams.get('code')!;
    const first = (await (await exchange(tp, code)).json()) as Record<string, string>;
    const second = await exchange(tp, code);
    expect(second.status).toBe(400);
    expect(((await second.json()) as Record<string, string>)['error']).toBe('invalid_grant');
    const info = await tp.fetch(`${tp.issuer}/v1/oauth/userinfo`, {
      headers: { authorization: `Bearer ${first['access_token']}` },
    });
    expect(info.status).toBe(401);
    const refresh = await tp.fetch(`${tp.issuer}/v1/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${btoa('web-app:web-client-secret-0123456789-abcdefghijklmnop')}`,
      },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: first['refresh_token']!,
      }).toString(),
    });
    expect(refresh.status).toBe(400);
  });

  it('deny on the consent page redirects access_denied with state and iss', async () => {
    const browser = new Browser(tp);
    const redirect = await signIn(
      browser,
      await authorizeUrl(tp, { state: 's-deny' }),
      USER,
      'deny',
    );
    expect(redirect.searchParams.get('error')).toBe('access_denied');
    expect(redirect.searchParams.get('state')).toBe('s-deny');
    expect(redirect.searchParams.get('iss')).toBe(tp.issuer);
    expect(redirect.searchParams.get('error_uri')).toBe(`${tp.issuer}/errors#access_denied`);
  });
});
