/**
 * The node:crypto Secrets against the WebCrypto implementation it replaced: same derived key
 * bytes, same hashes, same sealed format — so stored client-secret hashes, token hashes and
 * encrypted signing keys stay valid.
 */
import { base64url, base64urlDecode } from '@gatehouse/oauth';
import { describe, expect, it } from 'vitest';
import { createSecrets, deriveSecretKey } from './secrets.js';

const SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** Produced by the WebCrypto implementation (before the switch to node:crypto) for SECRET. */
const OLD = {
  hashClientSecret_s: 'FCvKnW10Zt7_YWDp592KTvJRXia7HvOfVxzJ4sd3mIU',
  hashToken_t: 'jzDyWt5ViGZjMAZn6RR_TYqh3seXSQrt5SPyOFWvw7c',
  sealedHello: 'v1.DgLAY56IFEkOXvr1.yEPl4OFqOsm2Ar5sR623w7WRDNIQ',
};

const LABELS = [
  ['gatehouse/v1/key-encryption', { name: 'AES-GCM', length: 256 }, 32],
  ['gatehouse/v1/client-secret', { name: 'HMAC', hash: 'SHA-256' }, 64],
  ['gatehouse/v1/token-hash', { name: 'HMAC', hash: 'SHA-256' }, 64],
] as const;

const encoder = new TextEncoder();

/** The former derivation: WebCrypto HKDF-SHA-256, 32 zero bytes of salt, `deriveKey`. */
async function webCryptoKey(
  secret: string,
  info: string,
  algorithm: AesKeyGenParams | HmacImportParams,
  extractable = true,
): Promise<CryptoKey> {
  const master = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, [
    'deriveKey',
  ]);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: encoder.encode(info) },
    master,
    algorithm,
    extractable,
    algorithm.name === 'HMAC' ? ['sign'] : ['encrypt', 'decrypt'],
  );
}

describe('key derivation', () => {
  it.each([
    SECRET,
    'another secret of at least thirty-two characters',
    'ünïcödé sêcret — with emoji 🔑 and more characters',
  ])('gives the bytes WebCrypto deriveKey gave (%s)', async (secret) => {
    for (const [info, algorithm, length] of LABELS) {
      const old = new Uint8Array(
        await crypto.subtle.exportKey('raw', await webCryptoKey(secret, info, algorithm)),
      );
      // WebCrypto's HMAC keys default to the hash's block size: 64 bytes for SHA-256.
      expect(old).toHaveLength(length);
      expect(new Uint8Array(deriveSecretKey(secret, info, length).export())).toEqual(old);
    }
  });
});

describe('createSecrets', () => {
  it('reproduces the hashes stored by the WebCrypto implementation', async () => {
    const s = await createSecrets(SECRET);
    expect(await s.hashClientSecret('s')).toBe(OLD.hashClientSecret_s);
    expect(await s.hashToken('t')).toBe(OLD.hashToken_t);
    expect(await s.verifyClientSecret('s', OLD.hashClientSecret_s)).toBe(true);
  });

  it('hashes exactly as WebCrypto HMAC under the formerly derived keys', async () => {
    const s = await createSecrets(SECRET);
    const clientKey = await webCryptoKey(SECRET, LABELS[1][0], LABELS[1][1], false);
    const tokenKey = await webCryptoKey(SECRET, LABELS[2][0], LABELS[2][1], false);
    const hmac = async (key: CryptoKey, value: string) =>
      base64url(new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(value))));
    for (const value of ['', 'x', 'a'.repeat(43), 'héllo wörld 🌍', crypto.randomUUID()]) {
      expect(await s.hashClientSecret(value)).toBe(await hmac(clientKey, value));
      expect(await s.hashToken(value)).toBe(await hmac(tokenKey, value));
    }
    expect(await s.hashToken('t')).not.toBe(await s.hashClientSecret('t'));
  });

  it('decrypts a value sealed by the WebCrypto implementation', async () => {
    const s = await createSecrets(SECRET);
    expect(await s.decrypt(OLD.sealedHello)).toBe('hello');
  });

  it('keeps the sealed layout v1.<iv>.<ciphertext || tag> in both directions', async () => {
    const s = await createSecrets(SECRET);
    const aes = await webCryptoKey(SECRET, LABELS[0][0], LABELS[0][1], false);
    const text = JSON.stringify({ kty: 'OKP', d: 'secret', note: 'ünïcödé 🔑' });

    const sealed = await s.encrypt(text);
    const [version, iv, ct] = sealed.split('.');
    expect(version).toBe('v1');
    expect(base64urlDecode(iv!)).toHaveLength(12);
    expect(base64urlDecode(ct!)).toHaveLength(encoder.encode(text).length + 16);
    const opened = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: base64urlDecode(iv!) },
      aes,
      base64urlDecode(ct!),
    );
    expect(new TextDecoder().decode(opened)).toBe(text);

    const webIv = crypto.getRandomValues(new Uint8Array(12));
    const webCt = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: webIv },
      aes,
      encoder.encode(text),
    );
    expect(await s.decrypt(`v1.${base64url(webIv)}.${base64url(new Uint8Array(webCt))}`)).toBe(
      text,
    );
  });

  it('round-trips and uses a fresh IV each time', async () => {
    const s = await createSecrets(SECRET);
    const a = await s.encrypt('same');
    const b = await s.encrypt('same');
    expect(a).not.toBe(b);
    expect(await s.decrypt(a)).toBe('same');
    expect(await s.decrypt(await s.encrypt(''))).toBe('');
  });

  it('refuses tampered, truncated and foreign sealed values', async () => {
    const s = await createSecrets(SECRET);
    const [, iv, ct] = OLD.sealedHello.split('.') as [string, string, string];
    const flip = (text: string, index: number) => {
      const bytes = base64urlDecode(text);
      bytes[index]! ^= 1;
      return base64url(bytes);
    };
    const bad = [
      `v1.${iv}.${flip(ct, 0)}`, // ciphertext
      `v1.${iv}.${flip(ct, base64urlDecode(ct).length - 1)}`, // tag
      `v1.${flip(iv, 0)}.${ct}`, // IV
      `v1.${iv}.${base64url(base64urlDecode(ct).subarray(0, 15))}`, // shorter than a tag
      `v1.${iv}.${base64url(base64urlDecode(ct).subarray(5))}`, // ciphertext cut
      `v2.${iv}.${ct}`,
      `v1.${iv}`,
      `v1.${iv}.${ct}.x`,
      `v1.${iv}.not*base64`,
      '',
    ];
    for (const sealed of bad) await expect(s.decrypt(sealed), sealed).rejects.toThrow();
    const other = await createSecrets('a different secret of at least 32 characters');
    await expect(other.decrypt(OLD.sealedHello)).rejects.toThrow();
  });

  it('verifies client secrets only against their own hash', async () => {
    const s = await createSecrets(SECRET);
    const hash = await s.hashClientSecret('client-secret-value');
    expect(await s.verifyClientSecret('client-secret-value', hash)).toBe(true);
    expect(await s.verifyClientSecret('client-secret-valuf', hash)).toBe(false);
    expect(await s.verifyClientSecret('client-secret-value', `${hash}x`)).toBe(false);
    expect(await s.verifyClientSecret('client-secret-value', hash.slice(1))).toBe(false);
    expect(await s.verifyClientSecret('client-secret-value', '')).toBe(false);
    expect(
      await s.verifyClientSecret('client-secret-value', await s.hashToken('client-secret-value')),
    ).toBe(false);
  });
});

describe('sealToken / openToken', () => {
  it('round-trips, under a key of its own, and refuses altered or foreign values', async () => {
    const secrets = await createSecrets('token-secret-0123456789-abcdefghijklmnopqrs');
    const other = await createSecrets('other-secret-0123456789-abcdefghijklmnopqrs');
    const sealed = secrets.sealToken('{"sub":"u1"}');
    expect(secrets.openToken(sealed)).toBe('{"sub":"u1"}');
    expect(sealed).not.toBe(secrets.sealToken('{"sub":"u1"}'));
    expect(() => other.openToken(sealed)).toThrow();
    expect(() => secrets.openToken(`${sealed.slice(0, -2)}AA`)).toThrow();
    // Not interchangeable with the key-encryption key, in either direction.
    expect(() => secrets.openToken(sealed.replace('v1', 'v2'))).toThrow();
    const keySealed = await secrets.encrypt('{"sub":"u1"}');
    expect(() => secrets.openToken(keySealed)).toThrow();
    await expect(secrets.decrypt(sealed)).rejects.toThrow();
  });
});
