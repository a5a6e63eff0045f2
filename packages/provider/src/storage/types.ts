/**
 * Storage interfaces: one narrow interface per artifact. Every adapter (memory, SQLite, and later
 * PostgreSQL and Redis) implements all of them and passes the shared suite in `suite.ts`.
 *
 * Times are epoch milliseconds. Secrets (codes, refresh tokens) are stored only as hashes: the
 * engine hands the adapter a hash, never the token itself.
 */

export type ClientType = 'web' | 'spa' | 'native' | 'service';
export type TokenEndpointAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'none';
export type SigningAlg = 'EdDSA' | 'ES256' | 'RS256';
/** Algorithms of JWTs a client signs (request objects, client assertions). */
export type ClientSigningAlg = 'HS256' | 'Ed25519' | SigningAlg;
export type GrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';

/** A registered client, with the standard metadata names (RFC 7591, OIDC Registration). */
export interface Client {
  client_id: string;
  type: ClientType;
  client_name?: string;
  /** Keyed hash of the client secret (confidential clients), for secret-based authentication. */
  client_secret_hash?: string;
  /**
   * The client secret sealed with AES-256-GCM under the provider secret: the HMAC key for HS256
   * request objects and `client_secret_jwt`. Never stored in the clear.
   */
  client_secret_sealed?: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  grant_types: GrantType[];
  /** Space-delimited scopes the client may request. */
  scope: string;
  id_token_signed_response_alg: SigningAlg;
  /**
   * Authorization requests must be signed request objects (JAR, RFC 9101). Set for every client
   * that makes authorization requests (web: true unless registered otherwise); when absent (a
   * client stored before JAR), web clients require it.
   */
  require_signed_request_object?: boolean;
  /** Pins the request object algorithm. */
  request_object_signing_alg?: ClientSigningAlg;
  /** Authorization requests must come through the PAR endpoint (RFC 9126). */
  require_pushed_authorization_requests?: boolean;
  /** Pins the algorithm of client assertions. */
  token_endpoint_auth_signing_alg?: ClientSigningAlg;
  /** Public keys the client signs with, inline … */
  jwks?: { keys: Record<string, unknown>[] };
  /** … or by URL (https, or http on loopback). */
  jwks_uri?: string;
  /** Origins allowed to call the token endpoint from a browser (CORS), for `spa` clients. */
  allowed_origins: string[];
  /** PKCE S256 required. Always true for public clients; confidential clients may opt out. */
  require_pkce: boolean;
  created_at: number;
  updated_at: number;
}

export interface ClientStore {
  get(clientId: string): Promise<Client | undefined>;
  list(): Promise<Client[]>;
  /** Creates or replaces. */
  put(client: Client): Promise<void>;
  /** Returns whether a client was removed. */
  remove(clientId: string): Promise<boolean>;
}

export interface User {
  /** Stable subject identifier, never reassigned. */
  sub: string;
  /** Login name, unique, compared case-insensitively (stored lower-cased). */
  username: string;
  passwordHash: string;
  /** OpenID Connect standard claims (name, email, …). */
  claims: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface UserStore {
  get(sub: string): Promise<User | undefined>;
  findByUsername(username: string): Promise<User | undefined>;
  list(): Promise<User[]>;
  /** Creates or replaces (by sub). Usernames are unique. */
  put(user: User): Promise<void>;
  remove(sub: string): Promise<boolean>;
}

/** What an authorization code is bound to. Stored under the code's hash. */
export interface AuthorizationCode {
  /** Hash of the code (the key). */
  id: string;
  grantId: string;
  clientId: string;
  redirectUri: string;
  codeChallenge?: string;
  nonce?: string;
  scope: string;
  sub: string;
  authTime: number;
  sessionId: string;
  /** Claims requested with the `claims` parameter, if any (JSON). */
  claims?: string;
  issuedAt: number;
  expiresAt: number;
}

export type ConsumeResult<T> =
  | { status: 'ok'; record: T }
  /** It existed but was already used: a replay. */
  | { status: 'reused'; record: T }
  | { status: 'missing' };

export interface CodeStore {
  save(code: AuthorizationCode): Promise<void>;
  /**
   * Marks the code used and returns it — atomically: of two concurrent calls for one code,
   * exactly one sees `ok`. Expired codes are `missing`. A used code is kept (as `reused`) until it
   * expires, so that a replay can be detected and its grant revoked.
   */
  consume(id: string, now: number): Promise<ConsumeResult<AuthorizationCode>>;
}

/** A signed-in browser at the provider (the IdP session). */
export interface Session {
  id: string;
  sub: string;
  authTime: number;
  /** Client ids that received tokens in this session (for logout). */
  clients: string[];
  createdAt: number;
  expiresAt: number;
}

export interface SessionStore {
  get(id: string, now: number): Promise<Session | undefined>;
  put(session: Session): Promise<void>;
  remove(id: string): Promise<void>;
}

/** A validated authorization request waiting for the user to sign in or consent. */
export interface Interaction {
  id: string;
  /** Anti-CSRF token embedded in the interaction's forms. */
  csrf: string;
  /** The validated authorization request, serialised by the engine. */
  request: Record<string, unknown>;
  /** Set once the user has signed in during this interaction. */
  sub?: string;
  authTime?: number;
  createdAt: number;
  expiresAt: number;
}

export interface InteractionStore {
  get(id: string, now: number): Promise<Interaction | undefined>;
  put(interaction: Interaction): Promise<void>;
  remove(id: string): Promise<void>;
}

/**
 * A pushed authorization request (RFC 9126), waiting to be used once at the authorization
 * endpoint.
 */
export interface PushedRequest {
  /** Hash of the random part of the request_uri (the key); the reference itself is never stored. */
  id: string;
  clientId: string;
  /** The validated authorization request, serialised by the engine. */
  request: Record<string, unknown>;
  createdAt: number;
  expiresAt: number;
}

export interface PushedRequestStore {
  save(request: PushedRequest): Promise<void>;
  /**
   * Removes the request and returns it — atomically: of two concurrent calls for one id, exactly
   * one gets it. An expired or unknown id gives undefined.
   */
  consume(id: string, now: number): Promise<PushedRequest | undefined>;
}

/**
 * Revocation of grants. A grant is everything issued from one authorization: its code, the access
 * and refresh tokens issued for it, and their refreshes; they all carry its id. Only revoked
 * grants are recorded, so issuing tokens costs no write here.
 */
export interface GrantStore {
  /**
   * Records that the grant is revoked. The record is kept until `expiresAt`, by when everything
   * issued under the grant has expired anyway.
   */
  revoke(id: string, now: number, expiresAt: number): Promise<void>;
  isRevoked(id: string, now: number): Promise<boolean>;
  /** Revokes one access token (by `jti`) until it would have expired anyway. */
  revokeAccessToken(jti: string, expiresAt: number): Promise<void>;
  isAccessTokenRevoked(jti: string, now: number): Promise<boolean>;
}

export interface RefreshToken {
  /** Hash of the token (the key). */
  id: string;
  grantId: string;
  clientId: string;
  sub: string;
  scope: string;
  authTime: number;
  sessionId: string;
  issuedAt: number;
  expiresAt: number;
}

export interface RefreshTokenStore {
  save(token: RefreshToken): Promise<void>;
  /**
   * Marks the token rotated and returns it — atomically, like `CodeStore.consume`. A rotated
   * token presented again is `reused` (the engine then revokes its grant).
   */
  consume(id: string, now: number): Promise<ConsumeResult<RefreshToken>>;
  /** The token if it exists, is not expired and was not rotated yet (introspection). */
  get(id: string, now: number): Promise<RefreshToken | undefined>;
  /** Removes a token outright (revocation endpoint). Returns its record if it existed. */
  remove(id: string): Promise<RefreshToken | undefined>;
}

export interface ConsentStore {
  /** Scopes the user approved for the client. */
  get(sub: string, clientId: string): Promise<string[] | undefined>;
  put(sub: string, clientId: string, scopes: string[], now: number): Promise<void>;
}

/** A signing key as stored: the private part encrypted at rest. */
export interface StoredKey {
  kid: string;
  alg: SigningAlg;
  /** Public JWK (what the JWKS publishes). */
  publicJwk: Record<string, unknown>;
  /** The private JWK, encrypted (AES-256-GCM) by the key manager; opaque to storage. */
  encryptedPrivateJwk: string;
  createdAt: number;
  /** Active keys sign; retired keys are only published. */
  status: 'active' | 'retired';
}

export interface KeyStore {
  list(): Promise<StoredKey[]>;
  put(key: StoredKey): Promise<void>;
  remove(kid: string): Promise<boolean>;
}

/** Fixed-window counters for throttling and replay caches. */
export interface CounterStore {
  /**
   * Adds one to `key` within a window of `windowMs` that starts at the first hit, and returns the
   * count in the current window.
   */
  hit(key: string, windowMs: number, now: number): Promise<number>;
  /** The count of `key` in its current window, without adding to it (0 when none). */
  peek(key: string, now: number): Promise<number>;
  reset(key: string): Promise<void>;
  /** Records `key` if absent; returns false if it was already there (replay detection). */
  once(key: string, expiresAt: number, now: number): Promise<boolean>;
}

export interface Storage {
  readonly clients: ClientStore;
  readonly users: UserStore;
  readonly codes: CodeStore;
  readonly sessions: SessionStore;
  readonly interactions: InteractionStore;
  readonly pushedRequests: PushedRequestStore;
  readonly grants: GrantStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly consents: ConsentStore;
  readonly keys: KeyStore;
  readonly counters: CounterStore;
  /** Deletes expired records. Called periodically by the server. */
  sweep(now: number): Promise<void>;
  close(): Promise<void>;
}
