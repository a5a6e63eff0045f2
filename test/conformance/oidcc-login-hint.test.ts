/**
 * oidcc-login-hint (OP-Req-login_hint) — a request with login_hint must not fail (OIDC Core §15.1);
 * the user signs in and the flow completes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-login-hint', () => {
  it('completes the code flow with login_hint naming the user', async () => {
    const flow = await runCodeFlow(conf, { extra: { login_hint: 'alice' } });
    expect(flow.sawLogin).toBe(true);
  });

  it('completes the code flow with an email-style login_hint the provider does not know', async () => {
    const flow = await runCodeFlow(conf, { extra: { login_hint: 'buffy@localhost' } });
    expect(flow.sawLogin).toBe(true);
  });
});
