/**
 * The token endpoint (RFC 6749 §3.2, §4.1.3, §6; OIDC Core §3.1.3). Grant types are handlers in a
 * table; each gets an authenticated client and the form parameters.
 */
import { OAuthError, splitSpaceList } from '@gatehouse/oauth';
import type { Client } from '../storage/types.js';
import { authenticateClient } from './client-auth.js';
import type { Engine, RequestContext } from './context.js';
import { corsHeaders, preflight } from './cors.js';
import { asOAuthError, errorJson } from './errors.js';
import { json, readForm } from './http.js';
import { verifyS256Sync } from './pkce.js';
import type { Reply } from './reply.js';
import { issueTokens, revokeGrant, type TokenResponse } from './tokens.js';

type GrantHandler = (
  engine: Engine,
  ctx: RequestContext,
  client: Client,
  form: Map<string, string>,
) => Promise<TokenResponse>;

const authorizationCode: GrantHandler = async (engine, ctx, client, form) => {
  const code = form.get('code');
  if (!code) throw new OAuthError('invalid_request', 'code is missing');
  const redirectUri = form.get('redirect_uri');
  if (!redirectUri) throw new OAuthError('invalid_request', 'redirect_uri is missing');
  const verifier = form.get('code_verifier');

  const result = await engine.storage.codes.consume(
    await engine.secrets.hashToken(code),
    engine.now(),
  );
  if (result.status === 'missing') {
    throw new OAuthError('invalid_grant', 'the authorization code is invalid or has expired');
  }
  if (result.status === 'reused') {
    // A second redemption: revoke everything issued from this code (RFC 6749 §4.1.2).
    await revokeGrant(engine, result.record.grantId);
    engine.logger.warn(
      {
        event: 'code_replayed',
        requestId: ctx.requestId,
        clientId: client.client_id,
        sub: result.record.sub,
      },
      'authorization code used twice; its tokens are revoked',
    );
    throw new OAuthError(
      'invalid_grant',
      'the authorization code was already used; tokens issued from it are revoked',
    );
  }
  const record = result.record;
  if (record.clientId !== client.client_id) {
    throw new OAuthError('invalid_grant', 'the authorization code was issued to another client');
  }
  if (record.redirectUri !== redirectUri) {
    throw new OAuthError(
      'invalid_grant',
      'redirect_uri differs from the one in the authorization request',
    );
  }
  if (record.codeChallenge !== undefined) {
    if (!verifier)
      throw new OAuthError(
        'invalid_grant',
        'code_verifier is missing (the authorization request used PKCE)',
      );
    if (!verifyS256Sync(verifier, record.codeChallenge)) {
      throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge');
    }
  } else if (verifier !== undefined) {
    // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a downgrade attempt.
    throw new OAuthError(
      'invalid_grant',
      'code_verifier was sent but the authorization request had no code_challenge',
    );
  }
  // No grant check here: only a replay of this very code can have revoked the grant, and then the
  // tokens issued now are already dead at every endpoint that checks them. Exactly one concurrent
  // redemption succeeds; the others revoke what it got.
  const scope = splitSpaceList(record.scope);
  const offline = scope.includes('offline_access') && client.grant_types.includes('refresh_token');
  const tokens = await issueTokens(engine, {
    client,
    grantId: record.grantId,
    sub: record.sub,
    scope,
    authTime: record.authTime,
    sessionId: record.sessionId,
    ...(record.nonce !== undefined ? { nonce: record.nonce } : {}),
    ...(offline ? { refreshUntil: engine.now() + engine.config.ttl.refreshToken * 1000 } : {}),
  });
  engine.logger.info(
    {
      event: 'code_redeemed',
      requestId: ctx.requestId,
      clientId: client.client_id,
      sub: record.sub,
      refresh: offline,
    },
    'tokens issued',
  );
  return tokens;
};

/** The scope a refresh request asks for: the granted one, or a subset of it (RFC 6749 §6). */
function refreshScope(form: Map<string, string>, granted: string[]): string[] {
  const requested = form.has('scope') ? splitSpaceList(form.get('scope')) : granted;
  for (const s of requested) {
    if (!granted.includes(s)) {
      throw new OAuthError('invalid_scope', `scope '${s}' was not granted to this refresh token`);
    }
  }
  return requested;
}

const refreshToken: GrantHandler = async (engine, ctx, client, form) => {
  const token = form.get('refresh_token');
  if (!token) throw new OAuthError('invalid_request', 'refresh_token is missing');
  const now = engine.now();
  const id = await engine.secrets.hashToken(token);
  // Refuse a bad request before rotating: a refused refresh must leave the token usable
  // (RFC 6749 §6 revokes the old token only once a new one is issued).
  const current = await engine.storage.refreshTokens.get(id, now);
  if (current) refreshScope(form, splitSpaceList(current.scope));

  const result = await engine.storage.refreshTokens.consume(id, now);
  if (result.status === 'missing') {
    throw new OAuthError('invalid_grant', 'the refresh token is invalid, expired or revoked');
  }
  if (result.status === 'reused') {
    // A rotated token came back: someone holds a copy. Revoke the whole family (RFC 9700 §4.14.2).
    await revokeGrant(engine, result.record.grantId);
    engine.logger.warn(
      {
        event: 'refresh_token_reused',
        requestId: ctx.requestId,
        clientId: client.client_id,
        sub: result.record.sub,
      },
      'rotated refresh token used again; the grant is revoked',
    );
    throw new OAuthError(
      'invalid_grant',
      'the refresh token was already used; the grant is revoked',
    );
  }
  const record = result.record;
  if (record.clientId !== client.client_id) {
    // Another client holding this token means it leaked: revoke the grant.
    await revokeGrant(engine, record.grantId);
    throw new OAuthError('invalid_grant', 'the refresh token was issued to another client');
  }
  if (await engine.storage.grants.isRevoked(record.grantId, now)) {
    throw new OAuthError('invalid_grant', 'the grant was revoked');
  }
  const granted = splitSpaceList(record.scope);
  const requested = refreshScope(form, granted);
  const tokens = await issueTokens(engine, {
    client,
    grantId: record.grantId,
    sub: record.sub,
    scope: requested,
    refreshScope: granted,
    authTime: record.authTime,
    ...(record.sessionId ? { sessionId: record.sessionId } : {}),
    refreshUntil: record.expiresAt,
  });
  engine.logger.info(
    {
      event: 'token_refreshed',
      requestId: ctx.requestId,
      clientId: client.client_id,
      sub: record.sub,
    },
    'tokens refreshed',
  );
  return tokens;
};

const clientCredentials: GrantHandler = async (engine, ctx, client, form) => {
  const allowed = splitSpaceList(client.scope);
  const requested = form.has('scope') ? splitSpaceList(form.get('scope')) : allowed;
  for (const s of requested) {
    if (s === 'openid' || s === 'offline_access' || !allowed.includes(s)) {
      throw new OAuthError('invalid_scope', `scope '${s}' is not allowed for this client`);
    }
  }
  engine.logger.info(
    { event: 'client_credentials', requestId: ctx.requestId, clientId: client.client_id },
    'tokens issued',
  );
  return issueTokens(engine, { client, grantId: '', sub: client.client_id, scope: requested });
};

const GRANTS: Record<string, GrantHandler> = {
  authorization_code: authorizationCode,
  refresh_token: refreshToken,
  client_credentials: clientCredentials,
};

export async function handleToken(engine: Engine, ctx: RequestContext): Promise<Reply> {
  const { request } = ctx;
  if (request.method === 'OPTIONS') return preflight(engine, request, 'POST');
  let client: Client | undefined;
  try {
    if (request.method !== 'POST')
      throw new OAuthError('invalid_request', 'the token endpoint accepts POST only', {
        status: 405,
      });
    if (ctx.url.search !== '') {
      throw new OAuthError(
        'invalid_request',
        'token requests carry their parameters in the form body; the URL must have no query (credentials in URLs leak into logs)',
      );
    }
    const form = await readForm(request);
    client = await authenticateClient(engine, request, form, {
      allowPublic: true,
      endpoint: engine.endpoints.token,
    });
    const grantType = form.get('grant_type');
    if (!grantType) throw new OAuthError('invalid_request', 'grant_type is missing');
    const handler = GRANTS[grantType];
    if (!handler)
      throw new OAuthError('unsupported_grant_type', `grant_type '${grantType}' is not supported`);
    if (!client.grant_types.includes(grantType as Client['grant_types'][number])) {
      throw new OAuthError(
        'unauthorized_client',
        `this client is not allowed to use the ${grantType} grant`,
      );
    }
    const tokens = await handler(engine, ctx, client, form);
    return json(tokens, 200, await corsHeaders(engine, request, client));
  } catch (err) {
    return errorJson(
      engine,
      ctx,
      asOAuthError(engine, ctx, err),
      await corsHeaders(engine, request, client),
    );
  }
}
