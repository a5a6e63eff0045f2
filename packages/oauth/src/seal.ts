/**
 * AES-256-GCM sealing of short strings (cookies) with `crypto.subtle`, under keys derived from an
 * application secret with HKDF-SHA-256.
 *
 * Format: `v1.<iv>.<ciphertext+tag>`, base64url, with a random 96-bit IV. The additional
 * authenticated data binds a value to where it lives (a cookie name): moved elsewhere, it does
 * not open.
 */
import { base64url, base64urlDecode } from './encoding.js';

export interface Sealer {
  seal(plaintext: string, aad: string): Promise<string>;
  /** The plaintext, or undefined when the value is malformed, altered, or sealed elsewhere. */
  open(value: string, aad: string): Promise<string | undefined>;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** HKDF salt: fixed (the secret is already high-entropy); the `info` separates the keys. */
const SALT = new Uint8Array(32);
const encoder = new TextEncoder();
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A sealer under the key HKDF-SHA-256 derives from `secret` with `info` (one `info` per purpose,
 * so a value sealed for one purpose never opens for another). The key is derived on first use.
 */
export function sealer(secret: string, info: string): Sealer {
  let key: Promise<CryptoKey> | undefined;
  const getKey = () => {
    key ??= deriveKey(secret, info);
    return key;
  };
  return {
    async seal(plaintext, aad) {
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const body = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: encoder.encode(aad) },
        await getKey(),
        encoder.encode(plaintext),
      );
      return `v1.${base64url(iv)}.${base64url(new Uint8Array(body))}`;
    },
    async open(value, aad) {
      const [version, iv, body, extra] = value.split('.');
      if (version !== 'v1' || iv === undefined || body === undefined || extra !== undefined) {
        return undefined;
      }
      try {
        const ivBytes = base64urlDecode(iv);
        const data = base64urlDecode(body);
        if (ivBytes.length !== IV_BYTES || data.length < TAG_BYTES) return undefined;
        const plain = await crypto.subtle.decrypt(
          { name: 'AES-GCM', iv: ivBytes, additionalData: encoder.encode(aad) },
          await getKey(),
          data,
        );
        return UTF8.decode(plain);
      } catch {
        // Not base64url, wrong key, altered, moved from another cookie, or not UTF-8.
        return undefined;
      }
    },
  };
}

async function deriveKey(secret: string, info: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, [
    'deriveKey',
  ]);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: SALT, info: encoder.encode(info) },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}
