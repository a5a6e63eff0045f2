/**
 * Property-based fuzzing of every endpoint (SECURITY.md, Reliability): whatever arrives — odd
 * query strings, form bodies, content types, bytes that are not UTF-8, Authorization headers,
 * forged JWTs — the provider answers with a proper OAuth error or error page: never a 5xx, never
 * a stack trace; JSON endpoints answer RFC 6749 §5.2 JSON; the authorization endpoint redirects
 * only to a redirect URI registered for the client; logout only to a registered
 * post_logout_redirect_uri.
 */
import fc from 'fast-check';
import { decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  Browser,
  baseConfig,
  basic,
  exchange,
  POST_SECRET,
  signIn,
  startTestProvider,
  type TestProvider,
  USER,
  VERIFIER,
  WEB_SECRET,
} from '../support/harness.js';

const RUNS = 200;

interface RegisteredClient {
  client_id: string;
  type: string;
  redirect_uris?: string[];
  post_logout_redirect_uris?: string[];
}
const CLIENTS = baseConfig().clients as RegisteredClient[];

let tp: TestProvider;
let issuer: string;
/** Tokens web-app got for alice, and the session cookie of the browser that signed in. */
let tokens: Record<string, string>;
let sessionCookie: string;
let kid: string;

beforeAll(async () => {
  tp = await startTestProvider();
  issuer = tp.issuer;
  const browser = new Browser(tp);
  const code = (await signIn(browser, await authorizeUrl(tp))).searchParams.get('code')!;
  tokens = (await (await exchange(tp, code)).json()) as Record<string, string>;
  sessionCookie = `gatehouse.session=${browser.cookies.get('gatehouse.session')}`;
  kid = decodeProtectedHeader(tokens['id_token']!).kid!;
});

// ---------------------------------------------------------------- checks on every response

/** RFC 6749 §5.2: error and error_description are %x20-21 / %x23-5B / %x5D-7E. */
const ERROR_CHARS = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;
/** error_uri is a URI-reference in %x21 / %x23-5B / %x5D-7E. */
const URI_CHARS = /^[\x21\x23-\x5b\x5d-\x7e]*$/;
/** A V8 stack frame: `at fn (/path/file.js:1:2)`, `at file:///…:1:2`, `at node:internal/…:1:2`. */
const STACK_FRAME =
  /\bat (?:async )?(?:[^\s()]+ )?\(?(?:file:\/\/|node:|\/|[A-Za-z]:\\)[^\s)]*:\d+/;

function leaksStack(body: string): boolean {
  // The error page's <title> is "Error: <code> · Gatehouse" by design; anything else is a leak.
  const text = body.replace(/<title>[^<]*<\/title>/i, '');
  return STACK_FRAME.test(text) || /Error:/.test(text);
}

function expectNoServerFailure(res: Response, body: string, what: string): void {
  expect(res.status, `${what}: status`).toBeLessThan(500);
  expect(res.status, `${what}: status`).toBeGreaterThanOrEqual(200);
  expect(leaksStack(body), `${what}: stack trace in\n${body.slice(0, 600)}`).toBe(false);
}

function expectOAuthErrorJson(res: Response, body: string, what: string): void {
  expect(res.headers.get('content-type') ?? '', `${what}: content-type`).toMatch(
    /^application\/json/,
  );
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    throw new Error(`${what}: not JSON: ${body.slice(0, 200)}`);
  }
  expect(typeof json['error'], `${what}: error`).toBe('string');
  expect(json['error'] as string, what).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/);
  if (json['error_description'] !== undefined) {
    expect(typeof json['error_description'], what).toBe('string');
    expect(json['error_description'] as string, `${what}: error_description`).toMatch(ERROR_CHARS);
  }
  if (json['error_uri'] !== undefined) {
    expect(json['error_uri'] as string, `${what}: error_uri`).toMatch(URI_CHARS);
  }
}

function expectHtmlPage(res: Response, what: string): void {
  expect(res.headers.get('content-type') ?? '', `${what}: content-type`).toMatch(/^text\/html/);
  expect(res.headers.get('content-security-policy') ?? '', what).toContain(
    "frame-ancestors 'none'",
  );
  expect(res.headers.get('x-frame-options'), what).toBe('DENY');
}

/** Whether `location` is `uri` itself, or `uri` with parameters the provider appended. */
function isUriWithParams(location: string, uri: string): boolean {
  let href: string;
  try {
    href = new URL(uri).href;
  } catch {
    return false;
  }
  return location === href || location.startsWith(`${href}${new URL(href).search ? '&' : '?'}`);
}

/** A redirect URI registered for the client (loopback port may vary for native clients). */
function isRegisteredRedirect(clientId: string | undefined, location: string): boolean {
  const client = CLIENTS.find((c) => c.client_id === clientId);
  if (!client) return false;
  return (client.redirect_uris ?? []).some((registered) => {
    if (isUriWithParams(location, registered)) return true;
    if (client.type !== 'native') return false;
    const r = new URL(registered);
    let l: URL;
    try {
      l = new URL(location);
    } catch {
      return false;
    }
    if (r.protocol !== 'http:' || l.protocol !== 'http:' || r.hostname !== l.hostname) return false;
    l.port = r.port;
    return isUriWithParams(l.href, registered);
  });
}

// ---------------------------------------------------------------- generators

/** Header-safe text: latin1 without CR, LF or NUL. */
const headerText = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
    fc.constant('\t'),
  ),
  maxLength: 80,
});

const weirdText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '%',
    '%zz',
    '%00',
    '\u0000',
    '\r\n',
    '\ud800',
    '"\\',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'null',
    '[]',
    '{}',
    'a'.repeat(9000),
    'é'.repeat(3000),
    '../../etc/passwd',
    'javascript:alert(1)',
  ),
);

/** `arb` one time in `n`, otherwise undefined. */
function sometimes<T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | undefined> {
  return fc.oneof(
    { weight: n - 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: arb },
  );
}

const base64url = (value: unknown) =>
  Buffer.from(JSON.stringify(value) ?? 'null').toString('base64url');

/** What a Headers value can carry: latin1 without CR, LF or NUL. */
const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '');

/** JWT-shaped strings: headers with odd alg/kid/typ values, odd payloads, odd signatures. */
function jwtish(): fc.Arbitrary<string> {
  const [, realPayload, realSignature] = tokens['access_token']!.split('.') as [
    string,
    string,
    string,
  ];
  // Mostly plausible headers (a real alg and kid), so that the odd values reach the checks after
  // the first ones; sometimes anything at all.
  const plausible = fc.record(
    {
      alg: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom('EdDSA', 'ES256', 'RS256') },
        {
          weight: 1,
          arbitrary: fc.oneof(fc.constantFrom('none', 'HS256', 'EDDSA'), fc.anything()),
        },
      ),
      kid: fc.oneof(
        { weight: 3, arbitrary: fc.constant(kid) },
        { weight: 1, arbitrary: fc.oneof(fc.string(), fc.anything()) },
      ),
      typ: fc.option(
        fc.oneof(fc.constantFrom('at+jwt', 'JWT', 'AT+JWT', 'dpop+jwt'), fc.anything()),
        { nil: undefined },
      ),
      crit: sometimes(fc.anything(), 4),
      b64: sometimes(fc.boolean(), 4),
    },
    { requiredKeys: ['alg', 'kid'] },
  );
  const headerPart = fc.oneof(
    { weight: 4, arbitrary: plausible.map(base64url) },
    { weight: 1, arbitrary: fc.anything().map(base64url) },
    { weight: 1, arbitrary: weirdText },
  );
  const payloadPart = fc.oneof(fc.constant(realPayload), fc.anything().map(base64url), weirdText);
  const signaturePart = fc.oneof(
    fc.constant(realSignature),
    fc.constant(''),
    fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('base64url')),
  );
  return fc.tuple(headerPart, payloadPart, signaturePart).map(([h, p, s]) => `${h}.${p}.${s}`);
}

function tokenValue(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      tokens['access_token']!,
      tokens['refresh_token']!,
      tokens['id_token']!,
      `${tokens['access_token']!}x`,
    ),
    jwtish(),
    weirdText,
  );
}

const authorizationHeader = (): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(
      basic('web-app', WEB_SECRET),
      basic('svc', WEB_SECRET),
      basic('web-app', 'wrong'),
      basic('post-app', POST_SECRET),
      basic('spa-app', ''),
      'Basic',
      'Basic ',
      'Basic A',
      'Basic ====',
      `Basic ${btoa('no-colon')}`,
      `Basic ${btoa('%zz:%zz')}`,
      `Basic ${btoa('\u00ff\u00fe:x')}`,
      'Bearer',
      'Bearer ',
      'DPoP x',
    ),
    headerText,
    headerText.map((s) => `Basic ${s}`),
    headerText.map((s) => `Bearer ${s}`),
    fc.uint8Array({ maxLength: 60 }).map((b) => `Basic ${Buffer.from(b).toString('base64')}`),
    tokenValue().map((t) => headerSafe(`Bearer ${t}`)),
  );

const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constant('application/x-www-form-urlencoded') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      undefined,
      'APPLICATION/X-WWW-FORM-URLENCODED; charset=ISO-8859-1',
      'application/x-www-form-urlencoded;',
      'application/x-www-form-urlencodedx',
      'application/json',
      'text/plain',
      'multipart/form-data; boundary=x',
      '',
    ),
  },
  { weight: 1, arbitrary: headerText },
);

const FORM_NAMES = [
  'grant_type',
  'code',
  'redirect_uri',
  'code_verifier',
  'refresh_token',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'scope',
  'token',
  'token_type_hint',
  'access_token',
  'id_token_hint',
  'post_logout_redirect_uri',
  'state',
  'csrf',
  'username',
  'password',
  'decision',
] as const;

function formValue(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      'authorization_code',
      'refresh_token',
      'client_credentials',
      'password',
      'web-app',
      'spa-app',
      'svc',
      'post-app',
      WEB_SECRET,
      'reports.read',
      'openid',
      'access_token',
      'refresh_token',
      'http://localhost:3000/callback',
      'http://localhost:3000/',
      VERIFIER,
      'allow',
      'deny',
      'logout',
      'stay',
      USER.username,
    ),
    tokenValue(),
    weirdText,
  );
}

/** A form body: mostly well-formed pairs (repeats allowed), sometimes raw text or raw bytes. */
function body(): fc.Arbitrary<string | Uint8Array> {
  const pairs = fc
    .array(
      fc.tuple(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...FORM_NAMES) },
          { weight: 1, arbitrary: weirdText },
        ),
        formValue(),
      ),
      { maxLength: 8 },
    )
    .map((entries) => new URLSearchParams(entries).toString());
  return fc.oneof(
    { weight: 6, arbitrary: pairs },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        new Uint8Array([0xff, 0xfe, 0xfd]),
        new Uint8Array([0x74, 0x6f, 0x6b, 0x65, 0x6e, 0x3d, 0xc3, 0x28]), // token=<bad UTF-8>
        new Uint8Array([0xed, 0xa0, 0x80]), // an encoded surrogate
        'token=%ff%fe&grant_type=%c3%28',
        'grant_type=refresh_token&grant_type=refresh_token',
        '=&=&&&',
        `token=${'a'.repeat(70 * 1024)}`,
        `${'x=1&'.repeat(200)}`,
      ),
    },
  );
}

const query: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => `?${s}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('?', '?token=x', '?access_token=x', '?client_secret=x', '?a&a'),
  },
);

const origin = fc.constantFrom(undefined, 'http://localhost:5173', 'https://evil.example', 'null');

function buildRequest(
  url: string,
  method: string,
  headers: Record<string, string | undefined>,
  payload: string | Uint8Array | undefined,
): Request {
  const h = new Headers();
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) h.set(k, v);
  const init: RequestInit = { method, headers: h };
  // Bytes, not a string: a string body would make Request add `text/plain` when the run meant
  // to send no content type at all.
  if (payload !== undefined && method !== 'GET' && method !== 'HEAD') {
    init.body =
      typeof payload === 'string' ? new TextEncoder().encode(payload) : new Uint8Array(payload);
  }
  return new Request(url, init);
}

async function send(req: Request): Promise<{ res: Response; text: string }> {
  const res = await tp.provider.handle(req, { remoteAddress: '192.0.2.1' });
  return { res, text: await res.text() };
}

// ---------------------------------------------------------------- properties

describe('fuzz: JSON endpoints (token, revoke, introspect, userinfo)', () => {
  it('answer anything with JSON errors in the RFC 6749 charset, never 5xx or a stack trace', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('token', 'revoke', 'introspect', 'userinfo'),
        fc.oneof(
          { weight: 8, arbitrary: fc.constant('POST') },
          { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'OPTIONS', 'PATCH') },
        ),
        query,
        contentType,
        authorizationHeader(),
        origin,
        body(),
        async (endpoint, method, q, type, authorization, from, payload) => {
          const req = buildRequest(
            `${issuer}/v1/oauth/${endpoint}${q}`,
            method,
            { 'content-type': type, authorization, origin: from },
            payload,
          );
          const { res, text } = await send(req);
          const what = `${method} ${endpoint}`;
          expectNoServerFailure(res, text, what);
          if (res.status === 204) {
            expect(method, what).toBe('OPTIONS');
            return;
          }
          if (res.status === 200 && endpoint === 'revoke') {
            expect(text, what).toBe('');
            return;
          }
          if (res.status === 200) {
            expect(res.headers.get('content-type') ?? '', what).toMatch(/^application\/json/);
            const json = JSON.parse(text) as Record<string, unknown>;
            if (endpoint === 'token') expect(typeof json['access_token'], what).toBe('string');
            if (endpoint === 'introspect') expect(typeof json['active'], what).toBe('boolean');
            if (endpoint === 'userinfo') expect(typeof json['sub'], what).toBe('string');
            return;
          }
          expect(res.status, what).toBeGreaterThanOrEqual(400);
          expectOAuthErrorJson(res, text, what);
          const challenge = res.headers.get('www-authenticate');
          if (challenge !== null) expect(challenge, what).toMatch(/^(Basic|Bearer) realm="/);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('answer any Authorization header (alone) without 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('token', 'revoke', 'introspect', 'userinfo'),
        authorizationHeader(),
        async (endpoint, authorization) => {
          const form =
            endpoint === 'token'
              ? 'grant_type=client_credentials&scope=reports.read'
              : `token=${encodeURIComponent(tokens['access_token']!)}`;
          const req = buildRequest(
            `${issuer}/v1/oauth/${endpoint}`,
            endpoint === 'userinfo' ? 'GET' : 'POST',
            { 'content-type': 'application/x-www-form-urlencoded', authorization },
            form,
          );
          const { res, text } = await send(req);
          expectNoServerFailure(res, text, endpoint);
          if (res.status >= 400) expectOAuthErrorJson(res, text, endpoint);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: forged JWTs where the provider verifies its own tokens', () => {
  it('userinfo, revocation and introspection answer forged JWTs without 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('userinfo', 'revoke', 'introspect'),
        jwtish(),
        async (endpoint, jwt) => {
          // The generators can rebuild the genuine token (its exact header, payload and
          // signature); that one is rightly accepted.
          fc.pre(jwt !== tokens['access_token']);
          const req =
            endpoint === 'userinfo'
              ? buildRequest(
                  `${issuer}/v1/oauth/userinfo`,
                  'GET',
                  { authorization: headerSafe(`Bearer ${jwt}`) },
                  undefined,
                )
              : buildRequest(
                  `${issuer}/v1/oauth/${endpoint}`,
                  'POST',
                  {
                    'content-type': 'application/x-www-form-urlencoded',
                    authorization: basic('web-app', WEB_SECRET),
                  },
                  new URLSearchParams({ token: jwt }).toString(),
                );
          const { res, text } = await send(req);
          expectNoServerFailure(res, text, endpoint);
          if (endpoint === 'userinfo') {
            expect([400, 401], 'userinfo').toContain(res.status);
            expectOAuthErrorJson(res, text, endpoint);
          } else if (res.status !== 200) {
            // Only a malformed request (say, an oversized value) is an error here.
            expect(res.status, endpoint).toBe(400);
            expectOAuthErrorJson(res, text, endpoint);
            expect(JSON.parse(text)['error'], endpoint).toBe('invalid_request');
          } else if (endpoint === 'revoke') {
            expect(text, 'revoke').toBe('');
          } else {
            // A forgery is never an active token of this client.
            expect(JSON.parse(text), 'introspect').toEqual({ active: false });
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('answers headers whose values are objects, arrays or numbers (found by this fuzzer)', async () => {
    const { kid } = JSON.parse(
      JSON.stringify((await (await tp.fetch(`${issuer}/.well-known/jwks.json`)).json()).keys[0]),
    ) as { kid: string };
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const header of [
      { alg: { toString: {} }, kid },
      { alg: ['EdDSA'], kid },
      { alg: 'EdDSA', kid: { toString: {} } },
      { alg: 'EdDSA', kid, typ: { toLowerCase: 1 } },
      { alg: 'EdDSA', kid: 42 },
    ]) {
      const jwt = `${b64(header)}.${b64([])}.${'A'.repeat(86)}`;
      const res = await tp.fetch(`${issuer}/v1/oauth/userinfo`, {
        headers: { authorization: `Bearer ${jwt}` },
      });
      expect(res.status, JSON.stringify(header)).toBe(401);
    }
  });
});

describe('fuzz: the authorization endpoint', () => {
  it('never 5xx, never a stack trace, and redirects only to a registered redirect URI', async () => {
    const challenge = new URL(await authorizeUrl(tp)).searchParams.get('code_challenge')!;
    const PAIRS: [string, string][] = [
      ['web-app', 'http://localhost:3000/callback'],
      ['web-app', 'https://rp.example.com/cb?tenant=1'],
      ['spa-app', 'http://localhost:5173/callback'],
      ['native-app', 'http://127.0.0.1:8765/callback'],
      ['native-app', 'com.example.app:/cb'],
      ['post-app', 'https://post.example.com/cb'],
      // Not registered for that client, or not at all:
      ['web-app', 'http://localhost:5173/callback'],
      ['web-app', 'http://localhost:3000/callback?x=1'],
      ['web-app', 'http://localhost:3000/callback/'],
      ['web-app', 'https://rp.example.com/cb'],
      ['spa-app', 'https://evil.example/cb'],
      ['native-app', 'http://localhost:8765/callback'],
      ['native-app', 'http://127.0.0.1.evil.example/callback'],
      ['native-app', 'https://127.0.0.1/callback'],
      ['svc', 'http://localhost:3000/callback'],
      ['nobody', 'http://localhost:3000/callback'],
    ];
    // Mostly plausible values, so that most requests get past the client and redirect URI checks
    // and reach the later steps; sometimes anything.
    const opt = <T>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) =>
      sometimes(fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: odd }), 2);
    const params = fc.record({
      pair: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...PAIRS) },
        {
          weight: 1,
          arbitrary: fc.tuple(
            fc.oneof(fc.constantFrom(...CLIENTS.map((c) => c.client_id)), weirdText),
            weirdText,
          ),
        },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      response_type: fc.oneof(
        { weight: 6, arbitrary: fc.constant('code') },
        { weight: 1, arbitrary: fc.constantFrom('token', 'code id_token', 'none', undefined) },
        { weight: 1, arbitrary: weirdText },
      ),
      scope: fc.oneof(
        {
          weight: 6,
          arbitrary: fc.constantFrom(
            'openid',
            'openid profile email offline_access',
            'openid profile email',
            'openid reports.read',
            'openid  openid',
            'profile',
          ),
        },
        { weight: 1, arbitrary: weirdText },
      ),
      state: opt(fc.string(), weirdText),
      nonce: opt(fc.string(), weirdText),
      code_challenge: fc.oneof(
        { weight: 6, arbitrary: fc.constant(challenge) },
        { weight: 1, arbitrary: fc.option(weirdText, { nil: undefined }) },
      ),
      code_challenge_method: fc.oneof(
        { weight: 6, arbitrary: fc.constant('S256') },
        {
          weight: 1,
          arbitrary: fc.option(fc.oneof(fc.constantFrom('plain', 's256'), weirdText), {
            nil: undefined,
          }),
        },
      ),
      prompt: opt(
        fc.constantFrom('none', 'login', 'consent', 'select_account', 'none login'),
        weirdText,
      ),
      max_age: opt(fc.constantFrom('0', '60', '3600', '-1', '1e3', '99999999999'), weirdText),
      id_token_hint: opt(fc.constant(tokens['id_token']!), tokenValue()),
      login_hint: opt(fc.constantFrom('alice', 'bob'), weirdText),
      response_mode: opt(fc.constantFrom('query', 'fragment', 'form_post'), weirdText),
      request: sometimes(jwtish(), 10),
      request_uri: sometimes(weirdText, 10),
      extra: fc.array(fc.tuple(weirdText, weirdText), { maxLength: 2 }),
      repeat: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
    });
    await fc.assert(
      fc.asyncProperty(
        params,
        fc.constantFrom('GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT'),
        fc.constantFrom(undefined, 'session', 'session', 'gatehouse.session=garbage; a=b'),
        sometimes(fc.string({ unit: 'binary', maxLength: 60 }), 10),
        contentType,
        async (p, method, cookie, rawQuery, type) => {
          const entries: [string, string][] = [];
          if (p.pair) entries.push(['client_id', p.pair[0]], ['redirect_uri', p.pair[1]]);
          const { pair: _pair, extra, repeat, ...named } = p;
          for (const [k, v] of Object.entries(named)) if (v !== undefined) entries.push([k, v]);
          entries.push(...extra);
          if (repeat && entries.length > 0) entries.push(entries[entries.length - 1]!);
          const encoded = new URLSearchParams(entries).toString();

          const search = rawQuery !== undefined ? rawQuery : method === 'GET' ? encoded : '';
          const url = `${issuer}/v1/oauth/authorize${search ? `?${search}` : ''}`;
          const req = buildRequest(
            url,
            method,
            {
              'content-type': method === 'GET' ? undefined : type,
              cookie: cookie === 'session' ? sessionCookie : cookie,
            },
            method === 'GET' ? undefined : encoded,
          );
          const { res, text } = await send(req);
          expectNoServerFailure(res, text, 'authorize');
          expect(res.headers.get('access-control-allow-origin'), 'no CORS').toBeNull();

          const location = res.headers.get('location');
          if (location === null) {
            expect(res.status, 'authorize').toBeGreaterThanOrEqual(400);
            expectHtmlPage(res, 'authorize error page');
            return;
          }
          expect([302, 303], 'redirect status').toContain(res.status);
          if (location.startsWith(`${issuer}/interaction/`)) return;

          // The provider accepted one client_id; the redirect goes to a URI registered for it.
          const sent = new URL(req.url).searchParams;
          const bodyParams =
            method === 'GET' ? new URLSearchParams() : new URLSearchParams(encoded);
          const ids = [...sent.getAll('client_id'), ...bodyParams.getAll('client_id')].filter(
            (v) => v !== '',
          );
          expect(ids.length, `one client_id for a redirect to ${location}`).toBe(1);
          expect(
            isRegisteredRedirect(ids[0], location),
            `redirect to ${location} for client ${ids[0]}`,
          ).toBe(true);
          const back = new URL(location).searchParams;
          expect(back.get('iss'), 'iss on every authorization response').toBe(issuer);
          expect(back.get('error_description') ?? '', 'error_description').toMatch(ERROR_CHARS);
          expect(back.has('code') !== back.has('error'), 'code xor error').toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: logout', () => {
  it('never 5xx or a stack trace; redirects only to a registered post_logout_redirect_uri', async () => {
    const registered = CLIENTS.flatMap((c) => c.post_logout_redirect_uris ?? []);
    const params = fc.record(
      {
        id_token_hint: tokenValue(),
        post_logout_redirect_uri: fc.oneof(
          fc.constantFrom(
            'http://localhost:3000/',
            'http://localhost:3000',
            'http://localhost:3000/?x=1',
            'https://evil.example/',
            'http://localhost:3000/callback',
          ),
          weirdText,
        ),
        client_id: fc.oneof(fc.constantFrom('web-app', 'spa-app', 'svc', 'nobody'), weirdText),
        state: weirdText,
        ui_locales: weirdText,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        params,
        fc.array(fc.tuple(weirdText, weirdText), { maxLength: 3 }),
        fc.constantFrom('GET', 'GET', 'POST', 'POST', 'DELETE'),
        contentType,
        sometimes(body(), 4),
        fc.constantFrom(undefined, 'gatehouse.session=garbage'),
        async (p, extra, method, type, rawBody, cookie) => {
          const encoded = new URLSearchParams([
            ...Object.entries(p).filter((e): e is [string, string] => e[1] !== undefined),
            ...extra,
          ]).toString();
          const inQuery = method === 'GET' || method === 'DELETE';
          const req = buildRequest(
            `${issuer}/v1/oauth/logout${inQuery && encoded ? `?${encoded}` : ''}`,
            method,
            { 'content-type': inQuery ? undefined : type, cookie },
            inQuery ? undefined : (rawBody ?? encoded),
          );
          const { res, text } = await send(req);
          expectNoServerFailure(res, text, 'logout');
          const location = res.headers.get('location');
          if (location === null) {
            expectHtmlPage(res, 'logout page');
            return;
          }
          expect(res.status, 'logout redirect').toBe(303);
          if (location.startsWith(`${issuer}/interaction/`)) return;
          expect(
            registered.some((uri) => isUriWithParams(location, uri)),
            `logout redirect to ${location}`,
          ).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: interaction POSTs (login, consent, logout confirmation)', () => {
  it('never 5xx or a stack trace; redirect only back to the provider or the client', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('authorize', 'logout'),
        fc.oneof(
          { weight: 8, arbitrary: fc.constant('matching') },
          { weight: 2, arbitrary: fc.constantFrom('login', 'consent', 'logout') },
          { weight: 1, arbitrary: fc.constantFrom('', 'other', 'login/extra') },
        ),
        fc.constantFrom('right', 'right', 'right', 'right', 'right', 'none', 'garbage'),
        fc.constantFrom('right', 'right', 'right', 'right', 'right', 'wrong', 'absent'),
        fc.boolean(),
        fc.array(
          fc.tuple(
            fc.constantFrom(
              'username',
              'password',
              'decision',
              'username',
              'password',
              'decision',
              ...FORM_NAMES,
            ),
            formValue(),
          ),
          { maxLength: 5 },
        ),
        sometimes(body(), 8),
        fc.oneof(
          { weight: 8, arbitrary: fc.constant('application/x-www-form-urlencoded') },
          { weight: 1, arbitrary: contentType },
        ),
        fc.constantFrom('POST', 'POST', 'POST', 'POST', 'POST', 'POST', 'GET', 'PUT'),
        async (
          kind,
          actionKind,
          cookieKind,
          csrfKind,
          withSession,
          fields,
          rawBody,
          type,
          method,
        ) => {
          const action =
            actionKind !== 'matching'
              ? actionKind
              : kind === 'logout'
                ? 'logout'
                : withSession
                  ? 'consent'
                  : 'login';
          // A fresh interaction for every run, as a browser would start one.
          const start =
            kind === 'authorize'
              ? await authorizeUrl(tp, { extra: { prompt: 'login' } })
              : `${issuer}/v1/oauth/logout?client_id=web-app&post_logout_redirect_uri=${encodeURIComponent('http://localhost:3000/')}`;
          const first = await tp.fetch(start, { redirect: 'manual' });
          expect(first.status).toBe(303);
          const page = first.headers.get('location')!;
          const interactionCookie = first.headers.getSetCookie()[0]!.split(';')[0]!;
          const html = await (
            await tp.fetch(page, { headers: { cookie: interactionCookie } })
          ).text();
          const csrf = /name="csrf"[^>]*value="([^"]+)"/.exec(html)![1]!;

          const form = new URLSearchParams(fields.filter(([k]) => k !== 'csrf'));
          if (csrfKind === 'right') form.set('csrf', csrf);
          if (csrfKind === 'wrong') form.set('csrf', `${csrf}x`);
          const cookies = [
            cookieKind === 'right' ? interactionCookie : undefined,
            cookieKind === 'garbage' ? 'gatehouse.interaction=%%%; x' : undefined,
            withSession ? sessionCookie : undefined,
          ].filter(Boolean);
          const req = buildRequest(
            action ? `${page}/${action}` : page,
            method,
            { 'content-type': type, cookie: cookies.length ? cookies.join('; ') : undefined },
            rawBody ?? form.toString(),
          );
          const { res, text } = await send(req);
          expectNoServerFailure(res, text, `${kind} interaction ${method} /${action}`);
          const location = res.headers.get('location');
          if (location === null) {
            expectHtmlPage(res, 'interaction page');
            return;
          }
          expect(res.status, 'redirect after a POST').toBe(303);
          const ok =
            location.startsWith(`${issuer}/interaction/`) ||
            (kind === 'authorize' && isRegisteredRedirect('web-app', location)) ||
            (kind === 'logout' && isUriWithParams(location, 'http://localhost:3000/'));
          expect(ok, `redirect to ${location}`).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
