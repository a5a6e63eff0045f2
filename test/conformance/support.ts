/**
 * Shared machinery for the conformance tests: each file under test/conformance/ re-enacts one
 * module of the OpenID Foundation's `oidcc-basic-certification-test-plan` (or the discovery
 * plan) against an in-process provider, checking what that module checks.
 *
 * The provider runs with an https issuer and static clients configured the way a certification
 * run registers them: `client_secret_basic` (one module uses `client_secret_post`), RS256 ID
 * tokens (the suite's default), no PKCE on the happy path. Every helper checks what the suite
 * checks along the way: the authorization response (state, iss, code length and entropy, error
 * shape and charset), the token response, the ID token (signature against the JWKS, kid, iss,
 * aud, exp, iat, nonce, sub, at_hash) and the UserInfo response.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { s256Challenge } from '@gatehouse/oauth';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import { expect } from 'vitest';
import type { ConfigInput } from '../../packages/provider/src/config/schema.js';
import { memoryStorage } from '../../packages/provider/src/storage/memory.js';
import type { StoredKey } from '../../packages/provider/src/storage/types.js';
import { Browser, basic, startTestProvider, type TestProvider } from '../support/harness.js';

export const ISSUER = 'https://op.gatehouse.test';
/** The suite's callback: `{base}/test/a/{alias}/callback`. */
export const REDIRECT_URI = 'https://rp.conformance.test/test/a/gatehouse/callback';
/** A second registered redirect URI that carries its own query (RFC 6749 §3.1.2: kept as is). */
export const REDIRECT_URI_WITH_QUERY =
  'https://rp.conformance.test/test/a/gatehouse/callback?tenant=acme';

export interface SuiteClient {
  id: string;
  secret: string;
  auth: 'client_secret_basic' | 'client_secret_post';
  redirectUri: string;
  /** id_token_signed_response_alg; RS256 when not given. */
  idTokenAlg?: string;
}

/** `client` of the suite's configuration: client_secret_basic, RS256, no PKCE required. */
export const CLIENT: SuiteClient = {
  id: 'oidf-basic-client',
  secret: 'oidf-basic-client-secret-0123456789-abcdefghij',
  auth: 'client_secret_basic',
  redirectUri: REDIRECT_URI,
};

/** `client2`: a second client, used to check that codes and refresh tokens are bound to a client. */
export const CLIENT2: SuiteClient = {
  id: 'oidf-basic-client-2',
  secret: 'oidf-basic-client-2-secret-0123456789-abcdefgh',
  auth: 'client_secret_basic',
  redirectUri: REDIRECT_URI,
};

/** The client of `oidcc-server-client-secret-post`. */
export const POST_CLIENT: SuiteClient = {
  id: 'oidf-post-client',
  secret: 'oidf-post-client-secret-0123456789-abcdefghijk',
  auth: 'client_secret_post',
  redirectUri: REDIRECT_URI,
};

/**
 * The `client.scope` of the run's configuration. `offline_access` is in it so that
 * `oidcc-refresh-token` gets a refresh token to test (the suite skips that module otherwise).
 */
export const SUITE_SCOPE = 'openid offline_access';

export const USER = { username: 'alice', password: 'correct horse battery' } as const;
export const OTHER_USER = { username: 'bob', password: 'bob password 123' } as const;

/** Alice has a value for every claim of the standard scopes, so scope tests can see them. */
export const USER_CLAIMS = {
  name: 'Alice Example',
  given_name: 'Alice',
  family_name: 'Example',
  preferred_username: 'alice',
  website: 'https://alice.example.com',
  birthdate: '1990-04-01',
  zoneinfo: 'Europe/Paris',
  locale: 'en-GB',
  updated_at: 1_700_000_000,
  email: 'alice@example.com',
  email_verified: true,
  address: {
    formatted: '1 Main Street\nSpringfield 12345\nUS',
    street_address: '1 Main Street',
    locality: 'Springfield',
    postal_code: '12345',
    country: 'US',
  },
  phone_number: '+1 555 0100',
  phone_number_verified: false,
} as const;

function suiteClientConfig(c: SuiteClient, redirectUris: string[]) {
  return {
    client_id: c.id,
    type: 'web' as const,
    client_name: `OpenID conformance ${c.id}`,
    client_secret: c.secret,
    token_endpoint_auth_method: c.auth,
    redirect_uris: redirectUris,
    require_pkce: false,
    // The basic plan sends plain authorization requests: opt these web clients out of the JAR
    // requirement that confidential clients get by default.
    require_signed_request_object: false,
    id_token_signed_response_alg: 'RS256' as const,
  };
}

export function conformanceConfig(): ConfigInput {
  return {
    issuer: ISSUER,
    storage: { memory: true },
    // The suite expects scope claims at UserInfo only (OIDC Core §5.4) for the code flow.
    claimsInIdToken: false,
    clients: [
      suiteClientConfig(CLIENT, [REDIRECT_URI, REDIRECT_URI_WITH_QUERY]),
      suiteClientConfig(CLIENT2, [REDIRECT_URI]),
      suiteClientConfig(POST_CLIENT, [REDIRECT_URI]),
    ],
    users: [
      { ...USER, claims: { ...USER_CLAIMS } },
      { ...OTHER_USER, claims: { name: 'Bob' } },
    ],
  };
}

export interface Conformance {
  tp: TestProvider;
  /** The discovery document, fetched as the suite does before every module. */
  discovery: Record<string, unknown>;
  jwks: JSONWebKeySet;
}

/**
 * Signing keys shared by the conformance files: each test file runs in its own process, and
 * generating the RSA key costs more than a whole module's flow. The cache holds the stored keys
 * exactly as the provider keeps them (private parts encrypted under the harness's test secret);
 * when it is missing or unusable, the provider generates fresh keys and the cache is rewritten.
 */
const KEY_CACHE = join(tmpdir(), 'gatehouse-conformance-signing-keys.json');

async function startProvider(config: ConfigInput): Promise<TestProvider> {
  let cached: unknown;
  try {
    cached = JSON.parse(readFileSync(KEY_CACHE, 'utf8'));
  } catch {
    cached = undefined;
  }
  if (Array.isArray(cached) && cached.length > 0) {
    try {
      const storage = memoryStorage();
      for (const key of cached as StoredKey[]) await storage.keys.put(key);
      return await startTestProvider({ config, storage });
    } catch {
      // A cache from another secret or key format: start afresh below.
    }
  }
  const tp = await startTestProvider({ config });
  try {
    const tmp = `${KEY_CACHE}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(await tp.provider.storage.keys.list()));
    renameSync(tmp, KEY_CACHE);
  } catch {
    // Only a speed-up.
  }
  return tp;
}

/** Starts a provider and fetches its metadata and keys (GetDynamicServerConfiguration, FetchServerKeys). */
export async function startConformance(
  config: ConfigInput = conformanceConfig(),
): Promise<Conformance> {
  const tp = await startProvider(config);
  const res = await tp.fetch(`${tp.issuer}/.well-known/openid-configuration`);
  expect(res.status).toBe(200);
  const discovery = (await res.json()) as Record<string, unknown>;
  const jwksRes = await tp.fetch(String(discovery['jwks_uri']));
  expect(jwksRes.status).toBe(200);
  const jwks = (await jwksRes.json()) as JSONWebKeySet;
  return { tp, discovery, jwks };
}

export function nowSeconds(conf: Conformance): number {
  return Math.floor(conf.tp.clock.now() / 1000);
}

// ---------------------------------------------------------------------------------------------
// Authorization endpoint
// ---------------------------------------------------------------------------------------------

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random alphanumeric value, as the suite's CreateRandomStateValue / CreateRandomNonceValue. */
export function randomValue(length = 10): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => ALNUM[b % ALNUM.length]).join('');
}

export const CODE_VERIFIER = 'oidf-conformance-verifier-0123456789-abcdefghijklmnopqrstuvwxyz';

export interface AuthorizationOptions {
  client?: SuiteClient;
  redirectUri?: string;
  /** Defaults to SUITE_SCOPE. */
  scope?: string;
  /** undefined: a random value; null: not sent. */
  state?: string | null;
  /** undefined: a random value; null: not sent. */
  nonce?: string | null;
  /** Send an S256 code_challenge for CODE_VERIFIER. */
  pkce?: boolean;
  /** Extra parameters (e.g. prompt, max_age, display). */
  extra?: Record<string, string>;
  /** Parameters to leave out (e.g. response_type). */
  omit?: string[];
  /** GET (the default) or a form POST to the authorization endpoint. */
  method?: 'GET' | 'POST';
  browser?: Browser;
  user?: { username: string; password: string };
}

export interface AuthorizationRequest {
  client: SuiteClient;
  redirectUri: string;
  params: URLSearchParams;
  state: string | undefined;
  nonce: string | undefined;
  pkce: boolean;
}

export async function authorizationRequest(
  o: AuthorizationOptions = {},
): Promise<AuthorizationRequest> {
  const client = o.client ?? CLIENT;
  const redirectUri = o.redirectUri ?? client.redirectUri;
  const state = o.state === null ? undefined : (o.state ?? randomValue());
  const nonce = o.nonce === null ? undefined : (o.nonce ?? randomValue());
  const params = new URLSearchParams();
  params.set('client_id', client.id);
  params.set('redirect_uri', redirectUri);
  params.set('scope', o.scope ?? SUITE_SCOPE);
  if (state !== undefined) params.set('state', state);
  if (nonce !== undefined) params.set('nonce', nonce);
  params.set('response_type', 'code');
  if (o.pkce) {
    params.set('code_challenge', await s256Challenge(CODE_VERIFIER));
    params.set('code_challenge_method', 'S256');
  }
  for (const [k, v] of Object.entries(o.extra ?? {})) params.set(k, v);
  for (const k of o.omit ?? []) params.delete(k);
  return { client, redirectUri, params, state, nonce, pkce: o.pkce ?? false };
}

export interface AuthorizationResult {
  browser: Browser;
  request: AuthorizationRequest;
  /** The first response of the authorization endpoint itself. */
  first: Response;
  /** The final response: a redirect that leaves the provider, or a page of the provider. */
  last: Response;
  /** Where the provider finally sent the browser, if it left the provider. */
  location: URL | undefined;
  sawLogin: boolean;
  sawConsent: boolean;
}

function leavesProvider(conf: Conformance, res: Response): boolean {
  const location = res.headers.get('location');
  return (
    res.status >= 300 &&
    res.status < 400 &&
    location !== null &&
    !location.startsWith(conf.tp.issuer)
  );
}

/** Follows redirects that stay on the provider (the browser's GETs). */
async function followWithinProvider(
  conf: Conformance,
  browser: Browser,
  res: Response,
): Promise<Response> {
  for (let i = 0; i < 10 && res.status >= 300 && res.status < 400; i++) {
    const location = res.headers.get('location') ?? '';
    if (!location.startsWith(conf.tp.issuer)) return res;
    res = await browser.request(location);
  }
  return res;
}

/**
 * Sends the user's browser to the authorization endpoint and plays the user: signs in when the
 * login page shows, allows on the consent page. Does not judge the outcome.
 */
export async function authorize(
  conf: Conformance,
  o: AuthorizationOptions = {},
): Promise<AuthorizationResult> {
  const request = await authorizationRequest(o);
  const browser = o.browser ?? new Browser(conf.tp);
  const endpoint = String(conf.discovery['authorization_endpoint']);
  const first =
    o.method === 'POST'
      ? await browser.request(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: request.params.toString(),
        })
      : await browser.request(`${endpoint}?${request.params}`);
  let res = await followWithinProvider(conf, browser, first.clone());
  let sawLogin = false;
  let sawConsent = false;
  for (let i = 0; i < 4 && !leavesProvider(conf, res); i++) {
    if (!(res.headers.get('content-type') ?? '').startsWith('text/html')) break;
    const body = await res.clone().text();
    if (body.includes('name="password"')) {
      sawLogin = true;
      const user = o.user ?? USER;
      res = await browser.submit(res, { username: user.username, password: user.password });
    } else if (body.includes('name="decision"')) {
      sawConsent = true;
      res = await browser.submit(res, { decision: 'allow' });
    } else {
      break;
    }
  }
  const location = leavesProvider(conf, res) ? new URL(res.headers.get('location')!) : undefined;
  return { browser, request, first, last: res, location, sawLogin, sawConsent };
}

/** The parameters of a redirect, refusing duplicates (CheckMatchingCallbackParameters). */
export function responseParams(location: URL): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of location.searchParams) {
    expect(out.has(k), `parameter ${k} appears twice in the authorization response`).toBe(false);
    out.set(k, v);
  }
  return out;
}

/**
 * What every authorization response must satisfy: it goes to the redirect URI the request named
 * (with the registered query kept), carries nothing in a fragment, `iss` is the discovery issuer
 * (RFC 9207), and `state` is the exact value sent — or absent when none was sent.
 */
export function checkAuthorizationResponseCommon(
  conf: Conformance,
  request: AuthorizationRequest,
  location: URL,
): Map<string, string> {
  const registered = new URL(request.redirectUri);
  expect(location.origin + location.pathname).toBe(registered.origin + registered.pathname);
  for (const [k, v] of registered.searchParams) expect(location.searchParams.get(k)).toBe(v);
  expect(location.hash).toBe('');
  const params = responseParams(location);
  expect(params.get('iss')).toBe(conf.discovery['issuer']);
  if (request.state === undefined) expect(params.has('state')).toBe(false);
  else expect(params.get('state')).toBe(request.state);
  return params;
}

/**
 * Shannon entropy of the string's characters times its length: the suite's estimate of a code's
 * randomness (EnsureMinimumAuthorizationCodeEntropy).
 */
export function estimatedEntropyBits(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * value.length;
}

/** A successful response: a code of at least 128 bits (EnsureMinimumAuthorizationCodeLength) and no error. */
export function expectAuthorizationCode(conf: Conformance, result: AuthorizationResult): string {
  expect(
    result.location,
    `expected a redirect to the client, got HTTP ${result.last.status}`,
  ).toBeDefined();
  const params = checkAuthorizationResponseCommon(conf, result.request, result.location!);
  expect(params.get('error'), params.get('error_description')).toBeUndefined();
  const code = params.get('code');
  expect(code).toBeTruthy();
  // 128 bits = 22 base64url characters (RFC 6749 §10.10, RFC 6819 §5.1.4.2.2).
  expect(code!.length).toBeGreaterThanOrEqual(22);
  expect(code).toMatch(/^[\x20-\x7e]+$/);
  expect(estimatedEntropyBits(code!)).toBeGreaterThanOrEqual(96);
  return code!;
}

/** RFC 6749 §4.1.2.1 / §5.2: error and error_description use %x20-21 / %x23-5B / %x5D-7E. */
export const NQSCHAR = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** RFC 6749 §5.2: error_uri uses %x21 / %x23-5B / %x5D-7E. */
export const URI_CHARS = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

export function checkErrorFields(fields: Map<string, string> | Record<string, unknown>): void {
  const get = (k: string) => (fields instanceof Map ? fields.get(k) : fields[k]);
  const error = get('error');
  expect(typeof error).toBe('string');
  expect(error).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
  const description = get('error_description');
  if (description !== undefined) {
    expect(typeof description).toBe('string');
    // CheckErrorDescriptionFromAuthorizationEndpointResponseErrorContainsCRLFTAB
    expect(description).not.toMatch(/[\r\n\t]/);
    expect(description).toMatch(NQSCHAR);
  }
  const uri = get('error_uri');
  if (uri !== undefined) {
    expect(typeof uri).toBe('string');
    expect(uri).toMatch(URI_CHARS);
    expect(() => new URL(uri as string)).not.toThrow();
  }
}

/**
 * An error redirect (performGenericAuthorizationEndpointErrorResponseValidation): only `error`,
 * `error_description`, `error_uri`, `state`, `session_state` and `iss` (beyond the redirect URI's
 * own query), well-formed, no code.
 */
export function expectAuthorizationError(
  conf: Conformance,
  result: AuthorizationResult,
): Map<string, string> {
  expect(
    result.location,
    `expected a redirect to the client, got HTTP ${result.last.status}`,
  ).toBeDefined();
  const params = checkAuthorizationResponseCommon(conf, result.request, result.location!);
  const own = new Set(new URL(result.request.redirectUri).searchParams.keys());
  const allowed = new Set([
    'error',
    'error_description',
    'error_uri',
    'state',
    'session_state',
    'iss',
  ]);
  for (const k of params.keys()) {
    if (!own.has(k))
      expect(allowed, `unexpected parameter '${k}' in an error response`).toContain(k);
  }
  expect(params.has('code')).toBe(false);
  checkErrorFields(params);
  return params;
}

/**
 * An error page instead of a redirect (RFC 6749 §4.1.2.1): HTTP 400, HTML, no Location header,
 * and no link back to the untrusted redirect URI.
 */
export async function expectErrorPage(res: Response, untrustedUri?: string): Promise<string> {
  expect(res.status).toBe(400);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('content-type') ?? '').toMatch(/^text\/html/);
  const body = await res.clone().text();
  if (untrustedUri !== undefined) {
    expect(body).not.toContain(`href="${untrustedUri}`);
    expect(body).not.toMatch(/http-equiv="refresh"/i);
  }
  return body;
}

// ---------------------------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------------------------

/** A token request authenticated the way the client is registered. */
export async function tokenRequest(
  conf: Conformance,
  client: SuiteClient,
  form: Record<string, string>,
): Promise<Response> {
  const body = new URLSearchParams(form);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.auth === 'client_secret_basic')
    headers['authorization'] = basic(client.id, client.secret);
  else {
    body.set('client_id', client.id);
    body.set('client_secret', client.secret);
  }
  return conf.tp.fetch(String(conf.discovery['token_endpoint']), {
    method: 'POST',
    headers,
    body: body.toString(),
  });
}

export async function exchangeCode(
  conf: Conformance,
  request: AuthorizationRequest,
  code: string,
  client: SuiteClient = request.client,
): Promise<Response> {
  const form: Record<string, string> = {
    grant_type: 'authorization_code',
    code,
    redirect_uri: request.redirectUri,
  };
  if (request.pkce) form['code_verifier'] = CODE_VERIFIER;
  return tokenRequest(conf, client, form);
}

export interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
  [k: string]: unknown;
}

/**
 * A successful token response (CheckTokenEndpointHttpStatus200, ...ReturnedJsonContentType,
 * ...CacheHeaders, CheckForAccessTokenValue, CheckTokenTypeIsBearer, ValidateExpiresIn).
 */
export async function expectTokenResponse(res: Response): Promise<TokenBody> {
  const text = await res.clone().text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  expect(res.headers.get('cache-control') ?? '').toMatch(/no-store/);
  const body = JSON.parse(text) as TokenBody;
  expect(typeof body.access_token).toBe('string');
  expect(body.access_token.length).toBeGreaterThan(0);
  // RFC 6749 A.12: access token is 1*VSCHAR.
  expect(body.access_token).toMatch(/^[\x20-\x7e]+$/);
  expect(body.token_type.toLowerCase()).toBe('bearer');
  expect(typeof body.expires_in).toBe('number');
  expect(body.expires_in!).toBeGreaterThan(0);
  if (body.refresh_token !== undefined) {
    // EnsureRefreshTokenContainsAllowedCharactersOnly (RFC 6749 A.17: 1*VSCHAR).
    expect(body.refresh_token).toMatch(/^[\x20-\x7e]+$/);
  }
  return body;
}

/**
 * A token endpoint error (CheckTokenEndpointHttpStatus400, CheckTokenEndpointReturnedJsonContentType,
 * CheckErrorFromTokenEndpointResponseErrorInvalidGrant, ValidateErrorDescription/UriFromTokenEndpointResponseError).
 */
export async function expectTokenError(
  res: Response,
  error = 'invalid_grant',
): Promise<Record<string, unknown>> {
  const text = await res.clone().text();
  expect(res.status, text).toBe(400);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body['error']).toBe(error);
  checkErrorFields(body);
  expect(body['access_token']).toBeUndefined();
  return body;
}

// ---------------------------------------------------------------------------------------------
// ID token
// ---------------------------------------------------------------------------------------------

const FIFTY_YEARS = 50 * 365 * 24 * 3600;

async function halfHash(alg: string, value: string): Promise<string> {
  const size = alg === 'EdDSA' ? '512' : alg.slice(-3);
  const digest = new Uint8Array(
    await crypto.subtle.digest(`SHA-${size}`, new TextEncoder().encode(value)),
  );
  return Buffer.from(digest.slice(0, digest.length / 2)).toString('base64url');
}

export interface IdTokenExpectations {
  client: SuiteClient;
  /** The nonce sent (undefined: none was sent, so the ID token must carry none). */
  nonce: string | undefined;
  /** The access token issued with it, to check at_hash. */
  accessToken?: string;
  /** The algorithm the client registered (RS256 for the suite's clients). */
  alg?: string;
}

/**
 * ValidateIdToken, ValidateIdTokenNonce, ValidateIdTokenSignature, ValidateIdTokenSignatureUsingKid,
 * CheckForSubjectInIdToken and ValidateAtHash.
 */
export async function checkIdToken(
  conf: Conformance,
  idToken: string | undefined,
  e: IdTokenExpectations,
): Promise<JWTPayload> {
  expect(typeof idToken, 'the token response has no id_token').toBe('string');
  const header = decodeProtectedHeader(idToken!);
  expect(header.alg).not.toBe('none');
  expect(header.alg).toBe(e.alg ?? e.client.idTokenAlg ?? 'RS256');
  expect(conf.discovery['id_token_signing_alg_values_supported']).toContain(header.alg);
  // kid present and naming exactly one key of the JWKS.
  expect(typeof header.kid).toBe('string');
  const matching = conf.jwks.keys.filter((k) => k.kid === header.kid);
  expect(matching).toHaveLength(1);
  if (matching[0]!.alg !== undefined) expect(matching[0]!.alg).toBe(header.alg);

  const now = nowSeconds(conf);
  const { payload } = await jwtVerify(idToken!, createLocalJWKSet(conf.jwks), {
    issuer: String(conf.discovery['issuer']),
    audience: e.client.id,
    algorithms: [String(header.alg)],
    currentDate: new Date(conf.tp.clock.now()),
  });
  expect(payload.iss).toBe(conf.discovery['issuer']);
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  expect(aud).toContain(e.client.id);
  if (aud.length > 1) expect(payload['azp']).toBe(e.client.id);
  if (payload['azp'] !== undefined) expect(payload['azp']).toBe(e.client.id);

  expect(typeof payload.exp).toBe('number');
  expect(payload.exp!).toBeGreaterThan(now);
  // A value this far out means seconds were confused with milliseconds.
  expect(payload.exp!).toBeLessThan(now + FIFTY_YEARS);
  expect(typeof payload.iat).toBe('number');
  expect(payload.iat!).toBeLessThanOrEqual(now);
  expect(payload.iat!).toBeGreaterThanOrEqual(now - 300);
  if (payload.nbf !== undefined) expect(payload.nbf).toBeLessThanOrEqual(now);
  if (payload['auth_time'] !== undefined) {
    expect(typeof payload['auth_time']).toBe('number');
    expect(payload['auth_time'] as number).toBeLessThanOrEqual(now);
  }
  if (payload['updated_at'] !== undefined) expect(typeof payload['updated_at']).toBe('number');

  expect(typeof payload.sub).toBe('string');
  expect(payload.sub).toMatch(/^[\x21-\x7e]{1,255}$/);

  if (e.nonce === undefined) expect(payload['nonce']).toBeUndefined();
  else expect(payload['nonce']).toBe(e.nonce);

  if (payload['at_hash'] !== undefined && e.accessToken !== undefined) {
    expect(payload['at_hash']).toBe(await halfHash(String(header.alg), e.accessToken));
  }
  return payload;
}

/** Claims that may appear in an ID token without being asked for (EnsureIdTokenDoesNotContainNonRequestedClaims). */
const ID_TOKEN_PROTOCOL_CLAIMS = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'auth_time',
  'nonce',
  'acr',
  'amr',
  'azp',
  'at_hash',
  'c_hash',
  's_hash',
  'nbf',
  'jti',
  'sid',
]);

/** The claims each standard scope asks for (OIDC Core §5.4). */
export const SCOPE_CLAIMS: Readonly<Record<string, readonly string[]>> = {
  profile: [
    'name',
    'family_name',
    'given_name',
    'middle_name',
    'nickname',
    'preferred_username',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

/** ID-token claims that neither the protocol nor the requested scopes account for. */
export function nonRequestedIdTokenClaims(payload: JWTPayload, scope: string): string[] {
  const requested = new Set<string>(ID_TOKEN_PROTOCOL_CLAIMS);
  for (const s of scope.split(' ')) for (const c of SCOPE_CLAIMS[s] ?? []) requested.add(c);
  return Object.keys(payload).filter((k) => !requested.has(k));
}

// ---------------------------------------------------------------------------------------------
// UserInfo
// ---------------------------------------------------------------------------------------------

export type UserinfoMethod = 'get' | 'post-header' | 'post-body';

export async function callUserinfo(
  conf: Conformance,
  accessToken: string,
  method: UserinfoMethod = 'get',
): Promise<Response> {
  const url = String(conf.discovery['userinfo_endpoint']);
  if (method === 'get')
    return conf.tp.fetch(url, { headers: { authorization: `Bearer ${accessToken}` } });
  if (method === 'post-header') {
    return conf.tp.fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}` },
    });
  }
  return conf.tp.fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ access_token: accessToken }).toString(),
  });
}

const isString = (v: unknown) => typeof v === 'string';
const isBoolean = (v: unknown) => typeof v === 'boolean';
const STANDARD_CLAIM_TYPES: Record<string, (v: unknown) => boolean> = {
  sub: isString,
  name: isString,
  given_name: isString,
  family_name: isString,
  middle_name: isString,
  nickname: isString,
  preferred_username: isString,
  profile: isString,
  picture: isString,
  website: isString,
  email: isString,
  email_verified: isBoolean,
  gender: isString,
  // EnsureUserInfoBirthDateValid: YYYY, YYYY-MM-DD or 0000-MM-DD.
  birthdate: (v) => typeof v === 'string' && /^\d{4}(-\d{2}-\d{2})?$/.test(v),
  zoneinfo: isString,
  locale: isString,
  phone_number: isString,
  phone_number_verified: isBoolean,
  address: (v) =>
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.entries(v).every(
      ([k, x]) =>
        ['formatted', 'street_address', 'locality', 'region', 'postal_code', 'country'].includes(
          k,
        ) && typeof x === 'string',
    ),
  // EnsureUserInfoUpdatedAtValid: seconds since the epoch.
  updated_at: (v) => typeof v === 'number' && Number.isFinite(v) && v > 0 && v < 1e11,
};

/**
 * A successful UserInfo response (CallUserInfoEndpointWithBearerToken, ValidateUserInfoStandardClaims,
 * EnsureUserInfoContainsSub, VerifyUserInfoAndIdTokenInTokenEndpointSameSub).
 */
export async function expectUserinfo(res: Response, sub: string): Promise<Record<string, unknown>> {
  const text = await res.clone().text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  const claims = JSON.parse(text) as Record<string, unknown>;
  expect(claims['sub']).toBe(sub);
  for (const [name, value] of Object.entries(claims)) {
    const valid = STANDARD_CLAIM_TYPES[name];
    if (valid)
      expect(
        valid(value),
        `userinfo claim ${name} has the wrong type: ${JSON.stringify(value)}`,
      ).toBe(true);
  }
  return claims;
}

// ---------------------------------------------------------------------------------------------
// The whole flow
// ---------------------------------------------------------------------------------------------

export interface FlowResult extends AuthorizationResult {
  code: string;
  tokens: TokenBody;
  idToken: JWTPayload;
  userinfo: Record<string, unknown>;
}

/**
 * The happy path every module starts from: authorization request (state, nonce), sign-in and
 * consent, checks on the authorization response, code exchange, checks on the token response and
 * the ID token, and a call to the UserInfo endpoint with the access token.
 */
export async function runCodeFlow(
  conf: Conformance,
  o: AuthorizationOptions = {},
): Promise<FlowResult> {
  const result = await authorize(conf, o);
  const code = expectAuthorizationCode(conf, result);
  const tokens = await expectTokenResponse(await exchangeCode(conf, result.request, code));
  const idToken = await checkIdToken(conf, tokens.id_token, {
    client: result.request.client,
    nonce: result.request.nonce,
    accessToken: tokens.access_token,
  });
  const userinfo = await expectUserinfo(
    await callUserinfo(conf, tokens.access_token),
    idToken.sub!,
  );
  return { ...result, code, tokens, idToken, userinfo };
}

/** Builds an unsigned (`alg: none`) JWT, as SerializeRequestObjectWithNullAlgorithm does. */
export function unsignedJwt(claims: Record<string, unknown>): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${enc({ alg: 'none' })}.${enc(claims)}.`;
}

/**
 * VerifyScopesReturnedInUserInfoClaims: for each of the standard scopes requested, the UserInfo
 * response carries its claims (Alice has a value for all of them, so all must come back, equal).
 */
export function expectScopeClaims(userinfo: Record<string, unknown>, scope: string): void {
  const values = USER_CLAIMS as Record<string, unknown>;
  for (const s of scope.split(' ')) {
    const claims = SCOPE_CLAIMS[s];
    if (!claims) continue;
    expect(
      claims.some((c) => userinfo[c] !== undefined),
      `no claim of scope ${s} in userinfo`,
    ).toBe(true);
    for (const c of claims) if (values[c] !== undefined) expect(userinfo[c], c).toEqual(values[c]);
  }
}
