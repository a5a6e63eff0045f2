/**
 * Client authentication and the token endpoint's answers, against a real HTTP server on loopback
 * that answers crafted responses (no fetch mocks).
 */
import { decodeProtectedHeader, generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { ClientError, TokenEndpointError } from './errors.js';
import type { HttpOptions } from './http.js';
import { answerJson, type Handler, serve, useLoopbackServer } from './loopback.suite.js';
import {
  type ClientAuthentication,
  type Credentials,
  credentials,
  JWT_BEARER,
  parseTokenResponse,
  tokenRequest,
} from './token.js';

useLoopbackServer();

/** Answers `status` with `body` as JSON (a string as is), with the token endpoint's no-store. */
function answer(status: number, body: unknown, headers: Record<string, string> = {}): Handler {
  return answerJson(status, body, { 'cache-control': 'no-store', ...headers });
}

const http: HttpOptions = { fetch: globalThis.fetch, timeoutMs: 2000 };
const NOW = 1_700_000_000_123;
const ISSUER = 'https://idp.example';
const CLIENT_ID = 'web-app';
const noCreds: Credentials = { params: {}, headers: {} };
const GOOD = { access_token: 'at-SECRET-1', token_type: 'Bearer' };

async function failure(promise: Promise<unknown>): Promise<ClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClientError);
  return error as ClientError;
}

/** What the token request gives for a crafted answer. */
function exchange(handler: Handler, now = NOW) {
  const e = serve(handler);
  return tokenRequest(e.url, { grant_type: 'authorization_code' }, noCreds, http, () => now);
}

describe('parseTokenResponse: error answers', () => {
  it('turns a 400 with an RFC 6749 §5.2 body into a TokenEndpointError', async () => {
    const error = await failure(
      exchange(
        answer(400, {
          error: 'invalid_request',
          error_description: 'code_verifier is required',
          error_uri: 'https://idp.example/errors#invalid_request',
        }),
      ),
    );
    expect(error).toBeInstanceOf(TokenEndpointError);
    const e = error as TokenEndpointError;
    expect(e.code).toBe('token_endpoint_error');
    expect(e.status).toBe(400);
    expect(e.error).toBe('invalid_request');
    expect(e.errorDescription).toBe('code_verifier is required');
    expect(e.errorUri).toBe('https://idp.example/errors#invalid_request');
    expect(e.retryable).toBe(false);
    expect(e.hint).toBeUndefined();
    expect(e.message).toBe(
      'the token endpoint answered 400 invalid_request (code_verifier is required)',
    );
  });

  it('gives a hint for invalid_grant and invalid_client', async () => {
    const grant = (await failure(
      exchange(answer(400, { error: 'invalid_grant' })),
    )) as TokenEndpointError;
    expect(grant.error).toBe('invalid_grant');
    expect(grant.hint).toMatch(/already used, has expired.*start a new login/);
    expect(grant.retryable).toBe(false);
    expect(grant.errorDescription).toBeUndefined();
    const client = (await failure(
      exchange(
        answer(
          401,
          { error: 'invalid_client' },
          { 'www-authenticate': 'Basic realm="idp", error="invalid_client"' },
        ),
      ),
    )) as TokenEndpointError;
    expect(client.status).toBe(401);
    expect(client.hint).toMatch(/client_id, the client secret or key/);
  });

  it.each([
    [503, 'temporarily_unavailable', true],
    [400, 'temporarily_unavailable', true],
    [500, 'server_error', true],
    [400, 'unsupported_grant_type', false],
    [403, 'unauthorized_client', false],
  ])('HTTP %i %s → retryable %s', async (status, error, retryable) => {
    const e = (await failure(exchange(answer(status, { error })))) as TokenEndpointError;
    expect(e).toBeInstanceOf(TokenEndpointError);
    expect(e.status).toBe(status);
    expect(e.retryable).toBe(retryable);
  });

  it('drops error_description and error_uri that are not strings', async () => {
    const e = (await failure(
      exchange(answer(400, { error: 'invalid_grant', error_description: 7, error_uri: {} })),
    )) as TokenEndpointError;
    expect(e.errorDescription).toBeUndefined();
    expect(e.errorUri).toBeUndefined();
  });

  it('gives token_response_invalid for an answer without an OAuth error (retryable for 5xx)', async () => {
    const html = await failure(
      exchange(answer(500, '<h1>Internal Server Error</h1>', { 'content-type': 'text/html' })),
    );
    expect(html).not.toBeInstanceOf(TokenEndpointError);
    expect(html.code).toBe('token_response_invalid');
    expect(html.retryable).toBe(true);
    expect(html.message).toBe('the token endpoint answered HTTP 500 without an OAuth error');
    const bad = await failure(exchange(answer(400, { error: 42 })));
    expect(bad.code).toBe('token_response_invalid');
    expect(bad.retryable).toBe(false);
    const elsewhere = serve(answer(200, GOOD)).url;
    const redirect = await failure(exchange(answer(302, '', { location: elsewhere })));
    expect(redirect.code).toBe('token_response_invalid');
    expect(redirect.message).toMatch(/HTTP 302/);
  });

  it('names the endpoint it was given', () => {
    const error = (() => {
      try {
        parseTokenResponse(
          { status: 400, headers: new Headers(), json: { error: 'invalid_grant' } },
          NOW,
          'refresh',
        );
      } catch (e) {
        return e as TokenEndpointError;
      }
    })();
    expect(error?.message).toBe('the refresh endpoint answered 400 invalid_grant');
  });
});

describe('parseTokenResponse: a 200 answer', () => {
  it('types a full answer and computes expiresAt from the clock', async () => {
    const tokens = await exchange(
      answer(200, {
        access_token: 'at-SECRET-1',
        token_type: 'Bearer',
        expires_in: 3600,
        refresh_token: 'rt-SECRET-1',
        id_token: 'a.b.c',
        scope: 'openid profile',
        extra: 'ignored',
      }),
    );
    expect(tokens).toEqual({
      accessToken: 'at-SECRET-1',
      tokenType: 'Bearer',
      expiresIn: 3600,
      expiresAt: NOW + 3_600_000,
      refreshToken: 'rt-SECRET-1',
      idToken: 'a.b.c',
      scope: 'openid profile',
    });
  });

  it('keeps only what was sent: no expires_in means no expiresAt', async () => {
    expect(await exchange(answer(200, GOOD))).toEqual({
      accessToken: 'at-SECRET-1',
      tokenType: 'Bearer',
    });
  });

  it('accepts expires_in 0 and an empty scope', async () => {
    const tokens = await exchange(answer(200, { ...GOOD, expires_in: 0, scope: '' }));
    expect(tokens.expiresAt).toBe(NOW);
    expect(tokens.scope).toBe('');
  });

  it.each(['bearer', 'BEARER', 'bEaReR'])('accepts token_type %s as Bearer', async (type) => {
    const tokens = await exchange(answer(200, { ...GOOD, token_type: type }));
    expect(tokens.tokenType).toBe('Bearer');
  });

  it.each([
    ['mac', { ...GOOD, token_type: 'mac' }, /token_type "mac"; expected Bearer/],
    ['DPoP', { ...GOOD, token_type: 'DPoP' }, /token_type "DPoP"/],
    ['no token_type', { access_token: 'at-SECRET-1' }, /token_type undefined/],
    ['token_type 1', { ...GOOD, token_type: 1 }, /token_type 1/],
    ['no access_token', { token_type: 'Bearer' }, /no access_token string/],
    ['empty access_token', { ...GOOD, access_token: '' }, /no access_token string/],
    ['numeric access_token', { ...GOOD, access_token: 12345 }, /no access_token string/],
    ['expires_in as a string', { ...GOOD, expires_in: '3600' }, /expires_in/],
    ['negative expires_in', { ...GOOD, expires_in: -1 }, /expires_in/],
    ['null expires_in', { ...GOOD, expires_in: null }, /expires_in/],
    ['numeric id_token', { ...GOOD, id_token: 123 }, /id_token that is not a string/],
    ['object id_token', { ...GOOD, id_token: { a: 1 } }, /id_token that is not a string/],
    ['empty id_token', { ...GOOD, id_token: '' }, /id_token that is not a string/],
    ['empty refresh_token', { ...GOOD, refresh_token: '' }, /refresh_token/],
    ['array scope', { ...GOOD, scope: ['openid'] }, /scope/],
    ['an array', [GOOD], /is not a JSON object/],
  ])('refuses %s with token_response_invalid', async (_name, body, message) => {
    const error = await failure(exchange(answer(200, body)));
    expect(error.code).toBe('token_response_invalid');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(message);
    // The access token never ends up in a message.
    expect(error.message).not.toContain('at-SECRET-1');
  });

  it('refuses an infinite expires_in (1e999 in the JSON)', async () => {
    const body = '{"access_token":"at-SECRET-1","token_type":"Bearer","expires_in":1e999}';
    const error = await failure(exchange(answer(200, body)));
    expect(error.code).toBe('token_response_invalid');
  });

  it('refuses a 200 that is not JSON', async () => {
    for (const [type, body] of [
      ['text/html', '<html>Login</html>'],
      ['application/x-www-form-urlencoded', 'access_token=at-SECRET-1&token_type=bearer'],
      ['application/json', ''],
    ]) {
      const error = await failure(exchange(answer(200, body, { 'content-type': type! })));
      expect(error.code).toBe('token_response_invalid');
      expect(error.message).toBe('the token response is not a JSON object');
    }
  });
});

describe('tokenRequest', () => {
  it('POSTs a form with the params and the credentials, dropping undefined ones', async () => {
    const e = serve(answer(200, GOOD));
    await tokenRequest(
      e.url,
      { grant_type: 'refresh_token', refresh_token: 'rt-1', scope: undefined },
      { params: { client_id: CLIENT_ID }, headers: { authorization: 'Basic eDp5' } },
      http,
      () => NOW,
    );
    expect(e.requests).toHaveLength(1);
    const [seen] = e.requests;
    expect(seen?.method).toBe('POST');
    expect(seen?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen?.headers.accept).toBe('application/json');
    expect(seen?.headers.authorization).toBe('Basic eDp5');
    expect(seen?.form).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'rt-1',
      client_id: CLIENT_ID,
    });
  });

  it('never retries: one request for a 503, and for a timeout', async () => {
    const down = serve(answer(503, { error: 'temporarily_unavailable' }));
    await failure(tokenRequest(down.url, {}, noCreds, http, () => NOW));
    expect(down.requests).toHaveLength(1);
    const hanging = serve(() => undefined);
    const error = await failure(
      tokenRequest(hanging.url, {}, noCreds, { ...http, timeoutMs: 100 }, () => NOW),
    );
    expect(error.code).toBe('network_timeout');
    expect(error.retryable).toBe(true);
    expect(hanging.requests).toHaveLength(1);
  });

  it('gives token_response_invalid for an oversized answer', async () => {
    const e = serve(answer(200, { ...GOOD, padding: 'x'.repeat(3000) }));
    const error = await failure(
      tokenRequest(e.url, {}, noCreds, { ...http, maxBytes: 2048 }, () => NOW),
    );
    expect(error.code).toBe('token_response_invalid');
    expect(error.message).toMatch(/larger than 2048 bytes/);
  });
});

/** The id and secret back from a Basic header, form-decoded as RFC 6749 §2.3.1 says. */
function decodeBasic(header: string | undefined): { raw: string; id: string; secret: string } {
  expect(header).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
  const raw = Buffer.from(header!.slice('Basic '.length), 'base64').toString('latin1');
  // Form encoding leaves only ASCII, and the one ':' is the separator.
  expect(raw).toMatch(/^[\x21-\x7e]+$/);
  expect(raw.split(':')).toHaveLength(2);
  const [id, secret] = raw.split(':') as [string, string];
  const formDecode = (v: string) => new URLSearchParams(`v=${v}`).get('v')!;
  return { raw, id: formDecode(id), secret: formDecode(secret) };
}

describe('credentials', () => {
  it('client_secret_basic: form-encodes the id and the secret before Base64', async () => {
    const id = 'app:1+ä b%';
    const secret = 's3:cr+t %41 ünï€ /?&=~*';
    const creds = await credentials({ method: 'client_secret_basic', secret }, id, ISSUER, NOW);
    expect(creds.params).toEqual({});
    const decoded = decodeBasic(creds.headers['authorization']);
    expect(decoded.id).toBe(id);
    expect(decoded.secret).toBe(secret);
    expect(decoded.raw).toBe(
      'app%3A1%2B%C3%A4+b%25:s3%3Acr%2Bt+%2541+%C3%BCn%C3%AF%E2%82%AC+%2F%3F%26%3D%7E*',
    );
  });

  it('client_secret_basic: the header reaches the token endpoint intact', async () => {
    const id = 'client +:%';
    const secret = 'pässwörd:+ %2B';
    const e = serve(answer(200, GOOD));
    const creds = await credentials({ method: 'client_secret_basic', secret }, id, ISSUER, NOW);
    await tokenRequest(e.url, { grant_type: 'client_credentials' }, creds, http, () => NOW);
    const seen = e.requests[0]!;
    expect(decodeBasic(seen.headers.authorization)).toMatchObject({ id, secret });
    expect(seen.form).toEqual({ grant_type: 'client_credentials' });
  });

  it('client_secret_post: the id and secret as form params, no header', async () => {
    const secret = 'p+s s:%';
    const e = serve(answer(200, GOOD));
    const creds = await credentials(
      { method: 'client_secret_post', secret },
      CLIENT_ID,
      ISSUER,
      NOW,
    );
    expect(creds).toEqual({ params: { client_id: CLIENT_ID, client_secret: secret }, headers: {} });
    await tokenRequest(e.url, { grant_type: 'client_credentials' }, creds, http, () => NOW);
    expect(e.requests[0]?.form).toEqual({
      grant_type: 'client_credentials',
      client_id: CLIENT_ID,
      client_secret: secret,
    });
    expect(e.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('none: only the client_id', async () => {
    expect(await credentials({ method: 'none' }, CLIENT_ID, ISSUER, NOW)).toEqual({
      params: { client_id: CLIENT_ID },
      headers: {},
    });
  });

  /** Verifies an assertion and checks the claims every client assertion must have. */
  async function checkAssertion(
    creds: Credentials,
    key: Parameters<typeof jwtVerify>[1],
    alg: string,
  ) {
    expect(creds.headers).toEqual({});
    expect(creds.params['client_id']).toBe(CLIENT_ID);
    expect(creds.params['client_assertion_type']).toBe(JWT_BEARER);
    expect(JWT_BEARER).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const assertion = creds.params['client_assertion']!;
    const { payload, protectedHeader } = await jwtVerify(assertion, key as Uint8Array, {
      algorithms: [alg],
      issuer: CLIENT_ID,
      subject: CLIENT_ID,
      audience: ISSUER,
      currentDate: new Date(NOW),
    });
    expect(payload.iat).toBe(Math.floor(NOW / 1000));
    expect(payload.exp! - payload.iat!).toBe(60);
    expect(payload.aud).toBe(ISSUER);
    expect(typeof payload.jti).toBe('string');
    expect(payload.jti!.length).toBeGreaterThanOrEqual(22);
    return { payload, protectedHeader };
  }

  it('private_key_jwt: an assertion signed with the key, kid in the header, a fresh jti each time', async () => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA');
    const auth: ClientAuthentication = {
      method: 'private_key_jwt',
      key: { key: privateKey, alg: 'EdDSA', kid: 'client-key-1' },
    };
    const first = await credentials(auth, CLIENT_ID, ISSUER, NOW);
    const second = await credentials(auth, CLIENT_ID, ISSUER, NOW);
    const a = await checkAssertion(first, publicKey, 'EdDSA');
    const b = await checkAssertion(second, publicKey, 'EdDSA');
    expect(a.protectedHeader).toEqual({ alg: 'EdDSA', kid: 'client-key-1' });
    expect(a.payload.jti).not.toBe(b.payload.jti);
  });

  it('private_key_jwt: ES256 without a kid has no kid header', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const creds = await credentials(
      { method: 'private_key_jwt', key: { key: privateKey, alg: 'ES256' } },
      CLIENT_ID,
      ISSUER,
      NOW,
    );
    const { protectedHeader } = await checkAssertion(creds, publicKey, 'ES256');
    expect(protectedHeader).toEqual({ alg: 'ES256' });
  });

  it('client_secret_jwt: an HS256 assertion with the secret, a fresh jti each time', async () => {
    const secret = 'a-long-client-secret-of-32-bytes!!';
    const auth: ClientAuthentication = { method: 'client_secret_jwt', secret };
    const key = new TextEncoder().encode(secret);
    const first = await credentials(auth, CLIENT_ID, ISSUER, NOW);
    const second = await credentials(auth, CLIENT_ID, ISSUER, NOW);
    const a = await checkAssertion(first, key, 'HS256');
    const b = await checkAssertion(second, key, 'HS256');
    expect(decodeProtectedHeader(first.params['client_assertion']!)).toEqual({ alg: 'HS256' });
    expect(a.payload.jti).not.toBe(b.payload.jti);
    // Not verifiable with another secret.
    await expect(
      jwtVerify(first.params['client_assertion']!, new TextEncoder().encode(`${secret}x`), {
        currentDate: new Date(NOW),
      }),
    ).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    // The secret itself is not sent.
    expect(JSON.stringify(first)).not.toContain(secret);
  });
});
