/**
 * Building authorization requests: PKCE, state and nonce, signed request objects (JAR) and
 * pushed requests (PAR), the PAR endpoint being a real HTTP server on loopback (no fetch mocks).
 */
import { createHash } from 'node:crypto';
import { decodeProtectedHeader, generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  type AuthorizationContext,
  type AuthorizationOptions,
  buildAuthorizationRequest,
} from './authorize.js';
import type { ProviderMetadata } from './discovery.js';
import { ClientError } from './errors.js';
import { answerJson, serve, useLoopbackServer } from './loopback.suite.js';
import { JWT_BEARER } from './token.js';

useLoopbackServer();

const ISSUER = 'https://idp.example';
const CLIENT_ID = 'web-app';
const SECRET = 'a-client-secret-that-is-long-enough';
const REDIRECT = 'https://app.example/callback';
const NOW = 1_700_000_000_000;

const metadata = (extra: Partial<ProviderMetadata> = {}): ProviderMetadata => ({
  issuer: ISSUER,
  authorization_endpoint: `${ISSUER}/v1/oauth/authorize?tenant=blue`,
  token_endpoint: `${ISSUER}/v1/oauth/token`,
  jwks_uri: `${ISSUER}/.well-known/jwks.json`,
  raw: {},
  ...extra,
});

/** A public client's context (no signing, no pushing) unless overridden. */
function context(extra: Partial<AuthorizationContext> = {}): AuthorizationContext {
  return {
    issuer: ISSUER,
    clientId: CLIENT_ID,
    redirectUri: REDIRECT,
    defaultScope: 'profile email',
    metadata: metadata(),
    auth: { method: 'none' },
    signRequests: false,
    pushRequests: false,
    transactionTtlMs: 15 * 60_000,
    http: { fetch: globalThis.fetch, timeoutMs: 2000 },
    now: () => NOW,
    ...extra,
  };
}

const build = (ctx: AuthorizationContext, options?: AuthorizationOptions) =>
  buildAuthorizationRequest(ctx, options);

async function failure(promise: Promise<unknown>): Promise<ClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClientError);
  return error as ClientError;
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
const params = (url: URL) => Object.fromEntries(url.searchParams);
const BASE64URL_43 = /^[A-Za-z0-9_-]{43,}$/;

describe('plain authorization requests', () => {
  it('carries response_type, client_id, redirect_uri, scope, state, nonce and an S256 challenge', async () => {
    const { url, transaction } = await build(context());
    expect(url.origin + url.pathname).toBe(`${ISSUER}/v1/oauth/authorize`);
    expect(params(url)).toEqual({
      tenant: 'blue',
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT,
      scope: 'openid profile email',
      state: transaction.state,
      nonce: transaction.nonce,
      code_challenge: s256(transaction.codeVerifier!),
      code_challenge_method: 'S256',
    });
    expect(transaction.state).toMatch(BASE64URL_43);
    expect(transaction.nonce).toMatch(BASE64URL_43);
    expect(transaction.codeVerifier).toMatch(BASE64URL_43);
    expect(new Set([transaction.state, transaction.nonce, transaction.codeVerifier]).size).toBe(3);
    // The verifier itself never goes to the browser.
    expect(url.href).not.toContain(transaction.codeVerifier);
  });

  it('makes new state, nonce and verifier for every request', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const { transaction } = await build(context());
      seen.add(transaction.state).add(transaction.nonce!).add(transaction.codeVerifier!);
    }
    expect(seen.size).toBe(15);
  });

  it.each([
    ['profile email', 'openid profile email'],
    ['openid', 'openid'],
    ['email openid', 'email openid'],
    ['', 'openid'],
    ['  profile   offline_access ', 'openid profile offline_access'],
  ])('scope %j → %j', async (scope, expected) => {
    const { url } = await build(context(), { scope });
    expect(url.searchParams.get('scope')).toBe(expected);
  });

  it('uses the default scope, always with openid', async () => {
    const { url } = await build(context({ defaultScope: 'email' }));
    expect(url.searchParams.get('scope')).toBe('openid email');
  });

  it('adds prompt, max_age, login_hint and extra parameters', async () => {
    const { url } = await build(context(), {
      prompt: 'login',
      maxAge: 0,
      loginHint: 'ana@example.com',
      extra: { ui_locales: 'es en', acr_values: 'urn:mace:incommon:iap:silver' },
    });
    expect(url.searchParams.get('prompt')).toBe('login');
    expect(url.searchParams.get('max_age')).toBe('0');
    expect(url.searchParams.get('login_hint')).toBe('ana@example.com');
    expect(url.searchParams.get('ui_locales')).toBe('es en');
    expect(url.searchParams.get('acr_values')).toBe('urn:mace:incommon:iap:silver');
  });

  it.each([
    'response_type',
    'client_id',
    'redirect_uri',
    'scope',
    'state',
    'nonce',
    'code_challenge',
    'code_challenge_method',
    'request',
    'request_uri',
  ])('refuses an extra %s (config_invalid): it cannot override the toolkit', async (name) => {
    const error = await failure(build(context(), { extra: { [name]: 'attacker' } }));
    expect(error.code).toBe('config_invalid');
    expect(error.message).toBe(`extra parameter ${name} is set by the toolkit itself`);
  });

  it('records what the callback needs in the transaction', async () => {
    const { transaction } = await build(context({ transactionTtlMs: 300_000 }), {
      maxAge: 600,
      returnTo: '/account?tab=2',
    });
    expect(transaction).toEqual({
      state: expect.any(String),
      issuer: ISSUER,
      redirectUri: REDIRECT,
      nonce: expect.any(String),
      codeVerifier: expect.any(String),
      maxAge: 600,
      returnTo: '/account?tab=2',
      createdAt: NOW,
      expiresAt: NOW + 300_000,
    });
  });

  it('leaves maxAge and returnTo out of the transaction when not given', async () => {
    const { transaction } = await build(context());
    expect('maxAge' in transaction).toBe(false);
    expect('returnTo' in transaction).toBe(false);
  });
});

describe('signed requests (JAR, RFC 9101)', () => {
  const confidential = (extra: Partial<AuthorizationContext> = {}) =>
    context({
      auth: { method: 'client_secret_basic', secret: SECRET },
      signRequests: true,
      ...extra,
    });

  /** The request object, verified, with checks every request object must pass. */
  async function requestObject(url: URL, key: Parameters<typeof jwtVerify>[1], alg: string) {
    const { tenant: _tenant, ...query } = params(url);
    expect(query).toEqual({ client_id: CLIENT_ID, request: expect.any(String) });
    const { payload, protectedHeader } = await jwtVerify(query['request']!, key as Uint8Array, {
      algorithms: [alg],
      issuer: CLIENT_ID,
      audience: ISSUER,
      typ: 'oauth-authz-req+jwt',
      currentDate: new Date(NOW),
    });
    expect(payload.iat).toBe(NOW / 1000);
    expect(payload.exp! - payload.iat!).toBeGreaterThan(0);
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(300);
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    return { payload, protectedHeader };
  }

  it('signs with the client secret (HS256): only client_id and request in the URL', async () => {
    const { url, transaction } = await build(confidential(), {
      maxAge: 300,
      prompt: 'consent',
      extra: { ui_locales: 'fr' },
    });
    const { payload, protectedHeader } = await requestObject(
      url,
      new TextEncoder().encode(SECRET),
      'HS256',
    );
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'oauth-authz-req+jwt' });
    expect(payload).toMatchObject({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT,
      scope: 'openid profile email',
      state: transaction.state,
      nonce: transaction.nonce,
      code_challenge: s256(transaction.codeVerifier!),
      code_challenge_method: 'S256',
      prompt: 'consent',
      ui_locales: 'fr',
    });
    // A number inside the JWT (OpenID Connect Core §6.1), not the query string's "300".
    expect(payload['max_age']).toBe(300);
    expect(payload['code_verifier']).toBeUndefined();
    await expect(
      jwtVerify(url.searchParams.get('request')!, new TextEncoder().encode(`${SECRET}!`), {
        currentDate: new Date(NOW),
      }),
    ).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it('signs with the request key when one is configured (kid in the header)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA');
    const { url, transaction } = await build(
      confidential({
        auth: { method: 'private_key_jwt', key: { key: privateKey, alg: 'EdDSA', kid: 'rk1' } },
        requestKey: { key: privateKey, alg: 'EdDSA', kid: 'rk1' },
      }),
    );
    const { payload, protectedHeader } = await requestObject(url, publicKey, 'EdDSA');
    expect(protectedHeader).toEqual({ alg: 'EdDSA', typ: 'oauth-authz-req+jwt', kid: 'rk1' });
    expect(payload['state']).toBe(transaction.state);
    expect(payload['max_age']).toBeUndefined();
  });

  it('signs with ES256 and no kid', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const { url } = await build(confidential({ requestKey: { key: privateKey, alg: 'ES256' } }));
    const { protectedHeader } = await requestObject(url, publicKey, 'ES256');
    expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'oauth-authz-req+jwt' });
  });

  it('gives every request object its own jti', async () => {
    const a = await build(confidential());
    const b = await build(confidential());
    const jti = async (url: URL) =>
      (
        await jwtVerify(url.searchParams.get('request')!, new TextEncoder().encode(SECRET), {
          currentDate: new Date(NOW),
        })
      ).payload.jti;
    expect(await jti(a.url)).not.toBe(await jti(b.url));
  });

  it('signs when the provider metadata says require_signed_request_object', async () => {
    const { url } = await build(
      confidential({
        signRequests: false,
        metadata: metadata({ require_signed_request_object: true }),
      }),
    );
    await requestObject(url, new TextEncoder().encode(SECRET), 'HS256');
  });

  it('does not sign when neither the client nor the provider asks', async () => {
    const { url } = await build(
      confidential({
        signRequests: false,
        metadata: metadata({ require_signed_request_object: false }),
      }),
    );
    expect(url.searchParams.has('request')).toBe(false);
    expect(url.searchParams.get('response_type')).toBe('code');
  });

  it('refuses to sign without a secret or a request key (config_invalid)', async () => {
    const error = await failure(build(context({ signRequests: true })));
    expect(error.code).toBe('config_invalid');
    expect(error.message).toMatch(/client secret \(HS256\) or a request signing key/);
  });
});

describe('pushed requests (PAR, RFC 9126)', () => {
  const REQUEST_URI = 'urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c';

  /** A PAR endpoint that checks client_secret_basic and answers 201 with a request_uri. */
  function goodPar() {
    return serve((req, res) => {
      const expected = `Basic ${Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        answerJson(401, { error: 'invalid_client' })(req, res, '');
        return;
      }
      answerJson(201, { request_uri: REQUEST_URI, expires_in: 60 })(req, res, '');
    });
  }

  const pushing = (par: string, extra: Partial<AuthorizationContext> = {}) =>
    context({
      auth: { method: 'client_secret_basic', secret: SECRET },
      pushRequests: true,
      metadata: metadata({ pushed_authorization_request_endpoint: par }),
      ...extra,
    });

  it('pushes the parameters with client authentication; the URL carries client_id and request_uri', async () => {
    const par = goodPar();
    const { url, transaction } = await build(pushing(par.url), { loginHint: 'ana' });
    const { tenant: _tenant, ...query } = params(url);
    expect(query).toEqual({ client_id: CLIENT_ID, request_uri: REQUEST_URI });
    expect(par.requests).toHaveLength(1);
    const [seen] = par.requests;
    expect(seen?.method).toBe('POST');
    expect(seen?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen?.form).toEqual({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT,
      scope: 'openid profile email',
      state: transaction.state,
      nonce: transaction.nonce,
      code_challenge: s256(transaction.codeVerifier!),
      code_challenge_method: 'S256',
      login_hint: 'ana',
    });
  });

  it('pushes a signed request object when signing too', async () => {
    const par = goodPar();
    const { url, transaction } = await build(pushing(par.url, { signRequests: true }));
    expect(url.searchParams.get('request_uri')).toBe(REQUEST_URI);
    expect(url.searchParams.has('request')).toBe(false);
    const form = par.requests[0]!.form;
    expect(Object.keys(form).sort()).toEqual(['client_id', 'request']);
    const { payload } = await jwtVerify(form['request']!, new TextEncoder().encode(SECRET), {
      issuer: CLIENT_ID,
      audience: ISSUER,
      currentDate: new Date(NOW),
    });
    expect(payload['state']).toBe(transaction.state);
  });

  it('authenticates with private_key_jwt at the PAR endpoint', async () => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA');
    const par = serve(answerJson(201, { request_uri: REQUEST_URI, expires_in: 60 }));
    await build(
      pushing(par.url, {
        auth: { method: 'private_key_jwt', key: { key: privateKey, alg: 'EdDSA', kid: 'k' } },
      }),
    );
    const form = par.requests[0]!.form;
    expect(form['client_assertion_type']).toBe(JWT_BEARER);
    expect(form['client_secret']).toBeUndefined();
    expect(par.requests[0]!.headers.authorization).toBeUndefined();
    const { payload } = await jwtVerify(form['client_assertion']!, publicKey, {
      issuer: CLIENT_ID,
      subject: CLIENT_ID,
      audience: ISSUER,
      currentDate: new Date(NOW),
    });
    expect(payload.exp! - payload.iat!).toBe(60);
    expect(decodeProtectedHeader(form['client_assertion']!).kid).toBe('k');
  });

  it('pushes when the provider requires it, even if the client did not ask', async () => {
    const par = goodPar();
    const { url } = await build(
      pushing(par.url, {
        pushRequests: false,
        metadata: metadata({
          pushed_authorization_request_endpoint: par.url,
          require_pushed_authorization_requests: true,
        }),
      }),
    );
    expect(url.searchParams.get('request_uri')).toBe(REQUEST_URI);
    expect(par.requests).toHaveLength(1);
  });

  it('accepts a 200 as well as a 201', async () => {
    const par = serve(answerJson(200, { request_uri: REQUEST_URI, expires_in: 60 }));
    const { url } = await build(pushing(par.url));
    expect(url.searchParams.get('request_uri')).toBe(REQUEST_URI);
  });

  it('fails with par_failed on an OAuth error, naming it', async () => {
    const par = serve(
      answerJson(400, {
        error: 'invalid_request',
        error_description: 'redirect_uri not registered',
      }),
    );
    const error = await failure(build(pushing(par.url)));
    expect(error.code).toBe('par_failed');
    expect(error.message).toBe(
      'the PAR endpoint answered 400 invalid_request (redirect_uri not registered)',
    );
    expect(error.retryable).toBe(false);
  });

  it('fails with par_failed when client authentication is refused', async () => {
    const par = goodPar();
    const error = await failure(
      build(pushing(par.url, { auth: { method: 'client_secret_basic', secret: 'wrong' } })),
    );
    expect(error.code).toBe('par_failed');
    expect(error.message).toMatch(/401 invalid_client/);
    expect(error.message).not.toContain('wrong');
  });

  it('fails with par_failed (retryable) on a 500', async () => {
    const par = serve(answerJson(500, '<h1>down</h1>', { 'content-type': 'text/html' }));
    const error = await failure(build(pushing(par.url)));
    expect(error.code).toBe('par_failed');
    expect(error.message).toBe('the PAR endpoint answered 500');
    expect(error.retryable).toBe(true);
  });

  it.each([
    ['no request_uri', { expires_in: 60 }],
    ['an empty request_uri', { request_uri: '', expires_in: 60 }],
    ['a numeric request_uri', { request_uri: 42 }],
    ['not JSON', '<html>ok</html>'],
  ])('fails with par_failed on a 201 with %s', async (_name, body) => {
    const par = serve(
      answerJson(201, body, typeof body === 'string' ? { 'content-type': 'text/html' } : {}),
    );
    const error = await failure(build(pushing(par.url)));
    expect(error.code).toBe('par_failed');
    expect(error.message).toBe('the PAR response has no request_uri');
  });

  it('fails with par_failed on an oversized answer, and network_timeout when it hangs', async () => {
    const big = serve(answerJson(201, { request_uri: REQUEST_URI, pad: 'x'.repeat(2_000_000) }));
    expect((await failure(build(pushing(big.url)))).code).toBe('par_failed');
    const hanging = serve(() => undefined);
    const error = await failure(
      build(pushing(hanging.url, { http: { fetch: globalThis.fetch, timeoutMs: 100 } })),
    );
    expect(error.code).toBe('network_timeout');
  });

  it('refuses to push without a PAR endpoint (config_invalid)', async () => {
    const error = await failure(build(context({ pushRequests: true })));
    expect(error.code).toBe('config_invalid');
    expect(error.message).toMatch(/pushed_authorization_request_endpoint/);
  });
});
