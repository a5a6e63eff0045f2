/**
 * oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported (OP-request-Unsigned)
 * — the request parameters (state and nonce included) are sent inside an unsigned (`alg: none`)
 * request object by value (`request`), with response_type, client_id, scope and redirect_uri also
 * as plain parameters. The provider must either process the object correctly (code, the object's
 * state echoed, the object's nonce in the ID token) or redirect with `request_not_supported` (OIDC
 * Core §3.1.2.6) — ignoring the object is not allowed. The suite skips the module unless
 * discovery lists `none` among the request object algorithms.
 *
 * Gatehouse supports request objects (JAR) but only signed ones: discovery does not list `none`,
 * so the suite skips this module. What is tested here is that skip condition, and that an
 * unsigned object is never processed: it gets the error page (invalid_request_object), as a
 * request object that cannot be verified must (its redirect_uri cannot be trusted).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  CLIENT,
  type Conformance,
  expectErrorPage,
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
  it('does not advertise unsigned request objects (so the suite skips the module)', () => {
    expect(conf.discovery['request_parameter_supported']).toBe(true);
    const algs = conf.discovery['request_object_signing_alg_values_supported'];
    expect(Array.isArray(algs)).toBe(true);
    expect(algs).not.toContain('none');
  });

  it('never processes an unsigned request object: error page, no code, no redirect', async () => {
    const request = unsignedJwt({
      iss: CLIENT.id,
      aud: conf.discovery['issuer'],
      client_id: CLIENT.id,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: SUITE_SCOPE,
      state: randomValue(),
      nonce: randomValue(),
    });
    const result = await authorize(conf, { state: null, nonce: null, extra: { request } });
    expect(result.location).toBeUndefined();
    expect(result.sawLogin).toBe(false);
    const body = await expectErrorPage(result.first);
    expect(body).toContain('invalid_request_object');
  });
});
