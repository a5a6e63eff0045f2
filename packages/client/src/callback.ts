/**
 * The callback, in the order SYSTEM.md prescribes (the seed's "Step 4: Handle Callback", done
 * right). Steps 1–5 turn the raw redirect into a `ValidatedCallback`; only that can be exchanged
 * (step 6), so the safe order is the only order. Steps 7–8 check what comes back; step 9 is the
 * log of authentication events that runs alongside.
 */
import type { ProviderMetadata } from './discovery.js';
import { AuthorizationResponseError, ClientError, IdTokenError } from './errors.js';
import type { AuthEvents } from './events.js';
import type { HttpOptions } from './http.js';
import { type IdTokenClaims, validateIdToken } from './id-token.js';
import type { JwksCache } from './jwks.js';
import { type ClientAuthentication, credentials, type TokenSet, tokenRequest } from './token.js';
import type { Transaction } from './transactions.js';

/** Where the callback finds the transaction of its `state` (one-time). */
export interface TransactionLookup {
  /** Removes and returns the transaction for `state`. */
  take(state: string): Promise<Transaction | undefined>;
  /** How many other logins are pending in this browser (tells a mismatch from a lost one). */
  pending?(): Promise<number>;
}

/** What the callback needs from the client. */
export interface CallbackContext {
  issuer: string;
  clientId: string;
  metadata: ProviderMetadata;
  auth: ClientAuthentication;
  jwks: JwksCache;
  idTokenAlgorithms: readonly string[];
  clockToleranceSeconds: number;
  http: HttpOptions;
  events: AuthEvents;
  now: () => number;
}

/** A successful login. */
export interface LoginResult {
  tokens: TokenSet;
  claims: IdTokenClaims;
  /** Where the application wanted to go after the login, as the transaction recorded it. */
  returnTo?: string;
}

/** The code may be exchanged: everything before step 6 has passed. Made only by `validateCallback`. */
export interface ValidatedCallback {
  readonly code: string;
  readonly transaction: Transaction;
}

const validated = new WeakSet<ValidatedCallback>();
const exchanged = new WeakSet<ValidatedCallback>();

/** Step 5: what the guide's validator accepts — 10 to 512 base64url characters. */
export const CODE_PATTERN = /^[A-Za-z0-9_-]{10,512}$/;

/** The callback's parameters: from the redirect URL (query), or a form body already parsed. */
function toParams(input: URL | URLSearchParams | string): URLSearchParams {
  if (input instanceof URLSearchParams) return input;
  if (input instanceof URL) return input.searchParams;
  return new URL(input, 'http://callback.invalid').searchParams;
}

/** Step 1: duplicates and contradictions are refused before anything is touched. */
function parse(params: URLSearchParams): void {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) {
      throw new ClientError(
        'callback_duplicate_parameter',
        `the callback carries ${name} more than once`,
        { hint: 'a provider sends each parameter once; the URL was altered or forged' },
      );
    }
    seen.add(name);
  }
  if (params.has('code') && params.has('error')) {
    throw new ClientError('callback_code_and_error', 'the callback carries both code and error', {
      hint: 'a provider sends one or the other; the URL was altered or forged',
    });
  }
}

const LOST_HINT =
  'No login is in progress for this state in this browser. Likely causes: the login took longer ' +
  'than the transaction lifetime (15 minutes); the transaction cookie was not sent back — the ' +
  "app's URL and its redirect URI differ in scheme (http vs https) or host, or a SameSite=Strict " +
  'cookie policy drops it on the redirect; the callback was opened a second time (back button, ' +
  'reload); or the login was started in another browser. Start the login again.';

/** Step 2: the transaction, taken (deleted) before anything else. */
async function takeTransaction(
  params: URLSearchParams,
  lookup: TransactionLookup,
): Promise<Transaction> {
  const state = params.get('state');
  if (state === null || state === '') {
    // Without a state nothing ties the response to a login of this browser, so even an error
    // response is not acted on; its code is still worth showing (a provider that refuses a
    // request before reading it may leave the state out).
    const raw = params.get('error');
    const error = raw === null ? null : raw.replace(/[^\w.-]/g, '').slice(0, 64);
    throw new ClientError(
      'state_missing',
      `the callback has no state${error !== null ? ` (the provider answered error=${error})` : ''}`,
      {
        hint:
          error !== null
            ? 'the provider refused the request before it could read its state: check the error above (for example a client that must use PAR or signed requests)'
            : 'every login this app starts sends a state and the provider returns it; this callback was not started here (an old bookmark or a forged link)',
        retryable: true,
      },
    );
  }
  const transaction = await lookup.take(state);
  if (transaction) return transaction;
  if (lookup.pending && (await lookup.pending()) > 0) {
    throw new ClientError(
      'state_mismatch',
      'the state does not match the login in progress in this browser (possible CSRF)',
      {
        hint: 'the browser has a login in progress, but not this one: the link may come from someone else, or the login was started in another tab that has since finished',
        retryable: true,
      },
    );
  }
  throw new ClientError('transaction_not_found', 'session expired or cookie lost', {
    hint: LOST_HINT,
    retryable: true,
  });
}

/** Step 3: the response comes from the provider the login was started with (RFC 9207). */
function checkIssuer(ctx: CallbackContext, params: URLSearchParams, tx: Transaction): void {
  if (tx.issuer !== ctx.issuer) {
    throw new ClientError(
      'issuer_mismatch',
      `the login was started with ${tx.issuer}, not with this client's issuer ${ctx.issuer}`,
    );
  }
  const iss = params.get('iss');
  if (iss === null) {
    if (ctx.metadata.authorization_response_iss_parameter_supported === true) {
      throw new ClientError(
        'issuer_missing',
        'the callback has no iss, which this provider always sends',
        {
          hint: 'possible mix-up attack (RFC 9207): the response may come from another provider',
        },
      );
    }
    return;
  }
  if (iss !== tx.issuer) {
    throw new ClientError(
      'issuer_mismatch',
      `the callback's iss is ${iss}, expected ${tx.issuer}`,
      {
        hint: 'possible mix-up attack (RFC 9207): the response comes from another provider',
      },
    );
  }
}

/**
 * Steps 1–5: parse, take the transaction, check the issuer, turn an error response into an
 * `AuthorizationResponseError`, and check the code's shape.
 */
export async function validateCallback(
  ctx: CallbackContext,
  input: URL | URLSearchParams | string,
  lookup: TransactionLookup,
): Promise<ValidatedCallback> {
  const params = toParams(input);
  parse(params);
  const transaction = await takeTransaction(params, lookup);
  checkIssuer(ctx, params, transaction);
  const error = params.get('error');
  if (error !== null) {
    throw new AuthorizationResponseError(
      error,
      params.get('error_description') ?? undefined,
      params.get('error_uri') ?? undefined,
    );
  }
  const code = params.get('code');
  if (code === null || code === '') {
    throw new ClientError('code_missing', 'the callback has neither code nor error');
  }
  if (!CODE_PATTERN.test(code)) {
    throw new ClientError('code_malformed', 'the code is not 10-512 base64url characters');
  }
  const result: ValidatedCallback = Object.freeze({ code, transaction });
  validated.add(result);
  return result;
}

/**
 * Steps 6–8: the code exchange (never retried, never twice), the token response, the ID token.
 */
export async function completeCallback(
  ctx: CallbackContext,
  callback: ValidatedCallback,
): Promise<LoginResult> {
  if (!validated.has(callback)) {
    throw new ClientError(
      'config_invalid',
      'only a callback from validateCallback can be exchanged',
    );
  }
  if (exchanged.has(callback)) {
    throw new ClientError('config_invalid', 'this code was already exchanged; a code works once');
  }
  exchanged.add(callback);
  const tx = callback.transaction;
  const creds = await credentials(ctx.auth, ctx.clientId, ctx.issuer, ctx.now());
  const tokens = await tokenRequest(
    ctx.metadata.token_endpoint,
    {
      grant_type: 'authorization_code',
      code: callback.code,
      redirect_uri: tx.redirectUri,
      code_verifier: tx.codeVerifier,
    },
    creds,
    ctx.http,
    ctx.now,
  );
  if (tokens.idToken === undefined) {
    throw new ClientError('token_response_invalid', 'the token response has no id_token');
  }
  const claims = await validateIdToken(tokens.idToken, ctx.jwks, {
    issuer: tx.issuer,
    clientId: ctx.clientId,
    algorithms: ctx.idTokenAlgorithms,
    ...(tx.nonce !== undefined ? { nonce: tx.nonce } : {}),
    ...(tx.maxAge !== undefined ? { maxAge: tx.maxAge } : {}),
    accessToken: tokens.accessToken,
    clockToleranceSeconds: ctx.clockToleranceSeconds,
    now: ctx.now,
  });
  return { tokens, claims, ...(tx.returnTo !== undefined ? { returnTo: tx.returnTo } : {}) };
}

/** The whole callback, steps 1–9, with its authentication events. */
export async function handleCallback(
  ctx: CallbackContext,
  input: URL | URLSearchParams | string,
  lookup: TransactionLookup,
): Promise<LoginResult> {
  ctx.events.emit({ event: 'callback_received', issuer: ctx.issuer, clientId: ctx.clientId });
  try {
    const result = await completeCallback(ctx, await validateCallback(ctx, input, lookup));
    ctx.events.emit({
      event: 'login_succeeded',
      issuer: ctx.issuer,
      clientId: ctx.clientId,
      sub: result.claims.sub,
    });
    return result;
  } catch (err) {
    // The provider's error code (authorization or token endpoint) is safe to log; nothing else.
    const error = err instanceof ClientError ? (err as { error?: unknown }).error : undefined;
    ctx.events.emit({
      event: 'login_failed',
      issuer: ctx.issuer,
      clientId: ctx.clientId,
      reason: err instanceof ClientError ? err.code : 'unexpected',
      ...(err instanceof IdTokenError ? { check: err.check } : {}),
      ...(typeof error === 'string' ? { error } : {}),
    });
    throw err;
  }
}
