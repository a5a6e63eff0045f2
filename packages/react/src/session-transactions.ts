/**
 * Login transactions of a single-page app, in the tab's `sessionStorage`: one entry per login,
 * keyed by its `state`, so several logins (tabs, a double click) never overwrite each other.
 *
 * sessionStorage belongs to one tab and survives the round trip to the provider (same tab, same
 * origin), which is exactly the life of a login transaction. `take` reads and deletes the entry
 * in one synchronous step: there is no `await` between the two, so nothing else — another
 * `AuthProvider`, a StrictMode re-run, a reload — can see the entry after it was read.
 */
import { ClientError, type Transaction, type TransactionStore } from '@gatehouse/client';

/** A transaction as the React adapter saves it: whether the login was a silent one. */
export interface BrowserTransaction extends Transaction {
  /** A `prompt=none` login started by `silentLogin`: `login_required` and friends are quiet. */
  silent?: boolean;
}

export interface SessionTransactionStoreOptions {
  /** Where entries live (or a getter of it). Default: `globalThis.sessionStorage`, read at each use. */
  storage?: Storage | (() => Storage);
  /** How long a login may take, at most 15 minutes. Default: 15 minutes. */
  ttlMs?: number;
  /** Logins kept per tab; the oldest goes first. Default: 5. */
  maxEntries?: number;
  /** Prefix of the keys. Default: `'gatehouse.tx.'`. */
  prefix?: string;
  /** Clock, epoch milliseconds. Default: `Date.now`. */
  now?: () => number;
}

/** A {@link TransactionStore} with synchronous variants, for the callback's exactly-once order. */
export interface SessionTransactionStore extends TransactionStore<void> {
  /** `take`, synchronously: the entry is read and deleted before this returns. */
  takeNow(state: string): BrowserTransaction | undefined;
  /** How many logins are pending in this tab (expired ones not counted). */
  pendingNow(): number;
}

/** 15 minutes: the default, and the longest a transaction may live (SECURITY.md). */
const MAX_TTL_MS = 15 * 60 * 1000;

const STORAGE_HINT =
  'sessionStorage is not available: the browser blocks storage for this site (privacy ' +
  'settings, some private modes, a sandboxed iframe). The login cannot keep its PKCE verifier ' +
  'and state until the callback.';

/**
 * The sessionStorage transaction store.
 *
 * - Key: `prefix + state`. Value: the transaction as JSON, `expiresAt` capped at `now + ttlMs`.
 * - `take` removes the entry whatever it holds, then checks it (shape, state, expiry): anything
 *   wrong gives `undefined`, which the callback reports as `transaction_not_found`.
 * - `save` drops expired entries, and the oldest ones beyond `maxEntries`.
 * - A storage that throws (blocked) makes `save` fail with `config_invalid` and a hint;
 *   `take` and `pending` then see nothing.
 *
 * @example
 * ```ts
 * const transactions = sessionTransactionStore();
 * await transactions.save(undefined, tx);      // before redirecting to the provider
 * transactions.takeNow(state);                  // on the callback: once
 * ```
 */
export function sessionTransactionStore(
  options: SessionTransactionStoreOptions = {},
): SessionTransactionStore {
  const ttlMs = options.ttlMs ?? MAX_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TTL_MS) {
    throw new ClientError(
      'config_invalid',
      'sessionTransactionStore: `ttlMs` must be above 0 and at most 900000 (15 minutes)',
    );
  }
  const maxEntries = options.maxEntries ?? 5;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new ClientError(
      'config_invalid',
      'sessionTransactionStore: `maxEntries` must be an integer of at least 1',
    );
  }
  const prefix = options.prefix ?? 'gatehouse.tx.';
  if (typeof prefix !== 'string' || prefix === '') {
    throw new ClientError('config_invalid', 'sessionTransactionStore: `prefix` must not be empty');
  }
  const now = options.now ?? Date.now;
  const given = options.storage;
  const storage = (): Storage =>
    typeof given === 'function' ? given() : (given ?? globalThis.sessionStorage);

  /** Our entries: key, and the transaction if it still parses. */
  function entries(store: Storage): { key: string; tx: BrowserTransaction | undefined }[] {
    const found: { key: string; tx: BrowserTransaction | undefined }[] = [];
    for (let i = 0; i < store.length; i++) {
      const key = store.key(i);
      if (key === null || !key.startsWith(prefix)) continue;
      found.push({ key, tx: decode(store.getItem(key), key.slice(prefix.length)) });
    }
    return found;
  }

  function takeNow(state: string): BrowserTransaction | undefined {
    if (typeof state !== 'string' || state === '') return undefined;
    let raw: string | null;
    try {
      const store = storage();
      raw = store.getItem(prefix + state);
      if (raw === null) return undefined;
      // Deleted before it is looked at: one-time, whatever it holds.
      store.removeItem(prefix + state);
    } catch {
      return undefined;
    }
    const tx = decode(raw, state);
    return tx === undefined || tx.expiresAt <= now() ? undefined : tx;
  }

  function pendingNow(): number {
    try {
      const at = now();
      return entries(storage()).filter(({ tx }) => tx !== undefined && tx.expiresAt > at).length;
    } catch {
      return 0;
    }
  }

  return {
    async save(_context, tx) {
      if (typeof tx?.state !== 'string' || tx.state === '') {
        throw new TypeError('transaction.state must be a non-empty string');
      }
      if (!Number.isFinite(tx.createdAt) || !Number.isFinite(tx.expiresAt)) {
        throw new TypeError('transaction.createdAt and expiresAt must be epoch milliseconds');
      }
      const at = now();
      const stored: BrowserTransaction = { ...tx, expiresAt: Math.min(tx.expiresAt, at + ttlMs) };
      try {
        const store = storage();
        const others = entries(store).filter(({ key }) => key !== prefix + tx.state);
        const live = others.filter(({ key, tx: other }) => {
          if (other !== undefined && other.expiresAt > at) return true;
          store.removeItem(key);
          return false;
        });
        live.sort((a, b) => a.tx!.createdAt - b.tx!.createdAt);
        for (const { key } of live.slice(0, Math.max(0, live.length - maxEntries + 1))) {
          store.removeItem(key);
        }
        store.setItem(prefix + tx.state, JSON.stringify(stored));
      } catch (err) {
        throw new ClientError('config_invalid', 'the login transaction could not be saved', {
          hint: STORAGE_HINT,
          cause: err,
        });
      }
    },
    async take(_context, state) {
      return takeNow(state);
    },
    async pending() {
      return pendingNow();
    },
    takeNow,
    pendingNow,
  };
}

/** The stored JSON, checked field by field; anything unexpected is no transaction. */
function decode(raw: string | null, state: string): BrowserTransaction | undefined {
  if (raw === null) return undefined;
  let p: unknown;
  try {
    p = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return undefined;
  const o = p as Record<string, unknown>;
  if (o['state'] !== state) return undefined;
  if (typeof o['issuer'] !== 'string' || typeof o['redirectUri'] !== 'string') return undefined;
  if (!Number.isFinite(o['createdAt']) || !Number.isFinite(o['expiresAt'])) return undefined;
  const tx: BrowserTransaction = {
    state,
    issuer: o['issuer'],
    redirectUri: o['redirectUri'],
    createdAt: o['createdAt'] as number,
    expiresAt: o['expiresAt'] as number,
  };
  for (const name of ['nonce', 'codeVerifier', 'returnTo'] as const) {
    const value = o[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') return undefined;
    tx[name] = value;
  }
  if (o['maxAge'] !== undefined) {
    if (!Number.isFinite(o['maxAge'])) return undefined;
    tx.maxAge = o['maxAge'] as number;
  }
  if (o['silent'] === true) tx.silent = true;
  return tx;
}
