/**
 * The React SPA example (examples/react-spa) in real Chromium, against a real provider over HTTP
 * and the example's API server: sign in through the provider's pages with the code exchanged
 * exactly once under StrictMode, the API called with the access token, a reload, deny at consent,
 * a tampered state, two tabs at once, sign-out at the provider too, and a phone-sized screen —
 * with screenshots and an accessibility check of the SPA's pages. The SPA talks to the provider
 * from another origin, so CORS on the token and revocation endpoints is exercised for real.
 */
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER } from '../support/harness.js';
import {
  NEW_USER,
  noSpaBuild,
  SPA_CLIENT_ID,
  type SpaWorld,
  startSpaWorld,
} from './spa-support.js';
import {
  decide,
  expectAccessible,
  expectNoHorizontalScroll,
  launchChromium,
  newContext,
  noBrowser,
  screenshot,
  signInAtProvider,
} from './support.js';

const skipped = noBrowser ?? noSpaBuild;

let world: SpaWorld;
let browser: Browser;
/** The first test's page, signed in as Alice: the API call and the reload use it. */
let alice: { context: BrowserContext; page: Page } | undefined;

const byTestId = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);

describe.skipIf(skipped)(
  `React SPA example in Chromium${skipped ? ` (skipped: ${skipped})` : ''}`,
  () => {
    beforeAll(async () => {
      // Side by side; each is kept as soon as it is up, so afterAll stops it if the other fails.
      await Promise.all([
        startSpaWorld().then((started) => {
          world = started;
        }),
        launchChromium().then((launched) => {
          browser = launched;
        }),
      ]);
    });
    afterAll(async () => {
      await browser?.close();
      await world?.close();
    });

    async function withContext(
      run: (context: BrowserContext) => Promise<void>,
      options: { phone?: boolean } = {},
    ): Promise<void> {
      const context = await newContext(browser, options);
      try {
        await run(context);
      } finally {
        await context.close();
      }
    }

    /** The POSTs to the provider's token endpoint (a page's or a whole context's). */
    function tokenRequests(target: Page | BrowserContext): Request[] {
      const seen: Request[] = [];
      target.on('request', (request) => {
        if (request.method() === 'POST' && request.url() === world.metadata.token_endpoint) {
          seen.push(request);
        }
      });
      return seen;
    }

    /** The SPA's home page, once the adapter has decided (signed out here: tokens live in memory). */
    async function openSpa(page: Page): Promise<void> {
      await page.goto(`${world.spa}/`);
      await byTestId(page, 'signed-out').waitFor();
    }

    /** From the SPA's Sign in button to the provider's sign-in form. */
    async function startLogin(page: Page): Promise<void> {
      // The tab in front: a tab behind another gets no animation frames, which clicks wait for.
      await page.bringToFront();
      await openSpa(page);
      await Promise.all([
        page.waitForURL(`${world.issuer}/**`),
        byTestId(page, 'login-button').click(),
      ]);
      await page.locator('input[name="password"]').waitFor();
    }

    /** Signs in at the provider, allows if asked, and waits to be back at the SPA. */
    async function finishLogin(page: Page, user: { username: string; password: string } = USER) {
      await page.bringToFront();
      await signInAtProvider(page, user);
      if ((await page.locator('button[name="decision"]').count()) > 0) await decide(page, 'allow');
      await page.waitForURL(`${world.spa}/**`);
    }

    /** A page of `context` signed in as Alice. */
    async function signedIn(context: BrowserContext): Promise<Page> {
      const page = await context.newPage();
      await startLogin(page);
      await finishLogin(page);
      await byTestId(page, 'user-card').waitFor();
      return page;
    }

    function signedInAlice(): { context: BrowserContext; page: Page } {
      if (!alice) throw new Error('needs the signed-in page of the first test (it failed)');
      return alice;
    }

    /** Lets requests a second run of an effect would send go out before they are counted. */
    const settle = (page: Page) => page.waitForTimeout(200);

    it('signs in through the provider’s pages: Alice’s card, one code exchange, a clean address bar', async () => {
      const context = await newContext(browser);
      const page = await context.newPage();
      alice = { context, page };
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      const tokens = tokenRequests(page);
      await startLogin(page);
      await signInAtProvider(page, USER);
      // Alice has not allowed the SPA yet: the consent page asks.
      await page.locator('button[name="decision"][value="allow"]').waitFor();
      await decide(page, 'allow');
      await page.waitForURL(`${world.spa}/**`);
      await byTestId(page, 'user-card').waitFor();
      await settle(page);

      expect(await byTestId(page, 'user-name').textContent()).toBe('Alice Example');
      expect(await byTestId(page, 'user-email').textContent()).toBe('alice@example.com');
      expect(await byTestId(page, 'user-sub').textContent()).not.toBe('');
      expect(await byTestId(page, 'auth-error').count()).toBe(0);

      // StrictMode ran the callback effect twice; the code went to the provider once, from the
      // SPA's origin, and the provider let the SPA read the answer (CORS).
      expect(tokens).toHaveLength(1);
      const exchange = tokens[0]!;
      expect(new URLSearchParams(exchange.postData() ?? '').get('grant_type')).toBe(
        'authorization_code',
      );
      expect((await exchange.allHeaders())['origin']).toBe(world.spa);
      const answer = await exchange.response();
      expect(answer?.status()).toBe(200);
      expect(answer?.headers()['access-control-allow-origin']).toBe(world.spa);

      // No code, state or iss left in the address bar: the SPA went back to where it started.
      const url = new URL(page.url());
      expect(url.origin + url.pathname).toBe(`${world.spa}/`);
      for (const name of ['code', 'state', 'iss', 'session_state']) {
        expect(url.searchParams.has(name), name).toBe(false);
      }
      expect(errors).toEqual([]);

      await screenshot(page, 'spa-signed-in');
      await expectAccessible(page, 'the SPA, signed in');
    });

    it('calls the API with the access token: the resource server validates it and answers its claims', async () => {
      const { page } = signedInAlice();
      const sub = await byTestId(page, 'user-sub').textContent();
      await byTestId(page, 'call-api-button').click();
      await byTestId(page, 'api-result').waitFor();
      expect(await byTestId(page, 'api-error').count()).toBe(0);
      const body = JSON.parse((await byTestId(page, 'api-result').textContent()) ?? '') as {
        message: string;
        claims: Record<string, unknown>;
      };
      expect(body.message).toBe(`Hello, ${sub}!`);
      expect(body.claims).toMatchObject({
        iss: world.issuer,
        aud: world.issuer,
        sub,
        client_id: SPA_CLIENT_ID,
      });
      await screenshot(page, 'spa-api-result');
      await expectAccessible(page, 'the SPA, signed in, with the API’s answer');
    });

    it('a reload starts signed out (tokens live in memory, no silentLogin): no token request, no error', async () => {
      const { page } = signedInAlice();
      const tokens = tokenRequests(page);
      await page.reload();
      await byTestId(page, 'signed-out').waitFor();
      await settle(page);
      expect(tokens).toHaveLength(0);
      expect(await byTestId(page, 'auth-error').count()).toBe(0);
      expect(await byTestId(page, 'user-card').count()).toBe(0);
      expect(new URL(page.url()).pathname).toBe('/');
      await alice?.context.close();
      alice = undefined;
    });

    it('deny at consent: provider_error with access_denied, shown plainly', () =>
      withContext(async (context) => {
        const page = await context.newPage();
        const tokens = tokenRequests(page);
        // Carol never allowed the SPA: the consent page asks, and she says no.
        await startLogin(page);
        await signInAtProvider(page, NEW_USER);
        await page.locator('button[name="decision"][value="deny"]').waitFor();
        await decide(page, 'deny');
        await page.waitForURL(`${world.spa}/**`);
        await byTestId(page, 'auth-error').waitFor();
        expect(await byTestId(page, 'auth-error-code').textContent()).toBe('provider_error');
        expect(await byTestId(page, 'auth-error-provider').textContent()).toBe('access_denied');
        expect(await byTestId(page, 'auth-error-message').textContent()).not.toBe('');
        expect(await byTestId(page, 'retry-button').isVisible()).toBe(true);
        // Nobody is signed in, no code was exchanged, and the error left the address bar.
        expect(await byTestId(page, 'signed-out').isVisible()).toBe(true);
        await settle(page);
        expect(tokens).toHaveLength(0);
        for (const name of ['error', 'error_description', 'state', 'iss']) {
          expect(new URL(page.url()).searchParams.has(name), name).toBe(false);
        }
        await screenshot(page, 'spa-access-denied');
        await expectAccessible(page, 'the SPA’s sign-in error');
      }));

    it('a tampered state: state_mismatch (this tab’s own login is still pending), and no token request', () =>
      withContext(async (context) => {
        const page = await context.newPage();
        const tokens = tokenRequests(page);
        // Rewrite the state in the provider's redirect to the callback (Playwright does not route
        // a redirected request itself, so the redirect is rewritten where it is answered).
        await page.route(`${world.issuer}/**`, async (route) => {
          const response = await route.fetch({ maxRedirects: 0 });
          const location = response.headers()['location'];
          if (!location?.startsWith(`${world.spa}/callback?`)) return route.fulfill({ response });
          const url = new URL(location);
          url.searchParams.set('state', `${url.searchParams.get('state')}x`);
          return route.fulfill({
            response,
            headers: { ...response.headers(), location: url.href },
          });
        });
        await startLogin(page);
        await finishLogin(page);
        await byTestId(page, 'auth-error').waitFor();
        // sessionStorage has no login for the tampered state, but still holds this tab's own
        // (never taken): the store tells a mismatch from a lost transaction (transaction_not_found).
        expect(await byTestId(page, 'auth-error-code').textContent()).toBe('state_mismatch');
        expect(await byTestId(page, 'auth-error-message').textContent()).toContain('possible CSRF');
        expect(await byTestId(page, 'auth-error-provider').count()).toBe(0);
        const pending = await page.evaluate(
          () => Object.keys(sessionStorage).filter((k) => k.startsWith('gatehouse.tx.')).length,
        );
        expect(pending).toBe(1);
        expect(await byTestId(page, 'signed-out').isVisible()).toBe(true);
        await settle(page);
        expect(tokens).toHaveLength(0);
        expect(new URL(page.url()).searchParams.has('code')).toBe(false);
        await page.unroute(`${world.issuer}/**`);
      }));

    it('two tabs logging in at once both end signed in, each with its own code exchange', () =>
      withContext(async (context) => {
        const tokens = tokenRequests(context);
        const [one, two] = [await context.newPage(), await context.newPage()];
        // Both logins are started before either comes back.
        await startLogin(one);
        await startLogin(two);
        await finishLogin(one);
        await byTestId(one, 'user-card').waitFor();
        await finishLogin(two);
        await byTestId(two, 'user-card').waitFor();
        await settle(two);
        for (const tab of [one, two]) {
          expect(await byTestId(tab, 'user-name').textContent()).toBe('Alice Example');
          expect(await byTestId(tab, 'auth-error').count()).toBe(0);
        }
        expect(
          tokens.map((r) => new URLSearchParams(r.postData() ?? '').get('grant_type')),
        ).toEqual(['authorization_code', 'authorization_code']);
        // Two different codes: each tab exchanged the one its own login brought back.
        const codes = new Set(
          tokens.map((r) => new URLSearchParams(r.postData() ?? '').get('code')),
        );
        expect(codes.size).toBe(2);
      }));

    it('sign-out revokes the refresh token, ends the provider’s session and comes back signed out', () =>
      withContext(async (context) => {
        const page = await signedIn(context);
        const revocations: Request[] = [];
        const endSessions: string[] = [];
        page.on('request', (request) => {
          if (request.method() === 'POST' && request.url() === world.metadata.revocation_endpoint) {
            revocations.push(request);
          }
          if (request.url().startsWith(world.metadata.end_session_endpoint)) {
            endSessions.push(request.url());
          }
        });
        // A mark on this document: gone once the provider has sent the browser back.
        await page.evaluate(() => {
          (globalThis as { beforeLogout?: boolean }).beforeLogout = true;
        });
        await byTestId(page, 'logout-button').click();
        await page.waitForFunction(
          () =>
            !(globalThis as { beforeLogout?: boolean }).beforeLogout &&
            document.querySelector('[data-testid="signed-out"]') !== null,
        );
        expect(new URL(page.url()).href).toBe(`${world.spa}/`);
        expect(await byTestId(page, 'auth-error').count()).toBe(0);

        expect(revocations).toHaveLength(1);
        const revoked = await revocations[0]!.response();
        expect(revoked?.status()).toBe(200);
        expect(revoked?.headers()['access-control-allow-origin']).toBe(world.spa);
        expect(endSessions).toHaveLength(1);
        const logout = new URL(endSessions[0]!);
        expect(logout.searchParams.get('post_logout_redirect_uri')).toBe(`${world.spa}/`);
        expect(logout.searchParams.has('id_token_hint')).toBe(true);

        // The provider's session is gone as well: a new login stops at the password.
        await Promise.all([
          page.waitForURL(`${world.issuer}/**`),
          byTestId(page, 'login-button').click(),
        ]);
        await page.locator('input[name="password"]').waitFor();
      }));

    it('fits a phone-sized screen, signed out and signed in', () =>
      withContext(
        async (context) => {
          const page = await context.newPage();
          await openSpa(page);
          await expectNoHorizontalScroll(page, 'the SPA, signed out');
          await screenshot(page, 'spa-signed-out-phone');
          await expectAccessible(page, 'the SPA, signed out');

          await Promise.all([
            page.waitForURL(`${world.issuer}/**`),
            byTestId(page, 'login-button').click(),
          ]);
          await finishLogin(page);
          await byTestId(page, 'user-card').waitFor();
          await byTestId(page, 'call-api-button').click();
          await byTestId(page, 'api-result').waitFor();
          await expectNoHorizontalScroll(page, 'the SPA, signed in, with the API’s answer');
          await screenshot(page, 'spa-signed-in-phone');
          await expectAccessible(page, 'the SPA, signed in, with the API’s answer, on a phone');
        },
        { phone: true },
      ));
  },
);
