/** The synchronous S256 check agrees with `verifyS256` from @gatehouse/oauth. */
import { s256Challenge, verifyS256 } from '@gatehouse/oauth';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyS256Sync } from './pkce.js';

describe('verifyS256Sync', () => {
  it('accepts the RFC 7636 Appendix B example', () => {
    expect(
      verifyS256Sync(
        'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
        'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      ),
    ).toBe(true);
  });

  it('refuses a wrong verifier, a malformed verifier and a wrong challenge', async () => {
    const verifier = 'a'.repeat(43);
    const challenge = await s256Challenge(verifier);
    expect(verifyS256Sync(verifier, challenge)).toBe(true);
    expect(verifyS256Sync('b'.repeat(43), challenge)).toBe(false);
    expect(verifyS256Sync('short', await s256Challenge('short'))).toBe(false);
    expect(verifyS256Sync(`${'a'.repeat(42)} `, challenge)).toBe(false);
    expect(verifyS256Sync('a'.repeat(129), await s256Challenge('a'.repeat(129)))).toBe(false);
    expect(verifyS256Sync(verifier, `${challenge}=`)).toBe(false);
    expect(verifyS256Sync(verifier, challenge.slice(1))).toBe(false);
    expect(verifyS256Sync(verifier, '')).toBe(false);
  });

  it('gives the same answer as verifyS256 for any verifier and challenge', async () => {
    const unreserved = fc.constantFrom(
      ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ minLength: 40, maxLength: 130 }),
          fc.string({ unit: unreserved, minLength: 40, maxLength: 130 }),
        ),
        fc.boolean(),
        fc.string({ maxLength: 50 }),
        async (verifier, matching, other) => {
          const challenge = matching ? await s256Challenge(verifier) : other;
          expect(verifyS256Sync(verifier, challenge)).toBe(await verifyS256(verifier, challenge));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
