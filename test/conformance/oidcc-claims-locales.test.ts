/**
 * oidcc-claims-locales (OP-Req-claims_locales) — a request with claims_locales must not fail (OIDC
 * Core §15.1); UserInfo still answers with the user's claims.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-claims-locales', () => {
  it('completes the code flow with claims_locales=se', async () => {
    const flow = await runCodeFlow(conf, {
      scope: 'openid profile offline_access',
      extra: { claims_locales: 'se' },
    });
    expect(flow.userinfo['name']).toBe('Alice Example');
  });
});
