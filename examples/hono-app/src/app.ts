/**
 * The example application: a home page, a protected `/profile` page with the ID token claims,
 * and sign-out. `/login`, `/callback` and `/logout` are `@gatehouse/web`'s handlers, reached
 * through `auth.handle()` as a middleware.
 */
import {
  type GatehouseSession,
  type GatehouseWeb,
  type GatehouseWebOptions,
  gatehouseWeb,
} from '@gatehouse/web';
import { type Context, Hono } from 'hono';
import { homePage, notFoundPage, profilePage, STYLESHEET, STYLESHEET_PATH } from './pages.js';

export interface ExampleAppOptions {
  /** The provider's issuer identifier, e.g. `http://localhost:9000`. */
  issuer: string;
  /** A `web` client registered with the redirect URI `baseUrl + /callback`. */
  clientId: string;
  /** Its secret: it authenticates at the token endpoint and signs the request objects (JAR). */
  clientSecret: string;
  /** The app's external URL, at the root of its origin, e.g. `http://localhost:3000`. */
  baseUrl: string;
  /** At least 32 characters: the key of the session cookie. */
  secret: string;
  /** Called with every failed login, callback or session refresh (never holds a token). */
  onError?: (err: unknown) => void;
  /** Any other adapter option (a logger, a custom `fetch`, a clock…). */
  gatehouse?: Partial<GatehouseWebOptions>;
}

export interface ExampleApp {
  app: Hono;
  auth: GatehouseWeb;
}

/**
 * Builds the app. Discovers the provider first, so the provider must be up.
 *
 * @throws ClientError `config_invalid` (a bad option); `network_error` / `network_timeout` (no
 *   provider there) or `discovery_failed` (its metadata does not fit the issuer).
 * @example
 * ```ts
 * const { app } = await createApp({ issuer, clientId, clientSecret, baseUrl, secret });
 * serve({ fetch: app.fetch, port: 3000 });
 * ```
 */
export async function createApp(options: ExampleAppOptions): Promise<ExampleApp> {
  const auth = await gatehouseWeb({
    ...options.gatehouse,
    issuer: options.issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    baseUrl: options.baseUrl,
    secret: options.secret,
    ...(options.onError ? { onError: (err: unknown) => options.onError!(err) } : {}),
  });
  const endSession = auth.client.metadata.end_session_endpoint;
  const csp = [
    `default-src 'none'`,
    `style-src 'self'`,
    `img-src 'self'`,
    `base-uri 'none'`,
    `frame-ancestors 'none'`,
    // The sign-out form's redirect ends at the provider's end-session endpoint.
    `form-action 'self'${endSession ? ` ${new URL(endSession).origin}` : ''}`,
  ].join('; ');

  const app = new Hono();

  // Security headers on every answer; the adapter's error page keeps its own stricter CSP.
  app.use(async (c, next) => {
    await next();
    const headers = c.res.headers;
    if (!headers.has('content-security-policy')) headers.set('content-security-policy', csp);
    headers.set('x-content-type-options', 'nosniff');
    headers.set('x-frame-options', 'DENY');
    headers.set('referrer-policy', 'no-referrer');
  });

  app.get(STYLESHEET_PATH, (c) =>
    c.body(STYLESHEET, 200, {
      'content-type': 'text/css; charset=utf-8',
      'cache-control': 'public, max-age=3600',
    }),
  );

  // /login, /callback, /logout: the adapter's answer; any other path goes on.
  app.use(async (c, next) => (await auth.handle(c.req.raw)) ?? next());

  app.get('/', async (c) => {
    const session = await auth.session(c.req.raw);
    return page(c, 200, homePage(session), session);
  });

  app.get('/profile', async (c) => {
    const session = await auth.requireAuth(c.req.raw);
    if (session instanceof Response) return session;
    return page(c, 200, profilePage(session), session);
  });

  app.notFound(async (c) => {
    const session = await auth.session(c.req.raw);
    return page(c, 404, notFoundPage(session), session);
  });

  app.onError((err, c) => {
    try {
      options.onError?.(err);
    } catch {
      // Reporting must not change the answer.
    }
    return c.text('The app could not answer this request.', 500, { 'cache-control': 'no-store' });
  });

  return { app, auth };
}

/** A page with the user's data: never cached, and with the session's refreshed cookie if any. */
async function page(
  c: Context,
  status: 200 | 404,
  body: ReturnType<typeof homePage>,
  session: GatehouseSession | undefined,
): Promise<Response> {
  for (const line of session?.setCookies ?? []) c.header('set-cookie', line, { append: true });
  c.header('cache-control', 'no-store');
  return c.html(await body, status);
}
