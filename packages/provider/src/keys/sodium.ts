/**
 * Ed25519 signing through libsodium, when its binding (`sodium-native`, an optional dependency)
 * is installed and loads on this platform.
 *
 * Why: an Ed25519 signature costs about 20 µs in libsodium and about 40 µs in the OpenSSL that
 * Node.js bundles (3.0 in Node 20, 3.5 in Node 24), and the token endpoint signs twice per code
 * exchange (ID token, JWT access token). Ed25519 signatures are deterministic (RFC 8032 §5.1.6), so
 * both libraries produce the same bytes for the same key and message: the choice changes the cost,
 * never the output. `ed25519.test.ts` checks that they agree.
 *
 * When the binding is absent or does not load, or the operator sets `nativeEd25519: false`,
 * signing stays on `node:crypto`.
 */
import { type KeyObject, sign as nodeSign } from 'node:crypto';
import { createRequire } from 'node:module';

/** The part of sodium-native's API used here. */
export interface SodiumSign {
  crypto_sign_BYTES: number;
  crypto_sign_SECRETKEYBYTES: number;
  crypto_sign_detached(signature: Buffer, message: Buffer, secretKey: Buffer): void;
  sodium_malloc(size: number): Buffer;
}

let loaded: SodiumSign | null | undefined;

/** sodium-native, or `undefined` when it is not installed or does not load here. Loaded once. */
export function loadSodium(): SodiumSign | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('sodium-native') as SodiumSign;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

/** Signs `data` with one Ed25519 private key; returns the 64-byte signature. */
export type Ed25519Sign = (data: Buffer) => Buffer;

/**
 * A signing function for the Ed25519 private key `key`: libsodium's when `sodium` is given,
 * `node:crypto`'s otherwise. The libsodium secret key (seed ‖ public key) is kept in memory that
 * libsodium allocates with guard pages and `mlock`, and is never exported again.
 */
export function ed25519Signer(key: KeyObject, sodium: SodiumSign | undefined): Ed25519Sign {
  if (key.asymmetricKeyType !== 'ed25519' || key.type !== 'private') {
    throw new TypeError('ed25519Signer needs an Ed25519 private key');
  }
  if (!sodium) return (data) => nodeSign(null, data, key);
  const { d, x } = key.export({ format: 'jwk' });
  const secretKey = sodium.sodium_malloc(sodium.crypto_sign_SECRETKEYBYTES);
  const seed = Buffer.from(d as string, 'base64url');
  const publicKey = Buffer.from(x as string, 'base64url');
  seed.copy(secretKey, 0);
  publicKey.copy(secretKey, 32);
  seed.fill(0);
  const bytes = sodium.crypto_sign_BYTES;
  return (data) => {
    const signature = Buffer.allocUnsafe(bytes);
    sodium.crypto_sign_detached(signature, data, secretKey);
    return signature;
  };
}
