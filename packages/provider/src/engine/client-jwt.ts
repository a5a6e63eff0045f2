/**
 * JWTs that a client signs: request objects (JAR, RFC 9101) and client assertions
 * (`private_key_jwt` and `client_secret_jwt`, RFC 7523 / OIDC Core §9). This module checks the
 * signature with the client's key — HS256 with its secret, or EdDSA / ES256 / RS256 with a public
 * key it registered (`jwks`, or `jwks_uri` fetched through the provider's cache) — and leaves the
 * claims to the caller, whose rules differ.
 */
import { compactVerify, decodeProtectedHeader, importJWK, type JWK, type JWTPayload } from 'jose';
import type { CLIENT_JWT_ALGS } from '../config/schema.js';
import { type JsonWebKeySet, JwksFetchError } from '../keys/client-jwks.js';
import type { Client } from '../storage/types.js';
import type { Engine } from './context.js';

export type ClientJwtAlg = (typeof CLIENT_JWT_ALGS)[number];

export const ASYMMETRIC_ALGS: readonly ClientJwtAlg[] = ['EdDSA', 'Ed25519', 'ES256', 'RS256'];

/** The key each asymmetric algorithm verifies with. `Ed25519` is RFC 9864's name for EdDSA. */
const KEY_FOR_ALG: Record<string, { kty: string; crv?: string }> = {
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
  Ed25519: { kty: 'OKP', crv: 'Ed25519' },
  ES256: { kty: 'EC', crv: 'P-256' },
  RS256: { kty: 'RSA' },
};

function sameAlg(a: string, b: string): boolean {
  return a === b || (KEY_FOR_ALG[a]?.kty === 'OKP' && KEY_FOR_ALG[b]?.kty === 'OKP');
}

/**
 * A client-signed JWT that was not accepted. `message` is safe to show the client developer;
 * `reason` is a short tag for logs.
 */
export class ClientJwtError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ClientJwtError';
  }
}

/** Whether the client has a public key registered (inline or by URL). */
export function hasClientKeys(client: Client): boolean {
  return client.jwks !== undefined || client.jwks_uri !== undefined;
}

/**
 * The algorithms a client can sign with, out of `wanted`: HS256 needs its secret (kept sealed for
 * this purpose), the others a registered key. `pinned` (registration metadata) narrows to one.
 */
export function usableAlgs(
  client: Client,
  wanted: readonly ClientJwtAlg[],
  pinned: ClientJwtAlg | undefined,
): ClientJwtAlg[] {
  return wanted.filter(
    (alg) =>
      (pinned === undefined || sameAlg(alg, pinned)) &&
      (alg === 'HS256' ? client.client_secret_sealed !== undefined : hasClientKeys(client)),
  );
}

export interface VerifiedClientJwt {
  header: { alg: ClientJwtAlg; typ?: string; kid?: string };
  payload: JWTPayload;
}

const decoder = new TextDecoder();

/**
 * Verifies the signature of a compact JWS that `client` signed with one of `algs`, and returns
 * its header and claims (unchecked). `typ`, when given, lists the header types accepted (compared
 * case-insensitively; an absent `typ` is accepted unless `requireTyp`).
 */
export async function verifyClientJwt(
  engine: Engine,
  client: Client,
  jwt: string,
  options: { algs: readonly ClientJwtAlg[]; typ?: readonly string[]; what: string },
): Promise<VerifiedClientJwt> {
  const parts = jwt.split('.');
  if (parts.length === 5) {
    throw new ClientJwtError('encrypted', `encrypted ${options.what}s are not supported; sign it`);
  }
  let raw: Record<string, unknown>;
  try {
    if (parts.length !== 3) throw new Error('parts');
    raw = decodeProtectedHeader(jwt) as Record<string, unknown>;
  } catch {
    throw new ClientJwtError('malformed', `the ${options.what} is not a signed JWT`);
  }
  // Header values come from the sender: check their types before using them.
  const { alg, typ, kid } = raw;
  if (typeof alg !== 'string' || alg.toLowerCase() === 'none') {
    throw new ClientJwtError(
      'alg_none',
      `the ${options.what} must be signed (alg "none" is refused)`,
    );
  }
  if (!(options.algs as readonly string[]).includes(alg)) {
    throw new ClientJwtError(
      'alg',
      options.algs.length === 0
        ? `the client has no key or secret registered to sign a ${options.what}`
        : `the ${options.what} is signed with ${alg}; this client may use ${options.algs.join(', ')}`,
    );
  }
  if (kid !== undefined && typeof kid !== 'string') {
    throw new ClientJwtError('header', `the ${options.what} has an invalid kid`);
  }
  if (typ !== undefined) {
    if (
      typeof typ !== 'string' ||
      (options.typ !== undefined && !options.typ.includes(typ.toLowerCase()))
    ) {
      throw new ClientJwtError('typ', `the ${options.what} has an unexpected typ header`);
    }
  }
  const header = {
    alg: alg as ClientJwtAlg,
    ...(typeof typ === 'string' ? { typ } : {}),
    ...(typeof kid === 'string' ? { kid } : {}),
  };
  const payload =
    alg === 'HS256'
      ? await verifyWithSecret(engine, client, jwt, options.what)
      : await verifyWithKeys(engine, client, jwt, header, options.what);
  return { header, payload };
}

async function verifyWithSecret(
  engine: Engine,
  client: Client,
  jwt: string,
  what: string,
): Promise<JWTPayload> {
  const secret = Buffer.from(await engine.secrets.decrypt(client.client_secret_sealed!), 'utf8');
  return verifyWith(jwt, [secret], 'HS256', what);
}

type Header = VerifiedClientJwt['header'];

async function verifyWithKeys(
  engine: Engine,
  client: Client,
  jwt: string,
  header: Header,
  what: string,
): Promise<JWTPayload> {
  if (client.jwks !== undefined) {
    return verifyWith(jwt, await candidateKeys(client.jwks, header, what), header.alg, what);
  }
  const uri = client.jwks_uri!;
  let keys = await candidateKeys(await fetchKeys(engine, uri, false), header, what);
  // The client may have rotated its keys since the set was cached: fetch again (at most once per
  // cooldown) when no cached key fits.
  if (keys.length === 0)
    keys = await candidateKeys(await fetchKeys(engine, uri, true), header, what);
  return verifyWith(jwt, keys, header.alg, what);
}

/**
 * The client's keys that could have signed a JWT with this header: the `kid` when it names one,
 * the key type and curve of the algorithm, `use` sig (or none), a matching `alg` (or none).
 */
async function candidateKeys(
  jwks: JsonWebKeySet,
  header: Header,
  what: string,
): Promise<CryptoKey[]> {
  const wanted = KEY_FOR_ALG[header.alg]!;
  const fitting = jwks.keys.filter(
    (jwk) =>
      (header.kid === undefined || jwk['kid'] === header.kid) &&
      jwk['kty'] === wanted.kty &&
      (wanted.crv === undefined || jwk['crv'] === wanted.crv) &&
      (jwk['use'] === undefined || jwk['use'] === 'sig') &&
      (typeof jwk['alg'] !== 'string' || sameAlg(jwk['alg'], header.alg)),
  );
  const keys: CryptoKey[] = [];
  for (const jwk of fitting) {
    try {
      keys.push((await importJWK({ ...(jwk as JWK), alg: header.alg }, header.alg)) as CryptoKey);
    } catch {
      throw new ClientJwtError('key', `a registered key of the client cannot verify the ${what}`);
    }
  }
  return keys;
}

async function fetchKeys(engine: Engine, uri: string, refresh: boolean): Promise<JsonWebKeySet> {
  try {
    return await engine.clientJwks.get(uri, { refresh });
  } catch (err) {
    if (err instanceof JwksFetchError) {
      engine.logger.warn(
        { event: 'client_jwks_unavailable', jwksUri: uri, err: err.message },
        'could not fetch a client key set',
      );
      throw new ClientJwtError('jwks_uri', "the client's key set (jwks_uri) could not be fetched");
    }
    throw err;
  }
}

/** Verifies the signature with the first of `keys` that accepts it; returns the claims. */
async function verifyWith(
  jwt: string,
  keys: readonly (CryptoKey | Uint8Array)[],
  alg: ClientJwtAlg,
  what: string,
): Promise<JWTPayload> {
  if (keys.length === 0) {
    throw new ClientJwtError('no_key', `no registered key of the client matches the ${what}`);
  }
  let bytes: Uint8Array | undefined;
  for (const key of keys) {
    try {
      bytes = (await compactVerify(jwt, key, { algorithms: [alg] })).payload;
      break;
    } catch {
      // Try the next key that fits; several may when the JWT names no kid.
    }
  }
  if (bytes === undefined) {
    throw new ClientJwtError('signature', `the ${what}'s signature does not verify`);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new ClientJwtError('payload', `the ${what}'s payload is not JSON`);
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new ClientJwtError('payload', `the ${what}'s payload is not a JSON object`);
  }
  return payload as JWTPayload;
}

/** `aud` as a list (a string or an array of strings); anything else is empty. */
export function audiences(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string');
  return [];
}

/**
 * The time claims every client JWT must carry, checked against `now` with the configured
 * tolerance: `exp` in the future and at most `maxLifetime` seconds after `iat` (or after now,
 * when `iat` is optional and absent); `iat` and `nbf`, when present, not in the future.
 */
export function checkTimes(
  engine: Engine,
  payload: JWTPayload,
  options: { requireIat: boolean; maxLifetime: number; what: string },
): void {
  const now = engine.now() / 1000;
  const tolerance = engine.config.clockToleranceSeconds;
  const { exp, iat, nbf } = payload;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw new ClientJwtError('exp', `the ${options.what} has no exp`);
  }
  if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat))) {
    throw new ClientJwtError('iat', `the ${options.what}'s iat is not a number`);
  }
  if (iat === undefined && options.requireIat) {
    throw new ClientJwtError('iat', `the ${options.what} has no iat`);
  }
  if (exp <= now - tolerance)
    throw new ClientJwtError('expired', `the ${options.what} has expired`);
  if (iat !== undefined && iat > now + tolerance) {
    throw new ClientJwtError('iat', `the ${options.what} is issued in the future (iat)`);
  }
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + tolerance)) {
    throw new ClientJwtError('nbf', `the ${options.what} is not valid yet (nbf)`);
  }
  const start = iat ?? now;
  if (exp - start > options.maxLifetime + (iat === undefined ? tolerance : 0)) {
    throw new ClientJwtError(
      'lifetime',
      `the ${options.what}'s exp must be at most ${options.maxLifetime} s after ${iat === undefined ? 'now' : 'iat'}`,
    );
  }
}

/**
 * Records the JWT's `jti` for the client until the JWT would have expired anyway (plus the clock
 * tolerance), so that it is accepted once. Throws when it was seen before.
 */
export async function useJti(
  engine: Engine,
  kind: 'jar' | 'assertion',
  client: Client,
  payload: JWTPayload,
  what: string,
): Promise<void> {
  const { jti } = payload;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
    throw new ClientJwtError(
      'jti',
      `the ${what} needs a jti (a unique string of 1-256 characters)`,
    );
  }
  const until = ((payload.exp as number) + engine.config.clockToleranceSeconds) * 1000;
  const first = await engine.storage.counters.once(
    `${kind}:${client.client_id}:${jti}`,
    until,
    engine.now(),
  );
  if (!first) throw new ClientJwtError('replay', `the ${what}'s jti was already used (replay)`);
}
