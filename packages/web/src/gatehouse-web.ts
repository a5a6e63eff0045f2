/**
 * `gatehouseWeb()`: the client toolkit over Web `Request` and `Response`. One call discovers the
 * provider and returns the login, callback and logout handlers, `handle()` that routes to them by
 * path, and `session()` / `requireAuth()` for the application's own routes. Web-standard APIs
 * only (`Request`, `Response`, `Headers`, `URL`, `crypto.subtle`): Next.js route handlers (Node.js
 * or edge), Hono, Bun, Deno and workers.
 */
import {
  type AuthorizationOptions,
  ClientError,
  GatehouseClient,
  type IdTokenClaims,
} from '@gatehouse/client';
import { base64url, sha256 } from '@gatehouse/oauth';
import {
  clientOptionsOf,
  logoutLocation,
  logRefreshFailed,
  tokensOf,
  transactionStoreOf,
} from './lib/adapter-client.js';
import { cookieJar, type RequestCookieJar } from './lib/cookies.js';
import { errorPageResponse } from './lib/error-page.js';
import type { GatehouseBaseOptions } from './lib/options.js';
import { Refreshes } from './lib/refreshes.js';
import { safeReturnTo } from './lib/return-to.js';
import { type SessionRecord, Sessions } from './lib/sessions.js';
import { checkSettings } from './lib/settings.js';

export type { Routes } from './lib/options.js';

/** @see GatehouseBaseOptions for the options every adapter shares. */
export interface GatehouseWebOptions extends GatehouseBaseOptions {
  session?: {
    /** Default `gh_session` (`gh_session.0`, `.1`, … when chunked). */
    cookieName?: string;
    /** Absolute lifetime of a session, from the login. Default 86 400 (a day). */
    maxAgeSeconds?: number;
  };
  /**
   * Called with every failure of a login, a callback or a session refresh — the application's
   * error reporting. What it throws is ignored.
   */
  onError?: (err: unknown, request: Request) => void;
  /**
   * true (default): a failed login answers with a page that says what failed, why and what to
   * do. false: `login()` and `callback()` (and `handle()`) reject with the error instead.
   */
  errorPage?: boolean;
}

/** The signed-in user of a request. */
export interface GatehouseSession {
  /** The user's ID token claims (from the latest ID token, refreshes included). */
  user: IdTokenClaims;
  accessToken: string;
  idToken?: string;
  /** Epoch milliseconds when the access token expires, when the provider said. */
  accessTokenExpiresAt?: number;
  /**
   * `Set-Cookie` lines the response must carry (the session refreshed on this request), each
   * appended with `headers.append('set-cookie', line)`. Usually empty.
   */
  setCookies: string[];
}

/** Options of one login; `returnTo` is checked as always. */
export type LoginOptions = AuthorizationOptions;

export interface SessionOptions {
  /**
   * false: never refresh, return the session as the cookie holds it (its access token may have
   * expired). For code that cannot set cookies on its response — a Next.js server component —
   * where a refresh would rotate the refresh token without the browser ever learning the new one.
   * Default true.
   */
  refresh?: boolean;
}

export interface GatehouseWeb {
  /**
   * Starts a login: 302 to the provider, the transaction in its own encrypted cookie. `returnTo`
   * comes from `options`, else from the request's `?returnTo=` (when it appears once); a value
   * that is not a path on the app's origin becomes the app's root.
   */
  login(request: Request, options?: LoginOptions): Promise<Response>;
  /** The redirect back from the provider: 302 to `returnTo` with the session cookie, or the error page. */
  callback(request: Request): Promise<Response>;
  /**
   * Clears the session, revokes the refresh token (best effort), and sends the browser to the
   * provider's `end_session_endpoint` (or straight to `postLogoutRedirect`). POST answers 303.
   */
  logout(request: Request): Promise<Response>;
  /**
   * The handler for the request's path (`routes.login`, `routes.callback`, `routes.logout`; 405
   * for another method), or undefined for any other path — as a middleware, pass it on.
   */
  handle(request: Request): Promise<Response | undefined>;
  /** The request's signed-in user, refreshed when due; undefined when signed out. */
  session(request: Request, options?: SessionOptions): Promise<GatehouseSession | undefined>;
  /**
   * The session, or the answer for a signed-out request: a GET or HEAD is redirected to the login
   * (and comes back afterwards); any other method gets 401 `{ "error": "login_required" }`.
   */
  requireAuth(request: Request): Promise<GatehouseSession | Response>;
  /** The underlying client (UserInfo, revocation, …). */
  client: GatehouseClient;
}

type RefreshResult = Awaited<ReturnType<GatehouseClient['refresh']>>;

/**
 * Refreshes in flight, per refresh token, for this whole module instance — not per adapter: an
 * application often builds the adapter in more than one place (a Next.js route handler and a
 * server action, a test and the app), and two refreshes of one token would rotate it twice, which
 * makes the provider revoke the grant. Keyed by a hash of issuer, client and refresh token;
 * bounded; no timers.
 */
const refreshes = new Refreshes<RefreshResult>();

/** A request's session as read (and refreshed) once, with the cookies its response must carry. */
interface Read {
  jar: RequestCookieJar;
  record: SessionRecord | undefined;
}

/**
 * Discovers the provider and builds the adapter.
 *
 * @throws ClientError `config_invalid` naming the option at fault; `discovery_failed`,
 *   `network_error` or `network_timeout` when the provider cannot be reached.
 * @example
 * ```ts
 * const auth = await gatehouseWeb({
 *   issuer: 'https://id.example',
 *   clientId: 'web-app',
 *   clientSecret: process.env.CLIENT_SECRET,
 *   baseUrl: 'https://app.example',
 *   secret: process.env.SESSION_SECRET!,
 * });
 * export default {
 *   async fetch(request: Request) {
 *     const handled = await auth.handle(request);
 *     if (handled) return handled;
 *     const session = await auth.requireAuth(request);
 *     if (session instanceof Response) return session;
 *     const res = Response.json(session.user);
 *     for (const line of session.setCookies) res.headers.append('set-cookie', line);
 *     return res;
 *   },
 * };
 * ```
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 */
export async function gatehouseWeb(options: GatehouseWebOptions): Promise<GatehouseWeb> {
  const settings = checkSettings(options);
  const { routes, origin, baseUrl, basePath } = settings;
  const clientOptions = clientOptionsOf(options, settings);
  const client = await GatehouseClient.create(clientOptions);

  const now = clientOptions.now ?? Date.now;
  const logger = clientOptions.logger;
  const transactions = transactionStoreOf(options.secret, settings, clientOptions);
  const sessions = new Sessions({
    secret: options.secret,
    cookieName: settings.cookieName,
    maxAgeSeconds: settings.maxAgeSeconds,
    secure: settings.secure,
    now,
  });
  const paths = {
    login: basePath + routes.login,
    callback: basePath + routes.callback,
    logout: basePath + routes.logout,
  };
  /** Where a login without a (valid) returnTo lands: the app's root. */
  const root = `${basePath}/`;
  const links = { login: paths.login, home: basePath + routes.postLogoutRedirect };
  /** One read per request object, shared by `session()` and `requireAuth()`. */
  const reads = new WeakMap<Request, Promise<Read>>();

  function report(err: unknown, request: Request): void {
    try {
      options.onError?.(err, request);
    } catch {
      // The application's reporting must not change what the user sees.
    }
  }

  async function fail(err: unknown, request: Request, setCookies: string[]): Promise<Response> {
    report(err, request);
    if (!settings.errorPage) throw err;
    const res = await errorPageResponse(err, links);
    for (const line of setCookies) res.headers.append('set-cookie', line);
    return res;
  }

  /** The session after a refresh when one is due; undefined when the refresh was refused. */
  async function refreshed(
    request: Request,
    jar: RequestCookieJar,
    record: SessionRecord,
  ): Promise<SessionRecord | undefined> {
    const { refreshToken, expiresAt } = record.tokens;
    if (refreshToken === undefined || expiresAt === undefined) return record;
    if (expiresAt - now() > settings.refreshSkewSeconds * 1000) return record;
    // Once due, a token stays due: a refused one is found here on every later request.
    const key = base64url(await sha256(`${client.issuer}\n${client.clientId}\n${refreshToken}`));
    if (refreshes.isRefused(key, now())) {
      sessions.clear(jar);
      return undefined;
    }
    if (refreshes.coolingDown(key, now())) return record;
    try {
      const result = await refreshes.run(key, now, () =>
        client.refresh(refreshToken, { expectedSub: record.user.sub }),
      );
      const next: SessionRecord = {
        ...record,
        user: result.claims ?? record.user,
        tokens: tokensOf(result.tokens, record.tokens),
      };
      await sessions.write(jar, next);
      return next;
    } catch (err) {
      report(err, request);
      logRefreshFailed(logger, client, err);
      // The provider or the network may be back soon: the session stays as it is, and the next
      // attempt waits a little.
      if (err instanceof ClientError && err.retryable) {
        refreshes.coolDown(key, now());
        return record;
      }
      refreshes.refuse(key, record.expiresAt, now());
      sessions.clear(jar);
      return undefined;
    }
  }

  async function readSession(request: Request, refresh: boolean): Promise<Read> {
    const jar = cookieJar(request);
    const record = await sessions.read(jar);
    if (!record || !refresh) return { jar, record };
    return { jar, record: await refreshed(request, jar, record) };
  }

  function read(request: Request): Promise<Read> {
    let pending = reads.get(request);
    if (!pending) {
      pending = readSession(request, true);
      reads.set(request, pending);
    }
    return pending;
  }

  async function login(request: Request, loginOptions: LoginOptions = {}): Promise<Response> {
    const jar = cookieJar(request);
    try {
      const requested =
        'returnTo' in loginOptions
          ? loginOptions.returnTo
          : singleParam(new URL(request.url), 'returnTo');
      const returnTo = safeReturnTo(requested, origin) ?? root;
      const { url, transaction } = await client.authorizationRequest({
        ...loginOptions,
        returnTo,
      });
      await transactions.save(jar, transaction);
      return redirect(302, url.href, jar.setCookies());
    } catch (err) {
      return fail(err, request, jar.setCookies());
    }
  }

  async function callback(request: Request): Promise<Response> {
    const jar = cookieJar(request);
    try {
      const result = await client.callback(new URL(request.url).searchParams, {
        take: (state) => transactions.take(jar, state),
        pending: () => transactions.pending!(jar),
      });
      await sessions.write(jar, sessions.create(result.claims, tokensOf(result.tokens)));
      return redirect(302, safeReturnTo(result.returnTo, origin) ?? root, jar.setCookies());
    } catch (err) {
      // The transaction cookie is gone whatever failed: the page says so to the browser too.
      return fail(err, request, jar.setCookies());
    }
  }

  async function logout(request: Request): Promise<Response> {
    const jar = cookieJar(request);
    const record = await sessions.read(jar);
    sessions.clear(jar);
    const refreshToken = record?.tokens.refreshToken;
    if (refreshToken !== undefined && client.metadata.revocation_endpoint) {
      // Best effort: the session is gone whatever the provider answers.
      await client.revoke(refreshToken, 'refresh_token').catch(() => undefined);
    }
    const after = baseUrl + routes.postLogoutRedirect;
    const status = request.method === 'POST' ? 303 : 302;
    return redirect(status, logoutLocation(client, record, after), jar.setCookies());
  }

  return {
    client,
    login,
    callback,
    logout,

    async handle(request) {
      const { pathname } = new URL(request.url);
      const get = request.method === 'GET' || request.method === 'HEAD';
      switch (pathname) {
        case paths.login:
          return get ? login(request) : methodNotAllowed('GET, HEAD');
        case paths.callback:
          return get ? callback(request) : methodNotAllowed('GET, HEAD');
        case paths.logout:
          return get || request.method === 'POST'
            ? logout(request)
            : methodNotAllowed('GET, HEAD, POST');
        default:
          return undefined;
      }
    },

    async session(request, sessionOptions = {}) {
      const { jar, record } =
        sessionOptions.refresh === false ? await readSession(request, false) : await read(request);
      return record && sessionOf(record, jar.setCookies());
    },

    async requireAuth(request) {
      const { jar, record } = await read(request);
      if (record) return sessionOf(record, jar.setCookies());
      // Signed out: the answer also clears a session cookie that did not open or was refused.
      if (request.method === 'GET' || request.method === 'HEAD') {
        const { pathname, search } = new URL(request.url);
        const location = `${paths.login}?returnTo=${encodeURIComponent(pathname + search)}`;
        return redirect(302, location, jar.setCookies());
      }
      const res = new Response('{"error":"login_required"}', {
        status: 401,
        headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      });
      for (const line of jar.setCookies()) res.headers.append('set-cookie', line);
      return res;
    },
  };
}

function sessionOf(record: SessionRecord, setCookies: string[]): GatehouseSession {
  const { accessToken, idToken, expiresAt } = record.tokens;
  return {
    user: record.user,
    accessToken,
    ...(idToken !== undefined ? { idToken } : {}),
    ...(expiresAt !== undefined ? { accessTokenExpiresAt: expiresAt } : {}),
    setCookies,
  };
}

/** A redirect that is never cached. (`Response.redirect` would make the headers immutable.) */
function redirect(status: number, location: string, setCookies: string[]): Response {
  const headers = new Headers({ location, 'cache-control': 'no-store' });
  for (const line of setCookies) headers.append('set-cookie', line);
  return new Response(null, { status, headers });
}

function methodNotAllowed(allow: string): Response {
  return new Response('method not allowed\n', {
    status: 405,
    headers: { allow, 'content-type': 'text/plain; charset=utf-8' },
  });
}

/** The parameter's value when it appears exactly once. */
function singleParam(url: URL, name: string): string | undefined {
  const values = url.searchParams.getAll(name);
  return values.length === 1 ? values[0] : undefined;
}
