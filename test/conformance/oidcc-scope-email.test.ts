/**
 * oidcc-scope-email (OP-scope-email) — a request with scope=openid email succeeds and the UserInfo
 * response carries email and email_verified with the ID token's sub; warnings: the UserInfo response
 * has no `name` (not asked for), and — an access token being issued — the ID token carries neither
 * `name` nor `email` (OIDC Core §5.4: scope claims are returned from the UserInfo endpoint).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, expectScopeClaims, runCodeFlow, startConformance } from './support.js';

const SCOPE = 'openid email';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-scope-email', () => {
  it('returns email and email_verified at the UserInfo endpoint', async () => {
    const flow = await runCodeFlow(conf, { scope: SCOPE });
    expect(flow.userinfo['sub']).toBe(flow.idToken.sub);
    expectScopeClaims(flow.userinfo, SCOPE);
  });

  describe('[suite warning]', () => {
    it('EnsureUserInfoDoesNotContainName: no name in UserInfo', async () => {
      const flow = await runCodeFlow(conf, { scope: SCOPE });
      expect(flow.userinfo['name']).toBeUndefined();
    });

    it('EnsureIdTokenDoesNotContainName: no name in the ID token', async () => {
      const flow = await runCodeFlow(conf, { scope: SCOPE });
      expect(flow.idToken['name']).toBeUndefined();
    });

    it('EnsureIdTokenDoesNotContainEmailForScopeEmail: no email in the ID token of the code flow', async () => {
      const flow = await runCodeFlow(conf, { scope: SCOPE });
      expect(flow.idToken['email']).toBeUndefined();
    });
  });
});
