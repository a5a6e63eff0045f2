/** How errors leave the provider: an error page, RFC 6749 §5.2 JSON, or a redirect to the client. */
import { OAuthError } from '@gatehouse/oauth';
import type { Engine, RequestContext } from './context.js';
import { html, json, redirect, withQuery } from './http.js';
import type { Reply } from './reply.js';

/** `{issuer}/errors#code`: the provider's own explanation of an error code. */
export function errorUri(engine: Engine, code: string): string {
  return `${engine.endpoints.errors}#${code}`;
}

/** Anything thrown that is not an OAuthError is an internal failure: log it, leak nothing. */
export function asOAuthError(engine: Engine, ctx: RequestContext, err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  engine.logger.error(
    {
      event: 'internal_error',
      requestId: ctx.requestId,
      path: ctx.url.pathname,
      err: describe(err),
    },
    'unexpected failure',
  );
  return new OAuthError(
    'server_error',
    'the provider met an unexpected condition; try again later',
  );
}

function describe(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { type: err.name, message: err.message, stack: err.stack };
  return { value: String(err) };
}

/** An HTML error page with no Location: for errors that must not be redirected. */
export function errorPage(
  engine: Engine,
  ctx: RequestContext,
  error: OAuthError,
  headers: Record<string, string> = {},
): Reply {
  logError(engine, ctx, error);
  const status =
    error.status >= 500 || error.status === 404 || error.status === 405 ? error.status : 400;
  return html(
    engine.pages.error({
      error: error.error,
      description: error.errorDescription,
      errorUri: errorUri(engine, error.error),
      requestId: ctx.requestId,
      stylesheetHref: engine.endpoints.stylesheet,
    }),
    status,
    { headers },
  );
}

/** RFC 6749 §5.2 / RFC 6750 JSON error. */
export function errorJson(
  engine: Engine,
  ctx: RequestContext,
  error: OAuthError,
  headers: Record<string, string> = {},
): Reply {
  logError(engine, ctx, error);
  const extra: Record<string, string> = { ...headers };
  // RFC 6749 §5.2: a client that tried the Authorization header gets a challenge for that scheme.
  // It names the error, so clients that stop at the challenge still learn what went wrong.
  if (
    error.error === 'invalid_client' &&
    error.status === 401 &&
    ctx.request.headers.has('authorization')
  ) {
    extra['www-authenticate'] =
      `Basic realm="gatehouse", error="invalid_client", error_description="${error.errorDescription}"`;
  }
  return json(error.toJSON(errorUri(engine, error.error)), error.status, extra);
}

/**
 * The redirected error response of the authorization endpoint (RFC 6749 §4.1.2.1, RFC 9207):
 * `error`, `error_description`, `error_uri`, `state` (when the request had one) and `iss`.
 */
export function errorRedirect(
  engine: Engine,
  ctx: RequestContext,
  error: OAuthError,
  redirectUri: string,
  state: string | undefined,
  status: 302 | 303 = 302,
): Reply {
  logError(engine, ctx, error);
  return redirect(
    withQuery(redirectUri, {
      error: error.error,
      error_description: error.errorDescription || undefined,
      error_uri: error.errorUri ?? errorUri(engine, error.error),
      state,
      iss: engine.config.issuer,
    }),
    status,
  );
}

function logError(engine: Engine, ctx: RequestContext, error: OAuthError): void {
  const entry = {
    event: 'request_failed',
    requestId: ctx.requestId,
    path: ctx.url.pathname,
    error: error.error,
    description: error.errorDescription,
    ...(error.detail ? { detail: error.detail } : {}),
  };
  if (error.status >= 500) engine.logger.error(entry, error.error);
  else engine.logger.info(entry, error.error);
}

/** Last-resort conversion of anything thrown by an endpoint. */
export function toResponse(
  engine: Engine,
  ctx: RequestContext,
  err: unknown,
  kind: 'page' | 'json',
): Reply {
  const error = asOAuthError(engine, ctx, err);
  return kind === 'page' ? errorPage(engine, ctx, error) : errorJson(engine, ctx, error);
}
