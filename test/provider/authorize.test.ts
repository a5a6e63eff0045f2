/**
 * The authorization response, row by row (SYSTEM.md "The authorization response"): what is
 * redirected, what is shown as an error page, and what the redirect carries.
 */
import { s256Challenge } from '@gatehouse/oauth';
import { decodeJwt } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  Browser,
  exchange,
  OTHER_USER,
  signIn,
  startTestProvider,
  type TestProvider,
  VERIFIER,
} from '../support/harness.js';

let tp: TestProvider;
beforeEach(async () => {
  tp = await startTestProvider();
});

const LEGAL_DESCRIPTION = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

async function expectErrorPage(res: Response, error: string): Promise<string> {
  expect(res.status).toBe(400);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('content-type')).toContain('text/html');
  const body = await res.text();
  expect(body).toContain(error);
  return body;
}

/** Expects a redirected error and checks every parameter it must (and may only) carry. */
function expectRedirectedError(res: Response, error: string, state: string | null = 'st-123'): URL {
  expect([302, 303]).toContain(res.status);
  const url = new URL(res.headers.get('location')!);
  expect(url.searchParams.get('error')).toBe(error);
  expect(url.searchParams.get('state')).toBe(state);
  expect(url.searchParams.get('iss')).toBe(tp.issuer);
  expect(url.searchParams.get('error_uri')).toBe(`${tp.issuer}/errors#${error}`);
  expect(url.searchParams.get('error_description') ?? '').toMatch(LEGAL_DESCRIPTION);
  expect(url.searchParams.has('code')).toBe(false);
  for (const name of url.searchParams.keys()) {
    expect(['error', 'error_description', 'error_uri', 'state', 'iss']).toContain(name);
  }
  return url;
}

async function get(url: string, browser?: Browser): Promise<Response> {
  return browser ? browser.request(url) : tp.fetch(url, { redirect: 'manual' });
}

describe('never redirected: error page (HTTP 400, no Location)', () => {
  it('unknown client_id → unauthorized_client page', async () => {
    const body = await expectErrorPage(
      await get(await authorizeUrl(tp, { clientId: 'nobody' })),
      'unauthorized_client',
    );
    expect(body).not.toContain('localhost:3000');
  });
  it('missing client_id → invalid_request page', async () => {
    const url = new URL(await authorizeUrl(tp));
    url.searchParams.delete('client_id');
    await expectErrorPage(await get(url.href), 'invalid_request');
  });
  it('missing redirect_uri → invalid_request page', async () => {
    const url = new URL(await authorizeUrl(tp));
    url.searchParams.delete('redirect_uri');
    await expectErrorPage(await get(url.href), 'invalid_request');
  });
  it.each([
    'https://evil.example.com/callback',
    'http://localhost:3000/callback/',
    'http://localhost:3000/Callback',
    'http://localhost:3000/callback?x=1',
    'http://localhost:3001/callback',
    'https://rp.example.com/cb',
    'https://rp.example.com/cb?tenant=1&x=2',
  ])('unregistered redirect_uri %s → invalid_request page', async (redirectUri) => {
    await expectErrorPage(await get(await authorizeUrl(tp, { redirectUri })), 'invalid_request');
  });
  it('a service client cannot use the authorization endpoint', async () => {
    await expectErrorPage(
      await get(await authorizeUrl(tp, { clientId: 'svc', redirectUri: 'https://x.example/cb' })),
      'unauthorized_client',
    );
  });
  it('a repeated parameter is refused before anything is trusted', async () => {
    const url = `${await authorizeUrl(tp)}&state=again`;
    const body = await expectErrorPage(await get(url), 'invalid_request');
    expect(body).toContain('repeated');
  });
  it('the error page links to the error reference and names the request', async () => {
    const body = await (await get(await authorizeUrl(tp, { clientId: 'nobody' }))).text();
    expect(body).toContain(`${tp.issuer}/errors#unauthorized_client`);
    expect(body).not.toMatch(/at \S+\.(ts|js):\d+/);
  });
});

describe('redirect URI matching', () => {
  it('keeps the query of a registered redirect URI and appends code, state, iss', async () => {
    const browser = new Browser(tp);
    const redirect = await signIn(
      browser,
      await authorizeUrl(tp, { redirectUri: 'https://rp.example.com/cb?tenant=1' }),
    );
    expect(redirect.origin + redirect.pathname).toBe('https://rp.example.com/cb');
    expect(redirect.searchParams.get('tenant')).toBe('1');
    expect(redirect.searchParams.get('code')).toBeTruthy();
  });
  it('lets the port of a loopback redirect URI vary for native clients only (RFC 8252 §7.3)', async () => {
    const browser = new Browser(tp);
    const native = await signIn(
      browser,
      await authorizeUrl(tp, {
        clientId: 'native-app',
        redirectUri: 'http://127.0.0.1:51234/callback',
        scope: 'openid',
      }),
    );
    expect(native.host).toBe('127.0.0.1:51234');
    expect(native.searchParams.get('code')).toBeTruthy();
    await expectErrorPage(
      await get(
        await authorizeUrl(tp, {
          clientId: 'native-app',
          redirectUri: 'http://127.0.0.1:51234/other',
          scope: 'openid',
        }),
      ),
      'invalid_request',
    );
  });
  it('accepts a native custom-scheme redirect URI exactly', async () => {
    const browser = new Browser(tp);
    const redirect = await signIn(
      browser,
      await authorizeUrl(tp, {
        clientId: 'native-app',
        redirectUri: 'com.example.app:/cb',
        scope: 'openid',
      }),
    );
    expect(redirect.protocol).toBe('com.example.app:');
    expect(redirect.searchParams.get('iss')).toBe(tp.issuer);
  });
});

describe('redirected errors (client and redirect URI verified)', () => {
  it('missing response_type → invalid_request', async () => {
    const url = new URL(await authorizeUrl(tp));
    url.searchParams.delete('response_type');
    expectRedirectedError(await get(url.href), 'invalid_request');
  });
  it.each(['token', 'id_token', 'code id_token', 'code token'])(
    'response_type=%s → unsupported_response_type',
    async (type) => {
      const url = new URL(await authorizeUrl(tp));
      url.searchParams.set('response_type', type);
      expectRedirectedError(await get(url.href), 'unsupported_response_type');
    },
  );
  it('scope without openid → invalid_scope', async () => {
    expectRedirectedError(await get(await authorizeUrl(tp, { scope: 'profile' })), 'invalid_scope');
  });
  it('unknown scope, or one outside the client’s registration → invalid_scope', async () => {
    expectRedirectedError(
      await get(await authorizeUrl(tp, { scope: 'openid admin' })),
      'invalid_scope',
    );
    expectRedirectedError(
      await get(await authorizeUrl(tp, { scope: 'openid reports.read' })),
      'invalid_scope',
    );
  });
  it('public client without PKCE → invalid_request', async () => {
    const res = await get(
      await authorizeUrl(tp, {
        clientId: 'spa-app',
        redirectUri: 'http://localhost:5173/callback',
        verifier: null,
      }),
    );
    const url = expectRedirectedError(res, 'invalid_request');
    expect(url.searchParams.get('error_description')).toContain('PKCE');
  });
  it('confidential client without PKCE is refused by default too', async () => {
    expectRedirectedError(await get(await authorizeUrl(tp, { verifier: null })), 'invalid_request');
  });
  it('PKCE plain is refused', async () => {
    const url = new URL(await authorizeUrl(tp));
    url.searchParams.set('code_challenge_method', 'plain');
    url.searchParams.set('code_challenge', 'x'.repeat(43));
    const redirect = expectRedirectedError(await get(url.href), 'invalid_request');
    expect(redirect.searchParams.get('error_description')).toContain('S256');
  });
  it('PKCE challenge without method, or of the wrong shape, is refused', async () => {
    const noMethod = new URL(await authorizeUrl(tp));
    noMethod.searchParams.delete('code_challenge_method');
    expectRedirectedError(await get(noMethod.href), 'invalid_request');
    const short = new URL(await authorizeUrl(tp));
    short.searchParams.set('code_challenge', 'abc');
    expectRedirectedError(await get(short.href), 'invalid_request');
  });
  it('request object from a public client → request_not_supported; request_uri not from PAR → request_uri_not_supported', async () => {
    expectRedirectedError(
      await get(
        await authorizeUrl(tp, {
          clientId: 'spa-app',
          redirectUri: 'http://localhost:5173/callback',
          extra: { request: 'e30.e30.' },
        }),
      ),
      'request_not_supported',
    );
    expectRedirectedError(
      await get(await authorizeUrl(tp, { extra: { request_uri: 'https://x.example/r' } })),
      'request_uri_not_supported',
    );
  });
  it('unsupported prompt values and prompt=none with others → invalid_request', async () => {
    expectRedirectedError(
      await get(await authorizeUrl(tp, { extra: { prompt: 'bogus' } })),
      'invalid_request',
    );
    expectRedirectedError(
      await get(await authorizeUrl(tp, { extra: { prompt: 'none login' } })),
      'invalid_request',
    );
  });
  it('malformed max_age → invalid_request', async () => {
    expectRedirectedError(
      await get(await authorizeUrl(tp, { extra: { max_age: '-1' } })),
      'invalid_request',
    );
  });
  it('state is absent from the error redirect when the request had none', async () => {
    const url = new URL(await authorizeUrl(tp, { scope: 'profile' }));
    url.searchParams.delete('state');
    expectRedirectedError(await get(url.href), 'invalid_scope', null);
  });
  it('state comes back byte for byte, whatever its characters', async () => {
    const state = ' ~!*()\'"<>&=?#%é🙂\t';
    const res = await get(await authorizeUrl(tp, { scope: 'profile', state }));
    expect(new URL(res.headers.get('location')!).searchParams.get('state')).toBe(state);
  });
});

describe('prompt=none and id_token_hint (the seed’s rules)', () => {
  it('prompt=none without a session → login_required', async () => {
    expectRedirectedError(
      await get(await authorizeUrl(tp, { extra: { prompt: 'none' } })),
      'login_required',
    );
  });
  it('prompt=none with a session and consent → code without interaction', async () => {
    const browser = new Browser(tp);
    await signIn(browser, await authorizeUrl(tp));
    const res = await get(await authorizeUrl(tp, { extra: { prompt: 'none' } }), browser);
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location')!).searchParams.get('code')).toBeTruthy();
  });
  it('prompt=none with a session but new scope → consent_required', async () => {
    const browser = new Browser(tp);
    await signIn(browser, await authorizeUrl(tp, { scope: 'openid' }));
    const res = await get(
      await authorizeUrl(tp, { scope: 'openid email', extra: { prompt: 'none' } }),
      browser,
    );
    expectRedirectedError(res, 'consent_required');
  });
  it('id_token_hint without prompt=none → invalid_request', async () => {
    const browser = new Browser(tp);
    const code = (await signIn(browser, await authorizeUrl(tp))).searchParams.get('code')!;
    const idToken = ((await (await exchange(tp, code)).json()) as { id_token: string }).id_token;
    const res = await get(await authorizeUrl(tp, { extra: { id_token_hint: idToken } }), browser);
    const url = expectRedirectedError(res, 'invalid_request');
    expect(url.searchParams.get('error_description')).toContain('prompt');
  });
  it('id_token_hint + prompt=none: same user → code; another user → login_required', async () => {
    const alice = new Browser(tp);
    const code = (await signIn(alice, await authorizeUrl(tp))).searchParams.get('code')!;
    const idToken = ((await (await exchange(tp, code)).json()) as { id_token: string }).id_token;
    tp.clock.advance(2 * 3600 * 1000); // the hint may be expired
    const same = await get(
      await authorizeUrl(tp, { extra: { prompt: 'none', id_token_hint: idToken } }),
      alice,
    );
    expect(new URL(same.headers.get('location')!).searchParams.get('code')).toBeTruthy();

    const bob = new Browser(tp);
    await signIn(bob, await authorizeUrl(tp), OTHER_USER);
    const other = await get(
      await authorizeUrl(tp, { extra: { prompt: 'none', id_token_hint: idToken } }),
      bob,
    );
    expectRedirectedError(other, 'login_required');
    expect(decodeJwt(idToken).sub).toBeTruthy();
  });
  it('a forged id_token_hint → invalid_request', async () => {
    const forged = 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjkwMDAiLCJzdWIiOiJ4In0.';
    expectRedirectedError(
      await get(await authorizeUrl(tp, { extra: { prompt: 'none', id_token_hint: forged } })),
      'invalid_request',
    );
  });
});

describe('the code', () => {
  it('is 256 bits of base64url and different every time', async () => {
    const browser = new Browser(tp);
    const codes = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const redirect = await signIn(browser, await authorizeUrl(tp, { state: `s${i}` }));
      const code = redirect.searchParams.get('code')!;
      expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
      codes.add(code);
    }
    expect(codes.size).toBe(5);
  });
  it('lives 10 minutes', async () => {
    const browser = new Browser(tp);
    const a = (await signIn(browser, await authorizeUrl(tp))).searchParams.get('code')!;
    const b = (await signIn(browser, await authorizeUrl(tp))).searchParams.get('code')!;
    tp.clock.advance(599_000);
    expect((await exchange(tp, a)).status).toBe(200);
    tp.clock.advance(2_000);
    const late = await exchange(tp, b);
    expect(late.status).toBe(400);
    expect(((await late.json()) as { error: string }).error).toBe('invalid_grant');
  });
  it('has a configurable, shorter lifetime', async () => {
    const { baseConfig } = await import('../support/harness.js');
    tp = await startTestProvider({ config: { ...baseConfig(), ttl: { code: 60 } } });
    const browser = new Browser(tp);
    const code = (await signIn(browser, await authorizeUrl(tp))).searchParams.get('code')!;
    tp.clock.advance(61_000);
    expect((await exchange(tp, code)).status).toBe(400);
  });
  it('cannot be configured to live longer than 10 minutes', async () => {
    const { baseConfig } = await import('../support/harness.js');
    await expect(
      startTestProvider({ config: { ...baseConfig(), ttl: { code: 601 } } }),
    ).rejects.toThrow(/ttl\.code/);
  });
  it.each([
    ['another redirect_uri', { redirectUri: 'https://rp.example.com/cb?tenant=1' }],
    ['a wrong code_verifier', { verifier: 'w'.repeat(43) }],
    ['no code_verifier', { verifier: null }],
  ] as const)('is bound: %s → invalid_grant', async (_name, options) => {
    const browser = new Browser(tp);
    const code = (await signIn(browser, await authorizeUrl(tp))).searchParams.get('code')!;
    const res = await exchange(tp, code, options);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_grant');
  });
  it('is bound to its client: another client redeeming it → invalid_grant', async () => {
    const browser = new Browser(tp);
    const code = (await signIn(browser, await authorizeUrl(tp))).searchParams.get('code')!;
    const res = await tp.fetch(`${tp.issuer}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: 'http://localhost:3000/callback',
        code_verifier: VERIFIER,
        client_id: 'post-app',
        client_secret: 'post-client-secret-0123456789-abcdefghijklmn',
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_grant');
  });
  it('a code_verifier for a code issued without a challenge is a downgrade → invalid_grant', async () => {
    const browser = new Browser(tp);
    const code = (
      await signIn(
        browser,
        await authorizeUrl(tp, {
          clientId: 'post-app',
          redirectUri: 'https://post.example.com/cb',
          verifier: null,
        }),
      )
    ).searchParams.get('code')!;
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: 'https://post.example.com/cb',
      client_id: 'post-app',
      client_secret: 'post-client-secret-0123456789-abcdefghijklmn',
      code_verifier: 'v'.repeat(43),
    });
    const res = await tp.fetch(`${tp.issuer}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_grant');
  });
  it('fires 20 concurrent redemptions of one code: exactly one succeeds', async () => {
    const browser = new Browser(tp);
    const code = (await signIn(browser, await authorizeUrl(tp))).searchParams.get('code')!;
    const results = await Promise.all(Array.from({ length: 20 }, () => exchange(tp, code)));
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.status === 400)).toHaveLength(19);
    // The 19 replays revoked what the winner got (RFC 6749 §4.1.2).
    const { access_token } = (await winners[0]!.json()) as { access_token: string };
    const info = await tp.fetch(`${tp.issuer}/v1/oauth/userinfo`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(info.status).toBe(401);
  });
});

describe('POST to the authorization endpoint', () => {
  it('works like GET and answers with 303', async () => {
    const browser = new Browser(tp);
    await signIn(browser, await authorizeUrl(tp));
    const params = new URL(await authorizeUrl(tp, { state: 'posted' })).searchParams;
    const res = await browser.request(`${tp.issuer}/v1/oauth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: params.toString(),
    });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    expect(location.searchParams.get('state')).toBe('posted');
    expect(location.searchParams.get('code')).toBeTruthy();
  });
  it('refuses a parameter in both the query and the body', async () => {
    const url = await authorizeUrl(tp);
    const res = await tp.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'state=other',
    });
    await expectErrorPage(res, 'invalid_request');
  });
});

describe('the authorization endpoint has no CORS', () => {
  it('never sends access-control-allow-origin', async () => {
    const res = await tp.fetch(
      await authorizeUrl(tp, {
        clientId: 'spa-app',
        redirectUri: 'http://localhost:5173/callback',
      }),
      { headers: { origin: 'http://localhost:5173' } },
    );
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('S256 helper sanity', () => {
  it('matches what the harness sends', async () => {
    expect(await s256Challenge('a'.repeat(43))).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
