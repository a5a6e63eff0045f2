/**
 * oidcc-scope-profile (OP-scope-profile) — a request with scope=openid profile succeeds, and the UserInfo response
 * carries the claims of the requested scope(s) with valid types and the ID token's sub
 * (AbstractOIDCCReturnedClaimsServerTest: VerifyScopesReturnedInUserInfoClaims,
 * ValidateUserInfoStandardClaims, EnsureUserInfoContainsSub).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, expectScopeClaims, runCodeFlow, startConformance } from './support.js';

const SCOPE = 'openid profile';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-scope-profile', () => {
  it("discovery's scopes_supported lists every requested scope", () => {
    const supported = conf.discovery['scopes_supported'] as string[];
    for (const s of SCOPE.split(' ')) expect(supported).toContain(s);
  });

  it('returns the claims of the requested scope at the UserInfo endpoint', async () => {
    const flow = await runCodeFlow(conf, { scope: SCOPE });
    expect(flow.userinfo['sub']).toBe(flow.idToken.sub);
    expectScopeClaims(flow.userinfo, SCOPE);
  });
});
