/**
 * `gatehouse()`: the Express adapter of the client toolkit. One call discovers the provider and
 * returns a router that serves the login, callback and logout routes and reads the application
 * session on every request, and `requiresAuth()` for the routes that need a signed-in user.
 */
import { createHash } from 'node:crypto';
import {
  type AuthorizationOptions,
  ClientError,
  GatehouseClient,
  type IdTokenClaims,
} from '@gatehouse/client';
import {
  clientOptionsOf,
  type GatehouseBaseOptions,
  logoutLocation,
  logRefreshFailed,
  safeReturnTo,
  tokensOf,
  transactionStoreOf,
} from '@gatehouse/web/kit';
import {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  Router,
} from 'express';
import { cookieJar, type RequestCookieJar } from './lib/cookies.js';
import { sendErrorPage } from './lib/error-page.js';
import { Refreshes } from './lib/refreshes.js';
import { type Session, Sessions } from './lib/sessions.js';
import { checkSettings } from './lib/settings.js';
import type { SessionStore } from './session.js';

export type { Routes } from '@gatehouse/web/kit';

/** @see GatehouseBaseOptions for the options every adapter shares. */
export interface GatehouseOptions extends GatehouseBaseOptions {
  session?: {
    /** Default `gh_session` (`gh_session.0`, `.1`, … when chunked). */
    cookieName?: string;
    /** Absolute lifetime of a session, from the login. Default 86 400 (a day). */
    maxAgeSeconds?: number;
    /** Keep sessions server-side; the cookie then holds only an encrypted session id. */
    store?: SessionStore;
  };
  /**
   * Called with every failure of a login, a callback or a session refresh — the application's
   * error reporting. What it throws is ignored.
   */
  onError?: (err: unknown, req: Request) => void;
  /**
   * true (default): a failed login renders a page that says what failed, why and what to do.
   * false: the error goes to the application's Express error handler (`next(err)`).
   */
  errorPage?: boolean;
}

/** What `req.gatehouse` says about the request's user. */
export interface GatehouseContext {
  isAuthenticated: boolean;
  /** The user's ID token claims (from the latest ID token, refreshes included). */
  user?: IdTokenClaims;
  accessToken?: string;
  idToken?: string;
  /** Epoch milliseconds when the access token expires, when the provider said. */
  accessTokenExpiresAt?: number;
}

declare global {
  namespace Express {
    interface Request {
      /** Set by the Gatehouse router (or `requiresAuth()`) on every request. */
      gatehouse?: GatehouseContext;
    }
  }
}

/** Options of one login (`auth.login(req, res, options)`); `returnTo` is checked as always. */
export type LoginOptions = AuthorizationOptions;

export interface Gatehouse {
  /** GET login, GET callback, GET/POST logout, and `req.gatehouse` on every request. */
  router: Router;
  /**
   * Lets signed-in users through. Others: a GET or HEAD is redirected to the login (and comes
   * back afterwards); any other method gets 401 `{ "error": "login_required" }`.
   */
  requiresAuth(): RequestHandler;
  /**
   * Starts a login from a route of the application's own (e.g. with `prompt: 'consent'`).
   * Throws what the client throws; the caller passes it on (`next(err)`).
   */
  login(req: Request, res: Response, options?: LoginOptions): Promise<void>;
  /** The underlying client (UserInfo, revocation, …). */
  client: GatehouseClient;
}

/** What a request has read so far, shared by the middleware and the routes. */
interface RequestState {
  jar: RequestCookieJar;
  session?: Promise<Session | undefined>;
  context?: Promise<GatehouseContext>;
}

type RefreshResult = Awaited<ReturnType<GatehouseClient['refresh']>>;

/**
 * Discovers the provider and builds the adapter.
 *
 * @throws ClientError `config_invalid` naming the option at fault; `discovery_failed` when the
 *   provider cannot be reached.
 * @example
 * ```ts
 * const auth = await gatehouse({
 *   issuer: 'https://id.example',
 *   clientId: 'web-app',
 *   clientSecret: process.env.CLIENT_SECRET,
 *   baseUrl: 'https://app.example',
 *   secret: process.env.SESSION_SECRET!,
 * });
 * app.use(auth.router);
 * app.get('/profile', auth.requiresAuth(), (req, res) => res.json(req.gatehouse!.user));
 * ```
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 */
export async function gatehouse(options: GatehouseOptions): Promise<Gatehouse> {
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
    ...(settings.store ? { store: settings.store } : {}),
    now,
  });
  const refreshes = new Refreshes<RefreshResult>(now);
  const states = new WeakMap<Request, RequestState>();
  const loginPath = basePath + routes.login;
  const links = { login: loginPath, home: basePath + routes.postLogoutRedirect };

  function stateOf(req: Request, res: Response): RequestState {
    let state = states.get(req);
    if (!state) {
      state = { jar: cookieJar(req, res) };
      states.set(req, state);
    }
    return state;
  }

  function currentSession(state: RequestState): Promise<Session | undefined> {
    state.session ??= sessions.read(state.jar);
    return state.session;
  }

  function report(err: unknown, req: Request): void {
    try {
      options.onError?.(err, req);
    } catch {
      // The application's reporting must not change what the user sees.
    }
  }

  /** The refresh's key when the session's access token is due for one (and may get it). */
  function refreshKey(session: Session): string | undefined {
    const { refreshToken, expiresAt } = session.tokens;
    if (refreshToken === undefined || expiresAt === undefined) return undefined;
    if (expiresAt - now() > settings.refreshSkewSeconds * 1000) return undefined;
    const key = createHash('sha256').update(refreshToken).digest('base64url');
    return refreshes.coolingDown(key) ? undefined : key;
  }

  async function refreshSession(
    req: Request,
    state: RequestState,
    session: Session,
    key: string,
  ): Promise<Session | undefined> {
    const refreshToken = session.tokens.refreshToken!;
    try {
      const result = await refreshes.run(key, () =>
        client.refresh(refreshToken, { expectedSub: session.user.sub }),
      );
      const next = await sessions.write(state.jar, {
        ...session,
        user: result.claims ?? session.user,
        tokens: tokensOf(result.tokens, session.tokens),
      });
      state.session = Promise.resolve(next);
      return next;
    } catch (err) {
      report(err, req);
      logRefreshFailed(logger, client, err);
      // The provider or the network may be back soon: the session stays as it is, and the
      // next attempt waits a little.
      if (err instanceof ClientError && err.retryable) {
        refreshes.coolDown(key);
        return session;
      }
      await sessions.destroy(state.jar, session);
      state.session = Promise.resolve(undefined);
      return undefined;
    }
  }

  /** Reads (and refreshes when due) the session once per request; sets `req.gatehouse`. */
  function context(req: Request, res: Response): Promise<GatehouseContext> {
    const state = stateOf(req, res);
    state.context ??= (async () => {
      let session = await currentSession(state);
      const key = session && refreshKey(session);
      if (session && key) session = await refreshSession(req, state, session, key);
      const ctx = contextOf(session);
      req.gatehouse = ctx;
      return ctx;
    })();
    return state.context;
  }

  function fail(err: unknown, req: Request, res: Response, next: NextFunction): void {
    report(err, req);
    if (!settings.errorPage || res.headersSent) next(err);
    else sendErrorPage(res, err, links);
  }

  async function login(req: Request, res: Response, loginOptions: LoginOptions = {}) {
    const state = stateOf(req, res);
    const returnTo = safeReturnTo(loginOptions.returnTo, origin) ?? '/';
    const { url, transaction } = await client.authorizationRequest({ ...loginOptions, returnTo });
    await transactions.save(state.jar, transaction);
    res.set('cache-control', 'no-store');
    res.redirect(302, url.href);
  }

  const router = Router();
  /** The adapter's own routes read the session themselves, without refreshing it. */
  const ownRoute = (req: Request) =>
    ((req.method === 'GET' || req.method === 'HEAD') &&
      (req.path === routes.login || req.path === routes.callback || req.path === routes.logout)) ||
    (req.method === 'POST' && req.path === routes.logout);

  router.use((req, res, next) => {
    if (ownRoute(req)) return next();
    context(req, res).then(() => next(), next);
  });

  router.get(routes.login, async (req, res, next) => {
    try {
      const returnTo = singleParam(req.originalUrl, 'returnTo');
      await login(req, res, returnTo !== undefined ? { returnTo } : {});
    } catch (err) {
      fail(err, req, res, next);
    }
  });

  router.get(routes.callback, async (req, res, next) => {
    const state = stateOf(req, res);
    try {
      const result = await client.callback(queryOf(req.originalUrl), {
        take: (s) => transactions.take(state.jar, s),
        pending: () => transactions.pending!(state.jar),
      });
      const old = await currentSession(state);
      const session = await sessions.replace(
        state.jar,
        old,
        sessions.create(result.claims, tokensOf(result.tokens)),
      );
      state.session = Promise.resolve(session);
      req.gatehouse = contextOf(session);
      res.set('cache-control', 'no-store');
      res.redirect(302, safeReturnTo(result.returnTo, origin) ?? '/');
    } catch (err) {
      fail(err, req, res, next);
    }
  });

  const logout: RequestHandler = async (req, res) => {
    const state = stateOf(req, res);
    const session = await currentSession(state);
    await sessions.destroy(state.jar, session);
    state.session = Promise.resolve(undefined);
    req.gatehouse = { isAuthenticated: false };
    const refreshToken = session?.tokens.refreshToken;
    if (refreshToken !== undefined && client.metadata.revocation_endpoint) {
      // Best effort: the session is gone whatever the provider answers.
      await client.revoke(refreshToken, 'refresh_token').catch(() => undefined);
    }
    const after = baseUrl + routes.postLogoutRedirect;
    const status = req.method === 'POST' ? 303 : 302;
    res.set('cache-control', 'no-store');
    res.redirect(status, logoutLocation(client, session, after));
  };
  router.get(routes.logout, logout);
  router.post(routes.logout, logout);

  return {
    router,
    client,
    login,
    requiresAuth() {
      return (req, res, next) => {
        context(req, res).then((ctx) => {
          if (ctx.isAuthenticated) return next();
          res.set('cache-control', 'no-store');
          if (req.method === 'GET' || req.method === 'HEAD') {
            res.redirect(302, `${loginPath}?returnTo=${encodeURIComponent(req.originalUrl)}`);
            return;
          }
          res.status(401).json({ error: 'login_required' });
        }, next);
      };
    },
  };
}

function contextOf(session: Session | undefined): GatehouseContext {
  if (!session) return { isAuthenticated: false };
  const { accessToken, idToken, expiresAt } = session.tokens;
  return {
    isAuthenticated: true,
    user: session.user,
    accessToken,
    ...(idToken !== undefined ? { idToken } : {}),
    ...(expiresAt !== undefined ? { accessTokenExpiresAt: expiresAt } : {}),
  };
}

function queryOf(url: string): URLSearchParams {
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}

/** The parameter's value when it appears exactly once. */
function singleParam(url: string, name: string): string | undefined {
  const values = queryOf(url).getAll(name);
  return values.length === 1 ? values[0] : undefined;
}
