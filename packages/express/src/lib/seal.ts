/**
 * AES-256-GCM sealing of short strings (session cookies, tokens in a session store), under keys
 * derived from the application's secret with HKDF-SHA-256 — one key per purpose, so a value
 * sealed for one purpose never opens for another.
 *
 * Format: `v1.<iv>.<ciphertext+tag>`, base64url, with a random 96-bit IV. The additional
 * authenticated data binds a value to where it lives (the cookie name, the session id): moved
 * elsewhere, it does not open.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export interface Sealer {
  seal(plaintext: string, aad: string): string;
  /** The plaintext, or undefined when the value is malformed, altered, or sealed elsewhere. */
  open(value: string, aad: string): string | undefined;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** HKDF salt: fixed (the secret is already high-entropy); the `info` separates the keys. */
const SALT = Buffer.alloc(32);
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function sealer(secret: string, purpose: string): Sealer {
  const key = Buffer.from(hkdfSync('sha256', secret, SALT, `gatehouse-express ${purpose} v1`, 32));
  return {
    seal(plaintext, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(aad, 'utf8'));
      const body = Buffer.concat([
        cipher.update(plaintext, 'utf8'),
        cipher.final(),
        cipher.getAuthTag(),
      ]);
      return `v1.${iv.toString('base64url')}.${body.toString('base64url')}`;
    },
    open(value, aad) {
      const [version, iv, body, extra] = value.split('.');
      if (version !== 'v1' || iv === undefined || body === undefined || extra !== undefined) {
        return undefined;
      }
      if (!BASE64URL.test(iv) || !BASE64URL.test(body)) return undefined;
      const ivBytes = Buffer.from(iv, 'base64url');
      const data = Buffer.from(body, 'base64url');
      if (ivBytes.length !== IV_BYTES || data.length < TAG_BYTES) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, ivBytes);
        decipher.setAAD(Buffer.from(aad, 'utf8'));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        const plain = Buffer.concat([
          decipher.update(data.subarray(0, data.length - TAG_BYTES)),
          decipher.final(),
        ]);
        return UTF8.decode(plain);
      } catch {
        return undefined;
      }
    },
  };
}
