/**
 * Minting tokens: access tokens as JWTs (RFC 9068), ID tokens (OIDC Core §2), and opaque refresh
 * tokens stored as keyed hashes. Verification of access tokens for the resource endpoints.
 */
import { OAuthError } from '@gatehouse/oauth';
import type { JWTPayload } from 'jose';
import type { Client } from '../storage/types.js';
import type { Engine } from './context.js';
import { halfHash, InvalidJwt, signJwt, verifyOwnJwt } from './jwt.js';
import { randomId } from './random.js';
import { claimsForScopes } from './scopes.js';

export interface IssueInput {
  client: Client;
  /** The grant the tokens belong to; empty for client_credentials (no user, no grant). */
  grantId: string;
  sub: string;
  /** Scope of the access token. */
  scope: string[];
  /** Scope recorded on a new refresh token (the grant's); defaults to `scope`. */
  refreshScope?: string[];
  authTime?: number;
  sessionId?: string;
  nonce?: string;
  /** Issue a refresh token expiring at this time (epoch ms). */
  refreshUntil?: number;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  id_token?: string;
  refresh_token?: string;
}

/** The `sid` claim: derived from the session id, which itself is a cookie secret and never leaves. */
export async function sidFor(engine: Engine, sessionId: string): Promise<string> {
  return (await engine.secrets.hashToken(`sid:${sessionId}`)).slice(0, 22);
}

export async function issueTokens(engine: Engine, input: IssueInput): Promise<TokenResponse> {
  const { config } = engine;
  const nowMs = engine.now();
  const iat = Math.floor(nowMs / 1000);
  const scope = input.scope.join(' ');
  const accessJti = randomId(16);
  const accessClaims: JWTPayload = {
    iss: config.issuer,
    sub: input.sub,
    aud: config.issuer,
    client_id: input.client.client_id,
    scope,
    iat,
    exp: iat + config.ttl.accessToken,
    jti: accessJti,
  };
  // Tokens of an authorization carry their grant, so that revoking the grant revokes them.
  if (input.grantId) accessClaims['gid'] = input.grantId;
  if (input.authTime !== undefined) accessClaims['auth_time'] = Math.floor(input.authTime / 1000);
  const accessToken =
    config.accessTokenFormat === 'opaque'
      ? OPAQUE_PREFIX + engine.secrets.sealToken(JSON.stringify(accessClaims))
      : await signJwt(engine, config.defaultSigningAlg, 'at+jwt', accessClaims);
  const response: TokenResponse = {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: config.ttl.accessToken,
    scope,
  };

  if (input.scope.includes('openid') && input.client.type !== 'service') {
    const user = await engine.storage.users.get(input.sub);
    if (!user) throw new OAuthError('invalid_grant', 'the user no longer exists');
    const alg = input.client.id_token_signed_response_alg;
    const idClaims: JWTPayload = {
      ...(config.claimsInIdToken ? claimsForScopes(input.scope, user.claims) : {}),
      iss: config.issuer,
      sub: input.sub,
      aud: input.client.client_id,
      iat,
      exp: iat + config.ttl.idToken,
      at_hash: await halfHash(alg, accessToken),
    };
    if (input.authTime !== undefined) idClaims['auth_time'] = Math.floor(input.authTime / 1000);
    if (input.nonce !== undefined) idClaims['nonce'] = input.nonce;
    if (input.sessionId !== undefined) idClaims['sid'] = await sidFor(engine, input.sessionId);
    response.id_token = await signJwt(engine, alg, undefined, idClaims);
  }

  if (input.refreshUntil !== undefined && input.refreshUntil > nowMs) {
    const refreshToken = randomId(32);
    await engine.storage.refreshTokens.save({
      id: await engine.secrets.hashToken(refreshToken),
      grantId: input.grantId,
      clientId: input.client.client_id,
      sub: input.sub,
      scope: (input.refreshScope ?? input.scope).join(' '),
      authTime: input.authTime ?? nowMs,
      sessionId: input.sessionId ?? '',
      issuedAt: nowMs,
      expiresAt: input.refreshUntil,
    });
    response.refresh_token = refreshToken;
  }
  return response;
}

/** Opaque access tokens: this prefix, then the claims sealed by `Secrets.sealToken`. */
const OPAQUE_PREFIX = 'gat1.';

/** Whether a string has the shape of an access token this provider issues (JWT or opaque). */
export function looksLikeAccessToken(token: string): boolean {
  return token.startsWith(OPAQUE_PREFIX) || token.split('.').length === 3;
}

function openOpaque(engine: Engine, token: string): AccessTokenClaims {
  let claims: AccessTokenClaims;
  try {
    claims = JSON.parse(engine.secrets.openToken(token.slice(OPAQUE_PREFIX.length)));
  } catch {
    throw new InvalidJwt('opaque token does not open');
  }
  if (claims.iss !== engine.config.issuer) throw new InvalidJwt('issuer');
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= engine.now())
    throw new InvalidJwt('expired');
  return claims;
}

export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  client_id: string;
  scope: string;
  jti: string;
  gid?: string;
  exp: number;
}

/**
 * Verifies an access token this provider issued: signature, `typ`, issuer, expiry, and that
 * neither the token nor its grant was revoked. Throws `invalid_token`.
 */
export async function verifyAccessToken(engine: Engine, token: string): Promise<AccessTokenClaims> {
  const claims = token.startsWith(OPAQUE_PREFIX)
    ? openOpaque(engine, token)
    : ((await verifyOwnJwt(engine, token, { typ: 'at+jwt' })) as AccessTokenClaims);
  if (
    typeof claims.sub !== 'string' ||
    typeof claims.jti !== 'string' ||
    typeof claims.client_id !== 'string'
  ) {
    throw new InvalidJwt('claims');
  }
  const now = engine.now();
  if (await engine.storage.grants.isAccessTokenRevoked(claims.jti, now))
    throw new InvalidJwt('revoked');
  if (claims.gid !== undefined) {
    if (typeof claims.gid !== 'string') throw new InvalidJwt('gid');
    if (await engine.storage.grants.isRevoked(claims.gid, now))
      throw new InvalidJwt('grant revoked');
  }
  return claims;
}

/**
 * Revokes a grant: every access and refresh token issued under it stops working. The record is
 * kept as long as anything issued under the grant could still be alive: a refresh token issued now
 * lives `ttl.refreshToken`, and an access token from it `ttl.accessToken` more.
 */
export async function revokeGrant(engine: Engine, grantId: string): Promise<void> {
  const now = engine.now();
  const { ttl } = engine.config;
  await engine.storage.grants.revoke(
    grantId,
    now,
    now + (ttl.refreshToken + ttl.accessToken) * 1000,
  );
}
