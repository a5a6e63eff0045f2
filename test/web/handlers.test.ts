/**
 * @gatehouse/web's handlers with Web `Request`s against a real provider (in process): the login,
 * returnTo and its open-redirect defence, requireAuth, handle()'s routing, a base path, and every
 * callback failure rendered as the page that says what failed, why and what to do — or thrown
 * with `errorPage: false`.
 */
import { ClientError } from '@gatehouse/client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Browser, signIn as providerSignIn, type TestProvider } from '../support/harness.js';
import {
  APP,
  AppBrowser,
  createAuth,
  openSessionCookie,
  setCookieNames,
  startProvider,
  type TestAuth,
} from './support.js';

let tp: TestProvider;
let t: TestAuth;
/** A provider browser that has signed in once: later logins skip the provider's forms. */
let signedInProvider: Browser;

beforeAll(async () => {
  tp = await startProvider();
  t = await createAuth(tp);
  signedInProvider = new Browser(tp);
  await new AppBrowser(tp, t.app, signedInProvider).signIn();
});
afterEach(() => {
  t.reported.length = 0;
});

/** A browser of the app; signed in at the provider already unless `fresh`. */
function browser(fresh = false): AppBrowser {
  return new AppBrowser(tp, t.app, fresh ? undefined : signedInProvider);
}

describe('login', () => {
  it('signs in: /login → provider (signed request) → callback → session cookie → /profile', async () => {
    const b = browser(true);
    const start = await b.get('/login');
    expect(start.status).toBe(302);
    expect(start.headers.get('cache-control')).toBe('no-store');
    const authorizeUrl = new URL(start.headers.get('location')!);
    expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(`${tp.issuer}/v1/oauth/authorize`);
    // A confidential client: the parameters travel inside a signed request object (JAR).
    expect([...authorizeUrl.searchParams.keys()].sort()).toEqual(['client_id', 'request']);
    const [tx] = start.headers.getSetCookie();
    expect(tx).toMatch(/^gh_tx\.[A-Za-z0-9_-]{16}=v1\.[^;]+; Path=\/; Max-Age=900; /);
    expect(tx).toMatch(/; HttpOnly; Secure; SameSite=Lax$/);

    const callback = await providerSignIn(b.provider, authorizeUrl.href);
    expect(callback.origin + callback.pathname).toBe(`${APP}/callback`);
    const back = await b.get(callback.href);
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('/');
    expect(back.headers.get('cache-control')).toBe('no-store');
    // The transaction cookie is deleted; the session cookie is set, encrypted, for a day.
    expect(setCookieNames(back)).toEqual([
      { name: tx!.slice(0, tx!.indexOf('=')), deleted: true },
      { name: 'gh_session', deleted: false },
    ]);
    const line = back.headers.getSetCookie()[1]!;
    expect(line).toMatch(
      /^gh_session=v1\.[^;]+; Path=\/; Max-Age=86400; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect([...b.cookies.keys()]).toEqual(['gh_session']);

    const profile = await b.get('/profile');
    expect(profile.status).toBe(200);
    const body = (await profile.json()) as { user: Record<string, unknown>; accessToken: string };
    expect(body.user['email']).toBe('alice@example.com');
    expect(body.user['name']).toBe('Alice Example');
    expect(body.user['iss']).toBe(tp.issuer);
    expect(body.user['aud']).toBe('web-adapter');
    expect(t.reported).toEqual([]);

    // The cookie holds no token and no claim in clear.
    const value = b.session();
    const { tokens } = await openSessionCookie(value);
    for (const secret of [tokens['accessToken']!, tokens['refreshToken']!, tokens['idToken']!]) {
      expect(secret.length).toBeGreaterThan(20);
      expect(value).not.toContain(secret.slice(0, 20));
    }
    expect(atob(value.split('.')[2]!.replace(/-/g, '+').replace(/_/g, '/'))).not.toContain('alice');
  });

  it('session() reads the user on any route; undefined when signed out', async () => {
    const b = browser();
    expect(await (await b.get('/whoami')).json()).toBeNull();
    await b.signIn();
    const me = (await (await b.get('/whoami')).json()) as Record<string, unknown>;
    expect((me['user'] as Record<string, unknown>)['email']).toBe('alice@example.com');
    expect(me['idToken']).toEqual(expect.any(String));
    expect(me['setCookies']).toEqual([]);
  });
});

describe('returnTo', () => {
  it('comes back to the page asked for, query included', async () => {
    const back = await browser().signIn(
      `/login?returnTo=${encodeURIComponent('/reports/2024?tab=summary&x=%2F')}`,
    );
    expect(back.headers.get('location')).toBe('/reports/2024?tab=summary&x=%2F');
  });

  const attempts = [
    '//evil.example',
    '//evil.example/path',
    'https://evil.example',
    'https://app.example.evil.example/',
    '/\\evil.example',
    '\\\\evil.example',
    'javascript:alert(1)',
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
      const back = await browser().signIn(`/login?returnTo=${encodeURIComponent(returnTo)}`);
      expect(back.status).toBe(302);
      expect(back.headers.get('location')).toBe('/');
    },
  );

  it('a repeated returnTo is ignored; login(request, { returnTo }) is checked the same way', async () => {
    const repeated = await browser().signIn('/login?returnTo=/a&returnTo=/b');
    expect(repeated.headers.get('location')).toBe('/');

    const b = browser();
    const start = await t.auth.login(new Request(`${APP}/start?returnTo=/ignored`), {
      returnTo: '//evil.example',
    });
    b.store(start);
    const callback = await providerSignIn(b.provider, start.headers.get('location')!);
    expect((await b.get(callback.href)).headers.get('location')).toBe('/');
  });
});

describe('requireAuth', () => {
  it('redirects a GET to the login and comes back to the page; answers 401 to a POST', async () => {
    const b = browser();
    const page = await b.get('/profile?tab=keys');
    expect(page.status).toBe(302);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('location')).toBe(
      `/login?returnTo=${encodeURIComponent('/profile?tab=keys')}`,
    );

    const post = await b.request('/api/items', { method: 'POST' });
    expect(post.status).toBe(401);
    expect(post.headers.get('cache-control')).toBe('no-store');
    expect(await post.json()).toEqual({ error: 'login_required' });

    const back = await b.signIn(page.headers.get('location')!);
    expect(back.headers.get('location')).toBe('/profile?tab=keys');
    expect((await b.get('/profile?tab=keys')).status).toBe(200);
    expect((await b.request('/api/items', { method: 'POST' })).status).toBe(200);
  });
});

describe('handle()', () => {
  it('answers its own paths only (405 for another method); undefined otherwise', async () => {
    for (const path of ['/', '/profile', '/login/', '/loginx', '/callback/x', '/Logout']) {
      expect(await t.auth.handle(new Request(`${APP}${path}`)), path).toBeUndefined();
    }
    const post = await t.auth.handle(new Request(`${APP}/login`, { method: 'POST' }));
    expect(post?.status).toBe(405);
    expect(post?.headers.get('allow')).toBe('GET, HEAD');
    const put = await t.auth.handle(new Request(`${APP}/logout`, { method: 'PUT' }));
    expect(put?.headers.get('allow')).toBe('GET, HEAD, POST');
    // Only the path counts, not the host the request came to (behind a proxy it is internal).
    const internal = await t.auth.handle(new Request('http://10.0.0.7:8080/login'));
    expect(internal?.status).toBe(302);
  });

  it('with a baseUrl path, serves the routes under it and comes back under it', async () => {
    const based = await createAuth(tp, {
      baseUrl: `${APP}/base`,
      session: { cookieName: 'based' },
    });
    expect(await based.auth.handle(new Request(`${APP}/login`))).toBeUndefined();
    const b = new AppBrowser(tp, based.app, signedInProvider);
    const page = await b.get('/base/profile');
    expect(page.headers.get('location')).toBe('/base/login?returnTo=%2Fbase%2Fprofile');
    const back = await b.signIn('/base/login');
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('/base/');
    expect((await b.get('/base/profile')).status).toBe(200);
    const out = await b.get('/base/logout');
    expect(new URL(out.headers.get('location')!).searchParams.get('post_logout_redirect_uri')).toBe(
      `${APP}/base/`,
    );
  });
});

/** Checks the page's headers and shape, and returns its text. */
async function errorPage(res: Response, status: number, code: string): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(res.headers.get('cache-control')).toBe('no-store');
  const csp = res.headers.get('content-security-policy')!;
  expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'/);
  expect(csp).toContain("frame-ancestors 'none'");
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  const html = await res.text();
  expect(html).not.toMatch(/<script/i);
  expect(html).toContain(`Error code: <code>${code}</code>`);
  expect(html).toContain('<h2>What happened</h2>');
  expect(html).toContain('<h2>What to do</h2>');
  return html;
}

function lastReported(): ClientError {
  const err = t.reported.at(-1);
  expect(err).toBeInstanceOf(ClientError);
  return err as ClientError;
}

describe('the callback error page', () => {
  it('state missing: 400, state_missing, a link to sign in again, nothing echoed', async () => {
    const b = browser();
    const callback = await b.authorize();
    const code = callback.searchParams.get('code')!;
    callback.searchParams.delete('state');
    const html = await errorPage(await b.get(callback.href), 400, 'state_missing');
    expect(html).toContain('<a class="button" href="/login">Try signing in again</a>');
    expect(html).not.toContain(code);
    expect(lastReported().code).toBe('state_missing');
  });

  it('unknown transaction (the callback opened in another browser): 400, transaction_not_found, why', async () => {
    const callback = await browser().authorize();
    const html = await errorPage(await browser().get(callback.href), 400, 'transaction_not_found');
    expect(html).toContain('Your sign-in expired or could not be matched to this browser');
    expect(html).toContain('<h2>Why</h2>');
    expect(html).toMatch(/cookie/);
    expect(html).not.toContain(callback.searchParams.get('code')!);
    expect(html).not.toContain(callback.searchParams.get('state')!);
    expect(t.reported).toHaveLength(1);
    expect(lastReported().code).toBe('transaction_not_found');
  });

  it('a forged state while a login is in progress: 400, state_mismatch', async () => {
    const b = browser();
    const callback = await b.authorize();
    await b.get('/login'); // another login pending in this browser
    callback.searchParams.set('state', 'forged-state-0123456789');
    await errorPage(await b.get(callback.href), 400, 'state_mismatch');
  });

  it('access_denied (Deny on a prompt=consent login): 400, provider_error (access_denied); the transaction cookie goes', async () => {
    const b = browser();
    const callback = await b.authorize('/login-consent', { decision: 'deny' });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const res = await b.get(callback.href);
    expect(setCookieNames(res)).toEqual([
      { name: expect.stringMatching(/^gh_tx\./), deleted: true },
    ]);
    const html = await errorPage(res, 400, 'provider_error (access_denied)');
    expect(html).toContain('<title>Sign-in was cancelled</title>');
    expect(html).toContain('Try signing in again');
    expect((lastReported() as ClientError & { error: string }).error).toBe('access_denied');
    expect(b.cookies.size).toBe(0);
  });

  it('a replayed callback (reload, back button): 400, and the session made by the first stays', async () => {
    const b = browser();
    const callback = await b.authorize();
    expect((await b.get(callback.href)).status).toBe(302);
    await errorPage(await b.get(callback.href), 400, 'transaction_not_found');
    expect((await b.get('/profile')).status).toBe(200);
  });

  it('a replayed code with a copy of its transaction cookie: 400, token_endpoint_error (invalid_grant)', async () => {
    const b = browser();
    const callback = await b.authorize();
    const thief = browser(true);
    for (const [name, value] of b.cookies) thief.cookies.set(name, value);
    expect((await b.get(callback.href)).status).toBe(302);
    const html = await errorPage(
      await thief.get(callback.href),
      400,
      'token_endpoint_error (invalid_grant)',
    );
    expect(html).toContain('This sign-in was already used or has expired');
    expect(thief.cookies.has('gh_session')).toBe(false);
  });

  it('HTML in what the provider says is escaped', async () => {
    const b = browser();
    const forged = await b.authorize();
    forged.searchParams.delete('code');
    forged.searchParams.set('error', 'server_error');
    forged.searchParams.set('error_description', '<img src=x onerror=alert(1)>');
    const html = await errorPage(await b.get(forged.href), 502, 'provider_error (server_error)');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('errorPage: false — callback() rejects with the ClientError (reported too); a good login still works', async () => {
    const strict = await createAuth(tp, { errorPage: false, session: { cookieName: 'strict' } });
    const b = new AppBrowser(tp, strict.app, signedInProvider);
    const callback = await b.authorize();
    const stateless = new URL(callback);
    stateless.searchParams.delete('state');
    const err = await strict.auth.callback(new Request(stateless)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe('state_missing');
    expect(strict.reported).toEqual([err]);
    expect((await b.get(callback.href)).status).toBe(302);
    expect((await b.get('/profile')).status).toBe(200);
  });
});
