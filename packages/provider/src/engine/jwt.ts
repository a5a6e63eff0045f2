/** Signing the provider's JWTs and verifying the ones it issued itself (id_token_hint, access tokens). */
import { hash } from 'node:crypto';
import { OAuthError } from '@gatehouse/oauth';
import { compactVerify, decodeProtectedHeader, type JWTPayload } from 'jose';
import type { SigningAlg } from '../storage/types.js';
import type { Engine } from './context.js';

/**
 * Signs `payload` with the active key for `alg` (header `alg`, `kid` and `typ` when given). The
 * signature is computed synchronously with `node:crypto`; the function stays `async` so that a
 * failure is a rejection, as callers expect.
 */
export async function signJwt(
  engine: Engine,
  alg: SigningAlg,
  typ: string | undefined,
  payload: JWTPayload,
): Promise<string> {
  return engine.keys.sign(alg, typ ? { typ } : {}, payload);
}

const decoder = new TextDecoder();
const OWN_ALGS = new Set(['EdDSA', 'ES256', 'RS256']);

/**
 * Verifies a JWT signed by one of the provider's keys and returns its claims. Checks signature,
 * `iss`, `typ` (when given) and — unless `allowExpired` — `exp`. Any failure is `invalid`.
 */
export async function verifyOwnJwt(
  engine: Engine,
  token: string,
  options: { typ?: string; allowExpired?: boolean },
): Promise<JWTPayload> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new InvalidJwt('not a JWT');
  }
  // Header values come from an attacker: check their types before using them at all.
  const { kid, alg } = header as { kid?: unknown; alg?: unknown };
  if (typeof kid !== 'string' || typeof alg !== 'string' || !OWN_ALGS.has(alg)) {
    throw new InvalidJwt('unexpected header');
  }
  if (
    options.typ !== undefined &&
    (typeof header.typ !== 'string' || header.typ.toLowerCase() !== options.typ)
  )
    throw new InvalidJwt('wrong typ');
  const key = await engine.keys.publicKey(kid);
  if (!key) throw new InvalidJwt('unknown key');
  let payload: JWTPayload;
  try {
    const result = await compactVerify(token, key, { algorithms: [alg] });
    payload = JSON.parse(decoder.decode(result.payload)) as JWTPayload;
  } catch {
    throw new InvalidJwt('signature');
  }
  if (typeof payload !== 'object' || payload === null) throw new InvalidJwt('payload');
  if (payload.iss !== engine.config.issuer) throw new InvalidJwt('issuer');
  if (!options.allowExpired) {
    if (typeof payload.exp !== 'number' || payload.exp * 1000 <= engine.now())
      throw new InvalidJwt('expired');
  }
  return payload;
}

/** A JWT the provider did not accept; `reason` is for logs. */
export class InvalidJwt extends OAuthError {
  constructor(reason: string) {
    super('invalid_token', 'the token is not valid', { detail: reason });
  }
}

/** OIDC `at_hash`: left half of the hash of the access token, with the hash of the signing alg. */
export async function halfHash(alg: SigningAlg, value: string): Promise<string> {
  // EdDSA with Ed25519 uses SHA-512, as the OpenID Foundation's guidance for EdDSA prescribes.
  const digest = hash(alg === 'EdDSA' ? 'sha512' : 'sha256', value, 'buffer');
  return digest.subarray(0, digest.length / 2).toString('base64url');
}
