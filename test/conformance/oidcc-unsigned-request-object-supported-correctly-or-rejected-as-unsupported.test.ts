/**
 * oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported (OP-request-Unsigned)
 * — the request parameters (state and nonce included) are sent inside an unsigned (`alg: none`)
 * request object by value (`request`), with response_type, client_id, scope and redirect_uri also
 * as plain parameters. The provider must either process the object correctly (code, the object's
 * state echoed, the object's nonce in the ID token) or redirect with `request_not_supported` (OIDC
 * Core §3.1.2.6) — ignoring the object is not allowed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  CLIENT,
  type Conformance,
  checkIdToken,
  exchangeCode,
  expectAuthorizationCode,
  expectAuthorizationError,
  expectTokenResponse,
  REDIRECT_URI,
  randomValue,
  SUITE_SCOPE,
  startConformance,
  unsignedJwt,
} from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported', () => {
  it('processes the unsigned request object correctly or answers request_not_supported', async () => {
    const state = randomValue();
    const nonce = randomValue();
    const request = unsignedJwt({
      iss: CLIENT.id,
      aud: conf.discovery['issuer'],
      client_id: CLIENT.id,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: SUITE_SCOPE,
      state,
      nonce,
    });
    const result = await authorize(conf, { state: null, nonce: null, extra: { request } });
    expect(result.location, `HTTP ${result.last.status}`).toBeDefined();

    if (result.location!.searchParams.has('code')) {
      // Processed: the state and nonce inside the object are the ones that count.
      result.request.state = state;
      result.request.nonce = nonce;
      const code = expectAuthorizationCode(conf, result);
      const tokens = await expectTokenResponse(await exchangeCode(conf, result.request, code));
      await checkIdToken(conf, tokens.id_token, {
        client: CLIENT,
        nonce,
        accessToken: tokens.access_token,
      });
      return;
    }
    expect(result.sawLogin).toBe(false);
    const params = expectAuthorizationError(conf, result);
    expect(params.get('error')).toBe('request_not_supported');
  });

  it('discovery agrees with the behaviour: request objects are not advertised', () => {
    expect(conf.discovery['request_parameter_supported']).toBe(false);
    const algs = conf.discovery['request_object_signing_alg_values_supported'];
    if (algs !== undefined) expect(algs).not.toContain('none');
  });
});
