/**
 * oidcc-ensure-registered-redirect-uri (OP-redirect_uri-NotReg) — an authorization request whose
 * redirect_uri is not registered for the client must not be redirected anywhere: the provider
 * shows an error page (HTTP 400, HTML, no Location header) — the suite asks for a screenshot of it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  type Conformance,
  expectErrorPage,
  REDIRECT_URI,
  randomValue,
  runCodeFlow,
  startConformance,
} from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-ensure-registered-redirect-uri', () => {
  it('shows an error page for an unregistered redirect_uri', async () => {
    const bad = `${REDIRECT_URI}/${randomValue()}`;
    const result = await authorize(conf, { redirectUri: bad });
    expect(result.location).toBeUndefined();
    expect(result.sawLogin).toBe(false);
    const body = await expectErrorPage(result.first, bad);
    expect(body).toContain('invalid_request');
    expect(body).toContain('redirect_uri');
  });

  it('shows the error page to a signed-in user as well', async () => {
    const flow = await runCodeFlow(conf);
    const bad = `https://attacker.example/${randomValue()}`;
    const result = await authorize(conf, { browser: flow.browser, redirectUri: bad });
    expect(result.location).toBeUndefined();
    await expectErrorPage(result.first, bad);
  });
});
