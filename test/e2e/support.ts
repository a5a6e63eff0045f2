/**
 * Browser end to end: Debian's Chromium, headless, driven by playwright-core. Screenshots go to
 * `test-artifacts/screenshots/` (ignored by git; CI keeps them as artefacts), accessibility is
 * checked with axe-core on every page that matters.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser suites cannot run here, or undefined when they can. */
export const noBrowser: string | undefined = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is missing (apt-get install chromium); .ci/run installs it`;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');

/** The flags a headless Chromium needs on this machine kind (closed network, root, no GPU). */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}

/** A fresh browser profile. `bypassCSP` lets axe-core be injected into pages that allow no script. */
export function newContext(
  browser: Browser,
  options: { phone?: boolean } = {},
): Promise<BrowserContext> {
  return browser.newContext({
    bypassCSP: true,
    ...(options.phone
      ? {
          viewport: { width: 390, height: 844 },
          deviceScaleFactor: 2,
          isMobile: true,
          hasTouch: true,
        }
      : { viewport: { width: 1280, height: 800 } }),
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const axeSource = (() => {
  const require = createRequire(import.meta.url);
  return require('axe-core').source as string;
})();

/** Runs axe-core (WCAG 2 A and AA rules) on the page and expects no violation. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run(
            c: unknown,
            o: unknown,
          ): Promise<{
            violations: {
              id: string;
              impact: string;
              help: string;
              nodes: { target: string[] }[];
            }[];
          }>;
        };
      }
    ).axe;
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  expect(violations, `axe on ${what}`).toEqual([]);
}

/** The page fits a narrow screen: no horizontal scrolling. */
export async function expectNoHorizontalScroll(page: Page, what: string): Promise<void> {
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow, `${what} scrolls sideways`).toBeLessThanOrEqual(0);
}

/** Fills the provider's sign-in form (fields by their stable names) and submits it. */
export async function signInAtProvider(
  page: Page,
  user: { username: string; password: string },
): Promise<void> {
  await page.locator('input[name="username"]').fill(user.username);
  await page.locator('input[name="password"]').fill(user.password);
  await Promise.all([
    page.waitForLoadState('load'),
    page.locator('form button[type="submit"], form input[type="submit"]').first().click(),
  ]);
}

/** Presses Allow or Deny on the provider's consent page. */
export async function decide(page: Page, decision: 'allow' | 'deny'): Promise<void> {
  await Promise.all([
    page.waitForLoadState('load'),
    page.locator(`button[name="decision"][value="${decision}"]`).click(),
  ]);
}
