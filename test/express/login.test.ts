/**
 * @gatehouse/express end to end: a real provider over HTTP, a real Express app using the adapter,
 * and a browser that keeps cookies — the login, returnTo and its open-redirect defence,
 * requiresAuth, several tabs at once, and logout.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gatehouse } from '@gatehouse/express';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  HttpBrowser,
  mount,
  openSessionCookie,
  sessionCookie,
  signIn,
  startWorld,
  type TestApp,
  USER,
  type World,
} from './support.js';

let world: World;
let app: TestApp;
let local: TestApp;

beforeAll(async () => {
  world = await startWorld({ apps: 2 });
  [app, local] = world.apps as [TestApp, TestApp];
  await mount(world, app);
  // As with a provider that has no end_session_endpoint: logout stays local.
  const { end_session_endpoint: _, ...metadata } = app.auth!.client.metadata;
  await mount(world, local, { client: { metadata }, session: { cookieName: 'local_session' } });
});
afterAll(() => world?.close());

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

describe('login', () => {
  it('signs in through the provider (signed request, client_secret_basic); /profile shows the claims', async () => {
    const browser = new HttpBrowser();
    const start = await browser.get(`${app.baseUrl}/login`);
    expect(start.status).toBe(302);
    expect(start.headers.get('cache-control')).toBe('no-store');
    const authorizeUrl = new URL(start.headers.get('location')!);
    expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(`${world.issuer}/v1/oauth/authorize`);
    // A confidential client: the parameters travel inside a signed request object (JAR).
    expect([...authorizeUrl.searchParams.keys()].sort()).toEqual(['client_id', 'request']);
    // The transaction is in a cookie of its own, HttpOnly and SameSite=Lax.
    const tx = start.headers.getSetCookie().find((c) => c.startsWith('gh_tx.'));
    expect(tx).toMatch(/; HttpOnly/);
    expect(tx).toMatch(/; SameSite=Lax/);

    const callback = await authorize(browser, world, authorizeUrl.href);
    expect(callback.origin + callback.pathname).toBe(`${app.baseUrl}/callback`);
    const back = await browser.get(callback.href);
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('/');
    expect(back.headers.get('cache-control')).toBe('no-store');
    // The transaction cookie is gone; the session cookie is there.
    const jar = browser.jar(app.baseUrl);
    expect([...jar.keys()].filter((n) => n.startsWith('gh_tx.'))).toEqual([]);
    expect(jar.has('gh_session')).toBe(true);

    const profile = await browser.get(`${app.baseUrl}/profile`);
    expect(profile.status).toBe(200);
    const body = await json(profile);
    const user = body['user'] as Record<string, unknown>;
    expect(user['email']).toBe('alice@example.com');
    expect(user['name']).toBe('Alice Example');
    expect(user['iss']).toBe(world.issuer);
    expect(user['aud']).toBe('express-app');
    expect(body['accessToken']).toEqual(expect.any(String));
    expect(app.reported).toEqual([]);
  });

  it('req.gatehouse is set on every request, signed in or not', async () => {
    const browser = new HttpBrowser();
    expect(await json(await browser.get(`${app.baseUrl}/whoami`))).toEqual({
      isAuthenticated: false,
    });
    await signIn(browser, world, app);
    const me = await json(await browser.get(`${app.baseUrl}/whoami`));
    expect(me['isAuthenticated']).toBe(true);
    expect((me['user'] as Record<string, unknown>)['email']).toBe('alice@example.com');
    expect(me['idToken']).toEqual(expect.any(String));
  });
});

describe('returnTo', () => {
  it('comes back to the page asked for, query included', async () => {
    const browser = new HttpBrowser();
    const back = await signIn(
      browser,
      world,
      app,
      `${app.baseUrl}/login?returnTo=${encodeURIComponent('/reports/2024?tab=summary&x=%2F')}`,
    );
    expect(back.headers.get('location')).toBe('/reports/2024?tab=summary&x=%2F');
  });

  const attempts = [
    '//evil.example',
    '//evil.example/path',
    'https://evil.example',
    'http://localhost.evil.example/',
    '/\\evil.example',
    '\\\\evil.example',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    '/\t/evil.example',
    '/\n/evil.example',
    '/a/../..//evil.example',
    'evil.example',
    '',
  ];
  it.each(attempts.map((a) => [JSON.stringify(a), a]))(
    'an open-redirect attempt (%s) falls back to "/"',
    async (_, returnTo) => {
      const browser = new HttpBrowser();
      const back = await signIn(
        browser,
        world,
        app,
        `${app.baseUrl}/login?returnTo=${encodeURIComponent(returnTo)}`,
      );
      expect(back.status).toBe(302);
      expect(back.headers.get('location')).toBe('/');
    },
  );

  it('a repeated returnTo is ignored', async () => {
    const browser = new HttpBrowser();
    const back = await signIn(browser, world, app, `${app.baseUrl}/login?returnTo=/a&returnTo=/b`);
    expect(back.headers.get('location')).toBe('/');
  });
});

describe('requiresAuth', () => {
  it('redirects a GET to the login and comes back to the page; answers 401 to a POST', async () => {
    const browser = new HttpBrowser();
    const page = await browser.get(`${app.baseUrl}/profile?tab=keys`);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe(
      `/login?returnTo=${encodeURIComponent('/profile?tab=keys')}`,
    );

    const post = await browser.request(`${app.baseUrl}/api/items`, { method: 'POST' });
    expect(post.status).toBe(401);
    expect(await post.json()).toEqual({ error: 'login_required' });

    // Following the redirect signs in and lands on the page first asked for.
    const back = await signIn(browser, world, app, `${app.baseUrl}/profile?tab=keys`);
    expect(back.headers.get('location')).toBe('/profile?tab=keys');
    expect((await browser.get(`${app.baseUrl}/profile?tab=keys`)).status).toBe(200);
    const again = await browser.request(`${app.baseUrl}/api/items`, { method: 'POST' });
    expect(again.status).toBe(200);
  });
});

describe('https', () => {
  it('an https app gets Secure cookies', async () => {
    const secure = express();
    const auth = await gatehouse({
      issuer: world.issuer,
      clientId: 'express-app',
      clientSecret: 'not-used-before-the-callback-0123456789abcdef',
      baseUrl: 'https://app.example',
      secret: 'https-cookie-secret-0123456789-abcdefghijkl',
    });
    secure.use(auth.router);
    secure.get('/private', auth.requiresAuth(), (_req, res) => {
      res.send('private');
    });
    const server = createServer(secure);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const page = await fetch(`${url}/private`, { redirect: 'manual' });
      expect(page.headers.get('location')).toBe('/login?returnTo=%2Fprivate');
      const login = await fetch(`${url}/login?returnTo=%2Fprivate`, { redirect: 'manual' });
      expect(login.status).toBe(302);
      const [tx] = login.headers.getSetCookie();
      expect(tx).toMatch(/^gh_tx\.[A-Za-z0-9_-]{16}=v1\./);
      expect(tx).toMatch(/; HttpOnly; Secure; SameSite=Lax$/);
      const request = new URL(login.headers.get('location')!).searchParams.get('request')!;
      const claims = JSON.parse(Buffer.from(request.split('.')[1]!, 'base64url').toString());
      expect(claims.redirect_uri).toBe('https://app.example/callback');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('several tabs', () => {
  it('two logins started at once both succeed, each back to its own page', async () => {
    const browser = new HttpBrowser();
    const first = await browser.get(`${app.baseUrl}/login?returnTo=/first`);
    const second = await browser.get(`${app.baseUrl}/login?returnTo=/second`);
    const jar = browser.jar(app.baseUrl);
    expect([...jar.keys()].filter((n) => n.startsWith('gh_tx.'))).toHaveLength(2);

    const firstCallback = await authorize(browser, world, first.headers.get('location')!);
    const secondCallback = await authorize(browser, world, second.headers.get('location')!);
    // Finished in the other order: each callback finds its own transaction.
    const secondBack = await browser.get(secondCallback.href);
    const firstBack = await browser.get(firstCallback.href);
    expect(secondBack.status).toBe(302);
    expect(secondBack.headers.get('location')).toBe('/second');
    expect(firstBack.status).toBe(302);
    expect(firstBack.headers.get('location')).toBe('/first');
    expect((await browser.get(`${app.baseUrl}/profile`)).status).toBe(200);
  });
});

describe('logout', () => {
  it('clears the session, revokes the refresh token and ends the provider session', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, app);
    const tokens = openSessionCookie(sessionCookie(browser, app))['tokens'] as Record<
      string,
      string
    >;
    const out = await browser.get(`${app.baseUrl}/logout`);
    expect(out.status).toBe(302);
    const to = new URL(out.headers.get('location')!);
    expect(to.origin + to.pathname).toBe(`${world.issuer}/v1/oauth/logout`);
    expect(to.searchParams.get('client_id')).toBe('express-app');
    expect(to.searchParams.get('id_token_hint')).toEqual(expect.any(String));
    expect(to.searchParams.get('post_logout_redirect_uri')).toBe(`${app.baseUrl}/`);
    expect(browser.jar(app.baseUrl).has('gh_session')).toBe(false);
    expect(out.headers.getSetCookie().some((c) => /^gh_session=;.*Max-Age=0/.test(c))).toBe(true);
    const refresh = await app
      .auth!.client.refresh(tokens['refreshToken']!)
      .catch((e: unknown) => e);
    expect(refresh).toMatchObject({ code: 'token_endpoint_error', error: 'invalid_grant' });

    // The provider ends its own session (the hint names the signed-in user) and comes back.
    const landed = await browser.follow(out, (u) => u.origin === world.issuer);
    expect(landed.status).toBe(303);
    expect(landed.headers.get('location')).toBe(`${app.baseUrl}/`);

    expect((await browser.get(`${app.baseUrl}/profile`)).status).toBe(302);
    // Signing in again needs the password: the provider session is gone too.
    const login = await browser.follow(await browser.get(`${app.baseUrl}/login`));
    expect(await login.text()).toContain('name="password"');
  });

  it('POST /logout answers 303; without a session it goes straight to the home page', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, app);
    const out = await browser.request(`${app.baseUrl}/logout`, { method: 'POST' });
    expect(out.status).toBe(303);
    expect(new URL(out.headers.get('location')!).origin).toBe(world.issuer);
    const again = await browser.request(`${app.baseUrl}/logout`, { method: 'POST' });
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe(`${app.baseUrl}/`);
  });

  it('a provider without end_session_endpoint: logout clears the session and stays on the app', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, local);
    expect(browser.jar(local.baseUrl).has('local_session')).toBe(true);
    const out = await browser.get(`${local.baseUrl}/logout`);
    expect(out.status).toBe(302);
    expect(out.headers.get('location')).toBe(`${local.baseUrl}/`);
    expect(browser.jar(local.baseUrl).has('local_session')).toBe(false);
    expect((await browser.get(`${local.baseUrl}/profile`)).status).toBe(302);
  });

  it('the user can sign in as someone else afterwards', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, app);
    await browser.follow(await browser.get(`${app.baseUrl}/logout`));
    await signIn(browser, world, app, `${app.baseUrl}/login`, { user: USER });
    expect((await browser.get(`${app.baseUrl}/profile`)).status).toBe(200);
  });
});
