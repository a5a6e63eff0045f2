/**
 * The Flask example app (Debian's Python, Flask and Authlib) and the provider's pages in real
 * Chromium: sign in with consent, deny at consent, a tampered state, two tabs at once, a reload
 * of the callback URL, sign-out at the provider too, and the home page on a phone-sized screen —
 * with screenshots and an accessibility check of the app's pages.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FlaskWorld, noFlask, startFlaskWorld } from '../examples/flask-support.js';
import { USER } from '../support/harness.js';
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

const skipped = noBrowser ?? noFlask;

let flask: FlaskWorld;
let browser: Browser;

describe.skipIf(skipped)(
  `Flask example in Chromium${skipped ? ` (skipped: ${skipped})` : ''}`,
  () => {
    beforeAll(async () => {
      // Side by side; each is kept as soon as it is up, so afterAll stops it if the other fails.
      await Promise.all([
        startFlaskWorld().then((started) => {
          flask = started;
        }),
        launchChromium().then((launched) => {
          browser = launched;
        }),
      ]);
    });
    afterAll(async () => {
      await browser?.close();
      await flask?.close();
    });

    /** Waits for the provider's sign-in form (the password field). */
    async function atSignIn(page: Page): Promise<void> {
      await page.waitForURL(`${flask.issuer}/**`);
      await page.locator('input[name="password"]').waitFor();
    }

    /** From the app's home page, through its Sign in link, to the provider's sign-in page. */
    async function startLogin(page: Page): Promise<void> {
      await page.goto(`${flask.base}/`);
      await Promise.all([
        page.waitForURL(`${flask.issuer}/**`),
        page.getByRole('link', { name: 'Sign in' }).first().click(),
      ]);
      await atSignIn(page);
    }

    /** Signs in at the provider, allows if asked, and waits to be back at the app. */
    async function finishLogin(page: Page): Promise<void> {
      await signInAtProvider(page, USER);
      if ((await page.locator('button[name="decision"]').count()) > 0) await decide(page, 'allow');
      await page.waitForURL(`${flask.base}/**`);
    }

    /** The app's home page greets Alice. */
    async function expectSignedIn(page: Page): Promise<void> {
      await page.goto(`${flask.base}/`);
      await expect.poll(() => page.locator('h1').textContent()).toBe('Hello, Alice Example');
    }

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

    it('signs in through the provider’s login and consent pages, and shows who is signed in', () =>
      withContext(async (context) => {
        const page = await context.newPage();
        await startLogin(page);
        await signInAtProvider(page, USER);
        // Alice has not allowed the Flask example yet: the consent page asks.
        await page.locator('button[name="decision"][value="allow"]').waitFor();
        await decide(page, 'allow');
        // The app sends a login from its home page's link to the profile.
        await page.waitForURL(`${flask.base}/profile`);
        await expect.poll(() => page.locator('h1').textContent()).toBe('Your profile');
        expect(await page.locator('main').textContent()).toContain('alice@example.com');
        expect(await page.locator('main table').textContent()).toContain(flask.issuer);
        await expectAccessible(page, 'the Flask app’s profile page');

        await expectSignedIn(page);
        expect(await page.locator('main').textContent()).toContain(
          'You are signed in as alice@example.com.',
        );
        await expect.poll(() => page.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
        await screenshot(page, 'flask-signed-in');
        await expectAccessible(page, 'the Flask app’s home page, signed in');
      }));

    it('deny at consent: the app says access_denied, plainly', () =>
      withContext(async (context) => {
        const page = await context.newPage();
        // prompt=consent: the consent page appears even though Alice allowed the app before.
        await page.goto(`${flask.base}/login?prompt=consent`);
        await atSignIn(page);
        await signInAtProvider(page, USER);
        await page.locator('button[name="decision"][value="deny"]').waitFor();
        await decide(page, 'deny');
        await page.waitForURL(`${flask.base}/callback?**`);
        await expect.poll(() => page.locator('h1').textContent()).toBe('Sign-in was cancelled');
        const main = (await page.locator('main').textContent()) ?? '';
        expect(main).toContain('You (or the identity provider) declined the sign-in.');
        expect(main).toContain('access_denied');
        // The provider's error reference is a link: it is on the issuer's origin.
        expect(
          await page.getByRole('link', { name: `${flask.issuer}/errors#access_denied` }).count(),
        ).toBe(1);
        expect(await page.getByRole('link', { name: 'Sign in again' }).count()).toBe(1);
        await screenshot(page, 'flask-access-denied');
        await expectAccessible(page, 'the Flask app’s error page');
        // Nobody was signed in.
        const profile = await page.request.get(`${flask.base}/profile`, { maxRedirects: 0 });
        expect(profile.status()).toBe(302);
      }));

    it('a tampered state is refused with the state error, and nobody is signed in', () =>
      withContext(async (context) => {
        const page = await context.newPage();
        // Rewrite the state in the provider's redirect to the callback (Playwright does not route
        // a redirected request itself, so the redirect is rewritten where it is answered).
        await page.route(`${flask.issuer}/**`, async (route) => {
          const response = await route.fetch({ maxRedirects: 0 });
          const location = response.headers()['location'];
          if (!location?.startsWith(`${flask.base}/callback?`)) return route.fulfill({ response });
          const url = new URL(location);
          url.searchParams.set('state', `${url.searchParams.get('state')}x`);
          return route.fulfill({
            response,
            headers: { ...response.headers(), location: url.href },
          });
        });
        await startLogin(page);
        const callback = page.waitForResponse((r) => r.url().startsWith(`${flask.base}/callback?`));
        await finishLogin(page);
        expect((await callback).status()).toBe(400);
        await expect
          .poll(() => page.locator('h1').textContent())
          .toBe('This sign-in response was not started here');
        const main = (await page.locator('main').textContent()) ?? '';
        expect(main).toContain('The state parameter does not match');
        expect(main).toContain('state_mismatch');
        await screenshot(page, 'flask-state-mismatch');
        await expectAccessible(page, 'the Flask app’s state error page');
        await page.unroute(`${flask.issuer}/**`);
        // Nobody was signed in at the app: its profile page asks for a login.
        const profile = await page.request.get(`${flask.base}/profile`, { maxRedirects: 0 });
        expect(profile.status()).toBe(302);
        expect(profile.headers()['location']).toBe('/login?next=%2Fprofile');
        await page.goto(`${flask.base}/`);
        await expect.poll(() => page.locator('h1').textContent()).toBe('Welcome');
      }));

    it('two tabs logging in at once both end signed in; reloading the callback URL does no harm', () =>
      withContext(async (context) => {
        const [one, two] = [await context.newPage(), await context.newPage()];
        // Both logins are started before either comes back.
        await startLogin(one);
        await startLogin(two);
        const callbacks: { url: string; status: number }[] = [];
        context.on('response', (response) => {
          if (response.url().startsWith(`${flask.base}/callback?`)) {
            callbacks.push({ url: response.url(), status: response.status() });
          }
        });
        await finishLogin(one);
        await finishLogin(two);
        // Each tab's callback succeeded (a redirect to the profile), not an error page.
        for (const tab of [one, two]) {
          expect(new URL(tab.url()).pathname, await tab.locator('main').textContent()).toBe(
            '/profile',
          );
        }
        expect(callbacks.map((c) => c.status)).toEqual([302, 302]);
        for (const tab of [one, two]) await expectSignedIn(tab);

        // The callback again (reload, back button): an explanation at most, and still signed in.
        const again = await one.goto(callbacks[0]!.url);
        expect(again?.status()).toBeLessThan(500);
        expect(await one.locator('h1').count()).toBe(1);
        await expectSignedIn(one);
      }));

    it('sign-out ends the session at the provider too: signing in again asks for the password', () =>
      withContext(async (context) => {
        const page = await context.newPage();
        await startLogin(page);
        await finishLogin(page);
        await expectSignedIn(page);
        await Promise.all([
          page.waitForURL(`${flask.base}/`),
          page.getByRole('button', { name: 'Sign out' }).click(),
        ]);
        await expect.poll(() => page.locator('h1').textContent()).toBe('Welcome');
        expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
        // The provider's session is gone as well: the login stops at the password.
        await startLogin(page);
      }));

    it('the app’s home page fits a phone-sized screen, signed out and signed in', () =>
      withContext(
        async (context) => {
          const page = await context.newPage();
          await page.goto(`${flask.base}/`);
          await expect.poll(() => page.locator('h1').textContent()).toBe('Welcome');
          await expectNoHorizontalScroll(page, 'the Flask app’s home page');
          await screenshot(page, 'flask-home-phone');
          await expectAccessible(page, 'the Flask app’s home page, signed out');

          await startLogin(page);
          await finishLogin(page);
          await expectSignedIn(page);
          await expectNoHorizontalScroll(page, 'the Flask app’s home page, signed in');
          await screenshot(page, 'flask-signed-in-phone');
          await page.goto(`${flask.base}/profile`);
          await expectNoHorizontalScroll(page, 'the Flask app’s profile page');
        },
        { phone: true },
      ));
  },
);
