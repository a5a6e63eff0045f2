/**
 * The example application: a home page, a protected `/profile` page with the ID token claims,
 * and sign-out — `/login`, `/callback` and `/logout` come from `@gatehouse/express`.
 */
import { type GatehouseOptions, gatehouse } from '@gatehouse/express';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { securityHeaders } from './lib/headers.js';
import { homePage, notFoundPage, profilePage, serverErrorPage } from './lib/pages.js';
import { STYLESHEET, STYLESHEET_PATH } from './lib/style.js';

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
  /** Any other adapter option (a logger, a session store, a custom `fetch`…). */
  gatehouse?: Partial<GatehouseOptions>;
}

/**
 * Builds the app. Discovers the provider first, so the provider must be up.
 *
 * @throws ClientError `config_invalid` (a bad option); `network_error` / `network_timeout` (no
 *   provider there) or `discovery_failed` (its metadata does not fit the issuer).
 * @example
 * ```ts
 * const app = await createApp({
 *   issuer: 'http://localhost:9000',
 *   clientId: 'demo-web',
 *   clientSecret: process.env.GATEHOUSE_CLIENT_SECRET!,
 *   baseUrl: 'http://localhost:3000',
 *   secret: process.env.APP_SECRET!,
 * });
 * app.listen(3000);
 * ```
 */
export async function createApp(options: ExampleAppOptions): Promise<Express> {
  const auth = await gatehouse({
    ...options.gatehouse,
    issuer: options.issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    baseUrl: options.baseUrl,
    secret: options.secret,
    ...(options.onError ? { onError: (err: unknown) => options.onError!(err) } : {}),
  });
  const endSession = auth.client.metadata.end_session_endpoint;

  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders(endSession ? new URL(endSession).origin : undefined));

  // Before the adapter's router: the stylesheet needs no session.
  app.get(STYLESHEET_PATH, (_req, res) => {
    res.set('cache-control', 'public, max-age=3600').type('css').send(STYLESHEET);
  });

  app.use(auth.router);

  app.get('/', (req, res) => {
    sendPage(res, 200, homePage(req.gatehouse));
  });

  app.get('/profile', auth.requiresAuth(), (req, res) => {
    sendPage(res, 200, profilePage(req.gatehouse!, Date.now()));
  });

  app.use((req, res) => {
    sendPage(res, 404, notFoundPage(req.gatehouse));
  });

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    try {
      options.onError?.(err);
    } catch {
      // Reporting must not change the answer.
    }
    sendPage(res, 500, serverErrorPage());
  });

  return app;
}

/** Pages show the user's data: never cached. */
function sendPage(res: Response, status: number, page: string): void {
  res.status(status).set('cache-control', 'no-store').type('html').send(page);
}
