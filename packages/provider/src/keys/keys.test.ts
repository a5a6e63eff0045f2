/** The key manager's synchronous JWS signing, checked against jose and the published JWKS. */
import { base64urlDecode } from '@gatehouse/oauth';
import {
  CompactSign,
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  jwtVerify,
  SignJWT,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryStorage } from '../storage/memory.js';
import type { KeyStore, SigningAlg } from '../storage/types.js';
import { type KeyManager, loadKeys, SIGNING_ALGS } from './keys.js';
import { createSecrets, type Secrets } from './secrets.js';

const SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const SIGNATURE_BYTES: Record<SigningAlg, number> = { EdDSA: 64, ES256: 64, RS256: 256 };

let secrets: Secrets;
let store: KeyStore;
let keys: KeyManager;

const claims = () => ({
  iss: 'https://op.example',
  sub: 'user-1',
  aud: ['client-1', 'client-2'],
  iat: Math.floor(Date.now() / 1000),
  exp: Math.floor(Date.now() / 1000) + 300,
  name: 'Zoë Ünïcödé 🌍',
  nested: { a: [1, 2, { b: null }], quote: '"\\</script>' },
});

const parts = (jws: string) => {
  const [h, p, s] = jws.split('.') as [string, string, string];
  return {
    header: JSON.parse(new TextDecoder().decode(base64urlDecode(h))) as Record<string, unknown>,
    signature: base64urlDecode(s),
    p,
  };
};

beforeAll(async () => {
  secrets = await createSecrets(SECRET);
  store = memoryStorage().keys;
  keys = await loadKeys(store, secrets);
});

describe.each(SIGNING_ALGS)('sign(%s)', (alg) => {
  it('verifies against the published JWKS with jwtVerify', async () => {
    const payload = claims();
    const jws = keys.sign(alg, { typ: 'at+jwt' }, payload);
    const jwks = createLocalJWKSet(keys.jwks());
    const { payload: verified, protectedHeader } = await jwtVerify(jws, jwks, {
      algorithms: [alg],
      issuer: 'https://op.example',
      audience: 'client-1',
      typ: 'at+jwt',
    });
    expect(verified).toEqual(payload);
    expect(protectedHeader).toEqual({ alg, kid: keys.signingKey(alg).kid, typ: 'at+jwt' });
  });

  it('verifies with compactVerify against publicKey(kid) and the JWK', async () => {
    const jws = keys.sign(alg, {}, { hello: 'world' });
    const { kid } = keys.signingKey(alg);
    const key = await keys.publicKey(kid);
    expect(key).toBeDefined();
    const result = await compactVerify(jws, key!, { algorithms: [alg] });
    expect(JSON.parse(new TextDecoder().decode(result.payload))).toEqual({ hello: 'world' });
    expect(result.protectedHeader).toEqual({ alg, kid });
  });

  it('carries alg and kid of the active key, which the caller cannot override', async () => {
    const { kid } = keys.signingKey(alg);
    const published = keys.jwks().keys.find((k) => k.kid === kid);
    expect(published?.alg).toBe(alg);
    const jws = keys.sign(alg, { typ: 'JWT', alg: 'none', kid: 'forged', x: 1 }, { a: 1 });
    expect(decodeProtectedHeader(jws)).toEqual({ alg, kid, typ: 'JWT', x: 1 });
    // `alg` and `kid` come first in the serialised header.
    expect(Object.keys(parts(jws).header)).toEqual(['alg', 'kid', 'typ', 'x']);
    await compactVerify(jws, createLocalJWKSet(keys.jwks()), { algorithms: [alg] });
  });

  it(`has a ${SIGNATURE_BYTES[alg]}-byte signature in JWS form`, () => {
    // ES256 must be raw R || S (RFC 7518 §3.4), not DER.
    for (let i = 0; i < 20; i++) {
      expect(parts(keys.sign(alg, {}, { i })).signature).toHaveLength(SIGNATURE_BYTES[alg]);
    }
  });

  it('fails verification once header, payload or signature is altered', async () => {
    const jws = keys.sign(alg, { typ: 'at+jwt' }, { sub: 'a' });
    const [h, p, s] = jws.split('.') as [string, string, string];
    const otherPayload = Buffer.from(JSON.stringify({ sub: 'b' })).toString('base64url');
    const otherHeader = Buffer.from(
      JSON.stringify({ alg, kid: keys.signingKey(alg).kid, typ: 'JWT' }),
    ).toString('base64url');
    const sig = Buffer.from(s, 'base64url');
    sig[sig.length - 1]! ^= 1;
    const jwks = createLocalJWKSet(keys.jwks());
    for (const bad of [
      `${h}.${otherPayload}.${s}`,
      `${otherHeader}.${p}.${s}`,
      `${h}.${p}.${sig.toString('base64url')}`,
    ]) {
      await expect(compactVerify(bad, jwks, { algorithms: [alg] })).rejects.toThrow();
    }
  });
});

describe('sign against jose', () => {
  it('matches jose byte for byte where the scheme is deterministic (EdDSA, RS256)', async () => {
    for (const alg of ['EdDSA', 'RS256'] as const) {
      const { kid, key } = keys.signingKey(alg);
      const payload = claims();
      const header = { alg, kid, typ: 'at+jwt' };
      const ours = keys.sign(alg, { typ: 'at+jwt' }, payload);
      const theirs = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
        .setProtectedHeader(header)
        .sign(key);
      expect(ours).toBe(theirs);
      expect(ours).toBe(await new SignJWT(payload).setProtectedHeader(header).sign(key));
    }
  });

  it('produces ES256 signatures jose accepts, and accepts jose ES256 signatures', async () => {
    const { kid, key } = keys.signingKey('ES256');
    const jwks = createLocalJWKSet(keys.jwks());
    const theirs = await new SignJWT({ a: 1 }).setProtectedHeader({ alg: 'ES256', kid }).sign(key);
    const ours = keys.sign('ES256', {}, { a: 1 });
    expect(ours.split('.').slice(0, 2)).toEqual(theirs.split('.').slice(0, 2));
    await compactVerify(ours, jwks, { algorithms: ['ES256'] });
    await compactVerify(theirs, jwks, { algorithms: ['ES256'] });
  });
});

describe('rotation and loading', () => {
  it('signs with the new key after rotate; tokens from the retired key still verify', async () => {
    const manager = await loadKeys(memoryStorage().keys, secrets);
    const before = manager.sign('EdDSA', {}, { n: 1 });
    const oldKid = manager.signingKey('EdDSA').kid;
    const fresh = await manager.rotate('EdDSA');
    expect(manager.signingKey('EdDSA').kid).toBe(fresh.kid);
    const after = manager.sign('EdDSA', {}, { n: 2 });
    expect(decodeProtectedHeader(after).kid).toBe(fresh.kid);
    const jwks = createLocalJWKSet(manager.jwks());
    await compactVerify(before, jwks, { algorithms: ['EdDSA'] });
    await compactVerify(after, jwks, { algorithms: ['EdDSA'] });
    expect(decodeProtectedHeader(before).kid).toBe(oldKid);
  });

  it('reloads stored keys and signs with them', async () => {
    const again = await loadKeys(store, secrets);
    for (const alg of SIGNING_ALGS) {
      expect(again.signingKey(alg).kid).toBe(keys.signingKey(alg).kid);
      await compactVerify(again.sign(alg, {}, { r: 1 }), createLocalJWKSet(keys.jwks()), {
        algorithms: [alg],
      });
    }
  });

  it('refuses a stored key whose type does not match its alg', async () => {
    const other = memoryStorage().keys;
    await loadKeys(other, secrets);
    const es = (await other.list()).find((k) => k.alg === 'ES256')!;
    await other.put({ ...es, kid: 'mislabelled', alg: 'EdDSA', createdAt: es.createdAt + 1 });
    await expect(loadKeys(other, secrets)).rejects.toThrow(/not a EdDSA key/);
  });

  it('refuses keys stored under another provider secret', async () => {
    await expect(
      loadKeys(store, await createSecrets('a different secret of at least 32 characters')),
    ).rejects.toThrow(/cannot be decrypted/);
  });
});
