/**
 * oidcc-ensure-request-with-valid-pkce-succeeds — a request with a valid S256 code_challenge, and a
 * token request with the matching code_verifier, must succeed (RFC 7636): PKCE must never break a
 * request, even for a client that does not require it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  type Conformance,
  exchangeCode,
  expectAuthorizationCode,
  expectTokenError,
  runCodeFlow,
  startConformance,
} from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-ensure-request-with-valid-pkce-succeeds', () => {
  it('advertises S256', () => {
    expect(conf.discovery['code_challenge_methods_supported']).toContain('S256');
  });

  it('completes the code flow with PKCE S256', async () => {
    const flow = await runCodeFlow(conf, { pkce: true });
    expect(flow.request.params.get('code_challenge_method')).toBe('S256');
  });

  it('binds the code to the challenge: a token request without the verifier fails', async () => {
    const result = await authorize(conf, { pkce: true });
    const code = expectAuthorizationCode(conf, result);
    await expectTokenError(
      await exchangeCode(conf, { ...result.request, pkce: false }, code),
      'invalid_grant',
    );
  });
});
