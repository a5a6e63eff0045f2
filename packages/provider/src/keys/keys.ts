/**
 * Signing keys: Ed25519 (EdDSA) by default, P-256 (ES256) and RSA-2048 (RS256) for clients that
 * ask for them. Generated at first start, stored with the private part encrypted, all published
 * in the JWKS. Imported keys are cached in memory for the life of the process.
 *
 * Signing is synchronous: Ed25519 through libsodium when its binding loads (see `sodium.ts`; half
 * the CPU of OpenSSL's, same bytes), everything else on `node:crypto` (`crypto.sign`). A WebCrypto
 * signature is a job on libuv's thread pool and costs about twice the CPU. jose still generates,
 * exports and imports keys, and verifies every JWS.
 */
import { createPrivateKey, type JsonWebKey, type KeyObject, sign as nodeSign } from 'node:crypto';
import { base64url } from '@gatehouse/oauth';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { KeyStore, SigningAlg, StoredKey } from '../storage/types.js';
import type { Secrets } from './secrets.js';
import { ed25519Signer, loadSodium, type SodiumSign } from './sodium.js';

export const SIGNING_ALGS: readonly SigningAlg[] = ['EdDSA', 'ES256', 'RS256'];

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  /** The private key (jose's `SignJWT#sign` accepts a KeyObject as well). */
  key: KeyObject;
  /** The JWS signature of the signing input (for EdDSA, libsodium's or node:crypto's). */
  signature: (data: Buffer) => Buffer;
}

/** Which library makes Ed25519 signatures. */
export type Ed25519Backend = 'libsodium' | 'node:crypto';

export interface LoadKeysOptions {
  /** Sign Ed25519 with libsodium when its binding loads (default true). */
  nativeEd25519?: boolean;
}

export interface KeyManager {
  /** The active key for an algorithm. */
  signingKey(alg: SigningAlg): SigningKey;
  /**
   * A compact JWS (RFC 7515 §7.1) of `payload` as JSON, signed with the active key for `alg`.
   * The protected header is `header` with `alg` and `kid` of that key (which always win).
   */
  sign(alg: SigningAlg, header: Record<string, unknown>, payload: Record<string, unknown>): string;
  /** The public JWK Set: every stored key, active and retired. */
  jwks(): { keys: JWK[] };
  /** Public verification key by kid (for tokens the provider issued itself). */
  publicKey(kid: string): Promise<CryptoKey | undefined>;
  /** Generates a new active key for `alg`, retiring the previous one. */
  rotate(alg: SigningAlg): Promise<StoredKey>;
  /** The library that makes this manager's Ed25519 signatures. */
  readonly ed25519Backend: Ed25519Backend;
}

async function generate(alg: SigningAlg, secrets: Secrets, now: number): Promise<StoredKey> {
  const options =
    alg === 'RS256' ? { extractable: true, modulusLength: 2048 } : { extractable: true };
  const { publicKey, privateKey } = await generateKeyPair(alg, options);
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = base64url(crypto.getRandomValues(new Uint8Array(12)));
  const pub = { ...publicJwk, kid, alg, use: 'sig' };
  return {
    kid,
    alg,
    publicJwk: pub,
    encryptedPrivateJwk: await secrets.encrypt(JSON.stringify({ ...privateJwk, kid, alg })),
    createdAt: now,
    status: 'active',
  };
}

/** Whether `key` is a private key of the type `alg` signs with (Ed25519, P-256, RSA). */
function fitsAlg(key: KeyObject, alg: SigningAlg): boolean {
  switch (alg) {
    case 'EdDSA':
      return key.asymmetricKeyType === 'ed25519';
    case 'ES256':
      return (
        key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
      );
    case 'RS256':
      return (
        key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048
      );
  }
}

/** The JWS signing function of `key` (a private key that `fitsAlg(key, alg)`). */
function signatureOf(
  alg: SigningAlg,
  key: KeyObject,
  sodium: SodiumSign | undefined,
): (data: Buffer) => Buffer {
  switch (alg) {
    case 'EdDSA':
      return ed25519Signer(key, sodium);
    case 'ES256':
      // JWS wants the raw 64-byte R || S (RFC 7518 §3.4), not DER.
      return (data) => nodeSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      // RSASSA-PKCS1-v1_5, the default padding for an `rsa` key.
      return (data) => nodeSign('sha256', data, key);
  }
}

const json64 = (value: unknown): string =>
  Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/**
 * Loads the stored keys, generating an active key for each algorithm that has none, and returns a
 * manager over them.
 */
export async function loadKeys(
  store: KeyStore,
  secrets: Secrets,
  now: () => number = Date.now,
  options: LoadKeysOptions = {},
): Promise<KeyManager> {
  const sodium = options.nativeEd25519 === false ? undefined : loadSodium();
  let stored = await store.list();
  for (const alg of SIGNING_ALGS) {
    if (!stored.some((k) => k.alg === alg && k.status === 'active')) {
      await store.put(await generate(alg, secrets, now()));
    }
  }
  stored = await store.list();

  const active = new Map<SigningAlg, SigningKey>();
  const publicKeys = new Map<string, CryptoKey>();
  let jwks: { keys: JWK[] } = { keys: [] };

  async function index(keys: StoredKey[]): Promise<void> {
    const fresh = new Map<SigningAlg, Omit<SigningKey, 'signature'>>();
    for (const k of keys) {
      if (k.status !== 'active') continue;
      let privateJwk: JWK;
      try {
        privateJwk = JSON.parse(await secrets.decrypt(k.encryptedPrivateJwk)) as JWK;
      } catch {
        throw new Error(
          `signing key ${k.kid} cannot be decrypted: the provider secret (GATEHOUSE_SECRET or .gatehouse/secret) differs from the one it was stored with`,
        );
      }
      const key = createPrivateKey({ key: privateJwk as JsonWebKey, format: 'jwk' });
      if (!fitsAlg(key, k.alg)) throw new Error(`signing key ${k.kid} is not a ${k.alg} key`);
      const current = fresh.get(k.alg);
      // The newest active key of each algorithm signs.
      if (!current || (keys.find((x) => x.kid === current.kid)?.createdAt ?? 0) <= k.createdAt) {
        fresh.set(k.alg, { kid: k.kid, alg: k.alg, key });
      }
    }
    // Signing functions only for the keys that sign (libsodium copies each such key once).
    const signers = [...fresh].map(
      ([alg, k]) => [alg, { ...k, signature: signatureOf(alg, k.key, sodium) }] as const,
    );
    // Swap only once every key has loaded, so a failure leaves the previous keys in place.
    active.clear();
    for (const [alg, k] of signers) active.set(alg, k);
    publicKeys.clear();
    jwks = { keys: keys.map((k) => k.publicJwk as JWK) };
  }
  await index(stored);

  function signingKey(alg: SigningAlg): SigningKey {
    const key = active.get(alg);
    if (!key) throw new Error(`no active ${alg} signing key`);
    return key;
  }

  return {
    signingKey,
    sign(alg, header, payload) {
      const { kid, signature } = signingKey(alg);
      // `alg` and `kid` lead the header and cannot be overridden by the caller.
      const protectedHeader = { alg, kid, ...header };
      protectedHeader.alg = alg;
      protectedHeader.kid = kid;
      const input = `${json64(protectedHeader)}.${json64(payload)}`;
      return `${input}.${signature(Buffer.from(input, 'latin1')).toString('base64url')}`;
    },
    jwks: () => jwks,
    ed25519Backend: sodium ? 'libsodium' : 'node:crypto',
    async publicKey(kid) {
      const cached = publicKeys.get(kid);
      if (cached) return cached;
      const jwk = jwks.keys.find((k) => k.kid === kid);
      if (!jwk) return undefined;
      const key = (await importJWK(jwk, jwk.alg)) as CryptoKey;
      publicKeys.set(kid, key);
      return key;
    },
    async rotate(alg) {
      const fresh = await generate(alg, secrets, now());
      for (const k of await store.list()) {
        if (k.alg === alg && k.status === 'active') await store.put({ ...k, status: 'retired' });
      }
      await store.put(fresh);
      await index(await store.list());
      return fresh;
    },
  };
}
