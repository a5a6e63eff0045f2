/**
 * Ed25519 through libsodium must be a pure cost change: the same signature bytes as node:crypto
 * (Ed25519 is deterministic), for every key and message. This suite also pins that the binding
 * does load here, so the fast path cannot fall away unnoticed (CI installs optional dependencies).
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryStorage } from '../storage/memory.js';
import { loadKeys } from './keys.js';
import { createSecrets } from './secrets.js';
import { ed25519Signer, loadSodium } from './sodium.js';

const SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

describe('loadSodium', () => {
  it('loads sodium-native here (the optional dependency is installed), once', () => {
    const sodium = loadSodium();
    expect(sodium).toBeDefined();
    expect(loadSodium()).toBe(sodium);
    expect(sodium?.crypto_sign_BYTES).toBe(64);
  });
});

describe('ed25519Signer', () => {
  const sodium = loadSodium();

  it('signs with libsodium exactly as node:crypto does, for any key and message', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 2048 }),
        (seed, message) => {
          // A private key from a chosen seed: PKCS#8 prefix for Ed25519 (RFC 8410) + 32 bytes.
          const der = Buffer.concat([
            Buffer.from('302e020100300506032b657004220420', 'hex'),
            Buffer.from(seed),
          ]);
          const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
          const data = Buffer.from(message);
          const ours = ed25519Signer(privateKey, sodium)(data);
          expect(ours.equals(sign(null, data, privateKey))).toBe(true);
          expect(verify(null, data, privateKey, ours)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('without libsodium, signs with node:crypto', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const data = randomBytes(100);
    const signature = ed25519Signer(privateKey, undefined)(data);
    expect(signature.equals(sign(null, data, privateKey))).toBe(true);
    expect(verify(null, data, publicKey, signature)).toBe(true);
  });

  it('returns a fresh buffer per signature', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const signEd = ed25519Signer(privateKey, sodium);
    const a = signEd(Buffer.from('a'));
    const b = signEd(Buffer.from('b'));
    expect(a.equals(b)).toBe(false);
    expect(a.equals(sign(null, Buffer.from('a'), privateKey))).toBe(true);
  });

  it('refuses a key that is not an Ed25519 private key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => ed25519Signer(publicKey, sodium)).toThrow(TypeError);
    expect(() => ed25519Signer(ec.privateKey, sodium)).toThrow(TypeError);
    expect(() => ed25519Signer(privateKey, sodium)).not.toThrow();
  });
});

describe('loadKeys and the Ed25519 backend', () => {
  it('uses libsodium by default and node:crypto with nativeEd25519: false; both sign alike', async () => {
    const secrets = await createSecrets(SECRET);
    const store = memoryStorage().keys;
    const native = await loadKeys(store, secrets);
    const plain = await loadKeys(store, secrets, Date.now, { nativeEd25519: false });
    expect(native.ed25519Backend).toBe('libsodium');
    expect(plain.ed25519Backend).toBe('node:crypto');
    const payload = { sub: 'user-1', iat: 1_800_000_000, nonce: 'ü🌍' };
    expect(native.sign('EdDSA', { typ: 'JWT' }, payload)).toBe(
      plain.sign('EdDSA', { typ: 'JWT' }, payload),
    );
  });
});
