/**
 * oidcc-userinfo-post-body — after the code flow, UserInfo is called by POST with the access token in the form body (OP-UserInfo-Body; RFC 6750 §2.2 — optional, a warning in the suite, supported by Gatehouse).
 * It must answer 200 with JSON whose `sub` equals the ID token's, and standard claims of the
 * right types (ValidateUserInfoStandardClaims, EnsureUserInfoContainsSub).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Conformance,
  callUserinfo,
  expectUserinfo,
  runCodeFlow,
  startConformance,
} from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-userinfo-post-body', () => {
  it('returns the claims of the user with the same sub as the ID token', async () => {
    const flow = await runCodeFlow(conf, { scope: 'openid email offline_access' });
    const res = await callUserinfo(conf, flow.tokens.access_token, 'post-body');
    const claims = await expectUserinfo(res, flow.idToken.sub!);
    expect(claims['email']).toBe('alice@example.com');
    expect(claims['email_verified']).toBe(true);
  });

  it('refuses the request with 401 and a Bearer challenge when the access token is not valid', async () => {
    const flow = await runCodeFlow(conf);
    const res = await callUserinfo(conf, `${flow.tokens.access_token}x`, 'post-body');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate') ?? '').toMatch(/^Bearer /);
  });
});
