/**
 * The authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2) as a pipeline of small named steps.
 *
 * Steps before `checkRedirectUri` cannot redirect: an unknown client, a request object whose
 * signature does not verify, an unknown pushed request, or an unregistered redirect URI gets an
 * error page (RFC 6749 §4.1.2.1, RFC 9700 §4.11). Every later failure is redirected to the
 * verified redirect URI with `error`, `error_description`, `error_uri`, `state` and `iss`.
 *
 * The same steps validate requests pushed to the PAR endpoint (RFC 9126), which answers their
 * failures as JSON instead.
 */
import {
  isValidS256Challenge,
  mergeParams,
  OAuthError,
  parseParams,
  splitSpaceList,
} from '@gatehouse/oauth';
import type { JWTPayload } from 'jose';
import { isPublic, requiresSignedRequest } from '../clients.js';
import { isLoopbackHost } from '../config/hosts.js';
import type { Client, Session } from '../storage/types.js';
import type { Engine, RequestContext } from './context.js';
import { errorPage, errorRedirect } from './errors.js';
import { readForm, redirect, withQuery } from './http.js';
import { InvalidJwt, verifyOwnJwt } from './jwt.js';
import { randomId } from './random.js';
import type { Reply, ReplyHeaders } from './reply.js';
import {
  checkRequestObjectClaims,
  openRequestObject,
  requestObjectParams,
} from './request-object.js';
import { supportedScopes } from './scopes.js';
import { loadSession, startInteraction } from './session.js';

/** A validated authorization request. Plain data: it is stored while the user interacts. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  scope: string[];
  state?: string;
  nonce?: string;
  codeChallenge?: string;
  prompt: string[];
  /** max_age in seconds. */
  maxAge?: number;
  loginHint?: string;
  /** `sub` of a valid id_token_hint. */
  hintSub?: string;
  /** Whether the response is sent after a POST (303) or a GET (302). */
  viaPost: boolean;
}

/** The state the steps share. */
export interface AuthzState {
  /** The parameters that count: the request object's when there is one, else the request's. */
  params: Map<string, string>;
  /** The parameters as they arrived (outside any request object). */
  readonly outer: Map<string, string>;
  /** Validating at the PAR endpoint (the client has authenticated) rather than redirecting. */
  readonly atPar: boolean;
  client?: Client;
  redirectUri?: string;
  /** The claims of a request object whose signature verified (checked by `checkRequestMode`). */
  requestObject?: JWTPayload;
  /** A request validated at the PAR endpoint and now used: no further checks needed. */
  pushed?: AuthorizationRequest;
  request: Partial<AuthorizationRequest> & { prompt: string[]; scope: string[] };
}

/** The prefix of the request_uri values the PAR endpoint hands out (RFC 9126 §2.2). */
export const PAR_REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';

export type Step = (engine: Engine, ctx: RequestContext, s: AuthzState) => void | Promise<void>;

const PROMPTS = new Set(['none', 'login', 'consent', 'select_account']);
const MAX_STATE = 2048;

/** client_id must name a registered client that uses the authorization endpoint. */
const resolveClient: Step = async (engine, _ctx, s) => {
  const clientId = s.params.get('client_id');
  if (!clientId) throw new OAuthError('invalid_request', 'client_id is missing');
  const client = await engine.storage.clients.get(clientId);
  if (!client) {
    throw new OAuthError(
      'unauthorized_client',
      'the client_id is not valid: no client is registered with it',
    );
  }
  if (client.type === 'service' || !client.grant_types.includes('authorization_code')) {
    throw new OAuthError(
      'unauthorized_client',
      'this client is not allowed to use the authorization endpoint',
    );
  }
  s.client = client;
  s.request.clientId = client.client_id;
};

/**
 * Exact string match against the registered redirect URIs; for native clients the port of a
 * loopback http URI may vary (RFC 8252 §7.3, RFC 9700 §2.1).
 */
export function redirectUriMatches(client: Client, uri: string): boolean {
  if (client.redirect_uris.includes(uri)) return true;
  if (client.type !== 'native') return false;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' || !isLoopbackHost(url.hostname)) return false;
  return client.redirect_uris.some((registered) => {
    try {
      const r = new URL(registered);
      if (r.protocol !== 'http:' || r.hostname !== url.hostname) return false;
      r.port = url.port;
      return r.href === url.href;
    } catch {
      return false;
    }
  });
}

/**
 * Where the parameters come from. A request object (web clients) is opened here, and its
 * parameters replace the outer ones; a request_uri from the PAR endpoint is used up here, and the
 * request it stands for was validated when it was pushed. Failures show the error page: until
 * then nothing names a redirect URI that can be trusted.
 */
const loadRequest: Step = async (engine, _ctx, s) => {
  const requestUri = s.outer.get('request_uri');
  const requestObject = s.outer.get('request');
  if (requestUri !== undefined && requestObject !== undefined) {
    throw new OAuthError('invalid_request', 'send request or request_uri, not both');
  }
  const client = s.client!;
  if (requestUri?.startsWith(PAR_REQUEST_URI_PREFIX) && !s.atPar) {
    s.pushed = await usePushedRequest(engine, client, requestUri);
    return;
  }
  // Public clients may not send request objects: checkRequestMode redirects that refusal.
  if (requestObject !== undefined && !isPublic(client)) {
    s.requestObject = await openRequestObject(engine, client, requestObject);
    s.params = requestObjectParams(s.requestObject);
  }
};

async function usePushedRequest(
  engine: Engine,
  client: Client,
  requestUri: string,
): Promise<AuthorizationRequest> {
  const reference = requestUri.slice(PAR_REQUEST_URI_PREFIX.length);
  const record =
    reference.length > 0 && reference.length <= 128
      ? await engine.storage.pushedRequests.consume(
          await engine.secrets.hashToken(reference),
          engine.now(),
        )
      : undefined;
  if (!record) {
    throw new OAuthError(
      'invalid_request_uri',
      'the request_uri is unknown, expired or already used; push the request again',
    );
  }
  const request = record.request as unknown as AuthorizationRequest;
  if (record.clientId !== client.client_id) {
    throw new OAuthError('invalid_request_uri', 'the request_uri was pushed by another client', {
      detail: `pushed by ${record.clientId}`,
    });
  }
  if (!redirectUriMatches(client, request.redirectUri)) {
    throw new OAuthError(
      'invalid_request_uri',
      'the pushed request’s redirect_uri is no longer registered for the client',
    );
  }
  return request;
}

const checkRedirectUri: Step = (_engine, _ctx, s) => {
  if (s.pushed) {
    s.redirectUri = s.pushed.redirectUri;
    return;
  }
  const uri = s.params.get('redirect_uri');
  if (!uri) throw new OAuthError('invalid_request', 'redirect_uri is missing');
  if (!redirectUriMatches(s.client!, uri)) {
    throw new OAuthError(
      'invalid_request',
      'the redirect_uri does not match any of the redirect URIs registered for the client',
    );
  }
  s.redirectUri = uri;
  s.request.redirectUri = uri;
};

/**
 * How the request arrived, against what the client must use: request objects only from
 * confidential clients and required from those registered for JAR (web clients by default, RFC
 * 9101); request_uri only from the PAR endpoint; PAR itself when the client is registered for it.
 * A request object's claims are checked here, now that its redirect URI is verified.
 */
const checkRequestMode: Step = async (engine, _ctx, s) => {
  const client = s.client!;
  if (s.outer.has('request_uri')) {
    throw new OAuthError(
      s.atPar ? 'invalid_request' : 'request_uri_not_supported',
      s.atPar
        ? 'request_uri cannot be pushed: push the parameters or a request object'
        : 'request_uri is only accepted from the pushed authorization request endpoint',
    );
  }
  if (s.outer.has('request') && isPublic(client)) {
    throw new OAuthError(
      'request_not_supported',
      `${client.type} clients send plain parameters with PKCE; request objects are for confidential clients`,
    );
  }
  if (s.requestObject) {
    await checkRequestObjectClaims(engine, client, s.requestObject);
  } else if (requiresSignedRequest(client)) {
    throw new OAuthError(
      'invalid_request',
      'JAR (request parameter) is required for confidential clients',
    );
  }
  if (client.require_pushed_authorization_requests && !s.atPar) {
    throw new OAuthError(
      'invalid_request',
      'this client must push its authorization requests to the PAR endpoint first',
    );
  }
};

const checkResponseType: Step = (_engine, _ctx, s) => {
  const type = s.params.get('response_type');
  if (!type) throw new OAuthError('invalid_request', 'response_type is missing');
  if (type !== 'code') {
    throw new OAuthError(
      'unsupported_response_type',
      `response_type '${type}' is not supported; use 'code'`,
    );
  }
  const mode = s.params.get('response_mode');
  if (mode !== undefined && mode !== 'query') {
    throw new OAuthError(
      'invalid_request',
      `response_mode '${mode}' is not supported; use 'query'`,
    );
  }
};

const checkScope: Step = (engine, _ctx, s) => {
  const scopes = splitSpaceList(s.params.get('scope'));
  if (!scopes.includes('openid'))
    throw new OAuthError('invalid_scope', "scope must include 'openid'");
  const supported = new Set(supportedScopes(engine.config.extraScopes));
  const allowed = new Set(splitSpaceList(s.client!.scope));
  for (const scope of scopes) {
    if (!supported.has(scope))
      throw new OAuthError('invalid_scope', `scope '${scope}' is not supported`);
    if (!allowed.has(scope))
      throw new OAuthError('invalid_scope', `scope '${scope}' is not allowed for this client`);
  }
  if (scopes.includes('offline_access') && !s.client!.grant_types.includes('refresh_token')) {
    throw new OAuthError(
      'invalid_scope',
      "scope 'offline_access' needs the refresh_token grant, which this client does not have",
    );
  }
  s.request.scope = scopes;
};

const checkPrompt: Step = (_engine, _ctx, s) => {
  const prompt = splitSpaceList(s.params.get('prompt'));
  for (const p of prompt) {
    if (!PROMPTS.has(p))
      throw new OAuthError('invalid_request', `prompt value '${p}' is not supported`);
  }
  if (prompt.includes('none') && prompt.length > 1) {
    throw new OAuthError('invalid_request', "prompt 'none' cannot be combined with other values");
  }
  s.request.prompt = prompt;
};

const checkPkce: Step = (_engine, _ctx, s) => {
  const challenge = s.params.get('code_challenge');
  const method = s.params.get('code_challenge_method');
  if (challenge === undefined) {
    if (method !== undefined)
      throw new OAuthError(
        'invalid_request',
        'code_challenge_method was sent without code_challenge',
      );
    if (s.client!.require_pkce) {
      throw new OAuthError(
        'invalid_request',
        'PKCE is required: send code_challenge with code_challenge_method=S256',
      );
    }
    return;
  }
  if (method !== 'S256') {
    throw new OAuthError(
      'invalid_request',
      method === undefined || method === 'plain'
        ? "code_challenge_method must be 'S256' (the 'plain' method is not accepted)"
        : `code_challenge_method '${method}' is not supported; use 'S256'`,
    );
  }
  if (!isValidS256Challenge(challenge)) {
    throw new OAuthError(
      'invalid_request',
      'code_challenge must be 43 base64url characters (an S256 digest)',
    );
  }
  s.request.codeChallenge = challenge;
};

const checkOtherParams: Step = (_engine, _ctx, s) => {
  const nonce = s.params.get('nonce');
  if (nonce !== undefined) {
    if (nonce.length > 512)
      throw new OAuthError('invalid_request', 'nonce is too long (512 characters at most)');
    s.request.nonce = nonce;
  }
  const maxAge = s.params.get('max_age');
  if (maxAge !== undefined) {
    if (!/^\d{1,10}$/.test(maxAge))
      throw new OAuthError('invalid_request', 'max_age must be a non-negative integer');
    s.request.maxAge = Number(maxAge);
  }
  const loginHint = s.params.get('login_hint');
  if (loginHint !== undefined && loginHint.length <= 256) s.request.loginHint = loginHint;
  if (s.params.has('claims')) {
    // The claims request parameter is not supported (claims_parameter_supported: false); it is
    // ignored, as OIDC allows for unsupported optional parameters.
  }
};

/**
 * id_token_hint is only meaningful with prompt=none (the seed IdP's rule); then it must be an ID
 * token this provider issued to this client (expired is fine).
 */
const checkIdTokenHint: Step = async (engine, _ctx, s) => {
  const hint = s.params.get('id_token_hint');
  if (hint === undefined) return;
  if (!s.request.prompt.includes('none')) {
    throw new OAuthError('invalid_request', "id_token_hint requires prompt to be 'none'");
  }
  try {
    const claims = await verifyOwnJwt(engine, hint, { allowExpired: true });
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (typeof claims.sub !== 'string' || !aud.includes(s.client!.client_id))
      throw new InvalidJwt('audience');
    s.request.hintSub = claims.sub;
  } catch (err) {
    if (err instanceof InvalidJwt) {
      throw new OAuthError(
        'invalid_request',
        'id_token_hint is not an ID token this provider issued to this client',
        {
          detail: err.detail,
        },
      );
    }
    throw err;
  }
};

/**
 * The authorization endpoint's steps, in order. Before `checkRedirectUri` has passed, a failure
 * is an error page; after it, a redirect to the verified redirect URI.
 */
export const AUTHORIZATION_STEPS = {
  unverified: [resolveClient, loadRequest, checkRedirectUri],
  request: [
    checkRequestMode,
    checkResponseType,
    checkScope,
    checkPrompt,
    checkPkce,
    checkOtherParams,
    checkIdTokenHint,
  ],
} as const satisfies Record<string, readonly Step[]>;

/**
 * The redirectable checks of an authorization request (after the redirect URI is verified);
 * fills `s.request`. Shared by the authorization and PAR endpoints.
 */
export async function validateRequest(
  engine: Engine,
  ctx: RequestContext,
  s: AuthzState,
): Promise<void> {
  const state = s.params.get('state');
  if (state !== undefined) {
    if (state.length > MAX_STATE) {
      throw new OAuthError(
        'invalid_request',
        `state is too long (${MAX_STATE} characters at most)`,
      );
    }
    s.request.state = state;
  }
  for (const step of AUTHORIZATION_STEPS.request) await step(engine, ctx, s);
}

/**
 * The request's parameters: the query for GET, the query and the form body for POST. HEAD is
 * refused: a link scanner or prefetcher must not use up a request object's jti or a pushed
 * request_uri, nor start an interaction.
 */
async function readAuthorizationParams(ctx: RequestContext): Promise<Map<string, string>> {
  const query = parseParams(ctx.url.searchParams);
  if (ctx.request.method === 'GET') return query;
  if (ctx.request.method === 'POST') return mergeParams(query, await readForm(ctx.request));
  throw new OAuthError('invalid_request', 'the authorization endpoint accepts GET and POST', {
    status: 405,
  });
}

export async function handleAuthorize(engine: Engine, ctx: RequestContext): Promise<Reply> {
  let params: Map<string, string>;
  try {
    params = await readAuthorizationParams(ctx);
  } catch (err) {
    if (err instanceof OAuthError) {
      return errorPage(engine, ctx, err, err.status === 405 ? { allow: 'GET, POST' } : {});
    }
    throw err;
  }
  const viaPost = ctx.request.method === 'POST';
  const s: AuthzState = {
    params,
    outer: params,
    atPar: false,
    request: { prompt: [], scope: [], viaPost },
  };
  try {
    for (const step of AUTHORIZATION_STEPS.unverified) await step(engine, ctx, s);
  } catch (err) {
    if (err instanceof OAuthError) return errorPage(engine, ctx, err);
    throw err;
  }
  // A pushed request was validated when it was pushed; only the interaction remains.
  if (s.pushed) s.request = { ...s.pushed, viaPost };
  const state = s.pushed ? s.pushed.state : s.params.get('state');
  const status = viaPost ? 303 : 302;
  try {
    if (!s.pushed) await validateRequest(engine, ctx, s);
    engine.logger.info(
      {
        event: 'authorization_requested',
        requestId: ctx.requestId,
        clientId: s.client!.client_id,
        scope: s.request.scope.join(' '),
      },
      'authorization requested',
    );
    return await decide(
      engine,
      ctx,
      s.request as AuthorizationRequest,
      s.client!,
      await loadSession(engine, ctx),
    );
  } catch (err) {
    if (err instanceof OAuthError)
      return errorRedirect(engine, ctx, err, s.redirectUri!, state, status);
    throw err;
  }
}

/** What the request still needs from the user, given the session. */
export function needsLogin(
  engine: Engine,
  request: AuthorizationRequest,
  session: Session | undefined,
): boolean {
  if (!session) return true;
  if (request.prompt.includes('login') || request.prompt.includes('select_account')) return true;
  if (request.maxAge !== undefined) {
    // max_age=0 is prompt=login (OIDC Core §3.1.2.1); otherwise the session may be that old.
    if (request.maxAge === 0 || engine.now() - session.authTime > request.maxAge * 1000)
      return true;
  }
  if (request.hintSub !== undefined && request.hintSub !== session.sub) return true;
  return false;
}

export async function needsConsent(
  engine: Engine,
  request: AuthorizationRequest,
  sub: string,
): Promise<boolean> {
  if (request.prompt.includes('consent')) return true;
  const granted = new Set((await engine.storage.consents.get(sub, request.clientId)) ?? []);
  return request.scope.some((scope) => !granted.has(scope));
}

/**
 * Decides between answering at once (SSO), an error for prompt=none, or handing over to the
 * interaction pages.
 */
async function decide(
  engine: Engine,
  ctx: RequestContext,
  request: AuthorizationRequest,
  client: Client,
  session: Session | undefined,
): Promise<Reply> {
  const login = needsLogin(engine, request, session);
  const consent = !login && session ? await needsConsent(engine, request, session.sub) : true;
  if (request.prompt.includes('none')) {
    if (login)
      throw new OAuthError(
        'login_required',
        'the user is not signed in (or not as the user requested)',
      );
    if (consent)
      throw new OAuthError(
        'consent_required',
        'the user has not approved this client for the requested scope',
      );
    return issueCode(engine, ctx, request, session!, request.viaPost ? 303 : 302);
  }
  if (!login && !consent)
    return issueCode(engine, ctx, request, session!, request.viaPost ? 303 : 302);

  engine.logger.debug(
    { event: 'interaction_started', requestId: ctx.requestId, clientId: client.client_id },
    'interaction',
  );
  return startInteraction(engine, request);
}

/**
 * Issues the authorization code and redirects: `code` (256 bits, base64url), `state` byte for
 * byte, `iss` (RFC 9207). The code is stored only as a keyed hash, bound to everything the token
 * request must match, and lives at most `ttl.code` seconds.
 */
export async function issueCode(
  engine: Engine,
  ctx: RequestContext,
  request: AuthorizationRequest,
  session: Session,
  status: 302 | 303,
  headers: Record<string, string> | ReplyHeaders = {},
): Promise<Reply> {
  const now = engine.now();
  const code = randomId(32);
  // The grant: everything issued from this code carries its id, so that one revocation record
  // can stop all of it (nothing is written for a grant unless it is revoked).
  const grantId = randomId(16);
  await engine.storage.codes.save({
    id: await engine.secrets.hashToken(code),
    grantId,
    clientId: request.clientId,
    redirectUri: request.redirectUri,
    ...(request.codeChallenge ? { codeChallenge: request.codeChallenge } : {}),
    ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
    scope: request.scope.join(' '),
    sub: session.sub,
    authTime: session.authTime,
    sessionId: session.id,
    issuedAt: now,
    expiresAt: now + engine.config.ttl.code * 1000,
  });
  if (!session.clients.includes(request.clientId)) {
    await engine.storage.sessions.put({
      ...session,
      clients: [...session.clients, request.clientId],
    });
  }
  engine.logger.info(
    {
      event: 'code_issued',
      requestId: ctx.requestId,
      clientId: request.clientId,
      sub: session.sub,
    },
    'authorization code issued',
  );
  return redirect(
    withQuery(request.redirectUri, { code, state: request.state, iss: engine.config.issuer }),
    status,
    headers,
  );
}
