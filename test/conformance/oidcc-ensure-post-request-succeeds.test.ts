/**
 * oidcc-ensure-post-request-succeeds — the authorization request is sent as an HTML form POST
 * (application/x-www-form-urlencoded) to the authorization endpoint (OIDC Core §3.1.2.1: GET and
 * POST must be supported); the flow must complete as with GET. Redirects after the POST are 303,
 * never 307 (RFC 9700 §4.12).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-ensure-post-request-succeeds', () => {
  it('completes the code flow started by a form POST', async () => {
    const flow = await runCodeFlow(conf, { method: 'POST' });
    expect(flow.sawLogin).toBe(true);
    expect(flow.first.status).not.toBe(307);
    expect([302, 303]).toContain(flow.first.status);
  });

  it('answers a POST from a signed-in browser with a 303 straight to the client', async () => {
    const first = await runCodeFlow(conf);
    const second = await runCodeFlow(conf, { browser: first.browser, method: 'POST' });
    expect(second.sawLogin).toBe(false);
    expect(second.first.status).toBe(303);
  });
});
