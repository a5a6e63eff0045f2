/** Provider discovery, against a real HTTP server on loopback (no fetch mocks). */
import { describe, expect, it } from 'vitest';
import { discover, isSecureUrl, parseMetadata } from './discovery.js';
import { ClientError } from './errors.js';
import type { HttpOptions } from './http.js';
import { answerJson, type Handler, type Seen, serve, useLoopbackServer } from './loopback.suite.js';

useLoopbackServer();

/**
 * A fresh issuer on the test server (`{server}/rN`) whose discovery document is answered by
 * `handler`, given the issuer; and the requests it received.
 */
function provider(handler: (issuer: string) => Handler): { issuer: string; requests: Seen[] } {
  const route = serve(() => undefined, '/.well-known/openid-configuration');
  route.set(handler(route.prefix));
  return { issuer: route.prefix, requests: route.requests };
}

/** A complete, valid discovery document for `issuer`. */
function document(issuer: string): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/v1/oauth/authorize`,
    token_endpoint: `${issuer}/v1/oauth/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    userinfo_endpoint: 'https://idp.example/v1/oauth/userinfo',
    revocation_endpoint: 'https://idp.example/v1/oauth/revoke',
    end_session_endpoint: 'https://idp.example/v1/oauth/logout',
    pushed_authorization_request_endpoint: 'https://idp.example/v1/oauth/par',
    require_pushed_authorization_requests: true,
    require_signed_request_object: false,
    authorization_response_iss_parameter_supported: true,
    code_challenge_methods_supported: ['S256'],
    id_token_signing_alg_values_supported: ['EdDSA', 'ES256', 'RS256'],
    response_types_supported: ['code'],
  };
}

const http: HttpOptions = { fetch: globalThis.fetch, timeoutMs: 2000 };

async function failure(promise: Promise<unknown>): Promise<ClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClientError);
  return error as ClientError;
}

function syncFailure(fn: () => unknown): ClientError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ClientError);
    return error as ClientError;
  }
  throw new Error('expected a ClientError');
}

describe('discover', () => {
  it('fetches {issuer}/.well-known/openid-configuration and picks up endpoints, booleans and arrays', async () => {
    const p = provider((issuer) => answerJson(200, document(issuer)));
    const metadata = await discover(p.issuer, http);
    expect(metadata).toEqual({
      issuer: p.issuer,
      authorization_endpoint: `${p.issuer}/v1/oauth/authorize`,
      token_endpoint: `${p.issuer}/v1/oauth/token`,
      jwks_uri: `${p.issuer}/.well-known/jwks.json`,
      userinfo_endpoint: 'https://idp.example/v1/oauth/userinfo',
      revocation_endpoint: 'https://idp.example/v1/oauth/revoke',
      end_session_endpoint: 'https://idp.example/v1/oauth/logout',
      pushed_authorization_request_endpoint: 'https://idp.example/v1/oauth/par',
      require_pushed_authorization_requests: true,
      require_signed_request_object: false,
      authorization_response_iss_parameter_supported: true,
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['EdDSA', 'ES256', 'RS256'],
      raw: document(p.issuer),
    });
    expect(p.requests).toHaveLength(1);
    expect(p.requests[0]?.method).toBe('GET');
    expect(p.requests[0]?.headers.accept).toBe('application/json');
  });

  it('accepts an issuer with a trailing slash: one slash in the URL, exact match in the document', async () => {
    const p = provider((issuer) => answerJson(200, document(`${issuer}/`)));
    const metadata = await discover(`${p.issuer}/`, http);
    expect(metadata.issuer).toBe(`${p.issuer}/`);
    expect(p.requests).toHaveLength(1);
  });

  it('refuses a document that names another issuer', async () => {
    for (const other of [
      (issuer: string) => `${issuer}/`,
      (issuer: string) => issuer.replace('127.0.0.1', 'localhost'),
      () => 'https://evil.example',
      () => undefined,
    ]) {
      const p = provider((issuer) =>
        answerJson(200, { ...document(issuer), issuer: other(issuer) }),
      );
      const error = await failure(discover(p.issuer, http));
      expect(error.code).toBe('discovery_failed');
      expect(error.message).toMatch(/names another issuer .*must match exactly/);
      expect(error.retryable).toBe(false);
    }
  });

  it.each(['authorization_endpoint', 'token_endpoint', 'jwks_uri'])(
    'refuses a document without %s',
    async (name) => {
      const p = provider((issuer) => {
        const doc = document(issuer);
        delete doc[name];
        return answerJson(200, doc);
      });
      const error = await failure(discover(p.issuer, http));
      expect(error.code).toBe('discovery_failed');
      expect(error.message).toBe(`the provider metadata of ${p.issuer} has no ${name}`);
    },
  );

  it('accepts a document without the optional endpoints', async () => {
    const p = provider((issuer) => {
      const doc = document(issuer);
      delete doc['userinfo_endpoint'];
      delete doc['revocation_endpoint'];
      delete doc['end_session_endpoint'];
      delete doc['pushed_authorization_request_endpoint'];
      return answerJson(200, doc);
    });
    const metadata = await discover(p.issuer, http);
    expect(metadata.userinfo_endpoint).toBeUndefined();
    expect(metadata.pushed_authorization_request_endpoint).toBeUndefined();
    expect('end_session_endpoint' in metadata).toBe(false);
  });

  it.each([
    ['token_endpoint', 'http://idp.example/token'],
    ['authorization_endpoint', 'http://10.0.0.1/authorize'],
    ['jwks_uri', 'http://127.0.0.1.evil.example/jwks'],
    ['userinfo_endpoint', 'http://localhost.evil.example/userinfo'],
    ['pushed_authorization_request_endpoint', 'ftp://idp.example/par'],
    ['end_session_endpoint', 'not a url'],
    ['revocation_endpoint', 42],
    ['token_endpoint', null],
  ])('refuses %s = %j (https required, http only on loopback)', async (name, value) => {
    const p = provider((issuer) => answerJson(200, { ...document(issuer), [name]: value }));
    const error = await failure(discover(p.issuer, http));
    expect(error.code).toBe('discovery_failed');
    expect(error.message).toMatch(`has an invalid ${name} (https required, http only on loopback)`);
  });

  it('accepts http endpoints on loopback hosts (development)', async () => {
    const p = provider((issuer) =>
      answerJson(200, {
        ...document(issuer),
        token_endpoint: 'http://localhost:8080/token',
        jwks_uri: 'http://[::1]:8080/jwks',
        userinfo_endpoint: 'http://127.1.2.3/userinfo',
      }),
    );
    const metadata = await discover(p.issuer, http);
    expect(metadata.token_endpoint).toBe('http://localhost:8080/token');
    expect(metadata.jwks_uri).toBe('http://[::1]:8080/jwks');
  });

  it('refuses an answer that is not JSON', async () => {
    const p = provider(() =>
      answerJson(200, '<html><body>Welcome</body></html>', { 'content-type': 'text/html' }),
    );
    const error = await failure(discover(p.issuer, http));
    expect(error.code).toBe('discovery_failed');
    expect(error.message).toMatch(/is not a JSON object/);
  });

  it('refuses JSON that is not an object', async () => {
    for (const body of ['[]', '"issuer"', 'null', '{"issuer":']) {
      const p = provider(() => answerJson(200, body));
      const error = await failure(discover(p.issuer, http));
      expect(error.code).toBe('discovery_failed');
    }
  });

  it('gives a retryable discovery_failed for HTTP 5xx, a final one for 4xx', async () => {
    const down = provider(() => answerJson(500, '<h1>oops</h1>', { 'content-type': 'text/html' }));
    const error = await failure(discover(down.issuer, http));
    expect(error.code).toBe('discovery_failed');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(
      `discovery: ${down.issuer}/.well-known/openid-configuration answered HTTP 500`,
    );
    const unavailable = provider(() => answerJson(503, ''));
    expect((await failure(discover(unavailable.issuer, http))).retryable).toBe(true);
    const missing = provider(() => answerJson(404, { error: 'not_found' }));
    const notFound = await failure(discover(missing.issuer, http));
    expect(notFound.code).toBe('discovery_failed');
    expect(notFound.retryable).toBe(false);
  });

  it('does not follow a redirect to another document', async () => {
    const good = provider((issuer) => answerJson(200, document(issuer)));
    const p = provider(() =>
      answerJson(302, '', { location: `${good.issuer}/.well-known/openid-configuration` }),
    );
    const error = await failure(discover(p.issuer, http));
    expect(error.code).toBe('discovery_failed');
    expect(error.message).toMatch(/answered HTTP 302/);
    expect(good.requests).toHaveLength(0);
  });

  it('refuses an oversized document with discovery_failed', async () => {
    const p = provider((issuer) =>
      answerJson(200, { ...document(issuer), padding: 'x'.repeat(5000) }),
    );
    const error = await failure(discover(p.issuer, { ...http, maxBytes: 4096 }));
    expect(error.code).toBe('discovery_failed');
    expect(error.message).toMatch(/larger than 4096 bytes/);
  });

  it('gives network_timeout when the provider does not answer', async () => {
    const p = provider(() => () => undefined);
    const error = await failure(discover(p.issuer, { ...http, timeoutMs: 100 }));
    expect(error.code).toBe('network_timeout');
    expect(error.retryable).toBe(true);
  });

  it('refuses an issuer that is not https (or http on loopback) before any request', async () => {
    for (const issuer of ['http://idp.example', 'idp.example', 'javascript:alert(1)']) {
      const error = await failure(discover(issuer, http));
      expect(error.code).toBe('config_invalid');
      expect(error.message).toMatch(/must be an https URL/);
    }
  });
});

describe('parseMetadata', () => {
  const issuer = 'https://idp.example';

  it('ignores booleans and arrays of the wrong type, keeps the whole document in raw', () => {
    const doc = {
      ...document(issuer),
      require_pushed_authorization_requests: 'true',
      require_signed_request_object: 1,
      authorization_response_iss_parameter_supported: null,
      code_challenge_methods_supported: 'S256',
      id_token_signing_alg_values_supported: ['EdDSA', 256],
    };
    const metadata = parseMetadata(issuer, doc);
    expect(metadata.require_pushed_authorization_requests).toBeUndefined();
    expect(metadata.require_signed_request_object).toBeUndefined();
    expect(metadata.authorization_response_iss_parameter_supported).toBeUndefined();
    expect(metadata.code_challenge_methods_supported).toBeUndefined();
    expect(metadata.id_token_signing_alg_values_supported).toBeUndefined();
    expect(metadata.raw).toBe(doc);
    expect(metadata.raw['response_types_supported']).toEqual(['code']);
  });

  it('picks up false as well as true', () => {
    const metadata = parseMetadata(issuer, {
      ...document(issuer),
      require_pushed_authorization_requests: false,
      authorization_response_iss_parameter_supported: false,
    });
    expect(metadata.require_pushed_authorization_requests).toBe(false);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(false);
  });

  it('refuses what is not an object', () => {
    for (const doc of [undefined, null, [], 'x']) {
      expect(syncFailure(() => parseMetadata(issuer, doc)).code).toBe('discovery_failed');
    }
  });
});

describe('isSecureUrl', () => {
  it.each([
    ['https://idp.example/token', true],
    ['https://idp.example:8443', true],
    ['http://localhost:3000/cb', true],
    ['http://127.0.0.1/x', true],
    ['http://127.255.0.9:1/x', true],
    ['http://[::1]:4000/x', true],
    ['http://idp.example', false],
    ['http://localhost.example', false],
    ['http://127.0.0.1.nip.io', false],
    ['http://128.0.0.1', false],
    ['ws://localhost', false],
    ['file:///etc/passwd', false],
    ['/relative', false],
    ['', false],
  ])('%s → %s', (url, secure) => {
    expect(isSecureUrl(url)).toBe(secure);
  });
});
