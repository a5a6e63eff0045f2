/**
 * The Express example app and the provider's pages in real Chromium: sign in with consent, deny
 * at consent, a tampered state, two tabs at once, a reload of the callback URL, sign-out at the
 * provider too — with screenshots and an accessibility check of every page a person sees, on a
 * desktop and on a phone-sized screen.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/express-app/src/index.js';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  COOKIE_SECRET,
  startWorld,
  type TestApp,
  type World,
} from '../express/support.js';
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

let world: World;
let app: TestApp;
let browser: Browser;

describe.skipIf(noBrowser)(
  `Express example in Chromium${noBrowser ? ` (skipped: ${noBrowser})` : ''}`,
  () => {
    beforeAll(async () => {
      world = await startWorld({ apps: 1 });
      app = world.apps[0]!;
      const express = await createApp({
        issuer: world.issuer,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        baseUrl: app.baseUrl,
        secret: COOKIE_SECRET,
      });
      app.server.removeAllListeners('request');
      app.server.on('request', express);
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await world?.close();
    });

    /** From the app's home page to the provider's sign-in page. */
    async function startLogin(page: Page): Promise<void> {
      await page.goto(`${app.baseUrl}/`);
      await Promise.all([
        page.waitForURL(`${world.issuer}/**`),
        page.getByRole('link', { name: 'Sign in' }).first().click(),
      ]);
      await expect.poll(() => page.locator('input[name="password"]').count()).toBe(1);
    }

    it('signs in through the provider’s login and consent pages, and shows the profile', async () => {
      const context = await newContext(browser);
      const page = await context.newPage();
      await startLogin(page);
      await screenshot(page, 'provider-login');
      await expectAccessible(page, 'the provider’s sign-in page');

      await signInAtProvider(page, USER);
      await expect.poll(() => page.locator('button[name="decision"]').count()).toBe(2);
      await screenshot(page, 'provider-consent');
      await expectAccessible(page, 'the provider’s consent page');

      await decide(page, 'allow');
      await page.waitForURL(`${app.baseUrl}/**`);
      await page.goto(`${app.baseUrl}/profile`);
      await expect.poll(() => page.content()).toContain('alice@example.com');
      await screenshot(page, 'express-profile');
      await expectAccessible(page, 'the example app’s profile page');
      await context.close();
    });

    it('deny at consent: the app says access_denied, plainly', async () => {
      // A user who never approved the app sees the consent page and says no.
      const fresh = await newContext(browser);
      const tab = await fresh.newPage();
      await startLogin(tab);
      await signInAtProvider(tab, { username: 'carol', password: 'carol password 123' });
      await decide(tab, 'deny');
      await tab.waitForURL(`${app.baseUrl}/**`);
      const text = await tab.textContent('body');
      expect(text).toContain('access_denied');
      await screenshot(tab, 'express-access-denied');
      await expectAccessible(tab, 'the app’s error page');
      await fresh.close();
    });

    it('a tampered state is refused with the state error, and nobody is signed in', async () => {
      const context = await newContext(browser);
      const page = await context.newPage();
      // Rewrite the state in the provider's redirect to the callback (Playwright does not route
      // a redirected request itself, so the redirect is rewritten where it is answered).
      await page.route(`${world.issuer}/**`, async (route) => {
        const response = await route.fetch({ maxRedirects: 0 });
        const location = response.headers()['location'];
        if (!location?.startsWith(`${app.baseUrl}/callback?`)) return route.fulfill({ response });
        const url = new URL(location);
        url.searchParams.set('state', `${url.searchParams.get('state')}x`);
        return route.fulfill({ response, headers: { ...response.headers(), location: url.href } });
      });
      await startLogin(page);
      await signInAtProvider(page, USER);
      if ((await page.locator('button[name="decision"]').count()) > 0) await decide(page, 'allow');
      await page.waitForURL(`${app.baseUrl}/**`);
      const text = (await page.textContent('body')) ?? '';
      expect(text).toMatch(/state_mismatch|possible CSRF/);
      await screenshot(page, 'express-state-mismatch');
      await page.unroute(`${world.issuer}/**`);
      // Nobody was signed in at the app: its profile page asks for a login.
      const profile = await page.request.get(`${app.baseUrl}/profile`, { maxRedirects: 0 });
      expect(profile.status()).toBe(302);
      expect(profile.headers()['location']).toMatch(/^\/login\?returnTo=/);
      await context.close();
    });

    it('two tabs logging in at once both end signed in; reloading the callback URL does no harm', async () => {
      const context = await newContext(browser);
      const [one, two] = [await context.newPage(), await context.newPage()];
      await startLogin(one);
      await startLogin(two);
      let callbackUrl = '';
      one.on('request', (request) => {
        if (request.url().startsWith(`${app.baseUrl}/callback?`)) callbackUrl = request.url();
      });
      await signInAtProvider(one, USER);
      if ((await one.locator('button[name="decision"]').count()) > 0) await decide(one, 'allow');
      await one.waitForURL(`${app.baseUrl}/**`);
      await signInAtProvider(two, USER);
      if ((await two.locator('button[name="decision"]').count()) > 0) await decide(two, 'allow');
      await two.waitForURL(`${app.baseUrl}/**`);
      for (const tab of [one, two]) {
        await tab.goto(`${app.baseUrl}/profile`);
        await expect.poll(() => tab.content()).toContain('alice@example.com');
      }

      // The callback again (reload, back button): an explanation at most, and still signed in.
      expect(callbackUrl).not.toBe('');
      const again = await one.goto(callbackUrl);
      expect(again?.status()).toBeLessThan(500);
      await one.goto(`${app.baseUrl}/profile`);
      await expect.poll(() => one.content()).toContain('alice@example.com');
      await context.close();
    });

    it('sign-out ends the session at the provider too', async () => {
      const context = await newContext(browser);
      const page = await context.newPage();
      await startLogin(page);
      await signInAtProvider(page, USER);
      if ((await page.locator('button[name="decision"]').count()) > 0) await decide(page, 'allow');
      await page.waitForURL(`${app.baseUrl}/**`);
      await page.goto(`${app.baseUrl}/`);
      await Promise.all([
        page.waitForURL(`${app.baseUrl}/**`),
        page.getByRole('button', { name: 'Sign out' }).first().click(),
      ]);
      await expect
        .poll(() => page.getByRole('link', { name: 'Sign in' }).count())
        .toBeGreaterThan(0);
      // Signing in again asks for the password: the provider's session is gone as well.
      await startLogin(page);
      await context.close();
    });

    it('the provider’s error page (a request it must not redirect) is clear and accessible', async () => {
      const context = await newContext(browser);
      const page = await context.newPage();
      const response = await page.goto(
        `${world.issuer}/v1/oauth/authorize?client_id=nobody&redirect_uri=https%3A%2F%2Fevil.example%2F&response_type=code&scope=openid`,
      );
      expect(response?.status()).toBe(400);
      expect(page.url()).toContain(world.issuer);
      expect(await page.textContent('body')).toContain('unauthorized_client');
      await screenshot(page, 'provider-error-page');
      await expectAccessible(page, 'the provider’s error page');
      await context.close();
    });

    it('the provider’s pages and the app fit a phone-sized screen', async () => {
      const context = await newContext(browser, { phone: true });
      const page = await context.newPage();
      await startLogin(page);
      await expectNoHorizontalScroll(page, 'the sign-in page');
      await screenshot(page, 'provider-login-phone');
      await page.goto(`${world.issuer}/errors`);
      await expectNoHorizontalScroll(page, 'the error reference');
      await screenshot(page, 'provider-errors-phone');
      await expectAccessible(page, 'the provider’s error reference page');
      await page.goto(`${app.baseUrl}/`);
      await expectNoHorizontalScroll(page, 'the app’s home page');
      await screenshot(page, 'express-home-phone');
      await context.close();
    });
  },
);
