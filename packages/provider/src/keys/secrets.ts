/**
 * Keys derived from the provider secret (HKDF-SHA-256, WebCrypto): one encrypts private signing
 * keys at rest (AES-256-GCM), one keys the hash under which client secrets are stored
 * (HMAC-SHA-256: client secrets are high-entropy, so a fast keyed hash is the right tool).
 */
import { base64url, base64urlDecode, timingSafeEqual } from '@gatehouse/oauth';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface Secrets {
  /** Encrypts a string with AES-256-GCM; output is `v1.<iv>.<ciphertext>` in base64url. */
  encrypt(plaintext: string): Promise<string>;
  decrypt(sealed: string): Promise<string>;
  /** Keyed hash of a client secret, for storage and comparison. */
  hashClientSecret(secret: string): Promise<string>;
  verifyClientSecret(secret: string, hash: string): Promise<boolean>;
  /** Keyed hash for tokens and codes (the storage key of single-use artifacts). */
  hashToken(token: string): Promise<string>;
}

async function derive(
  master: CryptoKey,
  info: string,
  algorithm: AesKeyGenParams | HmacImportParams,
  usages: KeyUsage[],
): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: encoder.encode(info) },
    master,
    algorithm,
    false,
    usages,
  );
}

/** Derives the provider's keys from its secret (at least 32 characters). */
export async function createSecrets(secret: string): Promise<Secrets> {
  const master = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, [
    'deriveKey',
  ]);
  const aes = await derive(
    master,
    'gatehouse/v1/key-encryption',
    { name: 'AES-GCM', length: 256 },
    ['encrypt', 'decrypt'],
  );
  const clientSecretKey = await derive(
    master,
    'gatehouse/v1/client-secret',
    { name: 'HMAC', hash: 'SHA-256' },
    ['sign'],
  );
  const tokenKey = await derive(
    master,
    'gatehouse/v1/token-hash',
    { name: 'HMAC', hash: 'SHA-256' },
    ['sign'],
  );
  const hmac = async (key: CryptoKey, value: string) =>
    base64url(new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(value))));

  return {
    async encrypt(plaintext) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ct = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv },
        aes,
        encoder.encode(plaintext),
      );
      return `v1.${base64url(iv)}.${base64url(new Uint8Array(ct))}`;
    },
    async decrypt(sealed) {
      const [version, iv, ct] = sealed.split('.');
      if (version !== 'v1' || !iv || !ct) throw new Error('unrecognised sealed value');
      const pt = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: base64urlDecode(iv) },
        aes,
        base64urlDecode(ct),
      );
      return decoder.decode(pt);
    },
    hashClientSecret: (secret) => hmac(clientSecretKey, secret),
    async verifyClientSecret(secret, hash) {
      return timingSafeEqual(await hmac(clientSecretKey, secret), hash);
    },
    hashToken: (token) => hmac(tokenKey, token),
  };
}
