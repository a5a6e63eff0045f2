/**
 * Token introspection (RFC 7662) for confidential clients. A client sees only tokens issued to
 * it; anything else is `{ "active": false }`.
 */
import { OAuthError } from '@gatehouse/oauth';
import { authenticateClient } from './client-auth.js';
import type { Engine, RequestContext } from './context.js';
import { asOAuthError, errorJson } from './errors.js';
import { json, readForm } from './http.js';
import type { Reply } from './reply.js';
import { looksLikeAccessToken, verifyAccessToken } from './tokens.js';

export async function handleIntrospection(engine: Engine, ctx: RequestContext): Promise<Reply> {
  const { request } = ctx;
  try {
    if (request.method !== 'POST')
      throw new OAuthError('invalid_request', 'introspection accepts POST only', { status: 405 });
    if (ctx.url.search !== '')
      throw new OAuthError('invalid_request', 'parameters belong in the form body, not the URL');
    const form = await readForm(request);
    const client = await authenticateClient(engine, request, form, {
      allowPublic: false,
      endpoint: engine.endpoints.introspection,
    });
    const token = form.get('token');
    if (!token) throw new OAuthError('invalid_request', 'token is missing');
    const now = engine.now();
    if (looksLikeAccessToken(token)) {
      try {
        const c = await verifyAccessToken(engine, token);
        if (c.client_id !== client.client_id) return json({ active: false });
        return json({
          active: true,
          token_type: 'Bearer',
          scope: c.scope,
          client_id: c.client_id,
          sub: c.sub,
          iss: c.iss,
          aud: c.aud,
          exp: c.exp,
          iat: c.iat,
          jti: c.jti,
        });
      } catch (err) {
        if (err instanceof OAuthError) return json({ active: false });
        throw err;
      }
    }
    // Refresh tokens: look without consuming.
    const id = await engine.secrets.hashToken(token);
    const record = await engine.storage.refreshTokens.get(id, now);
    if (!record) return json({ active: false });
    if (
      record.clientId !== client.client_id ||
      record.expiresAt <= now ||
      (await engine.storage.grants.isRevoked(record.grantId, now))
    ) {
      return json({ active: false });
    }
    return json({
      active: true,
      token_type: 'refresh_token',
      scope: record.scope,
      client_id: record.clientId,
      sub: record.sub,
      iss: engine.config.issuer,
      exp: Math.floor(record.expiresAt / 1000),
      iat: Math.floor(record.issuedAt / 1000),
    });
  } catch (err) {
    return errorJson(engine, ctx, asOAuthError(engine, ctx, err));
  }
}
