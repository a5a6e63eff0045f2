/**
 * `GatehouseClient`: one relying party of one provider. It discovers the provider, builds
 * authorization requests, handles the callback, refreshes tokens, reads UserInfo, builds the
 * logout URL and revokes tokens. Framework adapters (Express, Web `Request`/`Response`, React)
 * sit on top and decide where transactions and sessions live.
 */
import {
  type AuthorizationContext,
  type AuthorizationOptions,
  type AuthorizationRequest,
  buildAuthorizationRequest,
} from './authorize.js';
import {
  type CallbackContext,
  handleCallback,
  type LoginResult,
  type TransactionLookup,
} from './callback.js';
import { discover, isSecureUrl, type ProviderMetadata } from './discovery.js';
import { ClientError } from './errors.js';
import { type AuthEvents, type AuthLogger, authEvents } from './events.js';
import { formPost, type HttpOptions, isObject, requestJson } from './http.js';
import { type IdTokenClaims, validateIdToken } from './id-token.js';
import { JwksCache, type JwksSnapshot } from './jwks.js';
import { defaultSend } from './node-runtime.js';
import {
  type ClientAuthentication,
  credentials,
  type SigningKey,
  type TokenSet,
  tokenRequest,
} from './token.js';

export interface ClientOptions {
  /** The provider's issuer identifier (https; http only on loopback for development). */
  issuer: string;
  clientId: string;
  /** The redirect URI registered for the client, where the callback is served. */
  redirectUri: string;
  /** Confidential clients: the secret (client_secret_basic by default, and HS256 request objects). */
  clientSecret?: string;
  /** Confidential clients: a private key (private_key_jwt, and request objects signed with it). */
  privateKey?: SigningKey;
  /** Defaults: private_key_jwt with a private key and no secret, client_secret_basic with a secret, none otherwise. */
  tokenEndpointAuthMethod?: ClientAuthentication['method'];
  /** Default scope of authorization requests. Default `openid profile email`. */
  scope?: string;
  /** Sign authorization requests (JAR). Default: true for confidential clients. */
  signRequests?: boolean;
  /** Push authorization requests (PAR). Default: only when the provider requires it. */
  pushRequests?: boolean;
  /** ID token algorithms accepted. Default EdDSA, Ed25519, ES256, RS256. */
  idTokenAlgorithms?: readonly string[];
  /** Clock skew allowed when checking ID tokens, in seconds. Default 30. */
  clockToleranceSeconds?: number;
  /** Time allowed for each request to the provider, in ms. Default 10 000. */
  timeoutMs?: number;
  /** How long a login may take, in ms. Default 15 minutes. */
  transactionTtlMs?: number;
  /**
   * The fetch to use (proxies, custom CAs, mocks); when given, every request goes through it.
   * Default: on Node.js, requests to the provider's endpoints go through `node:http` /
   * `node:https` (their global agents), which costs far less CPU than fetch there; elsewhere, and
   * for the key set, the global fetch.
   */
  fetch?: typeof fetch;
  /** Receives authentication events (pino-compatible). */
  logger?: AuthLogger;
  /** Provider metadata already known (skips discovery). */
  metadata?: ProviderMetadata;
  /** A key set exported by `jwksSnapshot()` (a warm start for serverless). */
  jwksSnapshot?: JwksSnapshot;
  /**
   * On Node.js, check EdDSA ID-token signatures with libsodium when the optional dependency
   * sodium-native is installed (same answers, less than half the CPU). `false`: Web Crypto only.
   * Default true.
   */
  nativeEd25519?: boolean;
  now?: () => number;
}

const DEFAULT_ALGS = ['EdDSA', 'Ed25519', 'ES256', 'RS256'] as const;

function authenticationOf(options: ClientOptions): ClientAuthentication {
  const method =
    options.tokenEndpointAuthMethod ??
    (options.privateKey && options.clientSecret === undefined
      ? 'private_key_jwt'
      : options.clientSecret !== undefined
        ? 'client_secret_basic'
        : 'none');
  const bad = (why: string) =>
    new ClientError('config_invalid', `tokenEndpointAuthMethod ${method}: ${why}`);
  switch (method) {
    case 'none':
      return { method };
    case 'private_key_jwt':
      if (!options.privateKey) throw bad('needs privateKey');
      return { method, key: options.privateKey };
    default:
      if (options.clientSecret === undefined) throw bad('needs clientSecret');
      return { method, secret: options.clientSecret };
  }
}

export class GatehouseClient {
  readonly issuer: string;
  readonly clientId: string;
  readonly metadata: ProviderMetadata;
  private readonly options: ClientOptions;
  private readonly auth: ClientAuthentication;
  private readonly http: HttpOptions;
  private readonly jwks: JwksCache;
  private readonly events: AuthEvents;
  private readonly now: () => number;

  /** Discovers the provider (unless `metadata` is given) and builds the client. */
  static async create(options: ClientOptions): Promise<GatehouseClient> {
    const http = {
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      ...(options.fetch === undefined && defaultSend ? { send: defaultSend } : {}),
      timeoutMs: options.timeoutMs ?? 10_000,
    };
    const metadata = options.metadata ?? (await discover(options.issuer, http));
    return new GatehouseClient(options, metadata);
  }

  constructor(options: ClientOptions, metadata: ProviderMetadata) {
    if (
      !isSecureUrl(options.redirectUri) &&
      !/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:/i.test(options.redirectUri)
    ) {
      throw new ClientError(
        'config_invalid',
        `redirectUri ${options.redirectUri} must be https (http only on loopback)`,
      );
    }
    if (metadata.issuer !== options.issuer) {
      throw new ClientError(
        'config_invalid',
        `the metadata is for ${metadata.issuer}, not ${options.issuer}`,
      );
    }
    for (const alg of options.idTokenAlgorithms ?? []) {
      if (alg === 'none' || alg.startsWith('HS')) {
        throw new ClientError(
          'config_invalid',
          `idTokenAlgorithms: ${alg} is never accepted for ID tokens`,
        );
      }
    }
    this.options = options;
    this.issuer = options.issuer;
    this.clientId = options.clientId;
    this.metadata = metadata;
    this.auth = authenticationOf(options);
    this.now = options.now ?? Date.now;
    this.http = {
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      ...(options.fetch === undefined && defaultSend ? { send: defaultSend } : {}),
      timeoutMs: options.timeoutMs ?? 10_000,
    };
    this.jwks = new JwksCache(
      metadata.jwks_uri,
      {
        fetch: this.http.fetch,
        timeoutMs: this.http.timeoutMs,
        now: this.now,
        ...(options.nativeEd25519 === undefined ? {} : { nativeEd25519: options.nativeEd25519 }),
      },
      options.jwksSnapshot,
    );
    this.events = authEvents(options.logger);
  }

  /** Whether the client is confidential (authenticates with a secret or a key). */
  get confidential(): boolean {
    return this.auth.method !== 'none';
  }

  private authorizationContext(): AuthorizationContext {
    return {
      issuer: this.issuer,
      clientId: this.clientId,
      redirectUri: this.options.redirectUri,
      defaultScope: this.options.scope ?? 'openid profile email',
      metadata: this.metadata,
      auth: this.auth,
      signRequests: this.options.signRequests ?? this.confidential,
      ...(this.options.privateKey ? { requestKey: this.options.privateKey } : {}),
      pushRequests: this.options.pushRequests ?? false,
      transactionTtlMs: this.options.transactionTtlMs ?? 15 * 60_000,
      http: this.http,
      now: this.now,
    };
  }

  private callbackContext(): CallbackContext {
    return {
      issuer: this.issuer,
      clientId: this.clientId,
      metadata: this.metadata,
      auth: this.auth,
      jwks: this.jwks,
      idTokenAlgorithms: this.options.idTokenAlgorithms ?? DEFAULT_ALGS,
      clockToleranceSeconds: this.options.clockToleranceSeconds ?? 30,
      http: this.http,
      events: this.events,
      now: this.now,
    };
  }

  /**
   * A new authorization request: the URL to redirect the browser to and the transaction to save
   * (keyed by its `state`) until the callback.
   */
  async authorizationRequest(options: AuthorizationOptions = {}): Promise<AuthorizationRequest> {
    const ctx = this.authorizationContext();
    const request = await buildAuthorizationRequest(ctx, options);
    this.events.emit({
      event: 'login_started',
      issuer: this.issuer,
      clientId: this.clientId,
      signed: request.signed,
      pushed: request.pushed,
    });
    return request;
  }

  /** Handles the redirect back from the provider: the nine steps of the callback. */
  callback(input: URL | URLSearchParams | string, lookup: TransactionLookup): Promise<LoginResult> {
    return handleCallback(this.callbackContext(), input, lookup);
  }

  /**
   * Uses a refresh token. A new ID token, if any, is validated and must be for the same `sub`.
   */
  async refresh(
    refreshToken: string,
    options: { expectedSub?: string; scope?: string } = {},
  ): Promise<{ tokens: TokenSet; claims?: IdTokenClaims }> {
    const creds = await credentials(this.auth, this.clientId, this.issuer, this.now());
    const tokens = await tokenRequest(
      this.metadata.token_endpoint,
      { grant_type: 'refresh_token', refresh_token: refreshToken, scope: options.scope },
      creds,
      this.http,
      this.now,
    );
    let claims: IdTokenClaims | undefined;
    if (tokens.idToken !== undefined) {
      claims = await validateIdToken(tokens.idToken, this.jwks, {
        issuer: this.issuer,
        clientId: this.clientId,
        algorithms: this.options.idTokenAlgorithms ?? DEFAULT_ALGS,
        accessToken: tokens.accessToken,
        clockToleranceSeconds: this.options.clockToleranceSeconds ?? 30,
        now: this.now,
        ...(options.expectedSub !== undefined ? { expectedSub: options.expectedSub } : {}),
      });
    }
    this.events.emit({
      event: 'token_refreshed',
      issuer: this.issuer,
      clientId: this.clientId,
      ...((claims?.sub ?? options.expectedSub) ? { sub: claims?.sub ?? options.expectedSub } : {}),
    });
    return { tokens, ...(claims ? { claims } : {}) };
  }

  /** The UserInfo claims for an access token; their `sub` must be `expectedSub`. */
  async userinfo(accessToken: string, expectedSub: string): Promise<Record<string, unknown>> {
    const endpoint = this.metadata.userinfo_endpoint;
    if (!endpoint) throw new ClientError('config_invalid', 'the provider has no userinfo_endpoint');
    const res = await requestJson(
      endpoint,
      { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } },
      this.http,
      'userinfo request',
      'userinfo_invalid',
    );
    if (res.status !== 200 || !isObject(res.json)) {
      throw new ClientError(
        'userinfo_invalid',
        `the userinfo endpoint answered HTTP ${res.status}`,
        {
          retryable: res.status >= 500 || res.status === 401,
        },
      );
    }
    if (res.json['sub'] !== expectedSub) {
      throw new ClientError('userinfo_invalid', 'the userinfo response is for another subject');
    }
    return res.json;
  }

  /** The RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0). */
  logoutUrl(
    options: { idTokenHint?: string; postLogoutRedirectUri?: string; state?: string } = {},
  ): URL {
    const endpoint = this.metadata.end_session_endpoint;
    if (!endpoint)
      throw new ClientError('config_invalid', 'the provider has no end_session_endpoint');
    const url = new URL(endpoint);
    url.searchParams.set('client_id', this.clientId);
    if (options.idTokenHint) url.searchParams.set('id_token_hint', options.idTokenHint);
    if (options.postLogoutRedirectUri) {
      url.searchParams.set('post_logout_redirect_uri', options.postLogoutRedirectUri);
    }
    if (options.state) url.searchParams.set('state', options.state);
    return url;
  }

  /** Revokes a token (RFC 7009). */
  async revoke(token: string, hint?: 'access_token' | 'refresh_token'): Promise<void> {
    const endpoint = this.metadata.revocation_endpoint;
    if (!endpoint)
      throw new ClientError('config_invalid', 'the provider has no revocation_endpoint');
    const creds = await credentials(this.auth, this.clientId, this.issuer, this.now());
    const res = await requestJson(
      endpoint,
      formPost({ token, token_type_hint: hint, ...creds.params }, creds.headers),
      this.http,
      'revocation request',
      'token_response_invalid',
    );
    if (res.status !== 200) {
      throw new ClientError(
        'token_response_invalid',
        `the revocation endpoint answered HTTP ${res.status}`,
        {
          retryable: res.status >= 500,
        },
      );
    }
  }

  /** The provider's key set as fetched so far, to start another instance warm. */
  jwksSnapshot(): JwksSnapshot | undefined {
    return this.jwks.snapshot();
  }
}
