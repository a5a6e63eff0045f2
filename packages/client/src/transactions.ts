/**
 * Login transactions: what the callback must check, stored when a login starts and taken back
 * by `state`, exactly once (SYSTEM.md "The client toolkit's callback", step 2).
 *
 * Two stores: {@link memoryTransactionStore} for a single server process, tests and
 * non-HTTP use, and {@link cookieTransactionStore}, which keeps each transaction in the
 * browser in its own AES-256-GCM encrypted cookie, so any number of server instances can
 * handle the callback without shared storage.
 *
 * A store never throws because a transaction is missing, expired, tampered with or not
 * decryptable: `take` answers `undefined`, and the callback turns that into
 * `transaction_not_found` with a hint of the likely cause.
 */
import { base64url, sealer, sha256, timingSafeEqual } from '@gatehouse/oauth';
import { ClientError } from './errors.js';

/**
 * What the callback checks, stored between the login redirect and the callback.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.1 (state, PKCE, nonce)
 * @see https://www.rfc-editor.org/rfc/rfc9207 (issuer: mix-up defence)
 */
export interface Transaction {
  state: string;
  /** The issuer the login was started with (RFC 9207 mix-up defence). */
  issuer: string;
  redirectUri: string;
  nonce?: string;
  /** PKCE code verifier (RFC 7636). */
  codeVerifier?: string;
  maxAge?: number;
  /** Where the app goes after login (the adapter validates it). */
  returnTo?: string;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds. A store caps it at save time to `now + ttlMs`. */
  expiresAt: number;
}

/**
 * Where transactions live between the login redirect and the callback. `C` is the per-request
 * context the store needs (cookies for the cookie store; nothing for the memory store).
 */
export interface TransactionStore<C = void> {
  save(context: C, tx: Transaction): Promise<void>;
  /**
   * Removes the transaction for `state` and returns it — one-time: a second take gives
   * undefined. Expired → undefined.
   */
  take(context: C, state: string): Promise<Transaction | undefined>;
  /**
   * How many logins are pending in this context (this browser). Stores that cannot tell per
   * browser leave it out; the callback then cannot tell a state mismatch from a lost transaction.
   */
  pending?(context: C): Promise<number>;
}

/** The cookies of one request/response, as a framework adapter exposes them. */
export interface CookieJar {
  get(name: string): string | undefined;
  /** Names of the request's cookies (to find and bound the transaction cookies). */
  names(): string[];
  set(name: string, value: string, attributes: CookieAttributes): void;
  delete(name: string, attributes: Pick<CookieAttributes, 'path' | 'secure' | 'sameSite'>): void;
}

export interface CookieAttributes {
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'Lax' | 'Strict' | 'None';
  path: string;
  /** Seconds. */
  maxAge: number;
}

/** 15 minutes: the default, and the longest a transaction may live (SECURITY.md, client toolkit). */
const MAX_TTL_MS = 15 * 60 * 1000;

export interface MemoryTransactionStoreOptions {
  /** How long a transaction lives, at most 15 minutes. Default: 15 minutes. */
  ttlMs?: number;
  /** How many transactions are kept; the oldest is dropped first. Default: 10 000. */
  maxEntries?: number;
  /** Clock, epoch milliseconds. Default: `Date.now`. */
  now?: () => number;
}

/**
 * Transactions in a `Map` of this instance (no module-level state): right for one server
 * process, tests and non-HTTP use. Not shared between processes or instances — behind a load
 * balancer use {@link cookieTransactionStore} or a shared store.
 *
 * `take` is atomic: it deletes the entry synchronously before anything else can see it.
 * Expired entries are swept lazily, on save.
 *
 * @example
 * ```ts
 * const transactions = memoryTransactionStore();
 * await transactions.save(undefined, tx);
 * const found = await transactions.take(undefined, state); // once
 * ```
 */
export function memoryTransactionStore(
  options: MemoryTransactionStoreOptions = {},
): TransactionStore<void> {
  const ttlMs = checkTtl(options.ttlMs);
  const maxEntries = checkPositiveInteger('maxEntries', options.maxEntries, 10_000);
  const now = options.now ?? Date.now;
  const entries = new Map<string, Transaction>();

  const expired = (tx: Transaction, at: number) => tx.expiresAt <= at;

  /** Drops expired entries from the front (oldest first); a full sweep only when full. */
  function sweep(at: number): void {
    for (const [state, tx] of entries) {
      if (!expired(tx, at)) break;
      entries.delete(state);
    }
    if (entries.size < maxEntries) return;
    for (const [state, tx] of entries) if (expired(tx, at)) entries.delete(state);
  }

  return {
    async save(_context, tx) {
      checkTransaction(tx);
      const at = now();
      // Saving a state again replaces it and makes it the newest.
      entries.delete(tx.state);
      sweep(at);
      for (const state of entries.keys()) {
        if (entries.size < maxEntries) break;
        entries.delete(state);
      }
      entries.set(tx.state, { ...tx, expiresAt: Math.min(tx.expiresAt, at + ttlMs) });
    },
    async take(_context, state) {
      if (typeof state !== 'string') return undefined;
      const tx = entries.get(state);
      if (tx === undefined) return undefined;
      entries.delete(state);
      return expired(tx, now()) ? undefined : { ...tx };
    },
  };
}

export interface CookieTransactionStoreOptions {
  /**
   * At least 32 characters of high-entropy secret; the cookie encryption key is derived from
   * it (HKDF-SHA-256). Changing it makes logins in progress fail with `transaction_not_found`.
   */
  secret: string;
  /**
   * The cookie's `Secure` attribute. Default: true. Set false only for development over
   * `http://localhost`: browsers drop `Secure` cookies set over plain HTTP, so the callback
   * would find no transaction.
   */
  secure?: boolean;
  /** The cookie's `Path`; it must cover the callback URL. Default: `'/'`. */
  path?: string;
  /** How long a login may take, at most 15 minutes. Default: 15 minutes. */
  ttlMs?: number;
  /**
   * Concurrent logins per browser (tabs); when a new login would exceed it, the oldest
   * transaction cookie is dropped. Default: 5.
   */
  maxTransactions?: number;
  /**
   * Prefix of the cookie names. Default: `'gh_tx.'`. `'__Host-…'` (needs `secure` and path
   * `/`) stops sibling subdomains from planting transaction cookies.
   */
  cookiePrefix?: string;
  /** Clock, epoch milliseconds. Default: `Date.now`. */
  now?: () => number;
}

/**
 * The largest `Set-Cookie` line (name, value and attributes) the store writes. Browsers keep at
 * least 4096 bytes per cookie (RFC 6265 §6.1); a transaction that would not fit is refused with
 * `config_invalid` rather than silently lost. A `returnTo` of about 2 500 ASCII characters
 * still fits next to a typical issuer, redirect URI, nonce and verifier.
 */
export const MAX_TRANSACTION_COOKIE_BYTES = 4096;

/** HKDF info: names the key's purpose and version, so no other key derived from the secret equals it. */
const KEY_INFO = 'gatehouse-client transaction cookie v1';
/** Characters of base64url SHA-256(state) in a cookie name: 96 bits, no collision among a few tabs. */
const ID_CHARS = 16;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Keeps each transaction in the browser, in a cookie of its own: several tabs can log in at
 * once, and the callback can be handled by any server instance sharing the secret.
 *
 * - Name: `cookiePrefix` + the first 16 base64url characters of SHA-256(state) — the state
 *   itself is never in the name.
 * - Value: `v1.<iv>.<ciphertext>` (base64url), AES-256-GCM of the transaction's JSON with a
 *   random 96-bit IV, under a key derived from `secret` with HKDF-SHA-256; the cookie name is the
 *   additional authenticated data, so a value moved to another cookie does not decrypt.
 * - Attributes: `HttpOnly`, `Secure` (unless `secure: false`), `SameSite=Lax`, `Path`,
 *   `Max-Age` = the transaction's remaining lifetime (the TTL).
 * - `take` deletes the cookie whatever it holds, then decrypts, checks the state (timing-safe)
 *   and the expiry; anything wrong gives `undefined`.
 * - At most `maxTransactions` cookies: on save, cookies that do not decrypt or have expired go
 *   first, then the oldest by the `createdAt` inside them (the store decrypts them; the creation
 *   time is never in clear).
 *
 * @throws ClientError `config_invalid` naming the option, for a short secret or a bad option;
 *   `save` throws it when the cookie would exceed {@link MAX_TRANSACTION_COOKIE_BYTES}.
 * @example
 * ```ts
 * const transactions = cookieTransactionStore({ secret: process.env.COOKIE_SECRET! });
 * await transactions.save(jar, tx);                    // login route
 * const found = await transactions.take(jar, state);   // callback route
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6265#section-4.1 (Set-Cookie)
 */
export function cookieTransactionStore(
  options: CookieTransactionStoreOptions,
): TransactionStore<CookieJar> {
  const secret = options?.secret;
  if (typeof secret !== 'string' || secret.length < 32) {
    throw new ClientError(
      'config_invalid',
      'cookieTransactionStore: the `secret` option must be a string of at least 32 characters',
      { hint: 'use a random value, e.g. 32 bytes from a CSPRNG in base64url' },
    );
  }
  const secure = options.secure ?? true;
  if (typeof secure !== 'boolean') {
    throw new ClientError('config_invalid', 'cookieTransactionStore: `secure` must be a boolean');
  }
  const path = options.path ?? '/';
  if (typeof path !== 'string' || !/^\/[\x21-\x3a\x3c-\x7e]*$/.test(path)) {
    throw new ClientError(
      'config_invalid',
      'cookieTransactionStore: `path` must start with "/" and hold no spaces, ";" or control characters',
    );
  }
  const ttlMs = checkTtl(options.ttlMs);
  const maxTransactions = checkPositiveInteger('maxTransactions', options.maxTransactions, 5);
  const prefix = options.cookiePrefix ?? 'gh_tx.';
  if (typeof prefix !== 'string' || !TOKEN.test(prefix)) {
    throw new ClientError(
      'config_invalid',
      'cookieTransactionStore: `cookiePrefix` must be a non-empty cookie name (RFC 6265 token characters)',
    );
  }
  if (prefix.startsWith('__Secure-') && !secure) {
    throw new ClientError(
      'config_invalid',
      'cookieTransactionStore: a `cookiePrefix` starting with "__Secure-" needs `secure: true`',
    );
  }
  if (prefix.startsWith('__Host-') && (!secure || path !== '/')) {
    throw new ClientError(
      'config_invalid',
      'cookieTransactionStore: a `cookiePrefix` starting with "__Host-" needs `secure: true` and `path: "/"`',
    );
  }
  const now = options.now ?? Date.now;
  const ownName = new RegExp(`^${escapeRegExp(prefix)}[A-Za-z0-9_-]{${ID_CHARS}}$`);

  // The cookie name is the additional data: a value moved to another cookie does not open.
  const seal = sealer(secret, KEY_INFO);

  const deleteAttributes = {
    path,
    secure,
    // Lax, not Strict: the callback is a top-level GET navigation that starts on the provider's
    // site, and a Strict cookie is not sent on a navigation coming from another site — the
    // callback would never see its transaction. Lax cookies are sent on top-level GETs only,
    // which is all the callback needs. (None would also send them on cross-site subrequests.)
    sameSite: 'Lax',
  } as const;

  async function open(name: string, value: string): Promise<Transaction | undefined> {
    const json = await seal.open(value, name);
    return json === undefined ? undefined : decodeTransaction(json);
  }

  /** Deletes transaction cookies so that, with one more, there are at most maxTransactions. */
  async function makeRoom(jar: CookieJar, keep: string, at: number): Promise<void> {
    const others = jar.names().filter((name) => name !== keep && ownName.test(name));
    if (others.length < maxTransactions) return;
    const ranked = await Promise.all(
      others.map(async (name) => {
        const value = jar.get(name);
        const tx = value === undefined ? undefined : await open(name, value);
        // Unreadable and expired cookies rank before every live one.
        return {
          name,
          rank: tx === undefined || tx.expiresAt <= at ? Number.NEGATIVE_INFINITY : tx.createdAt,
        };
      }),
    );
    ranked.sort((a, b) => (a.rank === b.rank ? 0 : a.rank < b.rank ? -1 : 1));
    for (const { name } of ranked.slice(0, others.length - maxTransactions + 1)) {
      jar.delete(name, deleteAttributes);
    }
  }

  return {
    async save(jar, tx) {
      checkTransaction(tx);
      const at = now();
      const stored: Transaction = { ...tx, expiresAt: Math.min(tx.expiresAt, at + ttlMs) };
      const name = prefix + (await cookieId(tx.state));
      const value = await seal.seal(encodeTransaction(stored), name);
      const attributes: CookieAttributes = {
        httpOnly: true,
        ...deleteAttributes,
        maxAge: Math.max(0, Math.ceil((stored.expiresAt - at) / 1000)),
      };
      const size = setCookieLength(name, value, attributes);
      if (size > MAX_TRANSACTION_COOKIE_BYTES) {
        throw new ClientError(
          'config_invalid',
          `the login transaction does not fit in a cookie (${size} bytes, at most ${MAX_TRANSACTION_COOKIE_BYTES})`,
          {
            hint: 'keep returnTo short (a path, not a full URL with a long query), or use a server-side TransactionStore',
          },
        );
      }
      await makeRoom(jar, name, at);
      jar.set(name, value, attributes);
    },

    async pending(jar) {
      return jar.names().filter((name) => ownName.test(name)).length;
    },

    async take(jar, state) {
      if (typeof state !== 'string' || state.length === 0) return undefined;
      const name = prefix + (await cookieId(state));
      const value = jar.get(name);
      if (value === undefined) return undefined;
      // One-time use: the cookie goes whatever it holds, before it is looked at.
      jar.delete(name, deleteAttributes);
      const tx = await open(name, value);
      if (tx === undefined || !timingSafeEqual(tx.state, state)) return undefined;
      if (tx.expiresAt <= now()) return undefined;
      return tx;
    },
  };
}

/** A short, non-reversible id of a state, for the cookie name. */
async function cookieId(state: string): Promise<string> {
  return base64url(await sha256(state)).slice(0, ID_CHARS);
}

/**
 * The cookie payload, with one-letter keys to keep the cookie small:
 * s state, i issuer, r redirectUri, n nonce, v codeVerifier, m maxAge, u returnTo,
 * c createdAt, e expiresAt.
 */
interface Payload {
  s: string;
  i: string;
  r: string;
  n?: string;
  v?: string;
  m?: number;
  u?: string;
  c: number;
  e: number;
}

function encodeTransaction(tx: Transaction): string {
  const payload: Payload = {
    s: tx.state,
    i: tx.issuer,
    r: tx.redirectUri,
    c: tx.createdAt,
    e: tx.expiresAt,
  };
  if (tx.nonce !== undefined) payload.n = tx.nonce;
  if (tx.codeVerifier !== undefined) payload.v = tx.codeVerifier;
  if (tx.maxAge !== undefined) payload.m = tx.maxAge;
  if (tx.returnTo !== undefined) payload.u = tx.returnTo;
  return JSON.stringify(payload);
}

/** The transaction in an authenticated payload; still checked field by field (defence in depth). */
function decodeTransaction(json: string): Transaction | undefined {
  const p: unknown = JSON.parse(json);
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return undefined;
  const { s, i, r, n, v, m, u, c, e } = p as Record<string, unknown>;
  if (typeof s !== 'string' || typeof i !== 'string' || typeof r !== 'string') return undefined;
  if (!Number.isFinite(c) || !Number.isFinite(e)) return undefined;
  if (n !== undefined && typeof n !== 'string') return undefined;
  if (v !== undefined && typeof v !== 'string') return undefined;
  if (m !== undefined && !Number.isFinite(m)) return undefined;
  if (u !== undefined && typeof u !== 'string') return undefined;
  const tx: Transaction = {
    state: s,
    issuer: i,
    redirectUri: r,
    createdAt: c as number,
    expiresAt: e as number,
  };
  if (n !== undefined) tx.nonce = n;
  if (v !== undefined) tx.codeVerifier = v;
  if (m !== undefined) tx.maxAge = m as number;
  if (u !== undefined) tx.returnTo = u;
  return tx;
}

/** Length of the `Set-Cookie` line a framework would write (all ASCII). */
function setCookieLength(name: string, value: string, a: CookieAttributes): number {
  const line = `${name}=${value}; Max-Age=${a.maxAge}; Path=${a.path}${a.httpOnly ? '; HttpOnly' : ''}${a.secure ? '; Secure' : ''}; SameSite=${a.sameSite}`;
  return line.length;
}

function checkTransaction(tx: Transaction): void {
  if (typeof tx?.state !== 'string' || tx.state.length === 0) {
    throw new TypeError('transaction.state must be a non-empty string');
  }
  if (!Number.isFinite(tx.createdAt) || !Number.isFinite(tx.expiresAt)) {
    throw new TypeError(
      'transaction.createdAt and transaction.expiresAt must be epoch milliseconds',
    );
  }
}

function checkTtl(ttlMs: number | undefined): number {
  if (ttlMs === undefined) return MAX_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TTL_MS) {
    throw new ClientError(
      'config_invalid',
      '`ttlMs` must be a number of milliseconds above 0 and at most 900000 (15 minutes)',
    );
  }
  return ttlMs;
}

function checkPositiveInteger(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ClientError('config_invalid', `\`${option}\` must be an integer of at least 1`);
  }
  return value;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
