/**
 * Client key sets: the public keys a client registers, inline (`jwks`) or by URL (`jwks_uri`), to
 * sign the JWTs it sends — request objects (RFC 9101) and `private_key_jwt` assertions (RFC 7523).
 *
 * `jwksProblems` checks a set, at registration and after every fetch. `remoteJwks` fetches and
 * caches the sets published at `jwks_uri`s, within the limits a provider needs against a slow,
 * huge or hostile server: a whole-request timeout, a body cap, no redirects, and a cooldown so
 * that JWTs naming unknown kids cannot make it fetch again and again.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5 (JWK Set)
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2 (`jwks`, `jwks_uri` client metadata)
 */
import { base64urlDecode, GatehouseError, readBodyCapped } from '@gatehouse/oauth';
import { isLoopbackHost } from '../config/hosts.js';

/** A JWK Set (RFC 7517 §5): `keys` holds public JWKs. */
export interface JsonWebKeySet {
  keys: Record<string, unknown>[];
}

type Jwk = Record<string, unknown>;
type KeyType = 'OKP' | 'EC' | 'RSA';

/** Most keys a client may register: enough for rotation, few enough to try each. */
const MAX_KEYS = 20;
const MIN_RSA_BITS = 2048;
/** JWK members that belong to private or symmetric keys (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;
/**
 * The one curve accepted for each key type, and the algorithms it signs with: Ed25519 keys go by
 * `EdDSA` or by the fully specified `Ed25519` (RFC 9864), which newer clients send.
 */
const KEY_TYPES: Record<KeyType, { crv?: string; algs: readonly string[] }> = {
  OKP: { crv: 'Ed25519', algs: ['EdDSA', 'Ed25519'] },
  EC: { crv: 'P-256', algs: ['ES256'] },
  RSA: { algs: ['RS256'] },
};
const KEY_ALGS = new Set(Object.values(KEY_TYPES).flatMap((t) => t.algs));
/** Byte length of a coordinate: Ed25519 `x` (RFC 8037 §2), P-256 `x`, `y` (RFC 7518 §6.2.1). */
const COORDINATE_BYTES = 32;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isKeyType(kty: unknown): kty is KeyType {
  return kty === 'OKP' || kty === 'EC' || kty === 'RSA';
}

/** A client-supplied value for a message: JSON, cut short. */
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** The bytes of a base64url member, or undefined when it is absent, empty or not base64url. */
function bytesOf(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    return base64urlDecode(value);
  } catch {
    return undefined;
  }
}

/** The bit length of a big-endian unsigned integer (leading zero bytes ignored). */
function bitLength(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!));
}

/** Problems with the curve and coordinates of an OKP or EC key. */
function curveProblems(jwk: Jwk, kty: 'OKP' | 'EC'): string[] {
  const crv = KEY_TYPES[kty].crv;
  if (jwk['crv'] !== crv)
    return [`crv ${show(jwk['crv'])} is not supported for ${kty} (only ${crv})`];
  const problems: string[] = [];
  for (const name of kty === 'OKP' ? ['x'] : ['x', 'y']) {
    const bytes = bytesOf(jwk[name]);
    if (!bytes) problems.push(`${name} is missing or not base64url`);
    else if (bytes.length !== COORDINATE_BYTES) {
      problems.push(`${name} must be ${COORDINATE_BYTES} bytes for ${crv}, not ${bytes.length}`);
    }
  }
  return problems;
}

/** Problems with the modulus and exponent of an RSA key. */
function rsaProblems(jwk: Jwk): string[] {
  const problems: string[] = [];
  const n = bytesOf(jwk['n']);
  if (!n) problems.push('n is missing or not base64url');
  else if (bitLength(n) < MIN_RSA_BITS) {
    problems.push(`the modulus has ${bitLength(n)} bits; at least ${MIN_RSA_BITS} are required`);
  }
  if (!bytesOf(jwk['e'])) problems.push('e is missing or not base64url');
  return problems;
}

/** Problems with `use`, `alg` and `kid`, which are optional but must fit when present. */
function usageProblems(jwk: Jwk, kty: unknown): string[] {
  const problems: string[] = [];
  if (Object.hasOwn(jwk, 'use') && jwk['use'] !== 'sig') {
    problems.push(`use ${show(jwk['use'])} is not allowed (only "sig")`);
  }
  if (Object.hasOwn(jwk, 'alg')) {
    const alg = jwk['alg'];
    const fitting = isKeyType(kty) ? KEY_TYPES[kty].algs : undefined;
    if (typeof alg !== 'string' || !KEY_ALGS.has(alg)) {
      problems.push(`alg ${show(alg)} is not supported (EdDSA, Ed25519, ES256 or RS256)`);
    } else if (fitting !== undefined && !fitting.includes(alg)) {
      problems.push(
        `alg ${alg} does not fit kty ${kty} (a ${kty} key signs with ${fitting.join(' or ')})`,
      );
    }
  }
  if (Object.hasOwn(jwk, 'kid') && (typeof jwk['kid'] !== 'string' || jwk['kid'] === '')) {
    problems.push('kid must be a non-empty string');
  }
  return problems;
}

/** Problems with one key of a set, without the `keys[i]: ` prefix. */
function keyProblems(value: unknown): string[] {
  if (!isObject(value)) return ['is not an object'];
  const kty = value['kty'];
  if (kty === 'oct') {
    return ['kty oct: symmetric keys are not allowed; register a public key (OKP, EC or RSA)'];
  }
  const problems: string[] = [];
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(value, member))) {
    problems.push('contains a private key: register only the public key');
  }
  if (kty === 'OKP' || kty === 'EC') problems.push(...curveProblems(value, kty));
  else if (kty === 'RSA') problems.push(...rsaProblems(value));
  else if (kty === undefined) problems.push('kty is missing');
  else problems.push(`kty ${show(kty)} is not supported (OKP, EC or RSA)`);
  problems.push(...usageProblems(value, kty));
  return problems;
}

/**
 * Problems with a client's public key set, as messages naming the key (`keys[1]: ...`); empty
 * when the set is acceptable. Accepted keys: OKP with crv Ed25519, EC with crv P-256, RSA with a
 * modulus of at least 2048 bits — public parts only, `use` "sig" and a fitting `alg` when present,
 * distinct kids, at most 20 keys.
 *
 * @example
 * const problems = jwksProblems(client.jwks);
 * if (problems.length > 0) throw new Error(`jwks: ${problems.join('; ')}`);
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
 */
export function jwksProblems(value: unknown): string[] {
  if (!isObject(value) || !Array.isArray(value['keys'])) {
    return ['not an object with a "keys" array'];
  }
  const keys: unknown[] = value['keys'];
  if (keys.length === 0) return ['keys: is empty; register at least one public key'];
  // Checked before the keys themselves, so a fetched set of a million keys costs nothing.
  if (keys.length > MAX_KEYS) return [`keys: has ${keys.length} keys; at most ${MAX_KEYS}`];
  const problems: string[] = [];
  const kids = new Map<string, number>();
  keys.forEach((key, i) => {
    for (const problem of keyProblems(key)) problems.push(`keys[${i}]: ${problem}`);
    const kid = isObject(key) ? key['kid'] : undefined;
    if (typeof kid !== 'string') return;
    const first = kids.get(kid);
    if (first === undefined) kids.set(kid, i);
    else problems.push(`keys[${i}]: kid ${show(kid)} is also the kid of keys[${first}]`);
  });
  return problems;
}

/** A key set could not be fetched from a `jwks_uri`; the message says which URI and why. */
export class JwksFetchError extends GatehouseError {
  /** The URI that was (or would have been) fetched. */
  readonly uri: string;

  constructor(uri: string, reason: string, options?: { cause?: unknown }) {
    super('jwks_fetch_failed', `could not fetch the key set at ${uri}: ${reason}`, options);
    this.uri = uri;
  }
}

export interface RemoteJwksOptions {
  /** Time allowed for the whole fetch, response body included, in ms. */
  timeoutMs: number;
  /** Largest response body accepted, in bytes. */
  maxBytes: number;
  /** How long a fetched set is used without fetching again, in ms. */
  cacheMs: number;
  /** Minimum time between two fetches of one URI (forced refreshes included), in ms. */
  cooldownMs: number;
  /** Most URIs cached at once; the least recently used is dropped first. Default 1000. */
  maxEntries?: number;
  /** The clock. Default `Date.now`. */
  now?: () => number;
  /** The fetch implementation. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

export interface RemoteJwks {
  /**
   * The key set at `uri`: the cached copy while fresh, else fetched. `refresh: true` (used when a
   * JWT names a kid the cached set lacks) refetches unless the last fetch was within cooldownMs.
   * When a fetch fails and a cached copy exists (even stale), that copy is returned; otherwise
   * JwksFetchError. Concurrent calls for one URI share one fetch.
   */
  get(uri: string, options?: { refresh?: boolean }): Promise<JsonWebKeySet>;
}

const ACCEPT = 'application/json, application/jwk-set+json';

/** The URL to fetch, or JwksFetchError when the URI may not be fetched at all. */
function fetchableUrl(uri: string): URL {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new JwksFetchError(uri, 'it is not an absolute URL');
  }
  if (url.username || url.password) throw new JwksFetchError(uri, 'it contains credentials');
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  throw new JwksFetchError(uri, 'only https URLs are fetched (http only on a loopback host)');
}

/** Cancels a response body that will not be read; a failure to cancel changes nothing. */
function discard(body: ReadableStream<Uint8Array> | null): void {
  body?.cancel().catch(() => undefined);
}

/** The response body, counted as it arrives: JwksFetchError unless 200 and at most `maxBytes`. */
async function readBody(response: Response, uri: string, maxBytes: number): Promise<Uint8Array> {
  const { status } = response;
  if (status !== 200) {
    discard(response.body);
    const redirect = status === 0 || (status >= 300 && status < 400);
    throw new JwksFetchError(
      uri,
      redirect ? `HTTP ${status}: redirects are not followed` : `HTTP ${status}, expected 200`,
    );
  }
  const body = await readBodyCapped(response, maxBytes);
  if (body === undefined)
    throw new JwksFetchError(uri, `the response is larger than ${maxBytes} bytes`);
  return body;
}

/** Freezes a parsed JSON value throughout, so that no caller can change the cached copy. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

/** The body as a checked key set, or JwksFetchError. */
function parseKeySet(body: Uint8Array, uri: string): JsonWebKeySet {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (error) {
    throw new JwksFetchError(uri, 'the response is not JSON', { cause: error });
  }
  const problems = jwksProblems(value);
  if (problems.length > 0) throw new JwksFetchError(uri, `not a valid key set: ${problems[0]}`);
  return deepFreeze(value as JsonWebKeySet);
}

/** What a failed request reports: the system error code (ECONNREFUSED, …) when there is one. */
function failureReason(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  const code = isObject(cause) ? cause['code'] : undefined;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}

type FetchLimits = Pick<RemoteJwksOptions, 'timeoutMs' | 'maxBytes'> & { fetch: typeof fetch };

/** Fetches and checks the key set at `url`. Every failure is a JwksFetchError. */
async function fetchKeySet(url: URL, uri: string, limits: FetchLimits): Promise<JsonWebKeySet> {
  // One signal for the request and the body: a server that trickles bytes is cut off too.
  const signal = AbortSignal.timeout(limits.timeoutMs);
  try {
    const response = await limits.fetch(url, {
      redirect: 'manual',
      headers: { accept: ACCEPT },
      signal,
    });
    return parseKeySet(await readBody(response, uri, limits.maxBytes), uri);
  } catch (error) {
    if (error instanceof JwksFetchError) throw error;
    if (signal.aborted) {
      throw new JwksFetchError(uri, `no complete response within ${limits.timeoutMs} ms`, {
        cause: error,
      });
    }
    throw new JwksFetchError(uri, `the request failed (${failureReason(error)})`, {
      cause: error,
    });
  }
}

/** What is known about one URI. */
interface CacheEntry {
  /** The last set fetched successfully. */
  set?: JsonWebKeySet;
  /** When the fetch that got `set` started. */
  fetchedAt: number;
  /** When the last fetch, successful or not, started. */
  attemptedAt: number;
  /** Why the last fetch failed, while no later fetch has succeeded. */
  error?: JwksFetchError;
  /** The fetch in progress, shared by every caller meanwhile. */
  pending?: Promise<JsonWebKeySet>;
}

/**
 * A fetcher and cache of key sets published at clients' `jwks_uri`s. Each instance has its own
 * cache. Only `https:` URLs are fetched (`http:` on a loopback host, for development); redirects
 * are not followed.
 *
 * @example
 * const remote = remoteJwks({
 *   timeoutMs: 5000,
 *   maxBytes: 64 * 1024,
 *   cacheMs: 600_000,
 *   cooldownMs: 30_000,
 * });
 * let set = await remote.get(client.jwks_uri);
 * if (!set.keys.some((k) => k['kid'] === header.kid)) {
 *   set = await remote.get(client.jwks_uri, { refresh: true });
 * }
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2 (`jwks_uri`)
 */
export function remoteJwks(options: RemoteJwksOptions): RemoteJwks {
  const { cacheMs, cooldownMs } = options;
  const maxEntries = options.maxEntries ?? 1000;
  const now = options.now ?? Date.now;
  const limits: FetchLimits = {
    timeoutMs: options.timeoutMs,
    maxBytes: options.maxBytes,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
  };
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const cache = new Map<string, CacheEntry>();

  function lookup(key: string): CacheEntry | undefined {
    const entry = cache.get(key);
    if (entry) {
      cache.delete(key);
      cache.set(key, entry);
    }
    return entry;
  }

  function remember(key: string, entry: CacheEntry): void {
    cache.set(key, entry);
    for (const oldest of cache.keys()) {
      if (cache.size <= maxEntries) break;
      cache.delete(oldest);
    }
  }

  /** Starts a fetch for `entry`; on failure the cached copy, if any, stands in. */
  function start(url: URL, uri: string, entry: CacheEntry, at: number): Promise<JsonWebKeySet> {
    entry.attemptedAt = at;
    entry.pending = fetchKeySet(url, uri, limits)
      .then(
        (set) => {
          entry.set = set;
          entry.fetchedAt = at;
          entry.error = undefined;
          return set;
        },
        (error: JwksFetchError) => {
          entry.error = error;
          if (entry.set) return entry.set;
          throw error;
        },
      )
      .finally(() => {
        entry.pending = undefined;
      });
    return entry.pending;
  }

  return {
    async get(uri, { refresh = false } = {}) {
      const url = fetchableUrl(uri);
      const key = url.href;
      const entry = lookup(key);
      if (entry?.pending) return entry.pending;
      const at = now();
      if (!entry) {
        const fresh: CacheEntry = { fetchedAt: at, attemptedAt: at };
        remember(key, fresh);
        return start(url, uri, fresh, at);
      }
      if (entry.set && !refresh && at - entry.fetchedAt < cacheMs) return entry.set;
      if (at - entry.attemptedAt < cooldownMs) {
        if (entry.set) return entry.set;
        // Only a failed fetch leaves an entry without a set.
        throw entry.error ?? new JwksFetchError(uri, 'the last fetch failed');
      }
      return start(url, uri, entry, at);
    },
  };
}
