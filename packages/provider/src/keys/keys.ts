/**
 * Signing keys: Ed25519 (EdDSA) by default, P-256 (ES256) and RSA-2048 (RS256) for clients that
 * ask for them. Generated at first start, stored with the private part encrypted, all published
 * in the JWKS. Imported keys are cached in memory for the life of the process.
 */
import { base64url } from '@gatehouse/oauth';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { KeyStore, SigningAlg, StoredKey } from '../storage/types.js';
import type { Secrets } from './secrets.js';

export const SIGNING_ALGS: readonly SigningAlg[] = ['EdDSA', 'ES256', 'RS256'];

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  key: CryptoKey;
}

export interface KeyManager {
  /** The active key for an algorithm. */
  signingKey(alg: SigningAlg): SigningKey;
  /** The public JWK Set: every stored key, active and retired. */
  jwks(): { keys: JWK[] };
  /** Public verification key by kid (for tokens the provider issued itself). */
  publicKey(kid: string): Promise<CryptoKey | undefined>;
  /** Generates a new active key for `alg`, retiring the previous one. */
  rotate(alg: SigningAlg): Promise<StoredKey>;
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

/**
 * Loads the stored keys, generating an active key for each algorithm that has none, and returns a
 * manager over them.
 */
export async function loadKeys(
  store: KeyStore,
  secrets: Secrets,
  now: () => number = Date.now,
): Promise<KeyManager> {
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
    active.clear();
    publicKeys.clear();
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
      const key = (await importJWK(privateJwk, k.alg)) as CryptoKey;
      const current = active.get(k.alg);
      // The newest active key of each algorithm signs.
      if (!current || (keys.find((x) => x.kid === current.kid)?.createdAt ?? 0) <= k.createdAt) {
        active.set(k.alg, { kid: k.kid, alg: k.alg, key });
      }
    }
    jwks = { keys: keys.map((k) => k.publicJwk as JWK) };
  }
  await index(stored);

  return {
    signingKey(alg) {
      const key = active.get(alg);
      if (!key) throw new Error(`no active ${alg} signing key`);
      return key;
    },
    jwks: () => jwks,
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
