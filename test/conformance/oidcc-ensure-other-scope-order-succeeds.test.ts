/**
 * oidcc-ensure-other-scope-order-succeeds — oidcc-scope-email with the scope values reversed
 * (`email openid`): RFC 6749 §3.3 says their order does not matter, so the request must succeed
 * with the same results, including the email module's warnings.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, expectScopeClaims, runCodeFlow, startConformance } from './support.js';

const SCOPE = 'email openid';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-ensure-other-scope-order-succeeds', () => {
  it('accepts scope=email openid and returns the email claims at the UserInfo endpoint', async () => {
    const flow = await runCodeFlow(conf, { scope: SCOPE });
    expect(flow.request.params.get('scope')).toBe('email openid');
    expectScopeClaims(flow.userinfo, SCOPE);
  });

  it('accepts openid in the middle of the list too', async () => {
    const flow = await runCodeFlow(conf, { scope: 'email openid offline_access' });
    expect(typeof flow.tokens.refresh_token).toBe('string');
  });

  describe('[suite warning]', () => {
    it('EnsureUserInfoDoesNotContainName: no name in UserInfo', async () => {
      const flow = await runCodeFlow(conf, { scope: SCOPE });
      expect(flow.userinfo['name']).toBeUndefined();
    });

    it('EnsureIdTokenDoesNotContainEmailForScopeEmail: no email in the ID token of the code flow', async () => {
      const flow = await runCodeFlow(conf, { scope: SCOPE });
      expect(flow.idToken['email']).toBeUndefined();
    });
  });
});
