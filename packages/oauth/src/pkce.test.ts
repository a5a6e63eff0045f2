import { describe, expect, it } from 'vitest';
import { isValidCodeVerifier, isValidS256Challenge, s256Challenge, verifyS256 } from './pkce.js';

describe('PKCE S256', () => {
  // RFC 7636 Appendix B.
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

  it('computes the RFC 7636 Appendix B example', async () => {
    expect(await s256Challenge(verifier)).toBe(challenge);
  });
  it('verifies the matching verifier only', async () => {
    expect(await verifyS256(verifier, challenge)).toBe(true);
    expect(await verifyS256(`${verifier.slice(0, -1)}Y`, challenge)).toBe(false);
  });
  it('refuses malformed verifiers even if they would hash right', async () => {
    expect(isValidCodeVerifier('short')).toBe(false);
    expect(isValidCodeVerifier('a'.repeat(43))).toBe(true);
    expect(isValidCodeVerifier('a'.repeat(128))).toBe(true);
    expect(isValidCodeVerifier('a'.repeat(129))).toBe(false);
    expect(isValidCodeVerifier(`${'a'.repeat(42)} `)).toBe(false);
    const bad = 'a'.repeat(42) + '!';
    expect(await verifyS256(bad, await s256Challenge(bad))).toBe(false);
  });
  it('checks challenge shape', () => {
    expect(isValidS256Challenge(challenge)).toBe(true);
    expect(isValidS256Challenge(`${challenge}=`)).toBe(false);
    expect(isValidS256Challenge(challenge.slice(1))).toBe(false);
  });
});
