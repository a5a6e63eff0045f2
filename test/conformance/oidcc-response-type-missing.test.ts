/**
 * oidcc-response-type-missing (OP-Response-Missing) — an authorization request without
 * `response_type` must fail: either an error page, or a redirect carrying `invalid_request` or
 * `unsupported_response_type` that passes the generic error-response checks (only the allowed
 * parameters, state echoed, iss, RFC 6749 charset) and no code.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  type Conformance,
  expectAuthorizationError,
  startConformance,
} from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-response-type-missing', () => {
  it('refuses a request without response_type with invalid_request or unsupported_response_type', async () => {
    const result = await authorize(conf, { omit: ['response_type'] });
    if (result.location === undefined) {
      // The other accepted outcome: an error page shown to the user, never a code.
      expect(result.last.status).toBe(400);
      expect(result.last.headers.get('location')).toBeNull();
      return;
    }
    const params = expectAuthorizationError(conf, result);
    expect(['invalid_request', 'unsupported_response_type']).toContain(params.get('error'));
  });

  it('does not show the login page before refusing', async () => {
    const result = await authorize(conf, { omit: ['response_type'] });
    expect(result.sawLogin).toBe(false);
    expect(result.sawConsent).toBe(false);
  });

  it('refuses without response_type when no state was sent either (no state in the error)', async () => {
    const result = await authorize(conf, { omit: ['response_type'], state: null });
    if (result.location === undefined) {
      expect(result.last.status).toBe(400);
      return;
    }
    const params = expectAuthorizationError(conf, result);
    expect(params.has('state')).toBe(false);
  });
});
