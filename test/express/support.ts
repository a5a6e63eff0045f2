/**
 * Support for the Express adapter's end-to-end tests: a real Gatehouse provider served over HTTP
 * (`startServer`), real Express applications on their own ports, and a small browser that keeps
 * cookies per host, follows redirects by hand and fills the provider's login and consent forms
 * by their stable field names.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Gatehouse, type GatehouseOptions, gatehouse } from '@gatehouse/express';
import express, {
  type Express,
  type Request as ExpressRequest,
  type Response as ExpressResponse,
  type NextFunction,
} from 'express';
import { sealer } from '../../packages/express/src/lib/seal.js';
import type { ConfigInput } from '../../packages/provider/src/config/schema.js';
import { type StartedServer, startServer } from '../../packages/provider/src/node/server.js';
import { createProvider, type Provider } from '../../packages/provider/src/provider.js';
import { scryptHasher } from '../../packages/provider/src/users/passwords.js';
import { SECRET, seededMemoryStorage, USER } from '../support/harness.js';

export { USER };
export const CLIENT_ID = 'express-app';
export const CLIENT_SECRET = 'express-client-secret-0123456789-abcdefghijkl';
export const COOKIE_SECRET = 'express-cookie-secret-0123456789-abcdefghijkl';
export const BIG_USER = { username: 'carol', password: 'carol password 123' } as const;

/** An Express application listening on a port of its own, before any route is added. */
export interface TestApp {
  app: Express;
  server: Server;
  /** `http://localhost:<port>`: the app's external URL. */
  baseUrl: string;
  /** Errors that reached the app's own error handler. */
  appErrors: unknown[];
  /** Errors reported through `onError`. */
  reported: unknown[];
  auth?: Gatehouse;
}

export interface World {
  issuer: string;
  provider: Provider;
  apps: TestApp[];
  close(): Promise<void>;
}

async function listen(server: Server, host: string, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe, '127.0.0.1');
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * Starts `apps` empty Express apps, then the provider (its issuer is `http://127.0.0.1:<port>`,
 * on another host than the apps, so each side has its own cookies), with a confidential `web`
 * client — JAR required, the default — registered for every app's callback and home page.
 */
export async function startWorld(
  options: { apps?: number; config?: Partial<ConfigInput>; clock?: () => number } = {},
): Promise<World> {
  const apps: TestApp[] = [];
  for (let i = 0; i < (options.apps ?? 1); i++) {
    const app = express();
    const server = createServer(app);
    const port = await listen(server, '127.0.0.1');
    apps.push({ app, server, baseUrl: `http://localhost:${port}`, appErrors: [], reported: [] });
  }

  let started: { provider: Provider; server: StartedServer } | undefined;
  for (let attempt = 0; !started; attempt++) {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const provider = await createProvider({
      storage: await seededMemoryStorage(),
      secret: SECRET,
      passwords: scryptHasher({ logN: 10 }),
      ...(options.clock ? { clock: options.clock } : {}),
      config: {
        issuer,
        storage: { memory: true },
        clients: [
          {
            client_id: CLIENT_ID,
            type: 'web',
            client_name: 'Express test app',
            client_secret: CLIENT_SECRET,
            redirect_uris: apps.map((a) => `${a.baseUrl}/callback`),
            post_logout_redirect_uris: apps.map((a) => `${a.baseUrl}/`),
          },
        ],
        users: [
          {
            ...USER,
            claims: { name: 'Alice Example', email: 'alice@example.com', email_verified: true },
          },
          {
            ...BIG_USER,
            claims: {
              name: 'Carol Example',
              email: 'carol@example.com',
              // Large claims: the session no longer fits in one cookie.
              profile: `https://profiles.example/${'p'.repeat(800)}`,
              website: `https://carol.example/${'w'.repeat(800)}`,
            },
          },
        ],
        ...options.config,
      },
    });
    try {
      started = { provider, server: await startServer(provider, { port, host: '127.0.0.1' }) };
    } catch (err) {
      // Another process took the port between the probe and the start: try another.
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw err;
    }
  }
  const { provider, server } = started;
  return {
    issuer: provider.config.issuer,
    provider,
    apps,
    async close() {
      await server.close();
      for (const a of apps) {
        a.server.closeAllConnections();
        await new Promise<void>((resolve) => a.server.close(() => resolve()));
      }
    },
  };
}

/**
 * Mounts the adapter on a test app, with the routes the tests visit:
 * `/` (public), `/profile` (requiresAuth, JSON), `POST /api/items` (requiresAuth), `/whoami`
 * (`req.gatehouse` as is), `/login-consent` (a login with prompt=consent), and an error handler
 * that records what reaches it.
 */
export async function mount(
  world: World,
  target: TestApp,
  options: Partial<GatehouseOptions> = {},
): Promise<Gatehouse> {
  const auth = await gatehouse({
    issuer: world.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    baseUrl: target.baseUrl,
    secret: COOKIE_SECRET,
    onError: (err) => {
      target.reported.push(err);
    },
    ...options,
  });
  const { app } = target;
  app.use(auth.router);
  app.get('/', (_req, res) => {
    res.type('text').send('home');
  });
  app.get('/profile', auth.requiresAuth(), (req, res) => {
    res.json({
      user: req.gatehouse!.user,
      accessToken: req.gatehouse!.accessToken,
      accessTokenExpiresAt: req.gatehouse!.accessTokenExpiresAt,
    });
  });
  app.post('/api/items', auth.requiresAuth(), (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/whoami', (req, res) => {
    res.json(req.gatehouse ?? null);
  });
  app.get('/login-consent', (req, res, next) => {
    auth.login(req, res, { prompt: 'consent', returnTo: '/profile' }).catch(next);
  });
  app.use((err: unknown, _req: ExpressRequest, res: ExpressResponse, _next: NextFunction) => {
    target.appErrors.push(err);
    res.status(500).json({ appError: (err as { code?: string }).code ?? 'unknown' });
  });
  target.auth = auth;
  return auth;
}

/** A browser: cookies per host (as browsers keep them: ports do not separate cookies), manual redirects. */
export class HttpBrowser {
  readonly cookies = new Map<string, Map<string, string>>();

  jar(url: string): Map<string, string> {
    const host = new URL(url).hostname;
    let jar = this.cookies.get(host);
    if (!jar) {
      jar = new Map();
      this.cookies.set(host, jar);
    }
    return jar;
  }

  async request(url: string, init: RequestInit = {}): Promise<Response & { url: string }> {
    const jar = this.jar(url);
    const headers = new Headers(init.headers);
    if (jar.size > 0) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    // "localhost" is the apps' name; connect to the address they listen on.
    const target = url.replace(/^http:\/\/localhost:/, 'http://127.0.0.1:');
    const res = await fetch(target, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (gone || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    // The URL as the browser knows it (its name, not the address connected to).
    Object.defineProperty(res, 'url', { value: url });
    return res as Response & { url: string };
  }

  get(url: string): Promise<Response & { url: string }> {
    return this.request(url);
  }

  /** Follows redirects (GET) while `follow` says so; returns the last response. */
  async follow(
    res: Response & { url: string },
    follow: (next: URL) => boolean = () => true,
  ): Promise<Response & { url: string }> {
    for (let i = 0; i < 20 && res.status >= 300 && res.status < 400; i++) {
      const next = new URL(res.headers.get('location')!, res.url);
      if (!follow(next)) return res;
      res = await this.get(next.href);
    }
    return res;
  }

  /** Submits the page's form (with its csrf field) and the given fields. */
  async submit(
    page: Response & { url: string },
    fields: Record<string, string>,
  ): Promise<Response & { url: string }> {
    const body = await page.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(body)?.[1];
    const csrf = /name="csrf"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf"/.exec(body);
    if (!action || !csrf) throw new Error(`no form on page:\n${body.slice(0, 500)}`);
    return this.request(new URL(decodeEntities(action), page.url).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: (csrf[1] ?? csrf[2])!, ...fields }).toString(),
    });
  }
}

function decodeEntities(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');
}

/**
 * From a URL of the app that starts a login (its /login, or a protected page), through the
 * provider's login and consent pages, to the redirect back to the app's callback — returned, not
 * followed.
 */
export async function authorize(
  browser: HttpBrowser,
  world: World,
  start: string,
  o: { user?: { username: string; password: string }; decision?: 'allow' | 'deny' } = {},
): Promise<URL> {
  const issuer = new URL(world.issuer).origin;
  const onProvider = (u: URL) => u.origin === issuer;
  let res = await browser.follow(await browser.get(start), (u) => onProvider(u) || isAppLogin(u));
  if (res.status === 200 && (await res.clone().text()).includes('name="password"')) {
    const user = o.user ?? USER;
    res = await browser.follow(
      await browser.submit(res, { username: user.username, password: user.password }),
      onProvider,
    );
  }
  if (res.status === 200 && (await res.clone().text()).includes('name="decision"')) {
    res = await browser.follow(
      await browser.submit(res, { decision: o.decision ?? 'allow' }),
      onProvider,
    );
  }
  const location = res.headers.get('location');
  if (!location) {
    throw new Error(`expected a redirect, got ${res.status}: ${(await res.text()).slice(0, 400)}`);
  }
  return new URL(location, res.url);
}

function isAppLogin(u: URL): boolean {
  return u.hostname === 'localhost' && (u.pathname === '/login' || u.pathname === '/login-consent');
}

/** Signs in through the app and follows the callback back into it; returns the app's answer. */
export async function signIn(
  browser: HttpBrowser,
  world: World,
  app: TestApp,
  start = `${app.baseUrl}/login`,
  o: { user?: { username: string; password: string } } = {},
): Promise<Response & { url: string }> {
  const callback = await authorize(browser, world, start, o);
  return browser.get(callback.href);
}

/** Opens a session cookie with the test secret, as the adapter does (to reach its tokens). */
export function openSessionCookie(value: string, name = 'gh_session'): Record<string, unknown> {
  const plain = sealer(COOKIE_SECRET, 'session cookie').open(value, name);
  if (plain === undefined) throw new Error('the session cookie does not open');
  return JSON.parse(plain) as Record<string, unknown>;
}

/** The value of the session cookie(s) of an app, joined. */
export function sessionCookie(browser: HttpBrowser, app: TestApp, name = 'gh_session'): string {
  const jar = browser.jar(app.baseUrl);
  const single = jar.get(name);
  if (single !== undefined) return single;
  let value = '';
  for (let i = 0; jar.has(`${name}.${i}`); i++) value += jar.get(`${name}.${i}`);
  return value;
}
