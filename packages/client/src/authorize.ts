/**
 * Building the authorization request: `state`, `nonce` and a PKCE S256 pair for every request;
 * the parameters signed into a request object (JAR, RFC 9101) when the client is confidential or
 * the provider requires it; pushed to the PAR endpoint (RFC 9126) when configured or required.
 */
import { randomToken, s256Challenge } from '@gatehouse/oauth';
import { SignJWT } from 'jose';
import type { ProviderMetadata } from './discovery.js';
import { ClientError } from './errors.js';
import { formPost, type HttpOptions, isObject, requestJson } from './http.js';
import { type ClientAuthentication, credentials, type SigningKey } from './token.js';
import type { Transaction } from './transactions.js';

/** What the application may add to one authorization request. */
export interface AuthorizationOptions {
  /** Space-separated scopes; the client's default otherwise. `openid` is always included. */
  scope?: string;
  prompt?: string;
  /** Seconds: the provider must re-authenticate a user who signed in longer ago. */
  maxAge?: number;
  loginHint?: string;
  /** Where the application goes after the login (checked by the adapter, stored in the transaction). */
  returnTo?: string;
  /** Other parameters (ui_locales, acr_values, …); they cannot override the ones set here. */
  extra?: Record<string, string>;
}

/** An authorization request, ready: where to send the browser and what the callback will need. */
export interface AuthorizationRequest {
  url: URL;
  transaction: Transaction;
  /** Whether the parameters travel in a signed request object (JAR). */
  signed: boolean;
  /** Whether the request was pushed to the PAR endpoint. */
  pushed: boolean;
}

/** What building an authorization request needs from the client. */
export interface AuthorizationContext {
  issuer: string;
  clientId: string;
  redirectUri: string;
  defaultScope: string;
  metadata: ProviderMetadata;
  auth: ClientAuthentication;
  /** Sign the request (JAR): with this key, or HS256 with the client secret when undefined. */
  signRequests: boolean;
  requestKey?: SigningKey;
  pushRequests: boolean;
  transactionTtlMs: number;
  http: HttpOptions;
  now: () => number;
}

/** Lifetime of the request objects this toolkit signs, in seconds (providers allow ≤ 300). */
const REQUEST_OBJECT_SECONDS = 60;
const RESERVED = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'request',
  'request_uri',
]);

function scopeWithOpenid(scope: string): string {
  const scopes = scope.split(' ').filter(Boolean);
  return (scopes.includes('openid') ? scopes : ['openid', ...scopes]).join(' ');
}

/**
 * The authorization URL to send the browser to, and the transaction the callback will need.
 * The transaction is not stored here: the caller saves it (see `TransactionStore`).
 */
export async function buildAuthorizationRequest(
  ctx: AuthorizationContext,
  options: AuthorizationOptions = {},
): Promise<AuthorizationRequest> {
  const now = ctx.now();
  const state = randomToken(32);
  const nonce = randomToken(32);
  const codeVerifier = randomToken(32);
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.extra ?? {})) {
    if (RESERVED.has(k)) {
      throw new ClientError('config_invalid', `extra parameter ${k} is set by the toolkit itself`);
    }
    params[k] = v;
  }
  Object.assign(params, {
    response_type: 'code',
    client_id: ctx.clientId,
    redirect_uri: ctx.redirectUri,
    scope: scopeWithOpenid(options.scope ?? ctx.defaultScope),
    state,
    nonce,
    code_challenge: await s256Challenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  if (options.prompt !== undefined) params['prompt'] = options.prompt;
  if (options.maxAge !== undefined) params['max_age'] = String(options.maxAge);
  if (options.loginHint !== undefined) params['login_hint'] = options.loginHint;

  const signed = ctx.signRequests || ctx.metadata.require_signed_request_object === true;
  const sent = signed
    ? { client_id: ctx.clientId, request: await requestObject(ctx, params, options, now) }
    : params;
  const pushed = ctx.pushRequests || ctx.metadata.require_pushed_authorization_requests === true;
  const query = pushed ? await pushRequest(ctx, sent) : sent;

  const url = new URL(ctx.metadata.authorization_endpoint);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const transaction: Transaction = {
    state,
    issuer: ctx.issuer,
    redirectUri: ctx.redirectUri,
    nonce,
    codeVerifier,
    createdAt: now,
    expiresAt: now + ctx.transactionTtlMs,
  };
  if (options.maxAge !== undefined) transaction.maxAge = options.maxAge;
  if (options.returnTo !== undefined) transaction.returnTo = options.returnTo;
  return { url, transaction, signed, pushed };
}

/**
 * The parameters as a request object: `iss` = client_id, `aud` = the issuer, a short `exp`, a
 * fresh `jti`. HS256 with the client secret unless a request signing key is configured.
 */
async function requestObject(
  ctx: AuthorizationContext,
  params: Record<string, string>,
  options: AuthorizationOptions,
  now: number,
): Promise<string> {
  const claims: Record<string, unknown> = { ...params };
  // Inside a JWT, max_age is a number (OpenID Connect Core §6.1).
  if (options.maxAge !== undefined) claims['max_age'] = options.maxAge;
  const iat = Math.floor(now / 1000);
  const jwt = new SignJWT(claims)
    .setIssuer(ctx.clientId)
    .setAudience(ctx.issuer)
    .setIssuedAt(iat)
    .setExpirationTime(iat + REQUEST_OBJECT_SECONDS)
    .setJti(randomToken(16));
  if (ctx.requestKey) {
    return jwt
      .setProtectedHeader({
        alg: ctx.requestKey.alg,
        typ: 'oauth-authz-req+jwt',
        ...(ctx.requestKey.kid !== undefined ? { kid: ctx.requestKey.kid } : {}),
      })
      .sign(ctx.requestKey.key);
  }
  const secret = 'secret' in ctx.auth ? ctx.auth.secret : undefined;
  if (secret === undefined) {
    throw new ClientError(
      'config_invalid',
      'signed requests need the client secret (HS256) or a request signing key',
    );
  }
  return jwt
    .setProtectedHeader({ alg: 'HS256', typ: 'oauth-authz-req+jwt' })
    .sign(new TextEncoder().encode(secret));
}

/** Pushes the request to the PAR endpoint; returns what the browser carries instead. */
async function pushRequest(
  ctx: AuthorizationContext,
  params: Record<string, string>,
): Promise<Record<string, string>> {
  const endpoint = ctx.metadata.pushed_authorization_request_endpoint;
  if (endpoint === undefined) {
    throw new ClientError(
      'config_invalid',
      'the provider has no pushed_authorization_request_endpoint',
    );
  }
  const creds = await credentials(ctx.auth, ctx.clientId, ctx.issuer, ctx.now());
  const res = await requestJson(
    endpoint,
    formPost({ ...params, ...creds.params }, creds.headers),
    ctx.http,
    'pushed authorization request',
    'par_failed',
  );
  const body = res.json;
  if (res.status !== 201 && res.status !== 200) {
    const error = isObject(body) && typeof body['error'] === 'string' ? body['error'] : undefined;
    const description =
      isObject(body) && typeof body['error_description'] === 'string'
        ? body['error_description']
        : undefined;
    throw new ClientError(
      'par_failed',
      `the PAR endpoint answered ${res.status}${error ? ` ${error}` : ''}${description ? ` (${description})` : ''}`,
      { retryable: res.status >= 500 },
    );
  }
  const requestUri = isObject(body) ? body['request_uri'] : undefined;
  if (typeof requestUri !== 'string' || requestUri === '') {
    throw new ClientError('par_failed', 'the PAR response has no request_uri');
  }
  return { client_id: ctx.clientId, request_uri: requestUri };
}
