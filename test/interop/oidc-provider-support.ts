/**
 * Helpers for running @gatehouse/client against panva's oidc-provider (v9, a provider we did not
 * write): the provider in process on a real loopback port, and a small cookie-keeping browser that
 * drives oidc-provider's built-in development interactions (`devInteractions`: a sign-in form
 * that accepts any login and password, then a consent form) and its RP-initiated logout page.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
// @ts-expect-error oidc-provider 9 ships no type declarations; only the constructor is used.
import Provider from 'oidc-provider';

/** The part of oidc-provider's `Provider` used here. */
interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: 'server_error', listener: (ctx: unknown, err: unknown) => void): void;
}

/** Its constructor: issuer and configuration (see oidc-provider's `lib/helpers/defaults.js`). */
type ProviderConstructor = new (issuer: string, configuration: object) => OidcProvider;

/** Client metadata as oidc-provider takes it (RFC 7591 names). */
export type ClientMetadata = Record<string, unknown> & { client_id: string };

export interface RunningProvider {
  issuer: string;
  /** Unexpected failures inside oidc-provider (`server_error` events): none is expected. */
  serverErrors: unknown[];
  close(): Promise<void>;
}

/** The one user of these tests. oidc-provider's dev login form takes any login as account id. */
export const ACCOUNT = {
  email: (id: string) => `${id}@example.com`,
  name: (id: string) => `${id[0]!.toUpperCase()}${id.slice(1)} Example`,
};

/** One signing key per ID token algorithm the clients ask for (`id_token_signed_response_alg`). */
async function providerKeys(): Promise<Record<string, unknown>[]> {
  const keys: Record<string, unknown>[] = [];
  for (const [alg, options] of [
    ['EdDSA', { crv: 'Ed25519' }],
    ['ES256', {}],
    ['RS256', { modulusLength: 2048 }],
  ] as const) {
    const { privateKey } = await generateKeyPair(alg, { ...options, extractable: true });
    keys.push({
      ...(await exportJWK(privateKey)),
      kid: `op-${alg.toLowerCase()}`,
      alg,
      use: 'sig',
    });
  }
  return keys;
}

/**
 * oidc-provider on `http://127.0.0.1:<free port>` with `clients`. The configuration turns on what
 * the toolkit uses and the defaults leave off (request objects, revocation), writes out the
 * defaults it relies on (PAR, userinfo, RP-initiated logout, dev interactions), and maps scopes to
 * claims: `email` → email, email_verified; `profile` → name; `phone` → phone_number.
 */
export async function startOidcProvider(clients: ClientMetadata[]): Promise<RunningProvider> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new (Provider as ProviderConstructor)(issuer, {
    clients,
    jwks: { keys: await providerKeys() },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: true },
      // JAR (RFC 9101): off by default in v9.
      requestObjects: { enabled: true },
      pushedAuthorizationRequests: { enabled: true },
      // RFC 7009: off by default in v9.
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    scopes: ['openid', 'offline_access'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      phone: ['phone_number'],
    },
    findAccount: (_ctx: unknown, accountId: string) => ({
      accountId,
      claims: () => ({
        sub: accountId,
        email: ACCOUNT.email(accountId),
        email_verified: true,
        name: ACCOUNT.name(accountId),
        phone_number: '+1 555 0100',
      }),
    }),
    // The default lifetimes, written out (the defaults print a notice when first used).
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      RefreshToken: 14 * 24 * 3600,
    },
  });
  const serverErrors: unknown[] = [];
  provider.on('server_error', (_ctx, err) => serverErrors.push(err));
  server.on('request', provider.callback());

  return {
    issuer,
    serverErrors,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface Cookie {
  name: string;
  value: string;
  path: string;
}

/** What the browser does at oidc-provider's consent page. */
export type Decision = 'allow' | 'deny';

/**
 * A browser for one origin: keeps cookies by name and path (oidc-provider scopes its interaction
 * cookies to `/interaction/<uid>` and `/auth/<uid>`), never follows redirects by itself, and
 * submits the forms oidc-provider renders.
 */
export class CookieBrowser {
  private readonly cookies: Cookie[] = [];

  /** One request with the cookies that match its path; stores what the response sets. */
  async request(url: URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const matching = this.cookies
      .filter(
        (c) => url.pathname === c.path || url.pathname.startsWith(c.path.replace(/\/?$/, '/')),
      )
      .sort((a, b) => b.path.length - a.path.length);
    if (matching.length > 0) {
      headers.set('cookie', matching.map((c) => `${c.name}=${c.value}`).join('; '));
    }
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) this.store(line);
    return res;
  }

  private store(line: string): void {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = '/';
    let expired = false;
    for (const attribute of attributes) {
      const [key = '', val = ''] = attribute.split('=');
      switch (key.toLowerCase()) {
        case 'path':
          path = val || '/';
          break;
        case 'expires':
          expired ||= Date.parse(val) <= Date.now();
          break;
        case 'max-age':
          expired ||= Number(val) <= 0;
          break;
      }
    }
    const at = this.cookies.findIndex((c) => c.name === name && c.path === path);
    if (at !== -1) this.cookies.splice(at, 1);
    if (!expired) this.cookies.push({ name, value, path });
  }

  /**
   * Opens an authorization URL and plays the user: signs in as `login` at the dev login form,
   * then allows (submits) or denies (follows "Cancel", oidc-provider's abort link) at the consent
   * page. Returns the URL oidc-provider finally redirects to under `redirectUri` (the callback);
   * an oidc-provider error page fails with its text.
   */
  async authorize(
    authorizationUrl: URL,
    redirectUri: string,
    { login = 'alice', decision = 'allow' }: { login?: string; decision?: Decision } = {},
  ): Promise<URL> {
    let url = authorizationUrl;
    let res = await this.request(url);
    for (let step = 0; step < 12; step++) {
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        const location = new URL(res.headers.get('location') ?? '', url);
        if (location.href.startsWith(redirectUri)) return location;
        url = location;
        res = await this.request(url);
        continue;
      }
      const html = await res.text();
      if (res.status !== 200) {
        throw new Error(`oidc-provider answered ${res.status} at ${url.pathname}: ${text(html)}`);
      }
      const form = parseForm(html);
      const prompt = form?.fields['prompt'];
      if (!form || (prompt !== 'login' && prompt !== 'consent')) {
        throw new Error(`unexpected page at ${url.pathname}: ${text(html)}`);
      }
      if (prompt === 'consent' && decision === 'deny') {
        const abort = /<a href="([^"]+\/abort)"/.exec(html)?.[1];
        if (!abort) throw new Error('the consent page has no abort link');
        url = new URL(decodeEntities(abort), url);
        res = await this.request(url);
        continue;
      }
      url = form.action;
      res = await this.post(
        url,
        prompt === 'login' ? { ...form.fields, login, password: 'any password' } : form.fields,
      );
    }
    throw new Error(`no redirect to ${redirectUri} after 12 steps`);
  }

  /**
   * Opens an RP-initiated logout URL: oidc-provider asks "Do you want to sign-out?" (a form with
   * an `xsrf` field bound to the session cookie); the browser answers yes. Returns the final
   * redirect (the post-logout redirect URI), or the success page's status when there is none.
   */
  async logout(logoutUrl: URL): Promise<{ page: string; redirect?: URL }> {
    const res = await this.request(logoutUrl);
    const html = await res.text();
    if (res.status !== 200) {
      throw new Error(`oidc-provider answered ${res.status} at end_session: ${text(html)}`);
    }
    const form = parseForm(html);
    if (!form || form.fields['xsrf'] === undefined) {
      throw new Error(`no logout form at end_session: ${text(html)}`);
    }
    const confirm = await this.post(form.action, { ...form.fields, logout: 'yes' });
    if (confirm.status >= 300 && confirm.status < 400) {
      await confirm.body?.cancel();
      return { page: html, redirect: new URL(confirm.headers.get('location') ?? '', form.action) };
    }
    const done = await confirm.text();
    if (confirm.status !== 200) {
      throw new Error(`oidc-provider answered ${confirm.status} at logout confirm: ${text(done)}`);
    }
    return { page: done };
  }

  private post(url: URL, fields: Record<string, string>): Promise<Response> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

/** The first POST form of a page: its absolute action and its hidden fields. */
function parseForm(html: string): { action: URL; fields: Record<string, string> } | undefined {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  const action = form && /\baction="([^"]+)"/i.exec(form[1]!)?.[1];
  if (!form || !action || !/\bmethod="post"/i.test(form[1]!)) return undefined;
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input\b([^>]*)>/gi)) {
    const attrs = input[1]!;
    if (!/\btype="hidden"/i.test(attrs)) continue;
    const name = /\bname="([^"]*)"/i.exec(attrs)?.[1];
    const value = /\bvalue="([^"]*)"/i.exec(attrs)?.[1] ?? '';
    if (name !== undefined) fields[decodeEntities(name)] = decodeEntities(value);
  }
  return { action: new URL(decodeEntities(action)), fields };
}

function decodeEntities(s: string): string {
  return s
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCharCode(Number.parseInt(n, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** A page's visible text, shortened, for failure messages. */
function text(html: string): string {
  return html
    .replace(/<(style|script)[\s\S]*?<\/\1>/gi, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 400);
}

/** The protected header and payload of a compact JWS, decoded without any checks. */
export function decodeJwt(jws: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [header = '', payload = ''] = jws.split('.');
  const part = (p: string) =>
    JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  return { header: part(header), payload: part(payload) };
}
