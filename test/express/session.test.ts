/**
 * The Express adapter's application session: encrypted (no token in the cookie), tamper-evident,
 * chunked when large, or kept in a store; refreshed automatically before the access token
 * expires — once, even for concurrent requests — and cleared when the refresh is refused.
 */
import { TokenEndpointError } from '@gatehouse/client';
import { memorySessionStore } from '@gatehouse/express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealer } from '../../packages/express/src/lib/seal.js';
import { movableClock } from '../support/harness.js';
import {
  BIG_USER,
  COOKIE_SECRET,
  HttpBrowser,
  mount,
  openSessionCookie,
  sessionCookie,
  signIn,
  startWorld,
  type TestApp,
  type World,
} from './support.js';

const clock = movableClock();
const store = memorySessionStore({ now: clock.now });
let world: World;
let app: TestApp;
let stored: TestApp;
let flaky: TestApp;
/** The flaky app's token endpoint calls, and whether they fail (as with the provider down). */
const tokenCalls = { count: 0, failing: false };

beforeAll(async () => {
  world = await startWorld({ apps: 3, clock: clock.now });
  [app, stored, flaky] = world.apps as [TestApp, TestApp, TestApp];
  // One clock for the provider and the apps: the tests move time forward.
  await mount(world, app, { client: { now: clock.now } });
  await mount(world, stored, {
    client: { now: clock.now },
    session: { store, cookieName: 'gh_stored' },
  });
  await mount(world, flaky, {
    client: { now: clock.now },
    session: { cookieName: 'gh_flaky' },
    fetch: (input, init) => {
      if (String(input).endsWith('/v1/oauth/token')) {
        tokenCalls.count++;
        if (tokenCalls.failing) return Promise.reject(new TypeError('fetch failed'));
      }
      return fetch(input, init);
    },
  });
});
afterAll(() => world?.close());

async function profile(browser: HttpBrowser, target = app) {
  const res = await browser.get(`${target.baseUrl}/profile`);
  return {
    res,
    body:
      res.status === 200
        ? ((await res.json()) as {
            user: Record<string, unknown>;
            accessToken: string;
            accessTokenExpiresAt: number;
          })
        : undefined,
  };
}

describe('the session cookie', () => {
  it('is encrypted: neither a token nor a claim is readable in it; HttpOnly, SameSite=Lax, Path=/', async () => {
    const browser = new HttpBrowser();
    const back = await signIn(browser, world, app);
    const line = back.headers.getSetCookie().find((c) => c.startsWith('gh_session='))!;
    expect(line).toMatch(/; Path=\/;/);
    expect(line).toMatch(/; HttpOnly/);
    expect(line).toMatch(/; SameSite=Lax$/);
    // Plain http on localhost: not Secure (the browser would drop it); https apps get Secure.
    expect(line).not.toMatch(/; Secure/);
    expect(line).toMatch(/Max-Age=86400/);

    const value = sessionCookie(browser, app);
    expect(value).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    const session = openSessionCookie(value);
    const tokens = session['tokens'] as Record<string, string>;
    for (const secret of [tokens['accessToken']!, tokens['refreshToken']!, tokens['idToken']!]) {
      expect(secret.length).toBeGreaterThan(20);
      expect(value).not.toContain(secret);
      expect(value).not.toContain(secret.slice(0, 20));
    }
    expect(value).not.toContain('alice');
    expect(Buffer.from(value.split('.')[2]!, 'base64url').toString('latin1')).not.toContain(
      'alice',
    );
  });

  it('a tampered cookie is no session: cleared, and requiresAuth sends to the login', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, app);
    const value = sessionCookie(browser, app);
    const i = Math.floor(value.length / 2);
    const flipped = value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1);
    browser.jar(app.baseUrl).set('gh_session', flipped);

    const me = await browser.get(`${app.baseUrl}/whoami`);
    expect(await me.json()).toEqual({ isAuthenticated: false });
    expect(me.headers.getSetCookie().some((c) => /^gh_session=;.*Max-Age=0/.test(c))).toBe(true);
    expect(browser.jar(app.baseUrl).has('gh_session')).toBe(false);
    expect((await profile(browser)).res.status).toBe(302);
  });

  it('a cookie sealed for another cookie name (same secret), or garbage, is no session either', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, stored);
    // The store app's cookie, sealed with the same key: its name is authenticated with it.
    const jar = browser.jar(app.baseUrl);
    jar.set('gh_session', sessionCookie(browser, stored, 'gh_stored'));
    expect((await profile(browser)).res.status).toBe(302);
    jar.set('gh_session', 'v1.not.valid');
    expect((await profile(browser)).res.status).toBe(302);
    expect(jar.has('gh_session')).toBe(false);
  });

  it('a large session is split over gh_session.0, .1 … and read back whole; a small one replaces it', async () => {
    const browser = new HttpBrowser();
    const back = await signIn(browser, world, app, `${app.baseUrl}/login`, { user: BIG_USER });
    const names = back.headers
      .getSetCookie()
      .filter((c) => c.startsWith('gh_session'))
      .map((c) => c.slice(0, c.indexOf('=')));
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect(names).toEqual(names.map((_, i) => `gh_session.${i}`));
    for (const c of back.headers.getSetCookie()) expect(c.length).toBeLessThan(4096);

    const { body } = await profile(browser);
    expect(body?.user['email']).toBe('carol@example.com');
    expect(body?.user['website']).toBe(`https://carol.example/${'w'.repeat(800)}`);

    // Alice now, in the same browser (its provider session forgotten): one cookie again, and
    // the chunks are deleted.
    browser.cookies.delete(new URL(world.issuer).hostname);
    const alice = await signIn(browser, world, app);
    expect(alice.status).toBe(302);
    expect(
      alice.headers.getSetCookie().filter((c) => /^gh_session\.\d+=;.*Max-Age=0/.test(c)),
    ).toHaveLength(names.length);
    const jar = browser.jar(app.baseUrl);
    expect([...jar.keys()].filter((n) => n.startsWith('gh_session'))).toEqual(['gh_session']);
    expect((await profile(browser)).body?.user['email']).toBe('alice@example.com');
  });

  it('a session with a missing chunk is no session', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, app, `${app.baseUrl}/login`, { user: BIG_USER });
    browser.jar(app.baseUrl).delete('gh_session.1');
    const me = await browser.get(`${app.baseUrl}/whoami`);
    expect(await me.json()).toEqual({ isAuthenticated: false });
    expect(browser.jar(app.baseUrl).has('gh_session.0')).toBe(false);
  });

  it('ends after maxAgeSeconds (a day), whatever the tokens say', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, app);
    clock.advance(86_400_000 + 1000);
    expect((await profile(browser)).res.status).toBe(302);
  });
});

describe('a server-side session store', () => {
  it('the cookie holds only an encrypted id; the store holds the tokens encrypted', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, stored);
    const value = sessionCookie(browser, stored, 'gh_stored');
    expect(value.length).toBeLessThan(120);
    const { body } = await profile(browser, stored);
    expect(body?.user['email']).toBe('alice@example.com');

    // Reach the record the way the adapter does, and check that it holds no token in clear.
    const id = sealer(COOKIE_SECRET, 'session cookie').open(value, 'gh_stored')!;
    const record = (await store.get(id))!;
    expect(record.user.sub).toBe(body?.user['sub']);
    expect(record.tokens).toMatch(/^v1\./);
    expect(record.tokens).not.toContain(body!.accessToken);

    // Logout destroys the record.
    await browser.get(`${stored.baseUrl}/logout`);
    expect(await store.get(id)).toBeUndefined();
    expect((await profile(browser, stored)).res.status).toBe(302);
  });

  it('a new login replaces the session under a new id; the old record is gone', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, stored);
    const first = sessionCookie(browser, stored, 'gh_stored');
    await signIn(browser, world, stored);
    const second = sessionCookie(browser, stored, 'gh_stored');
    expect(second).not.toBe(first);
    const other = new HttpBrowser();
    other.jar(stored.baseUrl).set('gh_stored', first);
    expect((await profile(other, stored)).res.status).toBe(302);
    expect((await profile(browser, stored)).res.status).toBe(200);
  });
});

describe('automatic refresh', () => {
  it('refreshes the access token shortly before it expires: new token, same user', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, app);
    const before = (await profile(browser)).body!;
    // A minute later nothing changes.
    clock.advance(60_000);
    expect((await profile(browser)).body!.accessToken).toBe(before.accessToken);

    // Within refreshSkewSeconds (60) of the expiry (3600 s): refreshed on this request.
    clock.advance(3600_000 - 60_000 - 30_000);
    const { res, body: after } = await profile(browser);
    expect(res.headers.getSetCookie().some((c) => c.startsWith('gh_session='))).toBe(true);
    expect(after!.accessToken).not.toBe(before.accessToken);
    expect(after!.user['sub']).toBe(before.user['sub']);
    expect(after!.user['email']).toBe('alice@example.com');
    expect(after!.accessTokenExpiresAt).toBeGreaterThan(before.accessTokenExpiresAt);
    // The refreshed token works at the provider.
    const info = await app.auth!.client.userinfo(after!.accessToken, String(after!.user['sub']));
    expect(info['email']).toBe('alice@example.com');
    // And the next request uses it as it is.
    expect((await profile(browser)).body!.accessToken).toBe(after!.accessToken);
  });

  it('concurrent requests share one refresh; a late request with the old cookie gets its result', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, app);
    const old = sessionCookie(browser, app);
    clock.advance(3590_000);
    const answers = await Promise.all([1, 2, 3, 4].map(() => profile(browser)));
    const tokens = new Set(answers.map((a) => a.body?.accessToken));
    expect(answers.map((a) => a.res.status)).toEqual([200, 200, 200, 200]);
    expect(tokens.size).toBe(1);

    // The old cookie again (its response was still in flight): the provider would see a rotated
    // refresh token reused and revoke the grant — the adapter answers with the refresh it made.
    const late = new HttpBrowser();
    late.jar(app.baseUrl).set('gh_session', old);
    const lateAnswer = await profile(late);
    expect(lateAnswer.res.status).toBe(200);
    expect(tokens.has(lateAnswer.body!.accessToken)).toBe(true);
    // The grant is intact: the next refresh works.
    clock.advance(3590_000);
    expect((await profile(browser)).res.status).toBe(200);
  });

  it('a refused refresh (the refresh token was revoked) clears the session and reports it', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, app);
    const tokens = openSessionCookie(sessionCookie(browser, app))['tokens'] as Record<
      string,
      string
    >;
    await app.auth!.client.revoke(tokens['refreshToken']!, 'refresh_token');
    const reported = app.reported.length;

    clock.advance(3590_000);
    const { res } = await profile(browser);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
    expect(browser.jar(app.baseUrl).has('gh_session')).toBe(false);
    expect(app.reported).toHaveLength(reported + 1);
    const err = app.reported.at(-1) as TokenEndpointError;
    expect(err).toBeInstanceOf(TokenEndpointError);
    expect(err.error).toBe('invalid_grant');
  });

  it('a refresh that may pass (provider unreachable) keeps the session, and is not retried at once', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, flaky);
    const before = (await profile(browser, flaky)).body!;
    tokenCalls.failing = true;
    tokenCalls.count = 0;
    const reported = flaky.reported.length;
    clock.advance(3590_000);
    // The session stays (with the token it has); the failure is reported.
    expect((await profile(browser, flaky)).body!.accessToken).toBe(before.accessToken);
    expect(tokenCalls.count).toBe(1);
    expect((flaky.reported.at(-1) as { code: string }).code).toBe('network_error');
    expect(flaky.reported).toHaveLength(reported + 1);
    // The next requests do not wait for the provider again…
    expect((await profile(browser, flaky)).res.status).toBe(200);
    expect(tokenCalls.count).toBe(1);
    // …until the retry delay has passed; then the refresh goes through.
    tokenCalls.failing = false;
    clock.advance(31_000);
    const after = (await profile(browser, flaky)).body!;
    expect(tokenCalls.count).toBe(2);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.user['sub']).toBe(before.user['sub']);
  });

  it('store sessions refresh too, in place', async () => {
    const browser = new HttpBrowser();
    await signIn(browser, world, stored);
    const before = (await profile(browser, stored)).body!;
    const cookie = sessionCookie(browser, stored, 'gh_stored');
    clock.advance(3590_000);
    const after = (await profile(browser, stored)).body!;
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(sessionCookie(browser, stored, 'gh_stored')).toBe(cookie);
  });
});
