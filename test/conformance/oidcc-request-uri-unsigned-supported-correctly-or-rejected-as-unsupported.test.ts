/**
 * oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported (OP-request_uri-Unsigned)
 * — the request parameters (state and nonce included) are moved into an unsigned request object
 * passed by reference (`request_uri`); response_type, client_id, scope and redirect_uri are also
 * sent as plain parameters. The provider must either fetch and process it or redirect with
 * `request_uri_not_supported` (OIDC Core §3.1.2.6). Gatehouse accepts request_uri only from its own
 * PAR endpoint and says so in discovery, so the answer is `request_uri_not_supported`, a
 * well-formed error response with `iss` and — state having travelled only inside the object — no state.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  type Conformance,
  expectAuthorizationError,
  randomValue,
  startConformance,
} from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported', () => {
  it('does not advertise request_uri support', () => {
    expect(conf.discovery['request_uri_parameter_supported']).toBe(false);
  });

  it('rejects an unsigned request_uri with request_uri_not_supported', async () => {
    const result = await authorize(conf, {
      state: null,
      nonce: null,
      extra: {
        request_uri: `https://rp.conformance.test/test/a/gatehouse/requests/${randomValue(16)}`,
      },
    });
    expect(result.sawLogin).toBe(false);
    // The object is not served anywhere, so "processed correctly" cannot happen here: the only
    // passing outcome is the documented rejection.
    const params = expectAuthorizationError(conf, result);
    expect(params.get('error')).toBe('request_uri_not_supported');
  });
});
