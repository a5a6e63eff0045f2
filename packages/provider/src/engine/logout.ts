/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). Redirects only to a
 * post_logout_redirect_uri registered (exactly) for a client identified by a valid id_token_hint
 * or client_id; without a valid hint the user is asked to confirm. Never an open redirect.
 */
import { mergeParams, OAuthError, parseParams } from '@gatehouse/oauth';
import type { Engine, RequestContext } from './context.js';
import { errorPage } from './errors.js';
import { html, readForm, redirect, withQuery } from './http.js';
import { InvalidJwt, verifyOwnJwt } from './jwt.js';
import { type Reply, ReplyHeaders } from './reply.js';
import { clearSessionCookie, loadSession, startInteraction } from './session.js';

/** A logout waiting for the user's confirmation (stored as an interaction). */
export interface LogoutRequest {
  kind: 'logout';
  clientId?: string;
  postLogoutRedirectUri?: string;
  state?: string;
  viaPost: boolean;
}

export async function handleLogout(engine: Engine, ctx: RequestContext): Promise<Reply> {
  const method = ctx.request.method;
  if (method !== 'GET' && method !== 'POST') {
    return errorPage(
      engine,
      ctx,
      new OAuthError('invalid_request', 'logout accepts GET and POST', { status: 405 }),
    );
  }
  const query = parseParams(ctx.url.searchParams);
  const params = method === 'POST' ? mergeParams(query, await readForm(ctx.request)) : query;

  let hintSub: string | undefined;
  let hintAud: string[] = [];
  const hint = params.get('id_token_hint');
  if (hint !== undefined) {
    try {
      const claims = await verifyOwnJwt(engine, hint, { allowExpired: true });
      if (typeof claims.sub !== 'string') throw new InvalidJwt('sub');
      hintSub = claims.sub;
      hintAud = (Array.isArray(claims.aud) ? claims.aud : [claims.aud]).filter(
        (a): a is string => typeof a === 'string',
      );
    } catch (err) {
      if (!(err instanceof InvalidJwt)) throw err;
      return errorPage(
        engine,
        ctx,
        new OAuthError(
          'invalid_request',
          'id_token_hint is not an ID token issued by this provider',
          { detail: err.detail },
        ),
      );
    }
  }
  const clientIdParam = params.get('client_id');
  if (clientIdParam !== undefined && hint !== undefined && !hintAud.includes(clientIdParam)) {
    return errorPage(
      engine,
      ctx,
      new OAuthError('invalid_request', 'client_id does not match the audience of id_token_hint'),
    );
  }
  const clientId = clientIdParam ?? (hintAud.length === 1 ? hintAud[0] : undefined);
  const client = clientId ? await engine.storage.clients.get(clientId) : undefined;
  if (clientId && !client) {
    return errorPage(
      engine,
      ctx,
      new OAuthError('invalid_request', 'client_id is not a registered client'),
    );
  }
  const postLogoutRedirectUri = params.get('post_logout_redirect_uri');
  if (postLogoutRedirectUri !== undefined) {
    if (!client) {
      return errorPage(
        engine,
        ctx,
        new OAuthError(
          'invalid_request',
          'post_logout_redirect_uri needs id_token_hint or client_id to identify the client',
        ),
      );
    }
    if (!client.post_logout_redirect_uris.includes(postLogoutRedirectUri)) {
      return errorPage(
        engine,
        ctx,
        new OAuthError(
          'invalid_request',
          'post_logout_redirect_uri is not registered for this client',
        ),
      );
    }
  }
  const state = params.get('state');
  const request: LogoutRequest = {
    kind: 'logout',
    viaPost: method === 'POST',
    ...(client ? { clientId: client.client_id } : {}),
    ...(postLogoutRedirectUri !== undefined ? { postLogoutRedirectUri } : {}),
    ...(state !== undefined ? { state } : {}),
  };

  const session = await loadSession(engine, ctx);
  if (hintSub !== undefined && (!session || session.sub === hintSub)) {
    return endSession(engine, ctx, request, true, []);
  }
  // No valid hint (or the hint names someone else): ask the user.
  return startInteraction(engine, request);
}

/**
 * Ends the IdP session (when `signOut`) and goes back to the client's registered
 * post_logout_redirect_uri with its state, or shows the signed-out page.
 */
export async function endSession(
  engine: Engine,
  ctx: RequestContext,
  request: LogoutRequest,
  signOut: boolean,
  cookies: string[],
): Promise<Reply> {
  const headers = new ReplyHeaders();
  for (const c of cookies) headers.append('set-cookie', c);
  if (signOut) {
    const session = await loadSession(engine, ctx);
    if (session) {
      await engine.storage.sessions.remove(session.id);
      engine.logger.info(
        { event: 'logout', requestId: ctx.requestId, sub: session.sub, clientId: request.clientId },
        'signed out',
      );
    }
    headers.append('set-cookie', clearSessionCookie(engine));
  }
  if (signOut && request.postLogoutRedirectUri) {
    return redirect(
      withQuery(request.postLogoutRedirectUri, { state: request.state }),
      303,
      headers,
    );
  }
  const client = request.clientId ? await engine.storage.clients.get(request.clientId) : undefined;
  const name = client?.client_name ?? client?.client_id;
  const response = html(
    engine.pages.loggedOut({
      signedOut: signOut,
      ...(name ? { clientName: name } : {}),
      stylesheetHref: engine.endpoints.stylesheet,
    }),
  );
  for (const c of headers.getSetCookie()) response.headers.append('set-cookie', c);
  return response;
}
