/**
 * @gatehouse/web's session with Web `Request`s against a real provider (in process, on a clock
 * the tests move): tamper-evident, chunked when large, ended after its lifetime; refreshed before
 * the access token expires — once, even for concurrent requests — and ended when the refresh is
 * refused; and the logout.
 */
import { TokenEndpointError } from '@gatehouse/client';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestProvider } from '../support/harness.js';
import {
  APP,
  AppBrowser,
  BIG_USER,
  createAuth,
  openSessionCookie,
  setCookieNames,
  startProvider,
  type TestAuth,
  type TokenCalls,
} from './support.js';

let tp: TestProvider;
let t: TestAuth;
let flaky: TestAuth;
const calls: TokenCalls = { count: 0, failing: false };
const flakyCalls: TokenCalls = { count: 0, failing: false };

beforeAll(async () => {
  tp = await startProvider();
  t = await createAuth(tp, {}, calls);
  flaky = await createAuth(tp, { session: { cookieName: 'gh_flaky' } }, flakyCalls);
});

function browser(target = t): AppBrowser {
  return new AppBrowser(tp, target.app);
}

type Profile = { user: Record<string, unknown>; accessToken: string; accessTokenExpiresAt: number };

async function profile(b: AppBrowser): Promise<{ res: Response; body?: Profile }> {
  const res = await b.get('/profile');
  return { res, ...(res.status === 200 ? { body: (await res.json()) as Profile } : {}) };
}

describe('the session cookie', () => {
  it('a tampered cookie is no session: session() is undefined, requireAuth redirects and clears it', async () => {
    const b = browser();
    await b.signIn();
    const value = b.session();
    const i = Math.floor(value.length / 2);
    b.cookies.set(
      'gh_session',
      value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1),
    );

    expect(await (await b.get('/whoami')).json()).toBeNull();
    const page = await b.get('/profile');
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
    expect(setCookieNames(page)).toEqual([{ name: 'gh_session', deleted: true }]);
    expect(b.cookies.has('gh_session')).toBe(false);
  });

  it('a cookie sealed for another cookie name (same secret), or garbage, is no session either', async () => {
    const b = browser(flaky);
    await b.signIn();
    const other = browser();
    other.cookies.set('gh_session', b.session('gh_flaky'));
    expect((await profile(other)).res.status).toBe(302);
    other.cookies.set('gh_session', 'v1.not.valid');
    expect((await profile(other)).res.status).toBe(302);
    expect(other.cookies.has('gh_session')).toBe(false);
  });

  it('a large session is split over gh_session.0, .1 … and read back whole; a small one replaces it', async () => {
    const b = browser();
    const back = await b.signIn('/login', { user: BIG_USER });
    const names = setCookieNames(back)
      .filter((c) => c.name.startsWith('gh_session'))
      .map((c) => c.name);
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect(names).toEqual(names.map((_, i) => `gh_session.${i}`));
    for (const line of back.headers.getSetCookie()) expect(line.length).toBeLessThan(4096);

    const { body } = await profile(b);
    expect(body?.user['email']).toBe('carol@example.com');
    expect(body?.user['website']).toBe(`https://carol.example/${'w'.repeat(800)}`);

    // Alice now, in the same browser (signed out at the provider): one cookie, the chunks deleted.
    const alice = new AppBrowser(tp, t.app);
    for (const [name, value] of b.cookies) alice.cookies.set(name, value);
    const replaced = await alice.signIn();
    expect(setCookieNames(replaced).filter((c) => c.name.startsWith('gh_session'))).toEqual([
      ...names.map((name) => ({ name, deleted: true })),
      { name: 'gh_session', deleted: false },
    ]);
    expect([...alice.cookies.keys()]).toEqual(['gh_session']);
    expect((await profile(alice)).body?.user['email']).toBe('alice@example.com');
  });

  it('a session with a missing chunk is no session', async () => {
    const b = browser();
    await b.signIn('/login', { user: BIG_USER });
    b.cookies.delete('gh_session.1');
    expect(await (await b.get('/whoami')).json()).toBeNull();
    await b.get('/profile');
    expect(b.cookies.has('gh_session.0')).toBe(false);
  });

  it('ends after maxAgeSeconds (a day), whatever the tokens say', async () => {
    const b = browser();
    await b.signIn();
    tp.clock.advance(86_400_000 + 1000);
    expect((await profile(b)).res.status).toBe(302);
  });
});

describe('automatic refresh', () => {
  it('refreshes the access token shortly before it expires: new token, same user, cookie rewritten', async () => {
    const b = browser();
    await b.signIn();
    const before = (await profile(b)).body!;
    tp.clock.advance(60_000);
    const calm = await profile(b);
    expect(calm.body!.accessToken).toBe(before.accessToken);
    expect(calm.res.headers.getSetCookie()).toEqual([]);

    // Within refreshSkewSeconds (60) of the expiry (3600 s): refreshed on this request.
    tp.clock.advance(3600_000 - 60_000 - 30_000);
    const count = calls.count;
    const { res, body: after } = await profile(b);
    expect(calls.count).toBe(count + 1);
    expect(setCookieNames(res)).toEqual([{ name: 'gh_session', deleted: false }]);
    expect(after!.accessToken).not.toBe(before.accessToken);
    expect(after!.user['sub']).toBe(before.user['sub']);
    expect(after!.accessTokenExpiresAt).toBeGreaterThan(before.accessTokenExpiresAt);
    const info = await t.auth.client.userinfo(after!.accessToken, String(after!.user['sub']));
    expect(info['email']).toBe('alice@example.com');
    // The next request uses it as it is.
    expect((await profile(b)).body!.accessToken).toBe(after!.accessToken);
    expect(calls.count).toBe(count + 1);
  });

  it('concurrent requests share one refresh; a late request with the old cookie gets its result', async () => {
    const b = browser();
    await b.signIn();
    const old = b.session();
    tp.clock.advance(3590_000);
    const count = calls.count;
    const answers = await Promise.all([1, 2, 3, 4].map(() => profile(b)));
    expect(answers.map((a) => a.res.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.body?.accessToken)).size).toBe(1);
    expect(calls.count).toBe(count + 1);

    // The old cookie again, from another adapter instance of the same client (another route
    // module): the rotated refresh token is not presented again, the result is shared.
    const other = await createAuth(tp, {}, calls);
    const late = new AppBrowser(tp, other.app);
    late.cookies.set('gh_session', old);
    const lateAnswer = await profile(late);
    expect(lateAnswer.body!.accessToken).toBe(answers[0]!.body!.accessToken);
    expect(calls.count).toBe(count + 1);
    // The grant is intact: the next refresh works.
    tp.clock.advance(3590_000);
    expect((await profile(b)).res.status).toBe(200);
    expect(calls.count).toBe(count + 2);
  });

  it('session(request, { refresh: false }) returns a due session as it is, without a refresh', async () => {
    const b = browser();
    await b.signIn();
    const before = (await profile(b)).body!;
    tp.clock.advance(3590_000);
    const count = calls.count;
    const peek = (await (await b.get('/peek')).json()) as Profile & { setCookies: string[] };
    expect(peek.accessToken).toBe(before.accessToken);
    expect(peek.setCookies).toEqual([]);
    expect(calls.count).toBe(count);
  });

  it('a refused refresh (the refresh token was revoked) ends the session, is reported, and is not retried', async () => {
    const b = browser();
    await b.signIn();
    const { tokens } = await openSessionCookie(b.session());
    await t.auth.client.revoke(tokens['refreshToken']!, 'refresh_token');
    const reported = t.reported.length;
    tp.clock.advance(3590_000);

    // session() cannot clear the cookie (the caller builds the response): signed out.
    const count = calls.count;
    const kept = b.session();
    expect(await (await b.get('/whoami')).json()).toBeNull();
    expect(calls.count).toBe(count + 1);
    expect(t.reported).toHaveLength(reported + 1);
    const err = t.reported.at(-1) as TokenEndpointError;
    expect(err).toBeInstanceOf(TokenEndpointError);
    expect(err.error).toBe('invalid_grant');

    // The same dead cookie again: signed out without asking the provider; requireAuth clears it.
    b.cookies.set('gh_session', kept);
    const { res } = await profile(b);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
    expect(setCookieNames(res)).toEqual([{ name: 'gh_session', deleted: true }]);
    expect(b.cookies.has('gh_session')).toBe(false);
    expect(calls.count).toBe(count + 1);
    expect(t.reported).toHaveLength(reported + 1);
  });

  it('a refresh that may pass (provider unreachable) keeps the session, and is not retried at once', async () => {
    const b = browser(flaky);
    await b.signIn();
    const before = (await profile(b)).body!;
    flakyCalls.failing = true;
    flakyCalls.count = 0;
    tp.clock.advance(3590_000);
    expect((await profile(b)).body!.accessToken).toBe(before.accessToken);
    expect(flakyCalls.count).toBe(1);
    expect((flaky.reported.at(-1) as { code: string }).code).toBe('network_error');
    // The next requests do not wait for the provider again…
    expect((await profile(b)).res.status).toBe(200);
    expect(flakyCalls.count).toBe(1);
    // …until the retry delay has passed; then the refresh goes through.
    flakyCalls.failing = false;
    tp.clock.advance(31_000);
    const after = (await profile(b)).body!;
    expect(flakyCalls.count).toBe(2);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.user['sub']).toBe(before.user['sub']);
  });
});

describe('logout', () => {
  it('GET: clears the session, revokes the refresh token, and goes to the provider with id_token_hint', async () => {
    const b = browser();
    await b.signIn();
    const { tokens } = await openSessionCookie(b.session());
    const out = await b.get('/logout');
    expect(out.status).toBe(302);
    expect(out.headers.get('cache-control')).toBe('no-store');
    expect(setCookieNames(out)).toEqual([{ name: 'gh_session', deleted: true }]);
    const endSession = new URL(out.headers.get('location')!);
    expect(endSession.origin + endSession.pathname).toBe(`${tp.issuer}/v1/oauth/logout`);
    expect(endSession.searchParams.get('id_token_hint')).toBe(tokens['idToken']);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${APP}/`);
    expect(endSession.searchParams.get('client_id')).toBe('web-adapter');
    expect(b.cookies.size).toBe(0);
    expect((await profile(b)).res.status).toBe(302);
    // The refresh token no longer works.
    const err = await t.auth.client.refresh(tokens['refreshToken']!).catch((e: unknown) => e);
    expect((err as TokenEndpointError).error).toBe('invalid_grant');
  });

  it('POST answers 303; without a session it goes straight back to the app', async () => {
    const b = browser();
    await b.signIn();
    const out = await b.request('/logout', { method: 'POST' });
    expect(out.status).toBe(303);
    expect(new URL(out.headers.get('location')!).origin).toBe(tp.issuer);
    const again = await b.request('/logout', { method: 'POST' });
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe(`${APP}/`);
  });
});
