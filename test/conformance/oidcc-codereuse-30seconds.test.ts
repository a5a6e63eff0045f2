/**
 * oidcc-codereuse-30seconds (OP-OAuth-2nd-30s, OP-OAuth-2nd-Revokes) — 30 seconds after the code
 * was redeemed, redeeming it again must fail with a well-formed `invalid_grant` (HTTP 400, JSON);
 * and the access token issued by the first redemption should be revoked (RFC 6749 §4.1.2 — a
 * warning in the suite, a requirement of Gatehouse): UserInfo answers 401 for it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Conformance,
  callUserinfo,
  exchangeCode,
  expectTokenError,
  runCodeFlow,
  startConformance,
  tokenRequest,
} from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-codereuse-30seconds', () => {
  it('refuses the code 30 s later and revokes the tokens issued from it', async () => {
    const flow = await runCodeFlow(conf);
    // The suite's WaitFor30Seconds, on the provider's clock.
    conf.tp.clock.advance(30_000);
    await expectTokenError(await exchangeCode(conf, flow.request, flow.code), 'invalid_grant');

    // CallProtectedResourceWithBearerTokenExpectingError
    const info = await callUserinfo(conf, flow.tokens.access_token);
    expect(info.status).toBe(401);
    expect(info.headers.get('www-authenticate') ?? '').toMatch(/^Bearer /);

    // Everything issued from the code goes: the refresh token too.
    const refresh = await tokenRequest(conf, flow.request.client, {
      grant_type: 'refresh_token',
      refresh_token: flow.tokens.refresh_token!,
    });
    await expectTokenError(refresh, 'invalid_grant');
  });

  it('the access token still worked before the replay (the revocation is caused by it)', async () => {
    const flow = await runCodeFlow(conf);
    conf.tp.clock.advance(30_000);
    expect((await callUserinfo(conf, flow.tokens.access_token)).status).toBe(200);
  });
});
