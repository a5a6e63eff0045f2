/**
 * The options every server adapter shares, documented once: the provider and the client, the
 * application's URL and secret, the routes, and when to refresh.
 */
import type { AuthLogger, ClientOptions, SigningKey } from '@gatehouse/client';

/** Paths of the adapter's routes, under `baseUrl`'s path. */
export interface Routes {
  /** GET: starts a login; `?returnTo=/path` says where to go afterwards. */
  login: string;
  /** GET: the redirect URI (`baseUrl` + this path must be registered at the provider). */
  callback: string;
  /** GET or POST: ends the session, then the provider's session when it supports logout. */
  logout: string;
  /** Where the browser lands after logging out (registered as a post_logout_redirect_uri). */
  postLogoutRedirect: string;
}

/**
 * The options every Gatehouse server adapter takes (`gatehouseWeb()`, @gatehouse/express's
 * `gatehouse()`); each adds its session, error reporting and error page options.
 */
export interface GatehouseBaseOptions {
  /** The provider's issuer identifier. */
  issuer: string;
  clientId: string;
  /** A confidential client's secret (it also signs the request objects, HS256). */
  clientSecret?: string;
  /** Or a confidential client's private key (private_key_jwt and signed request objects). */
  privateKey?: SigningKey;
  /** Any other `GatehouseClient` option (timeouts, algorithms, PAR, a clock, `metadata`…). */
  client?: Partial<ClientOptions>;
  /**
   * The application's external URL, e.g. `https://app.example` (behind a proxy: the public one).
   * The redirect URI is `baseUrl` + `routes.callback`; cookies are `Secure` when it is https.
   * Only the path of a request's URL is looked at, never its host.
   */
  baseUrl: string;
  /**
   * At least 32 characters of high-entropy secret. The session and transaction cookie keys are
   * derived from it (HKDF-SHA-256, one key per use). Changing it signs everyone out.
   */
  secret: string;
  routes?: Partial<Routes>;
  /** Scopes asked for. Default `openid profile email offline_access`. */
  scope?: string;
  /** Receives the authentication events (pino-compatible); never a token or a code. */
  logger?: AuthLogger;
  fetch?: typeof fetch;
  /** Refresh the access token when it expires within this many seconds. Default 60. */
  refreshSkewSeconds?: number;
}
