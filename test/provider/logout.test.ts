/**
 * RP-Initiated Logout 1.0: id_token_hint validation (expired is fine, forged is not), redirects
 * only to a registered post_logout_redirect_uri of the identified client, state echoed, a
 * confirmation page when the hint is missing, and the session really ended.
 */
import { base64url } from '@gatehouse/oauth';
import { decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  Browser,
  exchange,
  OTHER_USER,
  signIn,
  startTestProvider,
  type TestProvider,
  USER,
} from '../support/harness.js';

let tp: TestProvider;
beforeEach(async () => {
  tp = await startTestProvider();
});

const SESSION = 'gatehouse.session';
const RP_LOGOUT = 'http://localhost:3000/';

/** A browser signed in at the provider, and the ID token web-app got for it. */
async function signedIn(
  user: { username: string; password: string } = USER,
  o: { clientId?: string; redirectUri?: string } = {},
): Promise<{ browser: Browser; idToken: string }> {
  const browser = new Browser(tp);
  const clientId = o.clientId ?? 'web-app';
  const redirectUri = o.redirectUri ?? 'http://localhost:3000/callback';
  const code = (
    await signIn(browser, await authorizeUrl(tp, { clientId, redirectUri }), user)
  ).searchParams.get('code')!;
  const res = await exchange(tp, code, { clientId, redirectUri });
  expect(res.status).toBe(200);
  const idToken = ((await res.json()) as Record<string, string>)['id_token']!;
  expect(browser.cookies.has(SESSION)).toBe(true);
  return { browser, idToken };
}

function logoutUrl(params: Record<string, string>): string {
  const url = new URL(`${tp.issuer}/v1/oauth/logout`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

/** prompt=none for web-app: returns the redirect's query (code, or error). */
async function silentAuth(browser: Browser): Promise<URLSearchParams> {
  const res = await browser.request(await authorizeUrl(tp, { extra: { prompt: 'none' } }));
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location')!);
  expect(location.origin + location.pathname).toBe('http://localhost:3000/callback');
  return location.searchParams;
}

async function expectSignedIn(browser: Browser): Promise<void> {
  const params = await silentAuth(browser);
  expect(params.get('error')).toBeNull();
  expect(params.get('code')).toBeTruthy();
}

async function expectSignedOut(browser: Browser): Promise<void> {
  expect((await silentAuth(browser)).get('error')).toBe('login_required');
}

async function expectErrorPage(res: Response): Promise<string> {
  expect(res.status).toBe(400);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  const body = await res.text();
  expect(body).toContain('invalid_request');
  return body;
}

function clearsSessionCookie(res: Response): boolean {
  return res.headers
    .getSetCookie()
    .some((c) => c.startsWith(`${SESSION}=;`) && /max-age=0/i.test(c));
}

function segments(jwt: string): [string, string, string] {
  return jwt.split('.') as [string, string, string];
}

describe('with a valid id_token_hint', () => {
  it('ends the session and redirects (303) to the registered post_logout_redirect_uri with state', async () => {
    const { browser, idToken } = await signedIn();
    const oldSession = browser.cookies.get(SESSION)!;
    const res = await browser.request(
      logoutUrl({
        id_token_hint: idToken,
        post_logout_redirect_uri: RP_LOGOUT,
        state: 'bye & see/you=soon',
      }),
    );
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(RP_LOGOUT);
    expect([...location.searchParams]).toEqual([['state', 'bye & see/you=soon']]);
    expect(clearsSessionCookie(res)).toBe(true);
    expect(browser.cookies.has(SESSION)).toBe(false);
    await expectSignedOut(browser);

    // The session is gone at the provider too, not only the cookie.
    const replay = new Browser(tp);
    replay.cookies.set(SESSION, oldSession);
    await expectSignedOut(replay);
  });

  it('redirects to the bare URI when no state was sent', async () => {
    const { browser, idToken } = await signedIn();
    const res = await browser.request(
      logoutUrl({ id_token_hint: idToken, post_logout_redirect_uri: RP_LOGOUT }),
    );
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(RP_LOGOUT);
  });

  it('accepts the hint by POST (form body) too', async () => {
    const { browser, idToken } = await signedIn();
    const res = await browser.request(`${tp.issuer}/v1/oauth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        id_token_hint: idToken,
        post_logout_redirect_uri: RP_LOGOUT,
        state: 'p',
      }).toString(),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${RP_LOGOUT}?state=p`);
    await expectSignedOut(browser);
  });

  it('accepts an expired but genuine hint', async () => {
    const { browser, idToken } = await signedIn();
    tp.clock.advance((tp.provider.config.ttl.idToken + 3600) * 1000);
    const res = await browser.request(
      logoutUrl({ id_token_hint: idToken, post_logout_redirect_uri: RP_LOGOUT, state: 's' }),
    );
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${RP_LOGOUT}?state=s`);
    await expectSignedOut(browser);
  });

  it('without post_logout_redirect_uri shows the signed-out page', async () => {
    const { browser, idToken } = await signedIn();
    const res = await browser.request(logoutUrl({ id_token_hint: idToken }));
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(clearsSessionCookie(res)).toBe(true);
    await expectSignedOut(browser);
  });

  it('naming another user than the signed-in one asks for confirmation instead', async () => {
    const alice = await signedIn(USER);
    const bob = await signedIn(OTHER_USER);
    const res = await bob.browser.request(
      logoutUrl({ id_token_hint: alice.idToken, post_logout_redirect_uri: RP_LOGOUT }),
    );
    expect(res.status).toBe(303);
    expect(res.headers.get('location')!.startsWith(`${tp.issuer}/interaction/`)).toBe(true);
    expect(clearsSessionCookie(res)).toBe(false);
    await expectSignedIn(bob.browser);
  });
});

describe('a hint the provider did not issue → error page, no redirect, no logout', () => {
  async function expectRefused(browser: Browser, hint: string): Promise<void> {
    const res = await browser.request(
      logoutUrl({ id_token_hint: hint, post_logout_redirect_uri: RP_LOGOUT, state: 's' }),
    );
    await expectErrorPage(res);
    expect(clearsSessionCookie(res)).toBe(false);
    await expectSignedIn(browser);
  }

  it('a tampered signature', async () => {
    const { browser, idToken } = await signedIn();
    const [h, p, s] = segments(idToken);
    const mid = Math.floor(s.length / 2);
    await expectRefused(
      browser,
      `${h}.${p}.${s.slice(0, mid)}${s[mid] === 'A' ? 'B' : 'A'}${s.slice(mid + 1)}`,
    );
  });

  it('a tampered payload', async () => {
    const { browser, idToken } = await signedIn();
    const [h, p, s] = segments(idToken);
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = base64url(
      new TextEncoder().encode(JSON.stringify({ ...claims, sub: 'someone-else' })),
    );
    await expectRefused(browser, `${h}.${forged}.${s}`);
  });

  it('alg none (unsigned), with or without the real kid', async () => {
    const { browser, idToken } = await signedIn();
    const [, p] = segments(idToken);
    const { kid } = decodeProtectedHeader(idToken);
    for (const header of [{ alg: 'none' }, { alg: 'none', kid }, { alg: 'none', typ: 'JWT' }]) {
      const h = base64url(new TextEncoder().encode(JSON.stringify(header)));
      await expectRefused(browser, `${h}.${p}.`);
    }
  });

  it('a JWT signed by a different key, even under the real kid', async () => {
    const { browser, idToken } = await signedIn();
    const [, p] = segments(idToken);
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const { kid } = decodeProtectedHeader(idToken);
    const { privateKey } = await generateKeyPair('EdDSA');
    for (const k of [kid!, 'attacker-key']) {
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', kid: k })
        .sign(privateKey);
      await expectRefused(browser, forged);
    }
  });

  it('something that is not a JWT at all', async () => {
    const { browser } = await signedIn();
    for (const hint of ['not-a-jwt', 'a.b.c', '...']) await expectRefused(browser, hint);
  });
});

describe('post_logout_redirect_uri must be registered, exactly, for the identified client', () => {
  it('unregistered or modified URIs → error page, no redirect', async () => {
    const { browser, idToken } = await signedIn();
    for (const uri of [
      'https://evil.example/',
      'http://localhost:3000/?next=https://evil.example/',
      'http://localhost:3000/?x=1',
      'http://localhost:3000',
      'http://localhost:3000/#frag',
      'http://localhost:3000//evil.example/',
      'http://LOCALHOST:3000/',
      'http://localhost:3000/callback',
    ]) {
      const res = await browser.request(
        logoutUrl({ id_token_hint: idToken, post_logout_redirect_uri: uri, state: 's' }),
      );
      await expectErrorPage(res);
    }
    await expectSignedIn(browser);
  });

  it("another client's registered URI → error page (it is bound to the hint's client)", async () => {
    // spa-app registered no post_logout_redirect_uri; web-app's must not serve for it.
    const { browser, idToken } = await signedIn(USER, {
      clientId: 'spa-app',
      redirectUri: 'http://localhost:5173/callback',
    });
    await expectErrorPage(
      await browser.request(
        logoutUrl({ id_token_hint: idToken, post_logout_redirect_uri: RP_LOGOUT }),
      ),
    );
    await expectErrorPage(
      await browser.request(
        logoutUrl({ client_id: 'spa-app', post_logout_redirect_uri: RP_LOGOUT }),
      ),
    );
  });

  it('a client_id that is not the audience of the hint → error page', async () => {
    const { browser, idToken } = await signedIn();
    await expectErrorPage(
      await browser.request(
        logoutUrl({
          id_token_hint: idToken,
          client_id: 'post-app',
          post_logout_redirect_uri: RP_LOGOUT,
        }),
      ),
    );
  });

  it('post_logout_redirect_uri with neither hint nor client_id → error page', async () => {
    const { browser } = await signedIn();
    await expectErrorPage(
      await browser.request(logoutUrl({ post_logout_redirect_uri: RP_LOGOUT, state: 's' })),
    );
    await expectSignedIn(browser);
  });

  it('an unknown client_id → error page', async () => {
    const { browser } = await signedIn();
    await expectErrorPage(
      await browser.request(
        logoutUrl({ client_id: 'no-such-client', post_logout_redirect_uri: RP_LOGOUT }),
      ),
    );
  });
});

describe('without a hint: the user confirms', () => {
  async function confirmationPage(
    browser: Browser,
    params: Record<string, string>,
  ): Promise<Response> {
    const res = await browser.request(logoutUrl(params));
    expect(res.status).toBe(303);
    const location = res.headers.get('location')!;
    expect(location.startsWith(`${tp.issuer}/interaction/`)).toBe(true);
    expect(clearsSessionCookie(res)).toBe(false);
    const page = await browser.request(location);
    expect(page.status).toBe(200);
    const body = await page.clone().text();
    expect(body).toMatch(/name="decision"[^>]*value="logout"/);
    expect(body).toMatch(/name="decision"[^>]*value="stay"/);
    expect(body).toMatch(/name="csrf"/);
    return page;
  }

  it('asks first; confirming ends the session and redirects with state', async () => {
    const { browser } = await signedIn();
    const page = await confirmationPage(browser, {
      client_id: 'web-app',
      post_logout_redirect_uri: RP_LOGOUT,
      state: 'confirm-state',
    });
    // Asking did not sign anyone out.
    expect(browser.cookies.has(SESSION)).toBe(true);
    const res = await browser.submit(page, { decision: 'logout' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${RP_LOGOUT}?state=confirm-state`);
    expect(clearsSessionCookie(res)).toBe(true);
    await expectSignedOut(browser);
  });

  it('with nothing at all, confirming shows the signed-out page', async () => {
    const { browser } = await signedIn();
    const page = await confirmationPage(browser, {});
    const res = await browser.submit(page, { decision: 'logout' });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    await expectSignedOut(browser);
  });

  it('"stay" keeps the session and does not redirect', async () => {
    const { browser } = await signedIn();
    const page = await confirmationPage(browser, {
      client_id: 'web-app',
      post_logout_redirect_uri: RP_LOGOUT,
      state: 's',
    });
    const res = await browser.submit(page, { decision: 'stay' });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(clearsSessionCookie(res)).toBe(false);
    await expectSignedIn(browser);
  });

  it('a wrong or missing CSRF token → error page, still signed in', async () => {
    const { browser } = await signedIn();
    const page = await confirmationPage(browser, {
      client_id: 'web-app',
      post_logout_redirect_uri: RP_LOGOUT,
    });
    const action = /<form[^>]*action="([^"]+)"/.exec(await page.text())![1]!.replace(/&amp;/g, '&');
    for (const body of ['csrf=wrong&decision=logout', 'decision=logout']) {
      const res = await browser.request(action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(clearsSessionCookie(res)).toBe(false);
    }
    await expectSignedIn(browser);
  });

  it('the confirmation belongs to the browser that asked for it', async () => {
    const { browser } = await signedIn();
    const res = await browser.request(logoutUrl({}));
    const location = res.headers.get('location')!;
    const stranger = new Browser(tp);
    const page = await stranger.request(location);
    expect(page.status).toBe(400);
    expect(await page.text()).not.toContain('name="decision"');
  });
});
