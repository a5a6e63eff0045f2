/**
 * Support for @gatehouse/web's handler-level tests: a real Gatehouse provider in process (its
 * `handle(Request)` is the client's `fetch`), a small application made of the adapter's handlers,
 * and a browser that keeps the application's cookies and drives the provider's pages with the
 * harness `Browser` — every request a Web `Request`, every answer a Web `Response`.
 */
import { type GatehouseWeb, type GatehouseWebOptions, gatehouseWeb } from '@gatehouse/web';
import { expect } from 'vitest';
import { sealer } from '../../packages/web/src/lib/seal.js';
import {
  Browser,
  baseConfig,
  signIn as providerSignIn,
  startTestProvider,
  type TestProvider,
  USER,
} from '../support/harness.js';

export { USER };
export const APP = 'https://app.example';
export const CLIENT_ID = 'web-adapter';
export const CLIENT_SECRET = 'web-adapter-secret-0123456789-abcdefghijklmn';
export const COOKIE_SECRET = 'web-cookie-secret-0123456789-abcdefghijklmn';
export const BIG_USER = { username: 'carol', password: 'carol password 123' } as const;

/**
 * A provider with a confidential `web` client (JAR required, the default) registered for the
 * app's callback at its root and under `/base`, and two users: alice, and carol whose claims are
 * too large for one cookie.
 */
export async function startProvider(): Promise<TestProvider> {
  const base = baseConfig();
  return startTestProvider({
    config: {
      ...base,
      clients: [
        ...base.clients!,
        {
          client_id: CLIENT_ID,
          type: 'web',
          client_name: 'Web adapter test app',
          client_secret: CLIENT_SECRET,
          redirect_uris: [`${APP}/callback`, `${APP}/base/callback`],
          post_logout_redirect_uris: [`${APP}/`, `${APP}/base/`],
        },
      ],
      users: [
        ...base.users!,
        {
          ...BIG_USER,
          claims: {
            name: 'Carol Example',
            email: 'carol@example.com',
            profile: `https://profiles.example/${'p'.repeat(800)}`,
            website: `https://carol.example/${'w'.repeat(800)}`,
          },
        },
      ],
    },
  });
}

/** Token endpoint calls through a `fetch`, and a switch that makes them fail as if unreachable. */
export interface TokenCalls {
  count: number;
  failing: boolean;
}

/** The client's `fetch`: straight into the provider, counting token requests. */
export function providerFetch(tp: TestProvider, calls?: TokenCalls): typeof fetch {
  return (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (calls && url.endsWith('/v1/oauth/token')) {
      calls.count++;
      if (calls.failing) return Promise.reject(new TypeError('fetch failed'));
    }
    return tp.fetch(url, init);
  };
}

export interface TestAuth {
  auth: GatehouseWeb;
  /** The application: the adapter's routes, then `/`, `/profile`, `/whoami`, … */
  app: (request: Request) => Promise<Response>;
  /** Errors reported through `onError`. */
  reported: unknown[];
}

/**
 * The adapter against the provider, and an app around it:
 * `/` (public), `/profile` and `POST /api/items` (requireAuth, JSON), `/whoami` (session() as
 * is), `/peek` (session() without refresh), `/login-consent` (a login with prompt=consent).
 */
export async function createAuth(
  tp: TestProvider,
  options: Partial<GatehouseWebOptions> = {},
  calls?: TokenCalls,
): Promise<TestAuth> {
  const reported: unknown[] = [];
  const auth = await gatehouseWeb({
    issuer: tp.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    baseUrl: APP,
    secret: COOKIE_SECRET,
    fetch: providerFetch(tp, calls),
    client: { now: tp.clock.now },
    onError: (err) => {
      reported.push(err);
    },
    ...options,
  });
  const json = (body: unknown, setCookies: string[] = []) => {
    const res = Response.json(body);
    for (const line of setCookies) res.headers.append('set-cookie', line);
    return res;
  };
  const app = async (request: Request): Promise<Response> => {
    const handled = await auth.handle(request);
    if (handled) return handled;
    const { pathname } = new URL(request.url);
    if (pathname.endsWith('/profile') || pathname.endsWith('/api/items')) {
      const session = await auth.requireAuth(request);
      if (session instanceof Response) return session;
      const { user, accessToken, accessTokenExpiresAt, setCookies } = session;
      return json({ user, accessToken, accessTokenExpiresAt }, setCookies);
    }
    if (pathname === '/whoami' || pathname === '/peek') {
      const session = await auth.session(
        request,
        pathname === '/peek' ? { refresh: false } : undefined,
      );
      return json(session ?? null, session?.setCookies);
    }
    if (pathname === '/login-consent') {
      return auth.login(request, { prompt: 'consent', returnTo: '/profile' });
    }
    if (pathname === '/') return new Response('home');
    return new Response('not found', { status: 404 });
  };
  return { auth, app, reported };
}

/**
 * One user's browser: the app's cookies here (one host), the provider's in the harness
 * `Browser`. Redirects are not followed: the tests look at each one.
 */
export class AppBrowser {
  readonly cookies = new Map<string, string>();
  readonly provider: Browser;

  constructor(
    readonly tp: TestProvider,
    readonly app: (request: Request) => Promise<Response>,
    provider?: Browser,
  ) {
    this.provider = provider ?? new Browser(tp);
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const res = await this.app(new Request(new URL(url, APP), { ...init, headers }));
    this.store(res);
    return res;
  }

  get(url: string): Promise<Response> {
    return this.request(url);
  }

  /** Keeps what the response's `Set-Cookie` lines say, as a browser would. */
  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (gone || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** From a URL of the app that starts a login through the provider's pages, to the callback URL. */
  async authorize(
    start = '/login',
    o: { user?: { username: string; password: string }; decision?: 'allow' | 'deny' } = {},
  ): Promise<URL> {
    const res = await this.get(start);
    expect(res.status).toBe(302);
    return providerSignIn(this.provider, res.headers.get('location')!, o.user, o.decision);
  }

  /** Signs in and follows the callback back into the app; returns the app's answer. */
  async signIn(
    start = '/login',
    o: { user?: { username: string; password: string } } = {},
  ): Promise<Response> {
    const callback = await this.authorize(start, o);
    return this.get(callback.href);
  }

  /** The session cookie's value (chunks joined). */
  session(name = 'gh_session'): string {
    const single = this.cookies.get(name);
    if (single !== undefined) return single;
    let value = '';
    for (let i = 0; this.cookies.has(`${name}.${i}`); i++)
      value += this.cookies.get(`${name}.${i}`);
    return value;
  }
}

/** Opens a session cookie with the test secret, as the adapter does (to reach its tokens). */
export async function openSessionCookie(
  value: string,
  name = 'gh_session',
): Promise<{ tokens: Record<string, string>; user: Record<string, unknown> }> {
  const plain = await sealer(COOKIE_SECRET, 'session cookie').open(value, name);
  if (plain === undefined) throw new Error('the session cookie does not open');
  return JSON.parse(plain);
}

/** Names in the `Set-Cookie` lines of a response, with whether each deletes its cookie. */
export function setCookieNames(res: Response): { name: string; deleted: boolean }[] {
  return res.headers.getSetCookie().map((line) => ({
    name: line.slice(0, line.indexOf('=')),
    deleted: /; Max-Age=0(;|$)/.test(line),
  }));
}
