/**
 * Test harness: a real provider on in-memory (or given) storage, driven in-process through
 * `provider.handle(Request)`, with a small cookie-keeping browser that fills the login and consent
 * forms by their stable field names.
 */
import { s256Challenge } from '@gatehouse/oauth';
import type { ConfigInput } from '../../packages/provider/src/config/schema.js';
import { loadKeys } from '../../packages/provider/src/keys/keys.js';
import { createSecrets } from '../../packages/provider/src/keys/secrets.js';
import {
  createProvider,
  type Provider,
  type ProviderOptions,
} from '../../packages/provider/src/provider.js';
import { memoryStorage } from '../../packages/provider/src/storage/memory.js';
import type { Storage, StoredKey } from '../../packages/provider/src/storage/types.js';
import { scryptHasher } from '../../packages/provider/src/users/passwords.js';

export const SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
export const WEB_SECRET = 'web-client-secret-0123456789-abcdefghijklmnop';
export const POST_SECRET = 'post-client-secret-0123456789-abcdefghijklmn';
export const USER = { username: 'alice', password: 'correct horse battery' } as const;
export const OTHER_USER = { username: 'bob', password: 'bob password 123' } as const;

export interface Clock {
  now(): number;
  advance(ms: number): void;
}

export function movableClock(start = Date.now()): Clock {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

export function baseConfig(issuer = 'http://localhost:9000'): ConfigInput {
  return {
    issuer,
    storage: { memory: true },
    clients: [
      {
        client_id: 'web-app',
        type: 'web',
        client_name: 'Web App',
        client_secret: WEB_SECRET,
        redirect_uris: ['http://localhost:3000/callback', 'https://rp.example.com/cb?tenant=1'],
        post_logout_redirect_uris: ['http://localhost:3000/'],
        // Plain parameters, so that most tests can build URLs directly; JAR itself is tested with
        // clients that keep the web default (test/provider/jar.test.ts).
        require_signed_request_object: false,
      },
      {
        client_id: 'post-app',
        type: 'web',
        client_secret: POST_SECRET,
        token_endpoint_auth_method: 'client_secret_post',
        redirect_uris: ['https://post.example.com/cb'],
        require_pkce: false,
        id_token_signed_response_alg: 'RS256',
        require_signed_request_object: false,
      },
      {
        client_id: 'spa-app',
        type: 'spa',
        redirect_uris: ['http://localhost:5173/callback'],
        allowed_origins: ['http://localhost:5173'],
        id_token_signed_response_alg: 'ES256',
      },
      {
        client_id: 'native-app',
        type: 'native',
        redirect_uris: ['http://127.0.0.1/callback', 'com.example.app:/cb'],
      },
      { client_id: 'svc', type: 'service', client_secret: WEB_SECRET, scope: 'reports.read' },
    ],
    users: [
      {
        ...USER,
        claims: { name: 'Alice Example', email: 'alice@example.com', email_verified: true },
      },
      { ...OTHER_USER, claims: { name: 'Bob' } },
    ],
    extraScopes: ['reports.read'],
  };
}

export interface TestProvider {
  provider: Provider;
  issuer: string;
  clock: Clock;
  fetch(url: string, init?: RequestInit): Promise<Response>;
}

let templateKeys: Promise<StoredKey[]> | undefined;

/** Signing keys generated once per test worker (RSA generation is slow), encrypted under SECRET. */
function sharedKeys(): Promise<StoredKey[]> {
  templateKeys ??= (async () => {
    const template = memoryStorage();
    await loadKeys(template.keys, await createSecrets(SECRET));
    return template.keys.list();
  })();
  return templateKeys;
}

/** A fresh memory storage that already holds the shared signing keys. */
export async function seededMemoryStorage(): Promise<Storage> {
  const storage = memoryStorage();
  for (const key of await sharedKeys()) await storage.keys.put(key);
  return storage;
}

export async function startTestProvider(
  options: Partial<ProviderOptions> & { config?: ConfigInput } = {},
): Promise<TestProvider> {
  const clock = movableClock();
  const config = options.config ?? baseConfig();
  const storage =
    options.storage ??
    (config.storage && 'memory' in config.storage ? await seededMemoryStorage() : undefined);
  const provider = await createProvider({
    ...(storage ? { storage } : {}),
    secret: SECRET,
    passwords: scryptHasher({ logN: 10 }),
    clock: clock.now,
    ...options,
    config,
  });
  return {
    provider,
    issuer: provider.config.issuer,
    clock,
    fetch: (url, init) => provider.handle(new Request(url, init), { remoteAddress: '127.0.0.1' }),
  };
}

/** Cookie-keeping client of the provider; follows redirects only within the issuer. */
export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(private readonly tp: TestProvider) {}

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0)
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await this.tp.fetch(url, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => a.trim().toLowerCase() === 'max-age=0');
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** GET, following redirects that stay on the provider; returns the last response. */
  async navigate(url: string): Promise<Response> {
    let res = await this.request(url);
    for (let i = 0; i < 10 && res.status >= 300 && res.status < 400; i++) {
      const location = res.headers.get('location')!;
      if (!location.startsWith(this.tp.issuer)) return res;
      res = await this.request(location);
    }
    return res;
  }

  async submit(page: Response, fields: Record<string, string>): Promise<Response> {
    const body = await page.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(body)?.[1]?.replace(/&amp;/g, '&');
    const csrf = /name="csrf"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf"/.exec(body);
    if (!action || !csrf) throw new Error(`no form on page:\n${body.slice(0, 500)}`);
    const form = new URLSearchParams({ csrf: (csrf[1] ?? csrf[2])!, ...fields });
    let res = await this.request(decodeEntities(action), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    for (let i = 0; i < 10 && res.status === 303; i++) {
      const location = res.headers.get('location')!;
      if (!location.startsWith(this.tp.issuer)) return res;
      res = await this.request(location);
    }
    return res;
  }
}

function decodeEntities(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');
}

export interface AuthorizeOptions {
  clientId?: string;
  redirectUri?: string;
  scope?: string;
  state?: string;
  nonce?: string;
  verifier?: string | null;
  extra?: Record<string, string>;
}

export const VERIFIER = 'test-verifier-0123456789-abcdefghijklmnopqrstuvwxyz';

export async function authorizeUrl(tp: TestProvider, o: AuthorizeOptions = {}): Promise<string> {
  const url = new URL(`${tp.issuer}/v1/oauth/authorize`);
  url.searchParams.set('client_id', o.clientId ?? 'web-app');
  url.searchParams.set('redirect_uri', o.redirectUri ?? 'http://localhost:3000/callback');
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', o.scope ?? 'openid profile email offline_access');
  if (o.state !== undefined) url.searchParams.set('state', o.state);
  else url.searchParams.set('state', 'st-123');
  if (o.nonce !== undefined) url.searchParams.set('nonce', o.nonce);
  if (o.verifier !== null) {
    url.searchParams.set('code_challenge', await s256Challenge(o.verifier ?? VERIFIER));
    url.searchParams.set('code_challenge_method', 'S256');
  }
  for (const [k, v] of Object.entries(o.extra ?? {})) url.searchParams.set(k, v);
  return url.href;
}

/** Runs the browser part of the flow: authorize, sign in, consent. Returns the final redirect. */
export async function signIn(
  browser: Browser,
  url: string,
  user: { username: string; password: string } = USER,
  decision: 'allow' | 'deny' = 'allow',
): Promise<URL> {
  let res = await browser.navigate(url);
  if (res.status === 200 || res.status === 400) {
    const body = await res.clone().text();
    if (body.includes('name="password"'))
      res = await browser.submit(res, { username: user.username, password: user.password });
  }
  if (res.status === 200) {
    const body = await res.clone().text();
    if (body.includes('name="decision"')) res = await browser.submit(res, { decision });
  }
  const location = res.headers.get('location');
  if (!location)
    throw new Error(`expected a redirect, got ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return new URL(location);
}

export function basic(id: string, secret: string): string {
  return `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;
}

export async function exchange(
  tp: TestProvider,
  code: string,
  o: {
    clientId?: string;
    secret?: string;
    redirectUri?: string;
    verifier?: string | null;
    extra?: Record<string, string>;
  } = {},
): Promise<Response> {
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: o.redirectUri ?? 'http://localhost:3000/callback',
  });
  if (o.verifier !== null) body.set('code_verifier', o.verifier ?? VERIFIER);
  for (const [k, v] of Object.entries(o.extra ?? {})) body.set(k, v);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const clientId = o.clientId ?? 'web-app';
  if (o.secret !== undefined || clientId === 'web-app')
    headers['authorization'] = basic(clientId, o.secret ?? WEB_SECRET);
  else body.set('client_id', clientId);
  return tp.fetch(`${tp.issuer}/v1/oauth/token`, {
    method: 'POST',
    headers,
    body: body.toString(),
  });
}
