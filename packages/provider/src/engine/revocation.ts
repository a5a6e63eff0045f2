/**
 * Token revocation (RFC 7009). The client authenticates; revoking a refresh token revokes its
 * grant (and so the access tokens issued under it); revoking an access token revokes that token.
 * Tokens that are unknown, or belong to another client, get the same 200 (no oracle).
 */
import { OAuthError } from '@gatehouse/oauth';
import { authenticateClient } from './client-auth.js';
import type { Engine, RequestContext } from './context.js';
import { corsHeaders, preflight } from './cors.js';
import { asOAuthError, errorJson } from './errors.js';
import { readForm } from './http.js';
import { Reply } from './reply.js';
import { looksLikeAccessToken, revokeGrant, verifyAccessToken } from './tokens.js';

const HINTS = new Set(['access_token', 'refresh_token']);

export async function handleRevocation(engine: Engine, ctx: RequestContext): Promise<Reply> {
  const { request } = ctx;
  if (request.method === 'OPTIONS') return preflight(engine, request, 'POST');
  try {
    if (request.method !== 'POST')
      throw new OAuthError('invalid_request', 'revocation accepts POST only', { status: 405 });
    if (ctx.url.search !== '')
      throw new OAuthError('invalid_request', 'parameters belong in the form body, not the URL');
    const form = await readForm(request);
    const client = await authenticateClient(engine, request, form, {
      allowPublic: true,
      endpoint: engine.endpoints.revocation,
    });
    const token = form.get('token');
    if (!token) throw new OAuthError('invalid_request', 'token is missing');
    const hint = form.get('token_type_hint');
    if (hint !== undefined && !HINTS.has(hint)) {
      throw new OAuthError('unsupported_token_type', `token_type_hint '${hint}' is not supported`);
    }
    const now = engine.now();
    if (looksLikeAccessToken(token)) {
      try {
        const claims = await verifyAccessToken(engine, token);
        if (claims.client_id === client.client_id) {
          await engine.storage.grants.revokeAccessToken(claims.jti, claims.exp * 1000);
          engine.logger.info(
            {
              event: 'token_revoked',
              requestId: ctx.requestId,
              clientId: client.client_id,
              kind: 'access_token',
            },
            'revoked',
          );
        }
      } catch (err) {
        if (!(err instanceof OAuthError)) throw err;
      }
    } else {
      const id = await engine.secrets.hashToken(token);
      const record = await engine.storage.refreshTokens.get(id, now);
      if (record && record.clientId === client.client_id) {
        await engine.storage.refreshTokens.remove(id);
        await revokeGrant(engine, record.grantId);
        engine.logger.info(
          {
            event: 'token_revoked',
            requestId: ctx.requestId,
            clientId: client.client_id,
            kind: 'refresh_token',
          },
          'revoked',
        );
      }
    }
    return new Reply(200, {
      'cache-control': 'no-store',
      ...(await corsHeaders(engine, request, client)),
    });
  } catch (err) {
    return errorJson(
      engine,
      ctx,
      asOAuthError(engine, ctx, err),
      await corsHeaders(engine, request),
    );
  }
}
