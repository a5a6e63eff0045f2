/**
 * examples/hono-app (Hono on Node.js through @hono/node-server, signing in with @gatehouse/web)
 * against a real provider over HTTP, configured as the demo configures `demo-web` (a web client
 * with a secret, JAR required), driven by the cookie-keeping browser of the Express adapter's
 * tests.
 */
import { getRequestListener } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, SettingsError, settingsFromEnv } from '../../examples/hono-app/src/index.js';
import {
  authorize,
  CLIENT_ID,
  CLIENT_SECRET,
  COOKIE_SECRET,
  HttpBrowser,
  startWorld,
  type TestApp,
  type World,
} from '../express/support.js';

let world: World;
let target: TestApp;
const reported: unknown[] = [];

beforeAll(async () => {
  world = await startWorld({ apps: 1 });
  target = world.apps[0]!;
  const { app } = await createApp({
    issuer: world.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    baseUrl: target.baseUrl,
    secret: COOKIE_SECRET,
    onError: (err) => reported.push(err),
  });
  // The Hono app answers on the test app's port, through @hono/node-server.
  target.server.removeAllListeners('request');
  target.server.on('request', getRequestListener(app.fetch));
});
afterAll(() => world?.close());

function expectPageHeaders(res: Response): void {
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain(`default-src 'none'`);
  expect(csp).toContain(`style-src 'self'`);
  expect(csp).toContain(`form-action 'self' ${world.issuer}`);
  expect(csp).not.toContain('script-src');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('content-type')).toBe('text/html; charset=UTF-8');
}

describe('examples/hono-app', () => {
  it('signs in and out: home → /profile (login) → provider → claims → home → logout', async () => {
    const browser = new HttpBrowser();
    const base = target.baseUrl;

    const home = await browser.get(`${base}/`);
    expect(home.status).toBe(200);
    expectPageHeaders(home);
    const homeHtml = await home.text();
    expect(homeHtml).toContain('<h1>Welcome</h1>');
    expect(homeHtml).toContain('href="/login">Sign in</a>');
    expect(homeHtml).not.toMatch(/<script/i);

    const css = await browser.get(`${base}/app.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');

    // The profile needs a session: to the login, and back to /profile afterwards.
    const profile = await browser.get(`${base}/profile`);
    expect(profile.status).toBe(302);
    expect(profile.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
    const login = await browser.get(`${base}/login?returnTo=%2Fprofile`);
    const authorizeUrl = new URL(login.headers.get('location')!);
    expect(authorizeUrl.origin).toBe(world.issuer);
    expect([...authorizeUrl.searchParams.keys()].sort()).toEqual(['client_id', 'request']);
    const callback = await authorize(browser, world, authorizeUrl.href);
    expect(callback.origin + callback.pathname).toBe(`${base}/callback`);
    const back = await browser.get(callback.href);
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('/profile');
    // Plain http on localhost: the session cookie is not Secure (the browser would drop it).
    const line = back.headers.getSetCookie().find((c) => c.startsWith('gh_session='))!;
    expect(line).toMatch(/; HttpOnly; SameSite=Lax$/);

    const signedIn = await browser.get(`${base}/profile`);
    expect(signedIn.status).toBe(200);
    expectPageHeaders(signedIn);
    const profileHtml = await signedIn.text();
    expect(profileHtml).toContain('<h1>Your profile</h1>');
    expect(profileHtml).toContain('<caption>ID token claims</caption>');
    expect(profileHtml).toMatch(
      /<th scope="row"><code>email<\/code><\/th><td><code>alice@example\.com<\/code>/,
    );
    expect(profileHtml).toContain(
      `<th scope="row"><code>iss</code></th><td><code>${world.issuer}</code>`,
    );
    expect(profileHtml).toMatch(/<code>exp<\/code>.*<span class="time">\d{4}-\d\d-\d\d /);
    expect(profileHtml).toContain('<form method="post" action="/logout">');

    const homeIn = await (await browser.get(`${base}/`)).text();
    expect(homeIn).toContain('<h1>Hello, Alice Example</h1>');
    expect(homeIn).toContain('<strong>alice@example.com</strong>');

    // Sign out (the form's POST): the session ends here and at the provider, then home.
    const out = await browser.request(`${base}/logout`, { method: 'POST' });
    expect(out.status).toBe(303);
    const endSession = new URL(out.headers.get('location')!);
    expect(endSession.origin).toBe(world.issuer);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${base}/`);
    const landed = await browser.follow(out, (u) => u.origin === world.issuer);
    expect(landed.headers.get('location')).toBe(`${base}/`);
    expect(await (await browser.get(`${base}/`)).text()).toContain('You are not signed in.');
    expect((await browser.get(`${base}/profile`)).status).toBe(302);
    expect(reported).toEqual([]);
  });

  it('answers an unknown page with its 404 page, and a bad callback with the adapter’s error page', async () => {
    const browser = new HttpBrowser();
    const missing = await browser.get(`${target.baseUrl}/nope?<x>`);
    expect(missing.status).toBe(404);
    expectPageHeaders(missing);
    expect(await missing.text()).toContain('<h1>Page not found</h1>');

    const stray = await browser.get(`${target.baseUrl}/callback?code=abcdefghijkl&state=def`);
    expect(stray.status).toBe(400);
    // The error page keeps its own CSP (its stylesheet by hash).
    expect(stray.headers.get('content-security-policy')).toMatch(/style-src 'sha256-/);
    expect(await stray.text()).toContain('Try signing in again');
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ code: 'transaction_not_found' });
    reported.length = 0;
  });

  it('reads its settings from the environment, naming what is wrong', () => {
    const env = {
      GATEHOUSE_ISSUER: 'http://localhost:9000',
      GATEHOUSE_CLIENT_ID: 'my-app',
      GATEHOUSE_CLIENT_SECRET: 'a-secret',
      PORT: '3001',
    };
    const settings = settingsFromEnv(env, '/nonexistent');
    expect(settings).toMatchObject({
      issuer: 'http://localhost:9000',
      clientId: 'my-app',
      baseUrl: 'http://localhost:3001',
      port: 3001,
    });
    expect(settings.secret.length).toBeGreaterThanOrEqual(32);
    const refusal = (extra: Record<string, string>) => {
      try {
        settingsFromEnv({ ...env, ...extra }, '/nonexistent');
      } catch (err) {
        expect(err).toBeInstanceOf(SettingsError);
        return (err as SettingsError).lines[0];
      }
      throw new Error('accepted');
    };
    expect(refusal({ PORT: 'eighty' })).toMatch(/^PORT: /);
    expect(refusal({ APP_BASE_URL: 'http://localhost:3001/app' })).toMatch(/^APP_BASE_URL: /);
    expect(refusal({ APP_SECRET: 'short' })).toMatch(/^APP_SECRET: /);
    expect(refusal({ GATEHOUSE_CLIENT_SECRET: '' })).toMatch(/GATEHOUSE_CLIENT_SECRET is not set/);
  });
});
