/**
 * The provider's key set (its `jwks_uri`), fetched and cached for verifying ID tokens.
 *
 * A `JwksCache` fetches the set once, keeps it for `maxAgeMs`, and fetches again early when a
 * token names a `kid` the set lacks (the provider rotated its keys) — but never twice within
 * `cooldownMs`, so tokens naming made-up kids cannot make it hammer the provider. Every fetch is
 * bounded by a timeout (whole request, body included) and a body size cap, follows no redirects,
 * and goes to `https:` only (`http:` on a loopback host, for development).
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#RotateSigKeys
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5 (JWK Set)
 */
import { base64urlDecode, readBodyCapped } from '@gatehouse/oauth';
import type { JWK } from 'jose';
import { ClientError } from './errors.js';

export interface JwksCacheOptions {
  /** The fetch implementation (for proxies, custom CAs, tracing). Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Time allowed for the whole request, response body included, in ms. Default 5000. */
  timeoutMs?: number;
  /** Largest response body accepted, in bytes. Default 262144 (256 KiB). */
  maxBytes?: number;
  /** Least time between two fetches, in ms, unknown-kid refetches included. Default 30000. */
  cooldownMs?: number;
  /** Age after which a fetched set is fetched again on its next use, in ms. Default 600000. */
  maxAgeMs?: number;
  /** The clock, in ms. Default `Date.now`. */
  now?: () => number;
  /**
   * On Node.js, check Ed25519 (EdDSA) signatures of ID tokens verified against this set with
   * libsodium when the optional dependency sodium-native is installed: the same answers, less
   * than half the CPU of Web Crypto. `false` keeps every check on Web Crypto. Default true.
   */
  nativeEd25519?: boolean;
}

/**
 * A fetched key set, exportable so that serverless instances can start warm. JSON-serialisable:
 * store `JSON.stringify(cache.snapshot())` and pass the parsed value to a new `JwksCache`.
 */
export interface JwksSnapshot {
  /** The `jwks_uri` the keys were fetched from. */
  uri: string;
  /** The usable public signing keys of the set (unusable ones were dropped when fetched). */
  keys: JWK[];
  /** When the fetch started, in ms since the epoch. */
  fetchedAt: number;
}

/** The JWS algorithms a `JwksCache` finds keys for (and so the ones an ID token may use). */
export const SUPPORTED_ALGORITHMS: readonly string[] = Object.freeze([
  'EdDSA',
  'Ed25519',
  'ES256',
  'RS256',
]);

/** What a key must be to verify one algorithm, and how Web Crypto imports it. */
interface AlgorithmFit {
  kty: 'OKP' | 'EC' | 'RSA';
  crv?: string;
  /** Values of the JWK `alg` member that allow this algorithm. */
  jwkAlgs: readonly string[];
  importParams: AlgorithmIdentifier | EcKeyImportParams | RsaHashedImportParams;
}

// `EdDSA` and the fully specified `Ed25519` (RFC 9864) are one computation on an Ed25519 key,
// so a key published with either `alg` serves both.
const ED25519: AlgorithmFit = {
  kty: 'OKP',
  crv: 'Ed25519',
  jwkAlgs: ['EdDSA', 'Ed25519'],
  importParams: { name: 'Ed25519' },
};

const FITS: ReadonlyMap<string, AlgorithmFit> = new Map([
  ['EdDSA', ED25519],
  ['Ed25519', ED25519],
  [
    'ES256',
    {
      kty: 'EC',
      crv: 'P-256',
      jwkAlgs: ['ES256'],
      importParams: { name: 'ECDSA', namedCurve: 'P-256' },
    },
  ],
  [
    'RS256',
    {
      kty: 'RSA',
      jwkAlgs: ['RS256'],
      importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    },
  ],
]);

/** JWK members of private or symmetric keys (RFC 7518 §6.2.2, §6.3.2, §6.4). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;
/** The public members kept for each key type: what Web Crypto needs to import it. */
const MATERIAL: Record<'OKP' | 'EC' | 'RSA', readonly string[]> = {
  OKP: ['crv', 'x'],
  EC: ['crv', 'x', 'y'],
  RSA: ['n', 'e'],
};
const MIN_RSA_BITS = 2048;
const ACCEPT = 'application/jwk-set+json, application/json';

const DEFAULTS = {
  timeoutMs: 5000,
  maxBytes: 262_144,
  cooldownMs: 30_000,
  maxAgeMs: 600_000,
} as const;

/** A stored key: a frozen copy holding only the members this module reads. */
type StoredKey = Readonly<JWK>;

/** A fetched set: its usable keys and when the fetch that got them started. */
interface KeySet {
  readonly keys: readonly StoredKey[];
  readonly fetchedAt: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The bit length of a base64url big-endian integer; 0 when it is not base64url. */
function bitLength(text: unknown): number {
  if (typeof text !== 'string' || text === '') return 0;
  let bytes: Uint8Array;
  try {
    bytes = base64urlDecode(text);
  } catch {
    return 0;
  }
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!));
}

/** Whether `use`, `key_ops`, `kid` and `alg`, optional all, allow verifying signatures. */
function allowsVerifying(jwk: Record<string, unknown>): boolean {
  const { use, key_ops: ops, kid, alg } = jwk;
  if (use !== undefined && use !== 'sig') return false;
  if (ops !== undefined && !(Array.isArray(ops) && ops.includes('verify'))) return false;
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) return false;
  return alg === undefined || typeof alg === 'string';
}

/** Whether `key` can verify `alg` signatures and carries the header's kid (when it names one). */
function fits(key: StoredKey, fit: AlgorithmFit, kid: string | undefined): boolean {
  if (kid !== undefined && key.kid !== kid) return false;
  if (key.kty !== fit.kty) return false;
  if (fit.crv !== undefined && key.crv !== fit.crv) return false;
  return key.alg === undefined || fit.jwkAlgs.includes(key.alg);
}

/**
 * A frozen copy of `value` when it is a usable public signing key (Ed25519, P-256 or RSA of at
 * least 2048 bits, public members only, fit for verifying with a supported algorithm); undefined
 * otherwise. Keys carrying private members are dropped whole: a provider that publishes them has
 * a problem that no kid can fix.
 */
function usableKey(value: unknown): StoredKey | undefined {
  if (!isObject(value) || PRIVATE_MEMBERS.some((m) => Object.hasOwn(value, m))) return undefined;
  const { kty } = value;
  if (kty !== 'OKP' && kty !== 'EC' && kty !== 'RSA') return undefined;
  if (!allowsVerifying(value)) return undefined;
  const copy: Record<string, unknown> = { kty };
  for (const member of MATERIAL[kty]) {
    if (typeof value[member] !== 'string' || value[member] === '') return undefined;
    copy[member] = value[member];
  }
  for (const member of ['kid', 'use', 'alg'] as const) {
    if (value[member] !== undefined) copy[member] = value[member];
  }
  if (Array.isArray(value['key_ops'])) {
    copy['key_ops'] = Object.freeze(value['key_ops'].filter((op) => typeof op === 'string'));
  }
  if (kty === 'RSA' && bitLength(copy['n']) < MIN_RSA_BITS) return undefined;
  const key = Object.freeze(copy) as StoredKey;
  // Kept only when some supported algorithm can use it (no P-384 key, no OKP key named RS256).
  return [...FITS.values()].some((fit) => fits(key, fit, undefined)) ? key : undefined;
}

/** Whether a URL's hostname is a loopback host, where plain http is allowed. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

function configError(message: string): ClientError {
  return new ClientError('config_invalid', `JwksCache: ${message}`);
}

/** The URL to fetch; `config_invalid` when it is not an https (or loopback http) URL. */
function jwksUrl(uri: string): URL {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw configError(`the jwks_uri ${JSON.stringify(uri)} is not an absolute URL`);
  }
  if (url.username || url.password) throw configError('the jwks_uri must not hold credentials');
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return url;
  throw configError(`the jwks_uri must be https (http only on a loopback host), not ${uri}`);
}

/** A checked duration or size option: a finite number, at least `min`, or its default. */
function limit(options: JwksCacheOptions, name: keyof typeof DEFAULTS, min: number): number {
  const value = options[name] ?? DEFAULTS[name];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw configError(`options.${name} must be a finite number of at least ${min}`);
  }
  return value;
}

interface Settings {
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly cooldownMs: number;
  readonly maxAgeMs: number;
  readonly now: () => number;
  readonly nativeEd25519: boolean;
}

function settingsOf(options: JwksCacheOptions): Settings {
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw configError('options.fetch must be a function');
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw configError('options.now must be a function');
  }
  return {
    // Called through a wrapper: some runtimes refuse a fetch called with another `this`.
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    timeoutMs: limit(options, 'timeoutMs', 1),
    maxBytes: limit(options, 'maxBytes', 1),
    cooldownMs: limit(options, 'cooldownMs', 0),
    maxAgeMs: limit(options, 'maxAgeMs', 0),
    now: options.now ?? Date.now,
    nativeEd25519: options.nativeEd25519 !== false,
  };
}

/** The key set a snapshot holds, after the same checks as a fetched one. */
function fromSnapshot(snapshot: JwksSnapshot, url: URL): KeySet {
  if (!isObject(snapshot) || !Array.isArray(snapshot.keys)) {
    throw configError('the snapshot is not an object with a keys array');
  }
  if (typeof snapshot.uri !== 'string' || jwksUrl(snapshot.uri).href !== url.href) {
    throw configError(`the snapshot was taken of ${String(snapshot.uri)}, not of ${url.href}`);
  }
  if (typeof snapshot.fetchedAt !== 'number' || !Number.isFinite(snapshot.fetchedAt)) {
    throw configError('the snapshot has no finite fetchedAt');
  }
  return { keys: usableKeys(snapshot.keys), fetchedAt: snapshot.fetchedAt };
}

function usableKeys(values: readonly unknown[]): readonly StoredKey[] {
  return Object.freeze(values.map(usableKey).filter((key) => key !== undefined));
}

function fetchError(uri: string, reason: string, retryable = false, cause?: unknown): ClientError {
  return new ClientError(
    'jwks_failed',
    `could not fetch the provider's key set at ${uri}: ${reason}`,
    {
      retryable,
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

/** Cancels a body that will not be read; a failure to cancel changes nothing. */
function discard(body: ReadableStream<Uint8Array> | null): void {
  body?.cancel().catch(() => undefined);
}

/** The body of a 200 response, counted as it arrives against `maxBytes`. */
async function readBody(response: Response, uri: string, maxBytes: number): Promise<Uint8Array> {
  if (response.status !== 200) {
    discard(response.body);
    const { status } = response;
    const redirect = status === 0 || (status >= 300 && status < 400);
    throw fetchError(
      uri,
      redirect ? `HTTP ${status}: redirects are not followed` : `HTTP ${status}, expected 200`,
      status >= 500,
    );
  }
  const body = await readBodyCapped(response, maxBytes);
  if (body === undefined) throw fetchError(uri, `the response is larger than ${maxBytes} bytes`);
  return body;
}

/** The usable keys of a JWK Set document; `jwks_failed` when it is not one. */
function parseKeySet(body: Uint8Array, uri: string): readonly StoredKey[] {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (error) {
    throw fetchError(uri, 'the response is not JSON', false, error);
  }
  if (!isObject(value) || !Array.isArray(value['keys'])) {
    throw fetchError(uri, 'the response is not a JSON object with a "keys" array');
  }
  return usableKeys(value['keys']);
}

/**
 * Fetches the set at `url` within `timeoutMs`, body included. Fails with `network_timeout` when
 * the time runs out, `network_error` when the provider cannot be reached, else `jwks_failed`.
 */
async function fetchKeys(url: URL, settings: Settings): Promise<readonly StoredKey[]> {
  const uri = url.href;
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Raced rather than trusted to the signal alone: an injected fetch may ignore the signal.
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new ClientError(
        'network_timeout',
        `no complete answer from the provider's key set at ${uri} within ${settings.timeoutMs} ms`,
        { retryable: true },
      );
      controller.abort(error);
      reject(error);
    }, settings.timeoutMs);
  });
  const download = async () => {
    try {
      const response = await settings.fetch(url, {
        method: 'GET',
        redirect: 'manual',
        headers: { accept: ACCEPT },
        signal: controller.signal,
      });
      return parseKeySet(await readBody(response, uri, settings.maxBytes), uri);
    } catch (error) {
      if (error instanceof ClientError) throw error;
      // The request failed or the connection broke while the body arrived.
      throw new ClientError(
        'network_error',
        `could not reach the provider's key set at ${uri}: ${reasonOf(error)}`,
        { retryable: true, cause: error },
      );
    }
  };
  try {
    return await Promise.race([download(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Why a request failed: the system error code (ECONNREFUSED, …) when there is one. */
function reasonOf(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (isObject(cause) && typeof cause['code'] === 'string') return cause['code'];
  return error instanceof Error ? error.message : String(error);
}

/**
 * The provider's signing keys, fetched from its `jwks_uri` and cached. One instance per provider,
 * shared by every request: it holds the set, the imported `CryptoKey`s and the fetch in progress.
 *
 * Errors (`ClientError`): `config_invalid` from the constructor; from `keys()`, `network_timeout`
 * (no complete answer within `timeoutMs`), `network_error` (provider unreachable) and
 * `jwks_failed` (not 200 — redirects included —, larger than `maxBytes`, not a JWK Set). When a
 * refresh fails and a set was fetched before, the earlier set stays in use.
 *
 * @example
 * const jwks = new JwksCache(metadata.jwks_uri);
 * const claims = await validateIdToken(tokens.id_token, jwks, { issuer, clientId, nonce });
 * @example
 * // Serverless: start warm from a stored snapshot.
 * const jwks = new JwksCache(uri, {}, JSON.parse(await kv.get('jwks')));
 * await kv.put('jwks', JSON.stringify(jwks.snapshot()));
 * @see https://openid.net/specs/openid-connect-core-1_0.html#RotateSigKeys
 */
export class JwksCache {
  readonly #url: URL;
  readonly #settings: Settings;
  #set: KeySet | undefined;
  /** When the last fetch, successful or not, started: the cooldown runs from there. */
  #attemptedAt: number | undefined;
  /** Why the last fetch failed, until one succeeds. */
  #error: ClientError | undefined;
  /** The fetch in progress, shared by every caller meanwhile. */
  #pending: Promise<KeySet> | undefined;
  /** Imported keys, per stored key (so per kid) and algorithm; dropped with the set they are of. */
  #imported = new WeakMap<StoredKey, Map<string, Promise<CryptoKey | undefined>>>();
  /** The keys that fit each (alg, kid), per key set. */
  #fits = new WeakMap<KeySet, Map<string, readonly StoredKey[]>>();
  /** Raw Ed25519 public keys, per stored key; null when `x` is not one. */
  #rawKeys = new WeakMap<StoredKey, Uint8Array | null>();

  /**
   * @param uri The provider's `jwks_uri` (from its discovery document): https, or http on a
   *   loopback host.
   * @param options Limits, clock and fetch; see `JwksCacheOptions` for the defaults.
   * @param snapshot A set exported by `snapshot()`, used until it is `maxAgeMs` old.
   */
  constructor(uri: string, options: JwksCacheOptions = {}, snapshot?: JwksSnapshot) {
    this.#url = jwksUrl(uri);
    this.#settings = settingsOf(options);
    if (snapshot !== undefined) this.#set = fromSnapshot(snapshot, this.#url);
  }

  /**
   * The keys that may verify a JWS with this header: those of the cached set whose type, curve,
   * `use`, `key_ops` and `alg` fit `alg`, and whose `kid` is the header's when it names one
   * (several when it does not — trying each is the caller's part). Empty when none fits, also for
   * algorithms outside `SUPPORTED_ALGORITHMS`.
   *
   * Fetches the set when there is none yet or it is older than `maxAgeMs`, and again when no key
   * fits (the provider may have rotated its keys) — unless the last fetch started less than
   * `cooldownMs` ago. Concurrent calls share one fetch.
   */
  async keys(header: { alg: string; kid?: string }): Promise<CryptoKey[]> {
    const fit = FITS.get(header.alg);
    if (fit === undefined) return [];
    const found = await this.#matching(header, fit);
    const imported = await Promise.all(found.map((key) => this.#import(key, header.alg, fit)));
    return imported.filter((key) => key !== undefined);
  }

  /** Whether Ed25519 signatures are to be checked with libsodium where it is available. */
  get nativeEd25519(): boolean {
    return this.#settings.nativeEd25519;
  }

  /**
   * For a header whose `alg` is EdDSA or Ed25519: the raw 32-byte public keys (JWK `x`) that may
   * verify it, chosen and fetched exactly as `keys` chooses them. Empty for other algorithms.
   */
  async ed25519Keys(header: { alg: string; kid?: string }): Promise<Uint8Array[]> {
    const fit = FITS.get(header.alg);
    if (fit !== ED25519) return [];
    const found = await this.#matching(header, fit);
    return found.map((key) => this.#raw(key)).filter((raw) => raw !== undefined);
  }

  /** The stored keys that fit the header, refetching once (cooldown permitting) when none does. */
  async #matching(
    header: { alg: string; kid?: string },
    fit: AlgorithmFit,
  ): Promise<readonly StoredKey[]> {
    let set = await this.#current();
    let found = this.#fitting(set, header, fit);
    if (found.length === 0 && (this.#pending || this.#mayFetch())) {
      set = await this.#refresh();
      found = this.#fitting(set, header, fit);
    }
    // No key, and the last fetch failed: that failure is the likelier story.
    if (found.length === 0 && this.#error) throw this.#error;
    return found;
  }

  /** The keys of `set` that fit the header, worked out once per set, algorithm and kid. */
  #fitting(
    set: KeySet,
    header: { alg: string; kid?: string },
    fit: AlgorithmFit,
  ): readonly StoredKey[] {
    let bySet = this.#fits.get(set);
    if (!bySet) {
      bySet = new Map();
      this.#fits.set(set, bySet);
    }
    // A kid is a string (the token parser checks), so this key names one (alg, kid) pair.
    const key = header.kid === undefined ? header.alg : `${header.alg} ${header.kid}`;
    let found = bySet.get(key);
    if (!found) {
      found = set.keys.filter((stored) => fits(stored, fit, header.kid));
      // Bounded: tokens naming made-up kids must not grow this without end.
      if (bySet.size >= 32) bySet.clear();
      bySet.set(key, found);
    }
    return found;
  }

  /** An OKP key's `x` decoded, once; undefined unless it is 32 bytes of strict base64url. */
  #raw(key: StoredKey): Uint8Array | undefined {
    if (this.#rawKeys.has(key)) return this.#rawKeys.get(key) ?? undefined;
    let raw: Uint8Array | null = null;
    try {
      const decoded = base64urlDecode(key.x as string);
      if (decoded.length === 32) raw = decoded;
    } catch {
      // Not base64url: no raw key (Web Crypto would refuse it too).
    }
    this.#rawKeys.set(key, raw);
    return raw ?? undefined;
  }

  /** The set in use, exported; undefined before the first successful fetch. */
  snapshot(): JwksSnapshot | undefined {
    if (this.#set === undefined) return undefined;
    return {
      uri: this.#url.href,
      keys: this.#set.keys.map((key) => structuredClone(key) as JWK),
      fetchedAt: this.#set.fetchedAt,
    };
  }

  /** The set to look in: the cached one while fresh, else a fetched one. */
  async #current(): Promise<KeySet> {
    const set = this.#set;
    if (set && this.#settings.now() - set.fetchedAt < this.#settings.maxAgeMs) return set;
    if (this.#pending || this.#mayFetch()) return this.#refresh();
    if (set) return set;
    throw this.#error ?? fetchError(this.#url.href, 'the last fetch failed');
  }

  #mayFetch(): boolean {
    const at = this.#attemptedAt;
    return at === undefined || this.#settings.now() - at >= this.#settings.cooldownMs;
  }

  /** The fetch in progress, or a new one. On failure, the earlier set when there is one. */
  #refresh(): Promise<KeySet> {
    if (this.#pending) return this.#pending;
    const at = this.#settings.now();
    this.#attemptedAt = at;
    this.#pending = fetchKeys(this.#url, this.#settings)
      .then(
        (keys) => {
          this.#set = { keys, fetchedAt: at };
          this.#error = undefined;
          return this.#set;
        },
        (error: ClientError) => {
          this.#error = error;
          if (this.#set) return this.#set;
          throw error;
        },
      )
      .finally(() => {
        this.#pending = undefined;
      });
    return this.#pending;
  }

  /** `key` imported for `alg`, once; undefined when Web Crypto refuses it. */
  #import(key: StoredKey, alg: string, fit: AlgorithmFit): Promise<CryptoKey | undefined> {
    let byAlg = this.#imported.get(key);
    if (!byAlg) {
      byAlg = new Map();
      this.#imported.set(key, byAlg);
    }
    let imported = byAlg.get(alg);
    if (!imported) {
      // Only the key material: `alg`, `use` and `key_ops` were checked already, and Web Crypto
      // would refuse `alg: "Ed25519"` or an `alg` of the other name.
      const material: JsonWebKey = { kty: key.kty };
      for (const member of MATERIAL[fit.kty]) {
        (material as Record<string, unknown>)[member] = (key as Record<string, unknown>)[member];
      }
      imported = crypto.subtle
        .importKey('jwk', material, fit.importParams, false, ['verify'])
        .catch(() => undefined);
      byAlg.set(alg, imported);
    }
    return imported;
  }
}
