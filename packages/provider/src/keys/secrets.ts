/**
 * Keys derived from the provider secret (HKDF-SHA-256): one encrypts private signing keys at rest
 * (AES-256-GCM), one keys the hash under which client secrets are stored (HMAC-SHA-256: client
 * secrets are high-entropy, so a fast keyed hash is the right tool), one keys the hash of tokens
 * and codes.
 *
 * Runs on synchronous `node:crypto`: these are on the hot path of every token request, and each
 * WebCrypto call is a job on libuv's thread pool that costs several times the work itself. The
 * key bytes, hashes and sealed format are the ones the earlier WebCrypto implementation produced
 * (`deriveKey` to HMAC-SHA-256 without a length gives a key of the hash's block size, 64 bytes),
 * so stored hashes and encrypted keys stay valid.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

export interface Secrets {
  /** Encrypts a string with AES-256-GCM; output is `v1.<iv>.<ciphertext>` in base64url. */
  encrypt(plaintext: string): Promise<string>;
  decrypt(sealed: string): Promise<string>;
  /** Keyed hash of a client secret, for storage and comparison. */
  hashClientSecret(secret: string): Promise<string>;
  verifyClientSecret(secret: string, hash: string): Promise<boolean>;
  /** Keyed hash for tokens and codes (the storage key of single-use artifacts). */
  hashToken(token: string): Promise<string>;
  /**
   * Seals a self-contained token (an opaque access token) with AES-256-GCM under a key of its
   * own: the holder can neither read nor alter it. Same `v1.<iv>.<ciphertext>` format.
   */
  sealToken(plaintext: string): string;
  /** Opens a sealed token; throws when it was not sealed by this provider or was altered. */
  openToken(sealed: string): string;
}

/** HKDF salt: 32 zero bytes (fixed; changing it would invalidate every stored hash and key). */
const SALT = new Uint8Array(32);
const AES_KEY_BYTES = 32;
/** HMAC-SHA-256 keys are one SHA-256 block long, as WebCrypto's default HMAC key length was. */
const HMAC_KEY_BYTES = 64;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** HKDF-SHA-256 of the secret's UTF-8 bytes, as a secret KeyObject of `length` bytes. */
export function deriveSecretKey(secret: string, info: string, length: number): KeyObject {
  return createSecretKey(
    new Uint8Array(hkdfSync('sha256', Buffer.from(secret, 'utf8'), SALT, info, length)),
  );
}

/** AES-256-GCM, in the layout WebCrypto used: `v1.<iv>.<ciphertext with its tag>`. */
function seal(key: KeyObject, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  // WebCrypto's layout: the tag follows the ciphertext in one field.
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `v1.${iv.toString('base64url')}.${ct.toString('base64url')}`;
}

function open(key: KeyObject, sealed: string): string {
  const [version, iv, ct, extra] = sealed.split('.');
  if (version !== 'v1' || !iv || !ct || extra !== undefined) {
    throw new Error('unrecognised sealed value');
  }
  const ivBytes = Buffer.from(iv, 'base64url');
  const data = Buffer.from(ct, 'base64url');
  if (ivBytes.length !== IV_BYTES || data.length < TAG_BYTES) {
    throw new Error('unrecognised sealed value');
  }
  const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  const pt = Buffer.concat([
    decipher.update(data.subarray(0, data.length - TAG_BYTES)),
    decipher.final(), // throws when the tag does not match
  ]);
  return pt.toString('utf8');
}

/** Derives the provider's keys from its secret (at least 32 characters). */
export async function createSecrets(secret: string): Promise<Secrets> {
  const aes = deriveSecretKey(secret, 'gatehouse/v1/key-encryption', AES_KEY_BYTES);
  const clientSecretKey = deriveSecretKey(secret, 'gatehouse/v1/client-secret', HMAC_KEY_BYTES);
  const tokenKey = deriveSecretKey(secret, 'gatehouse/v1/token-hash', HMAC_KEY_BYTES);
  const accessTokenKey = deriveSecretKey(secret, 'gatehouse/v1/access-token', AES_KEY_BYTES);
  const hmac = (key: KeyObject, value: string): string =>
    createHmac('sha256', key).update(value, 'utf8').digest('base64url');

  return {
    async encrypt(plaintext) {
      return seal(aes, plaintext);
    },
    async decrypt(sealed) {
      return open(aes, sealed);
    },
    sealToken: (plaintext) => seal(accessTokenKey, plaintext),
    openToken: (sealed) => open(accessTokenKey, sealed),
    async hashClientSecret(value) {
      return hmac(clientSecretKey, value);
    },
    async verifyClientSecret(value, hash) {
      const actual = Buffer.from(hmac(clientSecretKey, value), 'utf8');
      const expected = Buffer.from(hash, 'utf8');
      // The length of a stored hash is public (43 characters); only the content is compared in
      // constant time.
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    },
    async hashToken(token) {
      return hmac(tokenKey, token);
    },
  };
}
