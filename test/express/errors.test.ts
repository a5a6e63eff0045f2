/**
 * Failed logins through the Express adapter: each renders the page that says what failed, why
 * and what to do, with the right status and code, and is reported to `onError`; with
 * `errorPage: false` the application's own error handler gets the `ClientError` instead.
 */
import { ClientError } from '@gatehouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize, HttpBrowser, mount, startWorld, type TestApp, type World } from './support.js';

let world: World;
let app: TestApp;
let strict: TestApp;

beforeAll(async () => {
  world = await startWorld({ apps: 2 });
  [app, strict] = world.apps as [TestApp, TestApp];
  await mount(world, app);
  // Another app on the same host: its own cookie names, so the two never read each other's.
  await mount(world, strict, {
    errorPage: false,
    session: { cookieName: 'strict_session' },
  });
});
afterAll(() => world?.close());

/** A browser with a login in progress, stopped at the redirect back to the app. */
async function pendingCallback(target = app, start = `${target.baseUrl}/login`) {
  const browser = new HttpBrowser();
  const callback = await authorize(browser, world, start);
  return { browser, callback };
}

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

function lastReported(target = app): ClientError {
  const err = target.reported.at(-1);
  expect(err).toBeInstanceOf(ClientError);
  return err as ClientError;
}

describe('the callback error page', () => {
  it('state missing: 400, state_missing, a link to sign in again', async () => {
    const { browser, callback } = await pendingCallback();
    const code = callback.searchParams.get('code')!;
    callback.searchParams.delete('state');
    const html = await errorPage(await browser.get(callback.href), 400, 'state_missing');
    expect(html).toContain('<a class="button" href="/login">Try signing in again</a>');
    expect(html).not.toContain(code);
    expect(lastReported().code).toBe('state_missing');
  });

  it('unknown transaction (the callback opened in another browser): 400, transaction_not_found, the likely causes', async () => {
    const { callback } = await pendingCallback();
    const reported = app.reported.length;
    const html = await errorPage(
      await new HttpBrowser().get(callback.href),
      400,
      'transaction_not_found',
    );
    expect(html).toContain('Your sign-in expired or could not be matched to this browser');
    expect(html).toContain('<h2>Why</h2>');
    expect(html).toMatch(/cookie/);
    // Nothing of the response's secrets is echoed.
    expect(html).not.toContain(callback.searchParams.get('code')!);
    expect(html).not.toContain(callback.searchParams.get('state')!);
    expect(app.reported).toHaveLength(reported + 1);
    expect(lastReported().code).toBe('transaction_not_found');
  });

  it('a forged state while a login is in progress: 400, state_mismatch', async () => {
    const { browser, callback } = await pendingCallback();
    await browser.get(`${app.baseUrl}/login`); // another login pending in this browser
    callback.searchParams.set('state', 'forged-state-0123456789');
    await errorPage(await browser.get(callback.href), 400, 'state_mismatch');
    expect(lastReported().code).toBe('state_mismatch');
  });

  it('access_denied (the user pressed Deny): 400, provider_error (access_denied)', async () => {
    const browser = new HttpBrowser();
    const callback = await authorize(browser, world, `${app.baseUrl}/login-consent`, {
      decision: 'deny',
    });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const html = await errorPage(
      await browser.get(callback.href),
      400,
      'provider_error (access_denied)',
    );
    expect(html).toContain('<title>Sign-in was cancelled</title>');
    expect(html).toContain('Try signing in again');
    const err = lastReported();
    expect(err.code).toBe('provider_error');
    expect((err as ClientError & { error: string }).error).toBe('access_denied');
  });

  it('a replayed callback (reload, back button): 400, and the session made by the first stays', async () => {
    const { browser, callback } = await pendingCallback();
    expect((await browser.get(callback.href)).status).toBe(302);
    await errorPage(await browser.get(callback.href), 400, 'transaction_not_found');
    expect((await browser.get(`${app.baseUrl}/profile`)).status).toBe(200);
  });

  it('a replayed code with a copy of its transaction cookie: 400, token_endpoint_error (invalid_grant)', async () => {
    const { browser, callback } = await pendingCallback();
    const thief = new HttpBrowser();
    for (const [name, value] of browser.jar(app.baseUrl)) thief.jar(app.baseUrl).set(name, value);
    expect((await browser.get(callback.href)).status).toBe(302);
    const html = await errorPage(
      await thief.get(callback.href),
      400,
      'token_endpoint_error (invalid_grant)',
    );
    expect(html).toContain('This sign-in was already used or has expired');
    expect(thief.jar(app.baseUrl).has('gh_session')).toBe(false);
  });

  it('a tampered callback (duplicate code): 400, and the login can still finish', async () => {
    const { browser, callback } = await pendingCallback();
    const dup = new URL(callback);
    dup.searchParams.append('code', 'x'.repeat(43));
    await errorPage(await browser.get(dup.href), 400, 'callback_duplicate_parameter');
    expect((await browser.get(callback.href)).status).toBe(302);
  });

  it('HTML in what the provider says is escaped', async () => {
    const { browser, callback } = await pendingCallback();
    // A response carrying an error (and the right state): the provider's words are shown escaped.
    const forged = new URL(callback);
    forged.searchParams.delete('code');
    forged.searchParams.set('error', 'server_error');
    forged.searchParams.set('error_description', '<img src=x onerror=alert(1)>');
    const html = await errorPage(
      await browser.get(forged.href),
      502,
      'provider_error (server_error)',
    );
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });
});

describe('errorPage: false', () => {
  it("the app's error handler receives the ClientError (and onError too)", async () => {
    const { browser, callback } = await pendingCallback(strict);
    callback.searchParams.delete('state');
    const res = await browser.get(callback.href);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ appError: 'state_missing' });
    const handled = strict.appErrors.at(-1);
    expect(handled).toBeInstanceOf(ClientError);
    expect((handled as ClientError).code).toBe('state_missing');
    expect(strict.reported.at(-1)).toBe(handled);
  });

  it('and a login that works still works', async () => {
    const { browser, callback } = await pendingCallback(strict);
    expect((await browser.get(callback.href)).status).toBe(302);
    expect((await browser.get(`${strict.baseUrl}/profile`)).status).toBe(200);
    expect(browser.jar(strict.baseUrl).has('strict_session')).toBe(true);
  });
});
