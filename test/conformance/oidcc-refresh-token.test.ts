/**
 * oidcc-refresh-token — with offline_access in the scope and prompt=consent, the token response
 * carries a refresh token of allowed characters (RFC 6749 A.17); one second later it is exchanged
 * (with the scope, as the suite does) for a 200 JSON no-store Bearer response with a new access
 * token and an ID token whose iss, sub, aud, auth_time (and azp) equal the first one's and whose
 * iat is new (OIDC Core §12.2, CompareIdTokenClaims); the new access token works at UserInfo. Then
 * a second client gets its own refresh token, and the first client presenting it must get HTTP 400,
 * JSON, `invalid_grant`: refresh tokens are bound to their client.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CLIENT,
  CLIENT2,
  type Conformance,
  callUserinfo,
  checkIdToken,
  estimatedEntropyBits,
  expectTokenError,
  expectTokenResponse,
  expectUserinfo,
  runCodeFlow,
  SUITE_SCOPE,
  type SuiteClient,
  startConformance,
  tokenRequest,
} from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

const VSCHAR = /^[\x20-\x7e]+$/;

async function refresh(
  client: SuiteClient,
  refreshToken: string,
  withScope: boolean,
): Promise<Response> {
  const form: Record<string, string> = { grant_type: 'refresh_token', refresh_token: refreshToken };
  if (withScope) form['scope'] = SUITE_SCOPE;
  return tokenRequest(conf, client, form);
}

describe('oidcc-refresh-token', () => {
  it('advertises the refresh_token grant', () => {
    const grants = conf.discovery['grant_types_supported'] as string[];
    expect(grants).toContain('refresh_token');
  });

  it('refreshes with a valid ID token, and refuses a refresh token presented by another client', async () => {
    // First client.
    const first = await runCodeFlow(conf, { client: CLIENT, extra: { prompt: 'consent' } });
    const refreshToken = first.tokens.refresh_token;
    expect(typeof refreshToken).toBe('string');
    expect(refreshToken).toMatch(VSCHAR);

    conf.tp.clock.advance(1000); // WaitForOneSecond: iat must differ
    const res = await refresh(CLIENT, refreshToken!, true);
    const refreshed = await expectTokenResponse(res);
    expect(refreshed.access_token).not.toBe(first.tokens.access_token);
    if (refreshed.refresh_token !== undefined) {
      expect(refreshed.refresh_token).toMatch(VSCHAR);
      expect(refreshed.refresh_token.length).toBeGreaterThanOrEqual(22);
      expect(estimatedEntropyBits(refreshed.refresh_token)).toBeGreaterThanOrEqual(96);
    }
    if (refreshed.id_token !== undefined) {
      const second = await checkIdToken(conf, refreshed.id_token, {
        client: CLIENT,
        nonce: undefined,
        accessToken: refreshed.access_token,
      });
      expect(second.iss).toBe(first.idToken.iss);
      expect(second.sub).toBe(first.idToken.sub);
      expect(second.aud).toEqual(first.idToken.aud);
      expect(second.iat).not.toBe(first.idToken.iat);
      if (second['auth_time'] !== undefined)
        expect(second['auth_time']).toBe(first.idToken['auth_time']);
      if (first.idToken['azp'] === undefined) expect(second['azp']).toBeUndefined();
      else expect(second['azp']).toBe(first.idToken['azp']);
    }
    await expectUserinfo(await callUserinfo(conf, refreshed.access_token), first.idToken.sub!);

    // Second client, same user, its own browser.
    const other = await runCodeFlow(conf, { client: CLIENT2, extra: { prompt: 'consent' } });
    expect(other.idToken.sub).toBe(first.idToken.sub);
    conf.tp.clock.advance(1000);
    const otherRefreshed = await expectTokenResponse(
      await refresh(CLIENT2, other.tokens.refresh_token!, false),
    );
    const client2Token = otherRefreshed.refresh_token ?? other.tokens.refresh_token!;
    expect(client2Token).toMatch(VSCHAR);

    // RefreshTokenRequestExpectingErrorSteps: client 2's refresh token used by client 1.
    await expectTokenError(await refresh(CLIENT, client2Token, true), 'invalid_grant');
  });

  it('issues no refresh token without offline_access', async () => {
    const flow = await runCodeFlow(conf, { scope: 'openid' });
    expect(flow.tokens.refresh_token).toBeUndefined();
  });
});
