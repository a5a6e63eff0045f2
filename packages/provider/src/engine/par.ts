/**
 * Pushed authorization requests (RFC 9126). The client authenticates and posts its authorization
 * request — as plain parameters or, for clients registered for JAR, as a request object — to the
 * PAR endpoint, which validates it as the authorization endpoint would and answers a one-time
 * `request_uri`. The browser then carries only `client_id` and that `request_uri`.
 *
 * Failures are JSON errors here (the client is on the line), never redirects.
 */
import { OAuthError } from '@gatehouse/oauth';
import {
  AUTHORIZATION_STEPS,
  type AuthzState,
  PAR_REQUEST_URI_PREFIX,
  validateRequest,
} from './authorize.js';
import { authenticateClient } from './client-auth.js';
import type { Engine, RequestContext } from './context.js';
import { asOAuthError, errorJson } from './errors.js';
import { json, readForm } from './http.js';
import { randomId } from './random.js';
import type { Reply } from './reply.js';

/** Parameters that authenticate the client rather than describe the authorization request. */
const CREDENTIALS = ['client_secret', 'client_assertion', 'client_assertion_type'];

export async function handlePar(engine: Engine, ctx: RequestContext): Promise<Reply> {
  const { request } = ctx;
  try {
    if (request.method !== 'POST') {
      throw new OAuthError('invalid_request', 'the PAR endpoint accepts POST only', {
        status: 405,
      });
    }
    if (ctx.url.search !== '') {
      throw new OAuthError('invalid_request', 'parameters belong in the form body, not the URL');
    }
    const form = await readForm(request);
    const client = await authenticateClient(engine, request, form, {
      allowPublic: true,
      endpoint: engine.endpoints.par,
    });
    const params = new Map(form);
    for (const name of CREDENTIALS) params.delete(name);
    params.set('client_id', client.client_id);
    const s: AuthzState = {
      params,
      outer: params,
      atPar: true,
      request: { prompt: [], scope: [], viaPost: false },
    };
    for (const step of AUTHORIZATION_STEPS.unverified) await step(engine, ctx, s);
    await validateRequest(engine, ctx, s);

    const reference = randomId(32);
    const now = engine.now();
    const lifetime = engine.config.ttl.pushedRequest;
    const { viaPost: _, ...validated } = s.request;
    await engine.storage.pushedRequests.save({
      id: await engine.secrets.hashToken(reference),
      clientId: client.client_id,
      request: validated,
      createdAt: now,
      expiresAt: now + lifetime * 1000,
    });
    engine.logger.info(
      { event: 'authorization_pushed', requestId: ctx.requestId, clientId: client.client_id },
      'authorization request pushed',
    );
    return json({ request_uri: PAR_REQUEST_URI_PREFIX + reference, expires_in: lifetime }, 201);
  } catch (err) {
    return errorJson(engine, ctx, asOAuthError(engine, ctx, err));
  }
}
