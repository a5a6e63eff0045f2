/**
 * oidcc-ensure-request-without-nonce-succeeds-for-code-flow (OP-nonce-NoReq-code) — nonce is
 * optional in the code flow: a request without one must succeed, and the ID token must then carry
 * no nonce.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-ensure-request-without-nonce-succeeds-for-code-flow', () => {
  it('completes the code flow without a nonce, and the ID token has no nonce', async () => {
    const flow = await runCodeFlow(conf, { nonce: null });
    expect(flow.request.params.has('nonce')).toBe(false);
    expect(flow.idToken['nonce']).toBeUndefined();
  });
});
