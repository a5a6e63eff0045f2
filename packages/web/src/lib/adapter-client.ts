/**
 * What every adapter does with the client toolkit the same way: the client's options out of the
 * adapter's, the transaction cookie store, the tokens a session keeps, the log line of a failed
 * refresh, and where a logout sends the browser.
 */
import {
  type AuthLogger,
  ClientError,
  type ClientOptions,
  type CookieJar,
  cookieTransactionStore,
  type GatehouseClient,
  type SigningKey,
  type TokenSet,
  type TransactionStore,
} from '@gatehouse/client';
import type { SessionTokens } from './session-cookie.js';
import { DEFAULT_SCOPE, type Settings } from './settings.js';

/** The adapter options that configure the client. */
export interface ClientAdapterOptions {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  privateKey?: SigningKey;
  client?: Partial<ClientOptions>;
  scope?: string;
  logger?: AuthLogger;
  fetch?: typeof fetch;
}

/** The client's options: `client`, then the adapter's own options over it. */
export function clientOptionsOf(options: ClientAdapterOptions, settings: Settings): ClientOptions {
  const clientOptions: ClientOptions = {
    ...options.client,
    issuer: options.issuer,
    clientId: options.clientId,
    redirectUri: settings.baseUrl + settings.routes.callback,
    scope: options.scope ?? options.client?.scope ?? DEFAULT_SCOPE,
  };
  if (options.clientSecret !== undefined) clientOptions.clientSecret = options.clientSecret;
  if (options.privateKey !== undefined) clientOptions.privateKey = options.privateKey;
  if (options.logger !== undefined) clientOptions.logger = options.logger;
  if (options.fetch !== undefined) clientOptions.fetch = options.fetch;
  return clientOptions;
}

/** The login transactions, each in its own encrypted cookie. */
export function transactionStoreOf(
  secret: string,
  settings: Settings,
  clientOptions: ClientOptions,
): TransactionStore<CookieJar> {
  return cookieTransactionStore({
    secret,
    secure: settings.secure,
    now: clientOptions.now ?? Date.now,
    ...(clientOptions.transactionTtlMs !== undefined
      ? { ttlMs: clientOptions.transactionTtlMs }
      : {}),
  });
}

/** The tokens to keep: the new ones, and the old refresh and ID tokens when none came. */
export function tokensOf(tokens: TokenSet, previous?: SessionTokens): SessionTokens {
  const refreshToken = tokens.refreshToken ?? previous?.refreshToken;
  const idToken = tokens.idToken ?? previous?.idToken;
  const scope = tokens.scope ?? previous?.scope;
  return {
    accessToken: tokens.accessToken,
    ...(refreshToken !== undefined ? { refreshToken } : {}),
    ...(idToken !== undefined ? { idToken } : {}),
    ...(tokens.expiresAt !== undefined ? { expiresAt: tokens.expiresAt } : {}),
    ...(scope !== undefined ? { scope } : {}),
  };
}

/** Logs a failed session refresh (its code only, never a token); best effort. */
export function logRefreshFailed(
  logger: AuthLogger | undefined,
  client: GatehouseClient,
  err: unknown,
): void {
  const reason = err instanceof ClientError ? err.code : 'unexpected';
  try {
    logger?.warn(
      { event: 'session_refresh_failed', issuer: client.issuer, clientId: client.clientId, reason },
      'session refresh failed',
    );
  } catch {
    // Logging is best effort.
  }
}

/**
 * Where a logout sends the browser: the provider's `end_session_endpoint` when there was a
 * session and the provider has one, else straight to `after` (the post-logout redirect).
 */
export function logoutLocation(
  client: GatehouseClient,
  session: { tokens: SessionTokens } | undefined,
  after: string,
): string {
  if (!session || !client.metadata.end_session_endpoint) return after;
  const idToken = session.tokens.idToken;
  return client.logoutUrl({
    ...(idToken !== undefined ? { idTokenHint: idToken } : {}),
    postLogoutRedirectUri: after,
  }).href;
}
