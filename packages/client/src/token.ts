/**
 * The back channel: client authentication (RFC 6749 §2.3, RFC 7523), the token request, and the
 * checks on what the token endpoint answers (SYSTEM.md callback step 7).
 */
import { randomToken } from '@gatehouse/oauth';
import { SignJWT } from 'jose';
import { ClientError, TokenEndpointError } from './errors.js';
import { formPost, type HttpOptions, isObject, type JsonResponse, requestJson } from './http.js';

/** A private key the client signs with (private_key_jwt, request objects). */
export interface SigningKey {
  key: CryptoKey;
  /** `EdDSA` (or its RFC 9864 name `Ed25519`), `ES256` or `RS256`. */
  alg: 'EdDSA' | 'Ed25519' | 'ES256' | 'RS256';
  kid?: string;
}

/** How the client authenticates at the provider's back-channel endpoints. */
export type ClientAuthentication =
  | { method: 'client_secret_basic' | 'client_secret_post' | 'client_secret_jwt'; secret: string }
  | { method: 'private_key_jwt'; key: SigningKey }
  | { method: 'none' };

/** What a request to a back-channel endpoint carries to authenticate the client. */
export interface Credentials {
  params: Record<string, string>;
  headers: Record<string, string>;
}

/** RFC 6749 §2.3.1: the id and secret are form-encoded before they go into Basic. */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

function basic(id: string, secret: string): string {
  const bytes = new TextEncoder().encode(`${formEncode(id)}:${formEncode(secret)}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

/** The Basic header of the last id and secret seen per authentication (a client's is fixed). */
const basicHeaders = new WeakMap<object, { id: string; secret: string; header: string }>();

function basicFor(auth: { secret: string }, id: string): string {
  const cached = basicHeaders.get(auth);
  if (cached && cached.id === id && cached.secret === auth.secret) return cached.header;
  const header = basic(id, auth.secret);
  basicHeaders.set(auth, { id, secret: auth.secret, header });
  return header;
}

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Lifetime of the client assertions this toolkit signs, in seconds. */
const ASSERTION_SECONDS = 60;

/**
 * The credentials for one request. Assertions (`private_key_jwt`, `client_secret_jwt`) are
 * signed for `audience` (the issuer) with a fresh `jti` every time.
 */
export async function credentials(
  auth: ClientAuthentication,
  clientId: string,
  audience: string,
  now: number,
): Promise<Credentials> {
  switch (auth.method) {
    case 'client_secret_basic':
      return { params: {}, headers: { authorization: basicFor(auth, clientId) } };
    case 'client_secret_post':
      return { params: { client_id: clientId, client_secret: auth.secret }, headers: {} };
    case 'none':
      return { params: { client_id: clientId }, headers: {} };
    case 'client_secret_jwt':
    case 'private_key_jwt': {
      const iat = Math.floor(now / 1000);
      const jwt = new SignJWT({ jti: randomToken(16) })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(audience)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ASSERTION_SECONDS);
      const assertion =
        auth.method === 'private_key_jwt'
          ? await jwt
              .setProtectedHeader({
                alg: auth.key.alg,
                ...(auth.key.kid !== undefined ? { kid: auth.key.kid } : {}),
              })
              .sign(auth.key.key)
          : await jwt
              .setProtectedHeader({ alg: 'HS256' })
              .sign(new TextEncoder().encode(auth.secret));
      return {
        params: {
          client_id: clientId,
          client_assertion_type: JWT_BEARER,
          client_assertion: assertion,
        },
        headers: {},
      };
    }
  }
}

/** The token endpoint's answer, checked and typed. */
export interface TokenSet {
  accessToken: string;
  /** Always `Bearer` (the toolkit does not use DPoP or other token types). */
  tokenType: 'Bearer';
  /** Seconds the access token lives, as the provider said. */
  expiresIn?: number;
  /** Epoch ms when the access token expires (from `expires_in`). */
  expiresAt?: number;
  refreshToken?: string;
  idToken?: string;
  scope?: string;
}

/**
 * Turns a token endpoint response into a `TokenSet`: an RFC 6749 §5.2 error body becomes a
 * `TokenEndpointError` with its status; a 200 must be a JSON object with a string `access_token`,
 * `token_type` Bearer (any case), a numeric `expires_in` when present, and string
 * `refresh_token`, `id_token`, `scope` when present.
 */
export function parseTokenResponse(res: JsonResponse, now: number, endpoint = 'token'): TokenSet {
  const body = res.json;
  if (res.status !== 200) {
    if (isObject(body) && typeof body['error'] === 'string') {
      throw new TokenEndpointError(
        res.status,
        {
          error: body['error'],
          ...(typeof body['error_description'] === 'string'
            ? { error_description: body['error_description'] }
            : {}),
          ...(typeof body['error_uri'] === 'string' ? { error_uri: body['error_uri'] } : {}),
        },
        endpoint,
      );
    }
    throw new ClientError(
      'token_response_invalid',
      `the ${endpoint} endpoint answered HTTP ${res.status} without an OAuth error`,
      { retryable: res.status >= 500 },
    );
  }
  const invalid = (why: string) =>
    new ClientError('token_response_invalid', `the ${endpoint} response ${why}`);
  if (!isObject(body)) throw invalid('is not a JSON object');
  const accessToken = body['access_token'];
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw invalid('has no access_token string');
  }
  const tokenType = body['token_type'];
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') {
    throw invalid(`has token_type ${JSON.stringify(tokenType)}; expected Bearer`);
  }
  const tokens: TokenSet = { accessToken, tokenType: 'Bearer' };
  const expiresIn = body['expires_in'];
  if (expiresIn !== undefined) {
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn < 0) {
      throw invalid('has an expires_in that is not a non-negative number');
    }
    tokens.expiresIn = expiresIn;
    tokens.expiresAt = now + expiresIn * 1000;
  }
  for (const [name, key] of [
    ['refresh_token', 'refreshToken'],
    ['id_token', 'idToken'],
    ['scope', 'scope'],
  ] as const) {
    const value = body[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || (name !== 'scope' && value === '')) {
      throw invalid(`has a ${name} that is not a string`);
    }
    tokens[key] = value;
  }
  return tokens;
}

/**
 * One POST to the token endpoint with the client's credentials. Never retried: a code works
 * once, and a refresh token rotates.
 */
export async function tokenRequest(
  endpoint: string,
  params: Record<string, string | undefined>,
  creds: Credentials,
  http: HttpOptions,
  now: () => number,
): Promise<TokenSet> {
  const res = await requestJson(
    endpoint,
    formPost({ ...params, ...creds.params }, creds.headers),
    http,
    'token request',
    'token_response_invalid',
  );
  return parseTokenResponse(res, now());
}
