/**
 * examples/express-app against a real provider over HTTP, configured as the demo configures
 * `demo-web` (a web client with a secret, JAR required, the app's callback as redirect URI),
 * driven by the cookie-keeping browser of the Express adapter's tests.
 */
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/express-app/src/index.js';
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
let reported: unknown[];

beforeAll(async () => {
  world = await startWorld({ apps: 1 });
  target = world.apps[0]!;
  reported = [];
  const app: Express = await createApp({
    issuer: world.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    baseUrl: target.baseUrl,
    secret: COOKIE_SECRET,
    onError: (err) => reported.push(err),
  });
  // The example app answers on the test app's port, by itself.
  target.server.removeAllListeners('request');
  target.server.on('request', app);
});
afterAll(() => world?.close());

function expectPageHeaders(res: Response): void {
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain(`default-src 'none'`);
  expect(csp).toContain(`style-src 'self'`);
  expect(csp).toContain(`frame-ancestors 'none'`);
  // The sign-out form redirects to the provider's end-session endpoint.
  expect(csp).toContain(`form-action 'self' ${world.issuer}`);
  expect(csp).not.toContain('script-src');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(res.headers.get('x-powered-by')).toBeNull();
}

/** The landmarks every page has, and no script. */
function expectAccessiblePage(body: string): void {
  expect(body).toMatch(/^<!doctype html>\n<html lang="en">/);
  expect(body).toContain('<a class="skip" href="#main">Skip to content</a>');
  expect(body).toContain('<header>');
  expect(body).toContain('<nav aria-label="Site">');
  expect(body).toContain('<main id="main">');
  expect(body).toContain('<footer>');
  expect(body.match(/<h1>/g)).toHaveLength(1);
  expect(body).toContain('<link rel="stylesheet" href="/app.css">');
  expect(body).not.toMatch(/<script|\sstyle=|\son\w+=/i);
}

describe('examples/express-app', () => {
  it('signs in and out: home → /profile (login) → provider → claims → home → logout', async () => {
    const browser = new HttpBrowser();
    const base = target.baseUrl;

    // Signed out: the home page offers to sign in.
    const home = await browser.get(`${base}/`);
    expect(home.status).toBe(200);
    expectPageHeaders(home);
    const homeHtml = await home.text();
    expectAccessiblePage(homeHtml);
    expect(homeHtml).toContain('<h1>Welcome</h1>');
    expect(homeHtml).toContain('href="/login">Sign in</a>');
    expect(homeHtml).not.toContain('Sign out');

    // The stylesheet is the app's own.
    const css = await browser.get(`${base}/app.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toContain('font-family');

    // The profile needs a session: to the login, and back to /profile afterwards.
    const profile = await browser.get(`${base}/profile`);
    expect(profile.status).toBe(302);
    expect(profile.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
    const login = await browser.get(`${base}/login?returnTo=%2Fprofile`);
    const authorizeUrl = new URL(login.headers.get('location')!);
    expect(authorizeUrl.origin).toBe(world.issuer);
    // A web client signs its authorization requests (JAR): only client_id and request travel.
    expect([...authorizeUrl.searchParams.keys()].sort()).toEqual(['client_id', 'request']);

    const callback = await authorize(browser, world, authorizeUrl.href);
    expect(callback.origin + callback.pathname).toBe(`${base}/callback`);
    const back = await browser.get(callback.href);
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('/profile');

    // The profile shows the ID token's claims, times readable, and the access token's expiry.
    const signedIn = await browser.get(`${base}/profile`);
    expect(signedIn.status).toBe(200);
    expectPageHeaders(signedIn);
    const profileHtml = await signedIn.text();
    expectAccessiblePage(profileHtml);
    expect(profileHtml).toContain('<h1>Your profile</h1>');
    expect(profileHtml).toContain('<caption>ID token claims</caption>');
    expect(profileHtml).toContain('<th scope="col">Claim</th>');
    expect(profileHtml).toMatch(
      /<th scope="row"><code>name<\/code><\/th><td><code>Alice Example<\/code>/,
    );
    expect(profileHtml).toMatch(
      /<th scope="row"><code>email<\/code><\/th><td><code>alice@example\.com<\/code>/,
    );
    expect(profileHtml).toMatch(
      new RegExp(`<th scope="row"><code>iss</code></th><td><code>${world.issuer}</code>`),
    );
    expect(profileHtml).toMatch(
      /<code>exp<\/code><\/th><td><code>\d+<\/code><span class="time">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in \d+ \w+\)<\/span>/,
    );
    expect(profileHtml).toMatch(/<code>iat<\/code>.*UTC \((now|\d+ seconds? ago)\)/);
    expect(profileHtml).toMatch(
      /Your access token expires at <strong>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/strong>\n\(in \d+ \w+\)/,
    );
    // Signed in: the navigation offers the profile and sign-out.
    expect(profileHtml).toContain('<form method="post" action="/logout">');

    // The home page knows the user.
    const homeIn = await browser.get(`${base}/`);
    const homeInHtml = await homeIn.text();
    expect(homeInHtml).toContain('<h1>Hello, Alice Example</h1>');
    expect(homeInHtml).toContain('<strong>alice@example.com</strong>');
    expect(homeInHtml).toContain('href="/profile"');
    expect(homeInHtml).not.toContain('href="/login"');

    // Sign out (the form's POST): the session ends here and at the provider, then home.
    const out = await browser.request(`${base}/logout`, { method: 'POST' });
    expect(out.status).toBe(303);
    const endSession = new URL(out.headers.get('location')!);
    expect(endSession.origin).toBe(world.issuer);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${base}/`);
    const landed = await browser.follow(out, (u) => u.origin === world.issuer);
    expect(landed.headers.get('location')).toBe(`${base}/`);
    const after = await browser.get(`${base}/`);
    const afterHtml = await after.text();
    expect(afterHtml).toContain('<h1>Welcome</h1>');
    expect(afterHtml).toContain('You are not signed in.');
    expect((await browser.get(`${base}/profile`)).status).toBe(302);
    expect(reported).toEqual([]);
  });

  it('answers an unknown page with its own 404 page, and a bad callback with the adapter’s error page', async () => {
    const browser = new HttpBrowser();
    const missing = await browser.get(`${target.baseUrl}/nope?<x>`);
    expect(missing.status).toBe(404);
    expectPageHeaders(missing);
    const missingHtml = await missing.text();
    expectAccessiblePage(missingHtml);
    expect(missingHtml).toContain('<h1>Page not found</h1>');

    const stray = await browser.get(`${target.baseUrl}/callback?code=abc&state=def`);
    expect(stray.status).toBe(400);
    expect(await stray.text()).toContain('Try signing in again');
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ code: 'transaction_not_found' });
    reported.length = 0;
  });
});
