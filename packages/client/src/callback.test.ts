/**
 * The callback, step by step (SYSTEM.md "The client toolkit's callback"), against a real HTTP
 * server on loopback playing the provider: a token endpoint that checks what it is sent and
 * answers crafted responses, and the JWKS of the key that signs real ID tokens (no fetch mocks).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomToken } from '@gatehouse/oauth';
import { exportJWK, generateKeyPair, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CallbackContext,
  completeCallback,
  handleCallback,
  type TransactionLookup,
  type ValidatedCallback,
  validateCallback,
} from './callback.js';
import type { ProviderMetadata } from './discovery.js';
import {
  AuthorizationResponseError,
  ClientError,
  IdTokenError,
  TokenEndpointError,
} from './errors.js';
import { type AuthLogger, authEvents } from './events.js';
import { JwksCache } from './jwks.js';
import type { ClientAuthentication } from './token.js';
import { memoryTransactionStore, type Transaction, type TransactionStore } from './transactions.js';

interface Seen {
  method: string | undefined;
  headers: IncomingMessage['headers'];
  form: Record<string, string>;
}
type TokenHandler = (seen: Seen, res: ServerResponse) => void;

let server: Server;
let base: string;
let ISSUER: string;
let jwksBody: string;
let tokenHandler: TokenHandler;
let tokenRequests: Seen[] = [];

const CLIENT_ID = 'web-app';
const SECRET = 'cb:s3cret+ %2F é';
const REDIRECT = 'https://app.example/callback';
const KID = 'sig-1';
let signingKey: CryptoKey;
/** A key the provider does not publish, used under the published kid. */
let strangerKey: CryptoKey;
let jwks: JwksCache;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/jwks') {
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(jwksBody);
      return;
    }
    if (req.url !== '/token') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const seen = { method: req.method, headers: req.headers, form };
      tokenRequests.push(seen);
      tokenHandler(seen, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ISSUER = `${base}/idp`;
  const pair = await generateKeyPair('EdDSA', { extractable: true });
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair('EdDSA')).privateKey;
  jwksBody = JSON.stringify({
    keys: [{ ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'EdDSA', use: 'sig' }],
  });
  jwks = new JwksCache(`${base}/jwks`);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

// ---- Per test: a transaction store, the log, and the values that must never be logged. ----

let store: TransactionStore<void>;
let lookup: TransactionLookup;
let logs: { level: 'info' | 'warn'; fields: Record<string, unknown>; message?: string }[];
/** Codes, states, verifiers, nonces, tokens and the secret seen by this test. */
let secrets: string[];

const logger: AuthLogger = {
  info: (fields, message) => logs.push({ level: 'info', fields, message }),
  warn: (fields, message) => logs.push({ level: 'warn', fields, message }),
};

beforeEach(() => {
  store = memoryTransactionStore();
  lookup = { take: (state) => store.take(undefined, state) };
  logs = [];
  secrets = [SECRET];
  tokenRequests = [];
  tokenHandler = (_seen, res) => answer(res, 500, { error: 'server_error' });
});

afterEach(() => {
  // Whatever a test did, nothing it logged holds a code, state, verifier, nonce, token or secret.
  const logged = JSON.stringify(logs);
  for (const secret of secrets) expect(logged).not.toContain(secret);
});

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function metadata(extra: Partial<ProviderMetadata> = {}): ProviderMetadata {
  return {
    issuer: ISSUER,
    authorization_endpoint: `${ISSUER}/authorize`,
    token_endpoint: `${base}/token`,
    jwks_uri: `${base}/jwks`,
    authorization_response_iss_parameter_supported: true,
    raw: {},
    ...extra,
  };
}

function context(extra: Partial<CallbackContext> = {}): CallbackContext {
  return {
    issuer: ISSUER,
    clientId: CLIENT_ID,
    metadata: metadata(),
    auth: { method: 'client_secret_basic', secret: SECRET },
    jwks,
    idTokenAlgorithms: ['EdDSA'],
    clockToleranceSeconds: 30,
    http: { fetch: globalThis.fetch, timeoutMs: 2000 },
    events: authEvents(logger),
    now: Date.now,
    ...extra,
  };
}

/** A login in progress: a transaction saved in the store, as the login route would. */
async function startLogin(extra: Partial<Transaction> = {}): Promise<Transaction> {
  const now = Date.now();
  const tx: Transaction = {
    state: randomToken(),
    issuer: ISSUER,
    redirectUri: REDIRECT,
    nonce: randomToken(),
    codeVerifier: randomToken(),
    createdAt: now,
    expiresAt: now + 600_000,
    ...extra,
  };
  await store.save(undefined, tx);
  secrets.push(tx.state, tx.nonce!, tx.codeVerifier!);
  return tx;
}

/** A fresh authorization code (43 base64url characters, like the provider's). */
function newCode(): string {
  const code = randomToken();
  secrets.push(code);
  return code;
}

/** The redirect back to the client with these query parameters, in this order. */
function callbackUrl(params: [string, string][]): string {
  return `${REDIRECT}?${new URLSearchParams(params)}`;
}

/** The success redirect for `tx`. */
function success(tx: Transaction, code: string): string {
  return callbackUrl([
    ['code', code],
    ['state', tx.state],
    ['iss', ISSUER],
  ]);
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
/** `at_hash` for an EdDSA-signed ID token: the left half of SHA-512. */
const atHash = (token: string) =>
  createHash('sha512').update(token).digest().subarray(0, 32).toString('base64url');

/** A signed ID token for `tx`; `claims` override (undefined removes) the defaults. */
async function idToken(
  tx: Transaction,
  claims: JWTPayload = {},
  key: CryptoKey = signingKey,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: ISSUER,
    sub: 'user-42',
    aud: CLIENT_ID,
    iat: now,
    exp: now + 300,
    nonce: tx.nonce,
    ...claims,
  };
  const token = await new SignJWT(JSON.parse(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'EdDSA', kid: KID })
    .sign(key);
  secrets.push(token);
  return token;
}

/**
 * The provider's token endpoint for one code: it checks the grant, the code, the redirect URI,
 * the PKCE verifier against the challenge and the client's Basic credentials, like a real one;
 * then answers `body` (by default a full token response with `id_token`).
 */
function tokenEndpoint(
  tx: Transaction,
  code: string,
  body: Record<string, unknown>,
  auth: (seen: Seen) => boolean = basicAuthOk,
): void {
  const challenge = s256(tx.codeVerifier!);
  for (const name of ['access_token', 'refresh_token', 'id_token']) {
    if (typeof body[name] === 'string') secrets.push(body[name]);
  }
  tokenHandler = (seen, res) => {
    const f = seen.form;
    if (!auth(seen)) return answer(res, 401, { error: 'invalid_client' });
    if (f['grant_type'] !== 'authorization_code') {
      return answer(res, 400, { error: 'unsupported_grant_type' });
    }
    if (f['code'] !== code || f['redirect_uri'] !== tx.redirectUri) {
      return answer(res, 400, { error: 'invalid_grant' });
    }
    if (s256(f['code_verifier'] ?? '') !== challenge) {
      return answer(res, 400, { error: 'invalid_grant', error_description: 'PKCE' });
    }
    answer(res, 200, body);
  };
}

function basicAuthOk(seen: Seen): boolean {
  const header = seen.headers.authorization ?? '';
  const raw = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString('latin1');
  const [id, secret] = raw.split(':').map((v) => new URLSearchParams(`v=${v}`).get('v'));
  return header.startsWith('Basic ') && id === CLIENT_ID && secret === SECRET;
}

/** A standard token response for `tx`, with an ID token signed with `claims`. */
async function tokens(
  tx: Transaction,
  claims: JWTPayload = {},
  extra: Record<string, unknown> = {},
) {
  const accessToken = `at-${randomToken()}`;
  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: 300,
    refresh_token: `rt-${randomToken()}`,
    id_token: await idToken(tx, { at_hash: atHash(accessToken), ...claims }),
    scope: 'openid profile email',
    ...extra,
  };
}

async function failure(promise: Promise<unknown>): Promise<ClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClientError);
  const e = error as ClientError;
  // No error message or hint carries a code, state, verifier, token or secret either.
  for (const secret of secrets) {
    expect(e.message).not.toContain(secret);
    expect(e.hint ?? '').not.toContain(secret);
  }
  return e;
}

const validate = (input: string | URL | URLSearchParams, ctx = context()) =>
  validateCallback(ctx, input, lookup);

// ---- Steps 1–5: validateCallback ----

describe('step 1: parse', () => {
  it.each(['state', 'code', 'iss', 'error'])(
    'refuses %s given twice, before the transaction is touched',
    async (name) => {
      const tx = await startLogin();
      const code = newCode();
      const params: [string, string][] =
        name === 'error'
          ? [
              ['error', 'access_denied'],
              ['state', tx.state],
              ['error', 'server_error'],
            ]
          : [
              ['code', code],
              ['state', tx.state],
              ['iss', ISSUER],
              [name, name === 'state' ? tx.state : name === 'iss' ? ISSUER : code],
            ];
      const error = await failure(validate(callbackUrl(params)));
      expect(error.code).toBe('callback_duplicate_parameter');
      expect(error.message).toBe(`the callback carries ${name} more than once`);
      expect(error.hint).toMatch(/altered or forged/);
      // The transaction is still there: the genuine callback can follow.
      expect((await validate(success(tx, code))).transaction.state).toBe(tx.state);
    },
  );

  it('refuses code and error together, before the transaction is touched', async () => {
    const tx = await startLogin();
    const code = newCode();
    const error = await failure(
      validate(
        callbackUrl([
          ['code', code],
          ['error', 'access_denied'],
          ['state', tx.state],
          ['iss', ISSUER],
        ]),
      ),
    );
    expect(error.code).toBe('callback_code_and_error');
    expect(error.hint).toMatch(/altered or forged/);
    expect((await validate(success(tx, code))).code).toBe(code);
  });
});

describe('step 2: the transaction', () => {
  it('refuses a callback without state (or with an empty one)', async () => {
    for (const params of [
      [['code', newCode()]],
      [
        ['code', newCode()],
        ['state', ''],
      ],
    ] as [string, string][][]) {
      const error = await failure(validate(callbackUrl(params)));
      expect(error.code).toBe('state_missing');
      expect(error.retryable).toBe(true);
      expect(error.hint).toMatch(/not started here/);
    }
  });

  it('refuses an error response without state, naming the error but not acting on it', async () => {
    const tx = await startLogin();
    const error = await failure(
      validate(
        callbackUrl([
          ['error', 'invalid_request'],
          ['error_description', 'JAR (request parameter) is required for confidential clients'],
        ]),
      ),
    );
    expect(error).not.toBeInstanceOf(AuthorizationResponseError);
    expect(error.code).toBe('state_missing');
    expect(error.message).toBe(
      'the callback has no state (the provider answered error=invalid_request)',
    );
    expect(error.hint).toMatch(/PAR or signed requests/);
    // Nothing was taken: the login in progress can still complete.
    expect((await validate(success(tx, newCode()))).transaction.state).toBe(tx.state);
  });

  it('says "session expired or cookie lost", with the likely causes, for an unknown state', async () => {
    const state = randomToken();
    secrets.push(state);
    const error = await failure(
      validate(
        callbackUrl([
          ['code', newCode()],
          ['state', state],
        ]),
      ),
    );
    expect(error.code).toBe('transaction_not_found');
    expect(error.message).toBe('session expired or cookie lost');
    expect(error.retryable).toBe(true);
    expect(error.hint).toMatch(/transaction lifetime/);
    expect(error.hint).toMatch(/SameSite=Strict/);
    expect(error.hint).toMatch(/http vs https/);
    expect(error.hint).toMatch(/Start the login again/);
  });

  it('gives transaction_not_found when the store says nothing is pending', async () => {
    lookup = { take: (s) => store.take(undefined, s), pending: async () => 0 };
    const error = await failure(
      validate(
        callbackUrl([
          ['code', newCode()],
          ['state', 'unknown-state'],
        ]),
      ),
    );
    expect(error.code).toBe('transaction_not_found');
  });

  it('gives state_mismatch (possible CSRF) when another login is pending in this browser', async () => {
    await startLogin();
    lookup = { take: (s) => store.take(undefined, s), pending: async () => 1 };
    const error = await failure(
      validate(
        callbackUrl([
          ['code', newCode()],
          ['state', 'attacker-state'],
          ['iss', ISSUER],
        ]),
      ),
    );
    expect(error.code).toBe('state_mismatch');
    expect(error.message).toMatch(/possible CSRF/);
    expect(error.hint).toMatch(/not this one/);
  });

  it('finds nothing for an expired transaction', async () => {
    let now = Date.now();
    store = memoryTransactionStore({ now: () => now, ttlMs: 60_000 });
    const tx = await startLogin();
    now += 60_001;
    const error = await failure(validate(success(tx, newCode())));
    expect(error.code).toBe('transaction_not_found');
  });

  it('uses a transaction once: a replayed callback finds nothing', async () => {
    const tx = await startLogin();
    const code = newCode();
    await validate(success(tx, code));
    const error = await failure(validate(success(tx, code)));
    expect(error.code).toBe('transaction_not_found');
  });

  it('deletes the transaction before the later checks: a failed callback cannot be retried', async () => {
    const tx = await startLogin();
    const code = newCode();
    const bad = callbackUrl([
      ['code', code],
      ['state', tx.state],
      ['iss', 'https://evil.example'],
    ]);
    expect((await failure(validate(bad))).code).toBe('issuer_mismatch');
    expect((await failure(validate(success(tx, code)))).code).toBe('transaction_not_found');
  });

  it('keeps logins of several tabs apart, answered in any order', async () => {
    const first = await startLogin();
    const second = await startLogin();
    const b = await validate(success(second, newCode()));
    const a = await validate(success(first, newCode()));
    expect(b.transaction).toEqual(second);
    expect(a.transaction).toEqual(first);
  });
});

describe('step 3: iss (RFC 9207)', () => {
  it('refuses an iss naming another issuer', async () => {
    const tx = await startLogin();
    for (const iss of ['https://evil.example', `${ISSUER}/`, '']) {
      const again = await startLogin({ state: randomToken() });
      secrets.push(again.state);
      const error = await failure(
        validate(
          callbackUrl([
            ['code', newCode()],
            ['state', again.state],
            ['iss', iss],
          ]),
        ),
      );
      expect(error.code).toBe('issuer_mismatch');
      expect(error.hint).toMatch(/mix-up/);
    }
    expect(tx.issuer).toBe(ISSUER);
  });

  it('refuses a transaction that was started with another issuer', async () => {
    const tx = await startLogin({ issuer: 'https://other-idp.example' });
    const error = await failure(validate(success(tx, newCode())));
    expect(error.code).toBe('issuer_mismatch');
    expect(error.message).toMatch(/started with https:\/\/other-idp\.example/);
  });

  it('refuses a missing iss when the provider says it always sends one', async () => {
    const tx = await startLogin();
    const error = await failure(
      validate(
        callbackUrl([
          ['code', newCode()],
          ['state', tx.state],
        ]),
      ),
    );
    expect(error.code).toBe('issuer_missing');
    expect(error.hint).toMatch(/mix-up/);
  });

  it('accepts a missing iss when the provider does not send it (false or unsaid)', async () => {
    for (const supported of [false, undefined]) {
      const tx = await startLogin();
      const code = newCode();
      const ctx = context({
        metadata: metadata({ authorization_response_iss_parameter_supported: supported }),
      });
      const result = await validate(
        callbackUrl([
          ['code', code],
          ['state', tx.state],
        ]),
        ctx,
      );
      expect(result.code).toBe(code);
    }
  });

  it('still checks an iss that is sent when the provider does not advertise it', async () => {
    const tx = await startLogin();
    const ctx = context({
      metadata: metadata({ authorization_response_iss_parameter_supported: false }),
    });
    const error = await failure(
      validate(
        callbackUrl([
          ['code', newCode()],
          ['state', tx.state],
          ['iss', 'https://evil.example'],
        ]),
        ctx,
      ),
    );
    expect(error.code).toBe('issuer_mismatch');
  });
});

describe('step 4: the provider error', () => {
  const errorCallback = (tx: Transaction, params: [string, string][]) =>
    callbackUrl([...params, ['state', tx.state], ['iss', ISSUER]]);

  it('becomes an AuthorizationResponseError with error, description and uri', async () => {
    const tx = await startLogin();
    const error = await failure(
      validate(
        errorCallback(tx, [
          ['error', 'access_denied'],
          ['error_description', 'The user denied the request'],
          ['error_uri', `${ISSUER}/errors#access_denied`],
        ]),
      ),
    );
    expect(error).toBeInstanceOf(AuthorizationResponseError);
    const e = error as AuthorizationResponseError;
    expect(e.code).toBe('provider_error');
    expect(e.error).toBe('access_denied');
    expect(e.errorDescription).toBe('The user denied the request');
    expect(e.errorUri).toBe(`${ISSUER}/errors#access_denied`);
    expect(e.retryable).toBe(false);
    expect(e.hint).toMatch(/Deny/);
    expect(e.message).toBe(
      'the provider refused the authorization request: access_denied (The user denied the request)',
    );
  });

  it.each([
    ['temporarily_unavailable', true],
    ['server_error', true],
    ['login_required', true],
    ['access_denied', false],
    ['invalid_request', false],
    ['unauthorized_client', false],
    ['invalid_request_object', false],
    ['made_up_error', false],
  ])('%s → retryable %s', async (code, retryable) => {
    const tx = await startLogin();
    const error = (await failure(
      validate(errorCallback(tx, [['error', code]])),
    )) as AuthorizationResponseError;
    expect(error).toBeInstanceOf(AuthorizationResponseError);
    expect(error.error).toBe(code);
    expect(error.errorDescription).toBeUndefined();
    expect(error.errorUri).toBeUndefined();
    expect(error.retryable).toBe(retryable);
    if (code === 'made_up_error') expect(error.hint).toBeUndefined();
  });

  it('consumes the transaction', async () => {
    const tx = await startLogin();
    await failure(validate(errorCallback(tx, [['error', 'temporarily_unavailable']])));
    expect((await failure(validate(success(tx, newCode())))).code).toBe('transaction_not_found');
  });
});

describe('step 5: the code', () => {
  it('refuses a callback with neither code nor error (or an empty code)', async () => {
    for (const extra of [[], [['code', '']]] as [string, string][][]) {
      const tx = await startLogin();
      const error = await failure(
        validate(callbackUrl([...extra, ['state', tx.state], ['iss', ISSUER]])),
      );
      expect(error.code).toBe('code_missing');
    }
  });

  it.each([
    ['9 characters', 'abcdefghi'],
    ['513 characters', 'a'.repeat(513)],
    ['a dot', 'abcde.fghijk'],
    ['+ and /', 'abc+def/ghijk'],
    ['padding', 'abcdefghijk='],
    ['a space', 'abcde fghijk'],
    ['non-ASCII', 'abcdéfghijkl'],
    ['a newline', 'abcdefghijk\n'],
  ])('refuses a code with %s (code_malformed)', async (_name, code) => {
    const tx = await startLogin();
    secrets.push(code);
    const error = await failure(validate(success(tx, code)));
    expect(error.code).toBe('code_malformed');
    expect(error.message).toBe('the code is not 10-512 base64url characters');
  });

  it.each([
    ['10', 'aB3_-aB3_-'],
    ['512', 'Z'.repeat(512)],
  ])('accepts a code of %s base64url characters', async (_n, code) => {
    const tx = await startLogin();
    secrets.push(code);
    const result = await validate(success(tx, code));
    expect(result.code).toBe(code);
    expect(result.transaction).toEqual(tx);
    expect(Object.isFrozen(result)).toBe(true);
  });
});

describe('the steps run in order: the first broken one names the error', () => {
  it.each([
    [
      'duplicate before code+error',
      (s: string) => [
        ['code', 'abcdefghijkl'],
        ['error', 'x'],
        ['error', 'y'],
        ['state', s],
      ],
      'callback_duplicate_parameter',
    ],
    [
      'code+error before state',
      () => [
        ['code', 'abcdefghijkl'],
        ['error', 'access_denied'],
      ],
      'callback_code_and_error',
    ],
    [
      'state before iss',
      () => [
        ['code', 'abcdefghijkl'],
        ['iss', 'https://evil.example'],
      ],
      'state_missing',
    ],
    [
      'transaction before iss',
      () => [
        ['code', 'abcdefghijkl'],
        ['state', 'nobody-knows-this-state'],
        ['iss', 'https://evil.example'],
      ],
      'transaction_not_found',
    ],
    [
      'iss before the provider error',
      (s: string) => [
        ['error', 'access_denied'],
        ['state', s],
        ['iss', 'https://evil.example'],
      ],
      'issuer_mismatch',
    ],
    [
      'missing iss before the provider error',
      (s: string) => [
        ['error', 'access_denied'],
        ['state', s],
      ],
      'issuer_missing',
    ],
    [
      'iss before the code',
      (s: string) => [
        ['code', 'bad code!'],
        ['state', s],
        ['iss', 'https://evil.example'],
      ],
      'issuer_mismatch',
    ],
    [
      'provider error before the (missing) code',
      (s: string) => [
        ['error', 'server_error'],
        ['state', s],
        ['iss', ISSUER],
      ],
      'provider_error',
    ],
  ] as const)('%s', async (_name, params, code) => {
    const tx = await startLogin();
    const error = await failure(validate(callbackUrl(params(tx.state) as [string, string][])));
    expect(error.code).toBe(code);
  });
});

describe('callback input', () => {
  it('takes a URL, URLSearchParams, a full URL string or a path with its query', async () => {
    const inputs = [
      (u: string) => new URL(u),
      (u: string) => new URL(u).searchParams,
      (u: string) => u,
      (u: string) => {
        const url = new URL(u);
        return url.pathname + url.search;
      },
      (u: string) => new URL(u).search,
    ];
    for (const input of inputs) {
      const tx = await startLogin();
      const code = newCode();
      expect((await validate(input(success(tx, code)))).code).toBe(code);
    }
  });
});

// ---- Steps 6–8: completeCallback ----

describe('step 6: the code exchange', () => {
  it('POSTs grant_type, code, redirect_uri, code_verifier with Basic client authentication', async () => {
    const tx = await startLogin({ returnTo: '/account' });
    const code = newCode();
    const body = await tokens(tx);
    tokenEndpoint(tx, code, body);
    const before = Date.now();
    const result = await completeCallback(context(), await validate(success(tx, code)));

    expect(tokenRequests).toHaveLength(1);
    const [seen] = tokenRequests;
    expect(seen?.method).toBe('POST');
    expect(seen?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen?.headers.accept).toBe('application/json');
    expect(basicAuthOk(seen!)).toBe(true);
    expect(seen?.form).toEqual({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: tx.codeVerifier,
    });

    expect(result.tokens).toMatchObject({
      accessToken: body.access_token,
      tokenType: 'Bearer',
      expiresIn: 300,
      refreshToken: body.refresh_token,
      idToken: body.id_token,
      scope: 'openid profile email',
    });
    expect(result.tokens.expiresAt).toBeGreaterThanOrEqual(before + 300_000);
    expect(result.claims).toMatchObject({
      iss: ISSUER,
      sub: 'user-42',
      aud: CLIENT_ID,
      nonce: tx.nonce,
    });
    expect(result.returnTo).toBe('/account');
  });

  it('has no returnTo when the transaction had none', async () => {
    const tx = await startLogin();
    const code = newCode();
    tokenEndpoint(tx, code, await tokens(tx));
    const result = await completeCallback(context(), await validate(success(tx, code)));
    expect('returnTo' in result).toBe(false);
  });

  it.each<[string, ClientAuthentication, (seen: Seen) => boolean]>([
    [
      'client_secret_post',
      { method: 'client_secret_post', secret: SECRET },
      (s) =>
        s.form['client_id'] === CLIENT_ID &&
        s.form['client_secret'] === SECRET &&
        s.headers.authorization === undefined,
    ],
    [
      'none (public client)',
      { method: 'none' },
      (s) =>
        s.form['client_id'] === CLIENT_ID &&
        s.form['client_secret'] === undefined &&
        s.headers.authorization === undefined,
    ],
  ])('authenticates with %s', async (_name, auth, check) => {
    const tx = await startLogin();
    const code = newCode();
    tokenEndpoint(tx, code, await tokens(tx), check);
    const result = await completeCallback(context({ auth }), await validate(success(tx, code)));
    expect(result.claims.sub).toBe('user-42');
  });

  it('authenticates with private_key_jwt: an assertion for the issuer', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const tx = await startLogin();
    const code = newCode();
    tokenEndpoint(
      tx,
      code,
      await tokens(tx),
      (s) => s.form['client_assertion'] !== undefined && s.headers.authorization === undefined,
    );
    await completeCallback(
      context({ auth: { method: 'private_key_jwt', key: { key: privateKey, alg: 'ES256' } } }),
      await validate(success(tx, code)),
    );
    const { payload } = await jwtVerify(tokenRequests[0]!.form['client_assertion']!, publicKey, {
      issuer: CLIENT_ID,
      subject: CLIENT_ID,
      audience: ISSUER,
    });
    expect(payload.exp! - payload.iat!).toBe(60);
  });

  it('exchanges a validated callback once: a second completeCallback never reaches the provider', async () => {
    const tx = await startLogin();
    const code = newCode();
    tokenEndpoint(tx, code, await tokens(tx));
    const callback = await validate(success(tx, code));
    await completeCallback(context(), callback);
    const error = await failure(completeCallback(context(), callback));
    expect(error.code).toBe('config_invalid');
    expect(error.message).toMatch(/already exchanged; a code works once/);
    expect(tokenRequests).toHaveLength(1);
  });

  it('does not exchange again after a failed exchange either', async () => {
    const tx = await startLogin();
    const code = newCode();
    tokenHandler = (_seen, res) => answer(res, 503, { error: 'temporarily_unavailable' });
    const callback = await validate(success(tx, code));
    expect((await failure(completeCallback(context(), callback))).code).toBe(
      'token_endpoint_error',
    );
    expect((await failure(completeCallback(context(), callback))).code).toBe('config_invalid');
    expect(tokenRequests).toHaveLength(1);
  });

  it('refuses a hand-made callback, or a copy of a validated one, without a request', async () => {
    const tx = await startLogin();
    const code = newCode();
    const handMade: ValidatedCallback = { code, transaction: tx };
    const error = await failure(completeCallback(context(), handMade));
    expect(error.code).toBe('config_invalid');
    expect(error.message).toBe('only a callback from validateCallback can be exchanged');
    const copy = { ...(await validate(success(tx, code))) };
    expect((await failure(completeCallback(context(), copy))).code).toBe('config_invalid');
    expect(tokenRequests).toHaveLength(0);
  });

  it('turns an RFC 6749 §5.2 answer into a TokenEndpointError, and does not retry', async () => {
    const tx = await startLogin();
    const code = newCode();
    tokenEndpoint(tx, `${code}-other`, await tokens(tx));
    const error = await failure(completeCallback(context(), await validate(success(tx, code))));
    expect(error).toBeInstanceOf(TokenEndpointError);
    const e = error as TokenEndpointError;
    expect(e.status).toBe(400);
    expect(e.error).toBe('invalid_grant');
    expect(e.hint).toMatch(/start a new login/);
    expect(e.retryable).toBe(false);
    expect(tokenRequests).toHaveLength(1);
  });

  it('gives a retryable TokenEndpointError for a 503, still with one request', async () => {
    const tx = await startLogin();
    tokenHandler = (_seen, res) => answer(res, 503, { error: 'temporarily_unavailable' });
    const error = await failure(
      completeCallback(context(), await validate(success(tx, newCode()))),
    );
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error.retryable).toBe(true);
    expect(tokenRequests).toHaveLength(1);
  });

  it('gives network_timeout when the token endpoint hangs', async () => {
    const tx = await startLogin();
    tokenHandler = () => undefined;
    const error = await failure(
      completeCallback(
        context({ http: { fetch: globalThis.fetch, timeoutMs: 150 } }),
        await validate(success(tx, newCode())),
      ),
    );
    expect(error.code).toBe('network_timeout');
    expect(tokenRequests).toHaveLength(1);
  });
});

describe('steps 7 and 8: the token response and the ID token', () => {
  async function complete(tx: Transaction, body: Record<string, unknown>) {
    const code = newCode();
    tokenEndpoint(tx, code, body);
    return completeCallback(context(), await validate(success(tx, code)));
  }

  it('refuses a token response without id_token (token_response_invalid)', async () => {
    const tx = await startLogin();
    const { id_token: _dropped, ...body } = await tokens(tx);
    const error = await failure(complete(tx, body));
    expect(error.code).toBe('token_response_invalid');
    expect(error.message).toBe('the token response has no id_token');
  });

  it('refuses a token_type other than Bearer', async () => {
    const tx = await startLogin();
    const error = await failure(complete(tx, await tokens(tx, {}, { token_type: 'DPoP' })));
    expect(error.code).toBe('token_response_invalid');
  });

  it.each<[string, JWTPayload, string]>([
    ['another nonce', { nonce: 'not-the-nonce-sent' }, 'nonce'],
    ['no nonce', { nonce: undefined }, 'nonce'],
    ['another audience', { aud: 'other-app' }, 'aud'],
    ['another issuer', { iss: 'https://evil.example' }, 'iss'],
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 120 }, 'exp'],
    ['a wrong at_hash', { at_hash: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, 'at_hash'],
  ])('refuses an ID token with %s (IdTokenError %s)', async (_name, claims, check) => {
    const tx = await startLogin();
    const error = await failure(complete(tx, await tokens(tx, claims)));
    expect(error).toBeInstanceOf(IdTokenError);
    expect(error.code).toBe('id_token_invalid');
    expect((error as IdTokenError).check).toBe(check);
  });

  it('refuses an ID token signed with a key the provider does not publish', async () => {
    const tx = await startLogin();
    const body = await tokens(tx);
    body.id_token = await idToken(tx, {}, strangerKey);
    const error = await failure(complete(tx, body));
    expect((error as IdTokenError).check).toBe('signature');
  });

  it('checks auth_time against the max_age the transaction recorded', async () => {
    const tx = await startLogin({ maxAge: 60 });
    const missing = await failure(complete(tx, await tokens(tx)));
    expect((missing as IdTokenError).check).toBe('auth_time');
    const old = await startLogin({ maxAge: 60 });
    const stale = await failure(
      complete(old, await tokens(old, { auth_time: Math.floor(Date.now() / 1000) - 600 })),
    );
    expect((stale as IdTokenError).check).toBe('auth_time');
    const fresh = await startLogin({ maxAge: 60 });
    const result = await complete(
      fresh,
      await tokens(fresh, { auth_time: Math.floor(Date.now() / 1000) - 5 }),
    );
    expect(result.claims.auth_time).toBeTypeOf('number');
  });
});

// ---- Step 9: handleCallback and its events ----

describe('step 9: handleCallback and its authentication events', () => {
  const events = () => logs.map((l) => ({ level: l.level, ...l.fields }));

  it('logs callback_received then login_succeeded with the sub', async () => {
    const tx = await startLogin();
    const code = newCode();
    tokenEndpoint(tx, code, await tokens(tx));
    const result = await handleCallback(context(), success(tx, code), lookup);
    expect(result.claims.sub).toBe('user-42');
    expect(events()).toEqual([
      { level: 'info', event: 'callback_received', issuer: ISSUER, clientId: CLIENT_ID },
      {
        level: 'info',
        event: 'login_succeeded',
        issuer: ISSUER,
        clientId: CLIENT_ID,
        sub: 'user-42',
      },
    ]);
    expect(logs.map((l) => l.message)).toEqual(['login callback received', 'login succeeded']);
  });

  it.each<[string, (tx: Transaction, code: string) => Promise<string>, Record<string, unknown>]>([
    [
      'a duplicated parameter',
      async (tx, code) => `${success(tx, code)}&code=${code}`,
      { reason: 'callback_duplicate_parameter' },
    ],
    [
      'an unknown state',
      async (_tx, code) =>
        callbackUrl([
          ['code', code],
          ['state', 'forged-state'],
        ]),
      { reason: 'transaction_not_found' },
    ],
    [
      'a mix-up',
      async (tx, code) =>
        callbackUrl([
          ['code', code],
          ['state', tx.state],
          ['iss', 'https://evil.example'],
        ]),
      { reason: 'issuer_mismatch' },
    ],
    [
      'a provider error',
      async (tx) =>
        callbackUrl([
          ['error', 'access_denied'],
          ['error_description', 'denied'],
          ['state', tx.state],
          ['iss', ISSUER],
        ]),
      { reason: 'provider_error', error: 'access_denied' },
    ],
    ['a malformed code', async (tx) => success(tx, 'short'), { reason: 'code_malformed' }],
    [
      'a refused code',
      async (tx, code) => {
        tokenEndpoint(tx, 'another-code-entirely', await tokens(tx));
        return success(tx, code);
      },
      { reason: 'token_endpoint_error', error: 'invalid_grant' },
    ],
    [
      'an ID token with another nonce',
      async (tx, code) => {
        tokenEndpoint(tx, code, await tokens(tx, { nonce: 'replayed-nonce' }));
        return success(tx, code);
      },
      { reason: 'id_token_invalid', check: 'nonce' },
    ],
    [
      'no ID token',
      async (tx, code) => {
        const { id_token: _dropped, ...body } = await tokens(tx);
        tokenEndpoint(tx, code, body);
        return success(tx, code);
      },
      { reason: 'token_response_invalid' },
    ],
  ])('logs login_failed with the reason for %s, and rethrows', async (_name, make, expected) => {
    const tx = await startLogin();
    const code = newCode();
    const url = await make(tx, code);
    const error = await failure(handleCallback(context(), url, lookup));
    expect(error.code).toBe(expected['reason']);
    expect(events()).toEqual([
      { level: 'info', event: 'callback_received', issuer: ISSUER, clientId: CLIENT_ID },
      { level: 'warn', event: 'login_failed', issuer: ISSUER, clientId: CLIENT_ID, ...expected },
    ]);
    expect(logs[1]?.message).toBe('login failed');
  });

  it('never logs a code, state, verifier, nonce, token or secret', async () => {
    // The afterEach check holds for every test; this one makes sure it has something to find.
    const tx = await startLogin();
    const code = newCode();
    const body = await tokens(tx);
    tokenEndpoint(tx, code, body);
    await handleCallback(context(), success(tx, code), lookup);
    const failed = await startLogin();
    await failure(handleCallback(context(), success(failed, newCode()), lookup));
    const logged = JSON.stringify(logs);
    expect(logs).toHaveLength(4);
    for (const value of [
      code,
      tx.state,
      tx.codeVerifier!,
      tx.nonce!,
      body.access_token,
      body.refresh_token,
      body.id_token,
      SECRET,
      failed.state,
    ]) {
      expect(logged).not.toContain(value);
    }
  });

  it('a logger that throws does not change the outcome', async () => {
    const broken: AuthLogger = {
      info: () => {
        throw new Error('log sink down');
      },
      warn: () => {
        throw new Error('log sink down');
      },
    };
    const tx = await startLogin();
    const code = newCode();
    tokenEndpoint(tx, code, await tokens(tx));
    const ctx = context({ events: authEvents(broken) });
    expect((await handleCallback(ctx, success(tx, code), lookup)).claims.sub).toBe('user-42');
    const error = await failure(handleCallback(ctx, success(await startLogin(), 'short'), lookup));
    expect(error.code).toBe('code_malformed');
  });

  it('works without a logger', async () => {
    const tx = await startLogin();
    const code = newCode();
    tokenEndpoint(tx, code, await tokens(tx));
    const ctx = context({ events: authEvents(undefined) });
    expect((await handleCallback(ctx, success(tx, code), lookup)).claims.sub).toBe('user-42');
    expect(logs).toHaveLength(0);
  });
});
