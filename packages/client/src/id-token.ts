/**
 * ID token validation: OpenID Connect Core §3.1.3.7 (and §3.1.3.8 for `at_hash`, §12.2 for
 * refreshed tokens), plus the toolkit's rules — an algorithm allow-list that can never hold
 * `none` or HMAC, and a clock tolerance applied to every time claim.
 *
 * The token is verified, never merely decoded: no claim is looked at before the signature holds.
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 */
import { base64url, base64urlDecode, timingSafeEqual } from '@gatehouse/oauth';
import { compactVerify } from 'jose';
import { ClientError, type IdTokenCheck, IdTokenError } from './errors.js';
import { type JwksCache, SUPPORTED_ALGORITHMS } from './jwks.js';
import { loadedNodeRuntime, nodeRuntime, onNode, type VerifyEd25519 } from './node-runtime.js';

/** What the ID token must say; `issuer` and `clientId` always, the rest when the flow sets it. */
export interface IdTokenExpectations {
  /** The provider's issuer identifier; `iss` must equal it exactly. */
  issuer: string;
  /** This client's `client_id`: it must be in `aud`, and be `azp` when that is present. */
  clientId: string;
  /**
   * The algorithms accepted. Default `SUPPORTED_ALGORITHMS` (EdDSA, Ed25519, ES256, RS256). `none`
   * and the HMAC algorithms (HS256…) are refused with `config_invalid`: a client verifying with a
   * key the provider publishes must never accept a MAC made with that public key.
   */
  algorithms?: readonly string[];
  /** The nonce sent in the authorization request: the claim must be present and equal. */
  nonce?: string;
  /** The `max_age` sent, in seconds: `auth_time` must be present and at most this long ago. */
  maxAge?: number;
  /** Require `auth_time` even without `maxAge` (when the client registered `require_auth_time`). */
  requireAuthTime?: boolean;
  /** The access token issued with the ID token: checked against `at_hash` when present. */
  accessToken?: string;
  /** Require `at_hash` (needs `accessToken`). */
  requireAtHash?: boolean;
  /** On refresh: the `sub` of the ID token the session holds; the new one must have the same. */
  expectedSub?: string;
  /** Leeway for `exp`, `iat` and `auth_time`, in seconds. Default 30. */
  clockToleranceSeconds?: number;
  /** The clock, in ms. Default `Date.now`. */
  now?: () => number;
}

/** The claims of a validated ID token: the registered ones typed, any others as sent. */
export interface IdTokenClaims extends Record<string, unknown> {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nonce?: string;
  auth_time?: number;
  azp?: string;
  at_hash?: string;
  sid?: string;
}

const DEFAULT_TOLERANCE_SECONDS = 30;

/** The expectations, checked, with the defaults filled in. */
interface Expected {
  readonly issuer: string;
  readonly clientId: string;
  readonly algorithms: ReadonlySet<string>;
  readonly nonce: string | undefined;
  readonly maxAge: number | undefined;
  readonly requireAuthTime: boolean;
  readonly accessToken: string | undefined;
  readonly requireAtHash: boolean;
  readonly expectedSub: string | undefined;
  readonly tolerance: number;
}

/** What the claim checks see: the expectations, the verified header's `alg`, and the time. */
interface Context {
  readonly expect: Expected;
  readonly alg: string;
  /** Now, in seconds since the epoch. */
  readonly now: number;
}

type Claims = Record<string, unknown>;

function configError(message: string): ClientError {
  return new ClientError('config_invalid', `validateIdToken: ${message}`);
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw configError(`expect.${name} must be a non-empty string when given`);
  }
  return value;
}

function requiredString(value: unknown, name: string): string {
  const text = optionalString(value, name);
  if (text === undefined) throw configError(`expect.${name} is required`);
  return text;
}

function seconds(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw configError(`expect.${name} must be a finite number of seconds, at least 0`);
  }
  return value;
}

/** The allow-list: supported algorithms only, and never `none` nor an HMAC one. */
function allowList(algorithms: readonly string[] | undefined): ReadonlySet<string> {
  if (algorithms === undefined) return new Set(SUPPORTED_ALGORITHMS);
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw configError('expect.algorithms must be a non-empty array when given');
  }
  for (const alg of algorithms) {
    if (typeof alg !== 'string') throw configError('expect.algorithms must hold strings');
    if (alg.toLowerCase() === 'none' || /^HS\d+$/i.test(alg)) {
      throw configError(
        `expect.algorithms must not hold ${alg}: ID tokens are verified with the provider's public keys, never unsigned or with a shared-secret MAC`,
      );
    }
    if (!SUPPORTED_ALGORITHMS.includes(alg)) {
      throw configError(
        `expect.algorithms holds ${alg}, which is not supported (${SUPPORTED_ALGORITHMS.join(', ')})`,
      );
    }
  }
  return new Set(algorithms);
}

function expectationsOf(expect: IdTokenExpectations): Expected {
  const accessToken = optionalString(expect.accessToken, 'accessToken');
  const requireAtHash = expect.requireAtHash === true;
  if (expect.now !== undefined && typeof expect.now !== 'function') {
    throw configError('expect.now must be a function returning ms since the epoch');
  }
  if (requireAtHash && accessToken === undefined) {
    throw configError('expect.requireAtHash needs expect.accessToken to check at_hash against');
  }
  return {
    issuer: requiredString(expect.issuer, 'issuer'),
    clientId: requiredString(expect.clientId, 'clientId'),
    algorithms: allowList(expect.algorithms),
    nonce: optionalString(expect.nonce, 'nonce'),
    maxAge: seconds(expect.maxAge, 'maxAge'),
    requireAuthTime: expect.requireAuthTime === true,
    accessToken,
    requireAtHash,
    expectedSub: optionalString(expect.expectedSub, 'expectedSub'),
    tolerance:
      seconds(expect.clockToleranceSeconds, 'clockToleranceSeconds') ?? DEFAULT_TOLERANCE_SECONDS,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value from the token, for a message: JSON, cut short (never a secret: tokens are not). */
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A base64url part of the token as a JSON object; undefined when it is not one. */
function jsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(decoder.decode(base64urlDecode(part)));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

interface JoseHeader {
  alg: string;
  kid?: string;
}

/** The token's header and claims, when it is a compact JWS of two JSON objects. */
function parse(idToken: unknown): { header: JoseHeader; claims: Claims } {
  const malformed = (message: string) => new IdTokenError('malformed', message);
  if (typeof idToken !== 'string') throw malformed('the ID token is not a string');
  const parts = idToken.split('.');
  if (parts.length === 5) throw malformed('encrypted ID tokens (JWE) are not supported');
  if (parts.length !== 3) throw malformed('not a compact JWS (three base64url parts)');
  const header = jsonObject(parts[0]!);
  if (!header) throw malformed('the header is not a base64url JSON object');
  const claims = jsonObject(parts[1]!);
  if (!claims) throw malformed('the payload is not a base64url JSON object');
  if (typeof header['alg'] !== 'string' || header['alg'] === '') {
    throw malformed('the header has no alg');
  }
  if (header['kid'] !== undefined && typeof header['kid'] !== 'string') {
    throw malformed('the header kid is not a string');
  }
  // No extension is understood, so any critical one must make the token fail (RFC 7515 §4.1.11).
  if (header['crit'] !== undefined) throw malformed('the header lists critical extensions');
  const { alg, kid } = header;
  return { header: kid === undefined ? { alg } : { alg, kid: kid as string }, claims };
}

/** The signature verifies with one of the keys the provider's set holds for the header. */
async function verifySignature(idToken: string, header: JoseHeader, jwks: JwksCache) {
  const native = await nativeEd25519(header, jwks);
  if (native) return verifyEd25519Natively(idToken, header, jwks, native);
  const candidates = await jwks.keys(header);
  let cause: unknown;
  for (const key of candidates) {
    try {
      await compactVerify(idToken, key, { algorithms: [header.alg] });
      return;
    } catch (error) {
      cause = error;
    }
  }
  throw signatureError(header, candidates.length, cause);
}

function signatureError(header: JoseHeader, candidates: number, cause?: unknown): IdTokenError {
  const named = `alg ${header.alg}${header.kid === undefined ? '' : ` and kid ${show(header.kid)}`}`;
  return new IdTokenError(
    'signature',
    candidates === 0
      ? `no key in the provider's key set fits ${named}`
      : `the signature does not verify with the provider's key for ${named}`,
    cause === undefined ? {} : { cause },
  );
}

/** libsodium's Ed25519 check, when this header is Ed25519, the set allows it and it loaded. */
async function nativeEd25519(
  header: JoseHeader,
  jwks: JwksCache,
): Promise<VerifyEd25519 | undefined> {
  if ((header.alg !== 'EdDSA' && header.alg !== 'Ed25519') || !jwks.nativeEd25519) return undefined;
  const node = loadedNodeRuntime() ?? (onNode ? await nodeRuntime() : undefined);
  return node?.verifyEd25519;
}

/**
 * The compact JWS check of jose's `compactVerify`, for Ed25519 through libsodium: the signature
 * (64 bytes of base64url) over the ASCII bytes of `header.payload`, exactly as the token carries
 * them. `parse` has already refused `crit`, so no header changes what is signed.
 */
async function verifyEd25519Natively(
  idToken: string,
  header: JoseHeader,
  jwks: JwksCache,
  verify: VerifyEd25519,
): Promise<void> {
  const candidates = await jwks.ed25519Keys(header);
  const dot = idToken.lastIndexOf('.');
  let signature: Uint8Array;
  try {
    signature = base64urlDecode(idToken.slice(dot + 1));
  } catch (cause) {
    throw signatureError(header, candidates.length, cause);
  }
  // The header and payload are base64url (parse checked): ASCII, one byte per character.
  const input = idToken.slice(0, dot);
  for (const key of candidates) {
    if (verify(key, signature, input)) return;
  }
  throw signatureError(header, candidates.length);
}

function fail(check: IdTokenCheck, message: string): never {
  throw new IdTokenError(check, message);
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** `iss` is exactly the issuer the client talks to. */
function checkIssuer(claims: Claims, { expect }: Context): void {
  if (claims['iss'] !== expect.issuer) {
    fail('iss', `iss ${show(claims['iss'])} is not the expected issuer ${expect.issuer}`);
  }
}

/** `aud` is this client's id, or an array of strings holding it. */
function checkAudience(claims: Claims, { expect }: Context): void {
  const { aud } = claims;
  const ok =
    aud === expect.clientId ||
    (Array.isArray(aud) &&
      aud.every((value) => typeof value === 'string') &&
      aud.includes(expect.clientId));
  if (!ok) fail('aud', `aud ${show(aud)} does not hold the client_id ${expect.clientId}`);
}

/** `azp`, required with several audiences, is this client when present. */
function checkAuthorizedParty(claims: Claims, { expect }: Context): void {
  const { aud, azp } = claims;
  if (azp === undefined) {
    if (Array.isArray(aud) && aud.length > 1) {
      fail('azp', 'aud has several values but azp is missing');
    }
    return;
  }
  if (azp !== expect.clientId) {
    fail('azp', `azp ${show(azp)} is not the client_id ${expect.clientId}`);
  }
}

/** `exp` is a number and not passed (beyond the tolerance). */
function checkExpiry(claims: Claims, { expect, now }: Context): void {
  const { exp } = claims;
  if (!isTime(exp)) fail('exp', 'exp is missing or not a number');
  if (exp <= now - expect.tolerance) {
    fail(
      'exp',
      `the token expired ${Math.round(now - exp)} s ago (tolerance ${expect.tolerance} s)`,
    );
  }
}

/** `iat` is a number and not in the future (beyond the tolerance). */
function checkIssuedAt(claims: Claims, { expect, now }: Context): void {
  const { iat } = claims;
  if (!isTime(iat)) fail('iat', 'iat is missing or not a number');
  if (iat > now + expect.tolerance) {
    fail('iat', `iat is ${Math.round(iat - now)} s in the future: check the clocks`);
  }
}

/** `sub` is a non-empty string, and on refresh the one the session already has. */
function checkSubject(claims: Claims, { expect }: Context): void {
  const { sub } = claims;
  if (typeof sub !== 'string' || sub === '') fail('sub', 'sub is missing or not a string');
  if (expect.expectedSub !== undefined && sub !== expect.expectedSub) {
    fail('sub', 'sub is not the subject of the session (a refresh must keep the same user)');
  }
}

/** `nonce` equals the one sent, when one was sent. */
function checkNonce(claims: Claims, { expect }: Context): void {
  const { nonce } = claims;
  if (nonce !== undefined && typeof nonce !== 'string') fail('nonce', 'nonce is not a string');
  if (expect.nonce === undefined) return;
  if (nonce === undefined) {
    fail('nonce', 'the nonce claim is missing, but a nonce was sent with the request');
  }
  if (!timingSafeEqual(nonce, expect.nonce)) {
    fail('nonce', 'nonce is not the one sent with the request (replayed or mixed-up response)');
  }
}

/** `auth_time`, when present or required, is a time not in the future and within `max_age`. */
function checkAuthTime(claims: Claims, { expect, now }: Context): void {
  const authTime = claims['auth_time'];
  if (authTime === undefined) {
    if (expect.maxAge !== undefined || expect.requireAuthTime) {
      fail('auth_time', 'auth_time is missing, but max_age or require_auth_time asks for it');
    }
    return;
  }
  if (!isTime(authTime)) fail('auth_time', 'auth_time is not a number');
  if (authTime > now + expect.tolerance) fail('auth_time', 'auth_time is in the future');
  if (expect.maxAge !== undefined && now - authTime > expect.maxAge + expect.tolerance) {
    fail(
      'auth_time',
      `the user authenticated ${Math.round(now - authTime)} s ago, more than max_age ${expect.maxAge} s`,
    );
  }
}

/**
 * The `at_hash` value for an access token: the left half of its hash, base64url. The hash is the
 * one of the signing algorithm: SHA-256 for RS256 and ES256, SHA-512 for Ed25519 (EdDSA).
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeIDToken (`at_hash`)
 */
function atHash(accessToken: string, alg: string): string | Promise<string> {
  const hash = alg === 'EdDSA' || alg === 'Ed25519' ? 'SHA-512' : 'SHA-256';
  const half = (digest: Uint8Array) => base64url(digest.subarray(0, digest.length / 2));
  // On Node, node:crypto, synchronously: subtle.digest costs a threadpool round trip (25-50 µs
  // against 2).
  const node = loadedNodeRuntime();
  if (node) return half(node.digest(hash, accessToken));
  return (async () => {
    const loaded = onNode ? await nodeRuntime() : undefined;
    if (loaded) return half(loaded.digest(hash, accessToken));
    return half(new Uint8Array(await crypto.subtle.digest(hash, encoder.encode(accessToken))));
  })();
}

/** `at_hash`, when present (or required) and the access token is known, matches it. */
function checkAtHash(claims: Claims, { expect, alg }: Context): void | Promise<void> {
  const value = claims['at_hash'];
  if (value !== undefined && typeof value !== 'string') fail('at_hash', 'at_hash is not a string');
  if (expect.accessToken === undefined) return;
  if (value === undefined) {
    if (expect.requireAtHash) fail('at_hash', 'at_hash is missing');
    return;
  }
  const compare = (expected: string) => {
    if (!timingSafeEqual(value, expected)) {
      fail('at_hash', 'at_hash does not match the access token issued with the ID token');
    }
  };
  const expected = atHash(expect.accessToken, alg);
  return typeof expected === 'string' ? compare(expected) : expected.then(compare);
}

/** The remaining typed claims have their types. */
function checkOtherTypes(claims: Claims): void {
  if (claims['sid'] !== undefined && typeof claims['sid'] !== 'string') {
    fail('malformed', 'sid is not a string');
  }
}

/** The claim checks, in the order they run once the signature holds. */
const CLAIM_CHECKS: readonly ((claims: Claims, context: Context) => void | Promise<void>)[] = [
  checkIssuer,
  checkAudience,
  checkAuthorizedParty,
  checkExpiry,
  checkIssuedAt,
  checkSubject,
  checkNonce,
  checkAuthTime,
  checkAtHash,
  checkOtherTypes,
];

/**
 * Validates an ID token and returns its claims. In order: the token is a compact JWS of two JSON
 * objects; its `alg` is allowed; its signature verifies with a key of the provider's set; then
 * `iss`, `aud`, `azp`, `exp`, `iat`, `sub`, `nonce`, `auth_time`, `at_hash`.
 *
 * Throws `IdTokenError` (code `id_token_invalid`) whose `check` names the first check that
 * failed; `ClientError` `config_invalid` when `expect` is wrong (e.g. `algorithms` holding `none`
 * or `HS256`); and the key set's own errors (`jwks_failed`, `network_timeout`, `network_error`)
 * when the provider's keys cannot be fetched.
 *
 * @example
 * const claims = await validateIdToken(tokens.id_token, jwks, {
 *   issuer: 'https://id.example.com',
 *   clientId: 'my-app',
 *   nonce: transaction.nonce,
 *   accessToken: tokens.access_token,
 * });
 * console.log(claims.sub);
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 * @see https://openid.net/specs/openid-connect-core-1_0.html#RefreshTokenResponse (`expectedSub`)
 */
export async function validateIdToken(
  idToken: string,
  keys: JwksCache,
  expect: IdTokenExpectations,
): Promise<IdTokenClaims> {
  const expected = expectationsOf(expect);
  const { header, claims } = parse(idToken);
  if (!expected.algorithms.has(header.alg)) {
    fail('alg', `alg ${show(header.alg)} is not allowed (${[...expected.algorithms].join(', ')})`);
  }
  // The signature is checked over exactly the bytes `claims` was parsed from.
  await verifySignature(idToken, header, keys);
  const context: Context = {
    expect: expected,
    alg: header.alg,
    now: (expect.now ?? Date.now)() / 1000,
  };
  for (const check of CLAIM_CHECKS) {
    // Awaited only when asynchronous (at_hash): an await costs a turn of the microtask queue.
    const pending = check(claims, context);
    if (pending) await pending;
  }
  return claims as IdTokenClaims;
}
