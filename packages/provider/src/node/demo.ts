/**
 * The demo that `npm start` runs (`gatehouse start --demo`): a development configuration with one
 * user and two clients, a start URL ready to click, and a callback page served by the CLI (not the
 * engine) that shows the code it received and the command that exchanges it.
 *
 * `demo-web` is a confidential client, so — as the seed IdP requires — its authorization requests
 * are signed request objects (JAR). A request object lives at most 300 s and is used once, so the
 * demo cannot print a ready-made authorization URL: `/demo/start` signs a fresh one (HS256 with
 * the client secret) on every visit and redirects to the authorization endpoint with it.
 */
import { randomToken, s256Challenge } from '@gatehouse/oauth';
import { SignJWT } from 'jose';
import type { ConfigInput } from '../config/schema.js';
import type { HandlerTarget } from './server.js';

export const DEMO_PORT = 9000;
export const DEMO_USERNAME = 'demo';
export const DEMO_PASSWORD = 'gatehouse-demo';
export const DEMO_WEB_CLIENT = 'demo-web';
export const DEMO_SPA_CLIENT = 'demo-spa';
export const DEMO_SCOPE = 'openid profile email offline_access';
/** Where the demo keeps its database, relative to the working directory. */
export const DEMO_DATABASE = '.gatehouse/gatehouse.db';
/** Where the demo keeps the `demo-web` client secret, relative to the working directory. */
export const DEMO_CLIENT_SECRET_FILE = '.gatehouse/demo-client-secret';
export const DEMO_CALLBACK_PATH = '/demo/callback';
export const DEMO_START_PATH = '/demo/start';
/** Lifetime of the request objects the demo signs, in seconds. */
const DEMO_REQUEST_OBJECT_SECONDS = 120;

export function demoIssuer(port: number = DEMO_PORT): string {
  return `http://localhost:${port}`;
}

/**
 * The demo configuration. `database` is the SQLite path (absolute, or relative to the process's
 * working directory); `webClientSecret` is the `demo-web` secret kept between runs.
 */
export function demoConfig(options: {
  database: string;
  webClientSecret: string;
  port?: number;
}): ConfigInput {
  const port = options.port ?? DEMO_PORT;
  const issuer = demoIssuer(port);
  return {
    issuer,
    port,
    host: 'localhost',
    storage: { sqlite: options.database },
    users: [
      {
        username: DEMO_USERNAME,
        password: DEMO_PASSWORD,
        claims: {
          name: 'Demo User',
          given_name: 'Demo',
          family_name: 'User',
          email: 'demo@example.com',
          email_verified: true,
        },
      },
    ],
    clients: [
      {
        client_id: DEMO_WEB_CLIENT,
        client_name: 'Gatehouse demo (web)',
        type: 'web',
        client_secret: options.webClientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: ['http://localhost:3000/callback', `${issuer}${DEMO_CALLBACK_PATH}`],
        post_logout_redirect_uris: ['http://localhost:3000/'],
      },
      {
        client_id: DEMO_SPA_CLIENT,
        client_name: 'Gatehouse demo (single-page app)',
        type: 'spa',
        redirect_uris: ['http://localhost:5173/callback'],
        post_logout_redirect_uris: ['http://localhost:5173/'],
        allowed_origins: ['http://localhost:5173'],
      },
    ],
  };
}

/** One authorization request for `demo-web`, with its state, nonce and PKCE pair. */
export interface DemoFlow {
  issuer: string;
  redirectUri: string;
  tokenEndpoint: string;
  /** The page that signs a fresh request object and redirects to the authorization endpoint. */
  startUrl: string;
  /** The authorization request's parameters (what goes inside the request object). */
  parameters: Record<string, string>;
  state: string;
  nonce: string;
  codeVerifier: string;
  codeChallenge: string;
}

export async function demoFlow(issuer: string): Promise<DemoFlow> {
  const state = randomToken(16);
  const nonce = randomToken(16);
  const codeVerifier = randomToken(32);
  const codeChallenge = await s256Challenge(codeVerifier);
  const redirectUri = `${issuer}${DEMO_CALLBACK_PATH}`;
  return {
    issuer,
    redirectUri,
    tokenEndpoint: `${issuer}/v1/oauth/token`,
    startUrl: `${issuer}${DEMO_START_PATH}`,
    parameters: {
      response_type: 'code',
      client_id: DEMO_WEB_CLIENT,
      redirect_uri: redirectUri,
      scope: DEMO_SCOPE,
      state,
      nonce,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
    },
    state,
    nonce,
    codeVerifier,
    codeChallenge,
  };
}

/** Quotes a value for a POSIX shell when it needs it. */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The token request for a code, as a curl command. `secret` is put in as given: the client
 * secret itself, or a shell expression that reads it.
 */
export function tokenCurl(flow: DemoFlow, code: string, secret: string): string {
  return [
    `curl -u ${secret}`,
    '-d grant_type=authorization_code',
    `-d code=${shellQuote(code)}`,
    `-d redirect_uri=${shellQuote(flow.redirectUri)}`,
    `-d code_verifier=${shellQuote(flow.codeVerifier)}`,
    flow.tokenEndpoint,
  ].join(' ');
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  pragma: 'no-cache',
} as const;

function row(name: string, value: string, note?: string): string {
  const extra = note ? ` <small>${esc(note)}</small>` : '';
  return `<dt>${esc(name)}</dt><dd><code>${esc(value)}</code>${extra}</dd>`;
}

/**
 * The page at `/demo/callback`: what the authorization response carried, and (for a code) the
 * curl command that exchanges it. The client secret is not put in the page: the command reads it
 * from the file the CLI keeps it in.
 */
export function demoCallbackPage(
  params: URLSearchParams,
  flow: DemoFlow,
  options: { secretFile: string; codeLifetimeSeconds: number; stylesheet: string },
): Response {
  const code = params.get('code');
  const error = params.get('error');
  const state = params.get('state');
  const iss = params.get('iss');
  const items: string[] = [];
  let title: string;
  let body = '';
  if (error !== null) {
    title = 'The authorization request was refused';
    items.push(row('error', error));
    const description = params.get('error_description');
    if (description !== null) items.push(row('error_description', description));
    const uri = params.get('error_uri');
    if (uri !== null) items.push(row('error_uri', uri));
  } else if (code !== null) {
    title = 'Signed in: here is the authorization code';
    items.push(row('code', code));
  } else {
    title = 'No authorization response';
    body = `<p>This page receives the authorization response of the demo. Open <a href="${esc(flow.startUrl)}">${esc(flow.startUrl)}</a> to sign in.</p>`;
  }
  if (state !== null) {
    items.push(
      row(
        'state',
        state,
        state === flow.state ? 'matches the demo request' : 'does NOT match the demo request',
      ),
    );
  }
  if (iss !== null) {
    items.push(row('iss', iss, iss === flow.issuer ? 'this provider' : 'NOT this provider'));
  }
  if (code !== null && error === null) {
    const secret = `"${DEMO_WEB_CLIENT}:$(cat ${shellQuote(options.secretFile)})"`;
    const minutes = Math.max(1, Math.round(options.codeLifetimeSeconds / 60));
    body += `<p>Exchange it for tokens within ${minutes} minute${minutes === 1 ? '' : 's'}; a code works only once:</p>`;
    body += `<pre><code>${esc(tokenCurl(flow, code, secret))}</code></pre>`;
    body += `<p>The <code>code_verifier</code> is the PKCE secret of the demo request; the client secret is read from <code>${esc(options.secretFile)}</code>.</p>`;
  }
  const list = items.length > 0 ? `<dl>${items.join('')}</dl>` : '';
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatehouse demo: ${esc(title)}</title>
<link rel="stylesheet" href="${esc(options.stylesheet)}">
</head>
<body>
<main>
<h1>${esc(title)}</h1>
${list}
${body}
<p><small>Gatehouse demo callback (served by <code>gatehouse start --demo</code>, not by the provider).</small></p>
</main>
</body>
</html>
`;
  return new Response(html, { status: 200, headers: PAGE_HEADERS });
}

/**
 * The authorization URL of the demo flow, as `demo-web` must send it: `client_id` and a request
 * object (RFC 9101) signed with HS256 under the client secret, with a fresh `jti`.
 */
export async function demoAuthorizationUrl(
  flow: DemoFlow,
  clientSecret: string,
  now = Date.now(),
): Promise<string> {
  const iat = Math.floor(now / 1000);
  const request = await new SignJWT({ ...flow.parameters })
    .setProtectedHeader({ alg: 'HS256', typ: 'oauth-authz-req+jwt' })
    .setIssuer(DEMO_WEB_CLIENT)
    .setAudience(flow.issuer)
    .setIssuedAt(iat)
    .setExpirationTime(iat + DEMO_REQUEST_OBJECT_SECONDS)
    .setJti(randomToken(16))
    .sign(new TextEncoder().encode(clientSecret));
  const url = new URL(`${flow.issuer}/v1/oauth/authorize`);
  url.search = new URLSearchParams({ client_id: DEMO_WEB_CLIENT, request }).toString();
  return url.href;
}

/**
 * Wraps a provider so that `GET /demo/start` (under the issuer) redirects to a freshly signed
 * authorization request and `GET /demo/callback` shows the demo callback page; everything else
 * goes to the provider.
 */
export function withDemoPages<P extends HandlerTarget>(
  provider: P,
  flow: DemoFlow,
  options: { secretFile: string; clientSecret: string; codeLifetimeSeconds: number },
): HandlerTarget {
  const base = new URL(provider.config.issuer).pathname.replace(/\/$/, '');
  const callback = `${base}${DEMO_CALLBACK_PATH}`;
  const start = `${base}${DEMO_START_PATH}`;
  const stylesheet = `${base}/assets/gatehouse.css`;
  return {
    config: provider.config,
    async handle(request, info) {
      if (request.method === 'GET' || request.method === 'HEAD') {
        const url = new URL(request.url);
        if (url.pathname === callback) {
          return demoCallbackPage(url.searchParams, flow, { ...options, stylesheet });
        }
        if (url.pathname === start) {
          const location = await demoAuthorizationUrl(flow, options.clientSecret);
          return new Response(null, {
            status: 302,
            headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
          });
        }
      }
      return provider.handle(request, info);
    },
  };
}
