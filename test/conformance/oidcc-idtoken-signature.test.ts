/**
 * oidcc-idtoken-signature (OP-IDToken-Signature, OP-IDToken-kid) — the ID token is signed with
 * the client's registered algorithm (RS256, the suite's default), carries a `kid` that names
 * exactly one key of the JWKS, and its signature verifies with that key.
 */
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-idtoken-signature', () => {
  it('signs the ID token with RS256 and a kid that names one key of the JWKS', async () => {
    const flow = await runCodeFlow(conf);
    const idToken = flow.tokens.id_token!;
    const header = decodeProtectedHeader(idToken);
    expect(header.alg).toBe('RS256');
    expect(typeof header.kid).toBe('string');
    const keys = conf.jwks.keys.filter((k) => k.kid === header.kid);
    expect(keys).toHaveLength(1);
    const jwk = keys[0]!;
    expect(jwk.kty).toBe('RSA');
    if (jwk.use !== undefined) expect(jwk.use).toBe('sig');
    // ValidateIdTokenSignatureUsingKid: verify with exactly that key.
    const key = await importJWK(jwk, 'RS256');
    await expect(compactVerify(idToken, key, { algorithms: ['RS256'] })).resolves.toBeDefined();
  });

  it('produces a signature that does not verify once the payload is altered', async () => {
    const flow = await runCodeFlow(conf);
    const [h, p, s] = flow.tokens.id_token!.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${s}`;
    const jwk = conf.jwks.keys.find((k) => k.kid === decodeProtectedHeader(forged).kid)!;
    await expect(compactVerify(forged, await importJWK(jwk, 'RS256'))).rejects.toThrow();
  });
});
