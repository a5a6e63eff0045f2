/**
 * UserInfo (OIDC Core §5.3): GET or POST with the access token in the Authorization header (or,
 * for POST, in the form body — RFC 6750 §2.2). Never in the URL query.
 */
import { OAuthError, splitSpaceList } from '@gatehouse/oauth';
import type { Engine, RequestContext } from './context.js';
import { corsHeaders, preflight } from './cors.js';
import { asOAuthError, errorUri } from './errors.js';
import { json, readForm } from './http.js';
import type { Reply } from './reply.js';
import { claimsForScopes } from './scopes.js';
import { verifyAccessToken } from './tokens.js';

const NO_TOKEN = 'no access token in the request';

function bearerChallenge(engine: Engine, error?: OAuthError): string {
  const parts = [`Bearer realm="${engine.config.issuer}"`];
  // RFC 6750 §3.1: a request with no authentication at all gets no error code.
  if (error && error.detail !== NO_TOKEN) {
    parts.push(`error="${error.error}"`);
    if (error.errorDescription) parts.push(`error_description="${error.errorDescription}"`);
  }
  return parts.join(', ');
}

async function readToken(ctx: RequestContext): Promise<string> {
  const { request } = ctx;
  if (ctx.url.searchParams.has('access_token')) {
    throw new OAuthError(
      'invalid_request',
      'access tokens are not accepted in the URL query; use the Authorization header',
    );
  }
  const header = request.headers.get('authorization');
  let fromBody: string | undefined;
  const type = request.headers.get('content-type') ?? '';
  if (
    request.method === 'POST' &&
    type.toLowerCase().startsWith('application/x-www-form-urlencoded')
  ) {
    fromBody = (await readForm(request)).get('access_token');
  }
  if (header !== null) {
    if (fromBody !== undefined)
      throw new OAuthError('invalid_request', 'send the access token once');
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (!match)
      throw new OAuthError('invalid_token', 'the Authorization header is not a Bearer token', {
        status: 401,
      });
    return match[1]!;
  }
  if (fromBody !== undefined) return fromBody;
  throw new OAuthError('invalid_token', 'the access token is missing', {
    status: 401,
    detail: NO_TOKEN,
  });
}

export async function handleUserinfo(engine: Engine, ctx: RequestContext): Promise<Reply> {
  const { request } = ctx;
  if (request.method === 'OPTIONS') return preflight(engine, request, 'GET, POST');
  const cors = await corsHeaders(engine, request);
  try {
    if (request.method !== 'GET' && request.method !== 'POST') {
      throw new OAuthError('invalid_request', 'userinfo accepts GET and POST', { status: 405 });
    }
    const token = await readToken(ctx);
    let claims: Awaited<ReturnType<typeof verifyAccessToken>>;
    try {
      claims = await verifyAccessToken(engine, token);
    } catch (err) {
      if (err instanceof OAuthError)
        throw new OAuthError('invalid_token', 'the access token is invalid, expired or revoked', {
          detail: err.detail ?? '',
        });
      throw err;
    }
    const scopes = splitSpaceList(claims.scope);
    if (!scopes.includes('openid')) {
      throw new OAuthError(
        'insufficient_scope',
        "userinfo needs an access token with the 'openid' scope",
      );
    }
    const user = await engine.storage.users.get(claims.sub);
    if (!user) throw new OAuthError('invalid_token', 'the user no longer exists');
    return json({ ...claimsForScopes(scopes, user.claims), sub: user.sub }, 200, cors);
  } catch (err) {
    const error = asOAuthError(engine, ctx, err);
    const headers: Record<string, string> = { ...cors };
    if (error.status === 401 || error.status === 403)
      headers['www-authenticate'] = bearerChallenge(engine, error);
    engine.logger.info(
      {
        event: 'userinfo_failed',
        requestId: ctx.requestId,
        error: error.error,
        detail: error.detail,
      },
      error.error,
    );
    return json(error.toJSON(errorUri(engine, error.error)), error.status, headers);
  }
}
