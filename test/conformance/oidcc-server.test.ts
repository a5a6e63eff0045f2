/**
 * oidcc-server — the basic plan's happy path (OP-Response-code): authorization request with state
 * and nonce, sign-in and consent, a code (≥ 128 bits, high entropy) with the exact state and the
 * issuer as `iss`, a token response (200, JSON, no-store, Bearer, expires_in, refresh token
 * charset), an ID token whose signature, kid, iss, aud, exp, iat, nonce, sub and at_hash are
 * valid, a UserInfo call with the same sub; warnings: no `name` and no claim that was not asked
 * for in the ID token.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  type Conformance,
  expectAuthorizationCode,
  nonRequestedIdTokenClaims,
  REDIRECT_URI_WITH_QUERY,
  runCodeFlow,
  SUITE_SCOPE,
  startConformance,
} from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-server', () => {
  it('completes the code flow with valid authorization, token, ID token and UserInfo responses', async () => {
    const flow = await runCodeFlow(conf);
    expect(flow.sawLogin).toBe(true);
    expect(flow.request.state).toBeDefined();
    expect(flow.location!.searchParams.get('state')).toBe(flow.request.state);
    expect(flow.location!.searchParams.get('iss')).toBe(conf.discovery['issuer']);
    expect(flow.idToken['nonce']).toBe(flow.request.nonce);
    // CheckForRefreshTokenValue: the configured scope asks for offline_access.
    expect(typeof flow.tokens.refresh_token).toBe('string');
    expect(flow.userinfo['sub']).toBe(flow.idToken.sub);
  });

  it('redirects to the client with 302 or 303, never 307', async () => {
    const result = await authorize(conf);
    expectAuthorizationCode(conf, result);
    expect([302, 303]).toContain(result.last.status);
  });

  it('echoes a state with reserved and non-ASCII characters byte for byte', async () => {
    const state = 'a b/c+d=e&f?g#h%20i~é';
    const flow = await runCodeFlow(conf, { state });
    expect(flow.location!.searchParams.get('state')).toBe(state);
  });

  it('sends no state when the request had none', async () => {
    const flow = await runCodeFlow(conf, { state: null });
    expect(flow.location!.searchParams.has('state')).toBe(false);
  });

  it('keeps the query of a registered redirect URI', async () => {
    const flow = await runCodeFlow(conf, { redirectUri: REDIRECT_URI_WITH_QUERY });
    expect(flow.location!.searchParams.get('tenant')).toBe('acme');
    expect(flow.location!.searchParams.getAll('tenant')).toHaveLength(1);
  });

  it('issues distinct codes of at least 128 bits', async () => {
    const a = await runCodeFlow(conf);
    const b = await runCodeFlow(conf);
    expect(a.code).not.toBe(b.code);
    expect(a.code.length).toBeGreaterThanOrEqual(22);
  });

  describe('[suite warning]', () => {
    it('EnsureIdTokenDoesNotContainName: no name claim in the ID token', async () => {
      const flow = await runCodeFlow(conf);
      expect(flow.idToken['name']).toBeUndefined();
    });

    it('EnsureIdTokenDoesNotContainNonRequestedClaims: only protocol claims and claims of the requested scopes', async () => {
      const flow = await runCodeFlow(conf);
      expect(nonRequestedIdTokenClaims(flow.idToken, SUITE_SCOPE)).toEqual([]);
    });
  });
});
