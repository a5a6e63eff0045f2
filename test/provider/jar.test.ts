/**
 * Signed authorization requests (JAR, RFC 9101) at the authorization endpoint, row by row: what
 * web clients must send, which algorithms and keys verify, which claims are checked, and which
 * failures are shown on the error page rather than redirected.
 */
import { s256Challenge } from '@gatehouse/oauth';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../packages/provider/src/config/schema.js';
import {
  type ClientKey,
  type ClientKeyAlg,
  clientKey,
  type JwksServer,
  jwksOf,
  requestObjectClaims,
  sharedClientKeys,
  signAs,
  startJwksServer,
} from '../support/client-keys.js';
import {
  Browser,
  baseConfig,
  exchange,
  signIn,
  startTestProvider,
  type TestProvider,
  VERIFIER,
  WEB_SECRET,
} from '../support/harness.js';

const JAR_SECRET = 'jar-client-secret-0123456789-abcdefghijklmn';
const REDIRECT = 'https://jar.example.com/cb';

let keys: Record<ClientKeyAlg, ClientKey>;
let remote: JwksServer;
let remoteKey: ClientKey;
let tp: TestProvider;

function config(extra: Record<string, unknown> = {}) {
  const base = baseConfig();
  return {
    ...base,
    ...extra,
    clients: [
      ...base.clients!,
      {
        client_id: 'jar-app',
        type: 'web' as const,
        client_secret: JAR_SECRET,
        redirect_uris: [REDIRECT],
        jwks: jwksOf(keys.EdDSA, keys.ES256, keys.RS256),
      },
      {
        client_id: 'jar-remote',
        type: 'web' as const,
        client_secret: JAR_SECRET,
        redirect_uris: [REDIRECT],
        jwks_uri: remote.url,
      },
      {
        client_id: 'jar-pinned',
        type: 'web' as const,
        client_secret: JAR_SECRET,
        redirect_uris: [REDIRECT],
        jwks: jwksOf(keys.EdDSA),
        request_object_signing_alg: 'EdDSA' as const,
      },
    ],
  };
}

beforeAll(async () => {
  keys = await sharedClientKeys();
  remoteKey = await clientKey('ES256');
  remote = await startJwksServer(jwksOf(remoteKey));
});
afterAll(() => remote.close());
beforeEach(async () => {
  tp = await startTestProvider({ config: config() });
});

const HMAC = { secret: JAR_SECRET };

/** The authorization request every JAR test starts from, as request object claims. */
async function claims(clientId: string, extra: Record<string, unknown> = {}) {
  return requestObjectClaims(
    tp.issuer,
    clientId,
    {
      redirect_uri: REDIRECT,
      scope: 'openid profile',
      state: 'inner-state',
      nonce: 'inner-nonce',
      code_challenge: await s256Challenge(VERIFIER),
      code_challenge_method: 'S256',
      ...extra,
    },
    tp.clock.now(),
  );
}

/** An authorization URL carrying only client_id and the request object (plus `outer`). */
function jarUrl(clientId: string, request: string, outer: Record<string, string> = {}): string {
  const url = new URL(`${tp.issuer}/v1/oauth/authorize`);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('request', request);
  for (const [k, v] of Object.entries(outer)) url.searchParams.set(k, v);
  return url.href;
}

function get(url: string): Promise<Response> {
  return tp.fetch(url, { redirect: 'manual' });
}

async function expectErrorPage(res: Response, error: string): Promise<string> {
  expect(res.status).toBe(400);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('content-type')).toContain('text/html');
  const body = await res.text();
  expect(body).toContain(error);
  expect(body).not.toContain(REDIRECT);
  return body;
}

function expectRedirectedError(res: Response, error: string, state = 'inner-state'): URL {
  expect(res.status).toBe(302);
  const url = new URL(res.headers.get('location')!);
  expect(`${url.origin}${url.pathname}`).toBe(REDIRECT);
  expect(url.searchParams.get('error')).toBe(error);
  expect(url.searchParams.get('state')).toBe(state);
  expect(url.searchParams.get('iss')).toBe(tp.issuer);
  expect(url.searchParams.has('code')).toBe(false);
  return url;
}

/** Signs in through a JAR request and redeems the code; returns the ID token's claims. */
async function completeFlow(url: string): Promise<Record<string, unknown>> {
  const browser = new Browser(tp);
  const callback = await signIn(browser, url);
  expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT);
  expect(callback.searchParams.get('state')).toBe('inner-state');
  expect(callback.searchParams.get('iss')).toBe(tp.issuer);
  const code = callback.searchParams.get('code');
  expect(code).toMatch(/^[A-Za-z0-9_-]{43,}$/);
  const res = await exchange(tp, code!, {
    clientId: 'jar-app',
    secret: JAR_SECRET,
    redirectUri: REDIRECT,
  });
  expect(res.status).toBe(200);
  const tokens = (await res.json()) as { id_token: string };
  return decodeJwt(tokens.id_token);
}

describe('web clients must sign their authorization requests (the seed’s rule)', () => {
  it('plain parameters → redirected invalid_request "JAR (request parameter) is required for confidential clients"', async () => {
    const url = new URL(`${tp.issuer}/v1/oauth/authorize`);
    for (const [k, v] of Object.entries({
      client_id: 'jar-app',
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid',
      state: 'inner-state',
      code_challenge: await s256Challenge(VERIFIER),
      code_challenge_method: 'S256',
    }))
      url.searchParams.set(k, v);
    const redirect = expectRedirectedError(await get(url.href), 'invalid_request');
    expect(redirect.searchParams.get('error_description')).toBe(
      'JAR (request parameter) is required for confidential clients',
    );
  });

  it('plain parameters with an unregistered redirect_uri → error page (the URI is not trusted)', async () => {
    const url = new URL(`${tp.issuer}/v1/oauth/authorize`);
    url.searchParams.set('client_id', 'jar-app');
    url.searchParams.set('redirect_uri', 'https://evil.example/cb');
    url.searchParams.set('response_type', 'code');
    await expectErrorPage(await get(url.href), 'invalid_request');
  });

  it('a client registered with require_signed_request_object: false may still send one', async () => {
    const request = await signAs(
      { secret: WEB_SECRET },
      requestObjectClaims(
        tp.issuer,
        'web-app',
        {
          redirect_uri: 'http://localhost:3000/callback',
          code_challenge: await s256Challenge(VERIFIER),
          code_challenge_method: 'S256',
        },
        tp.clock.now(),
      ),
    );
    const res = await get(jarUrl('web-app', request));
    // Not signed in: the request is valid, so the provider asks the user to sign in.
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toContain('/interaction/');
  });
});

describe('algorithms and keys', () => {
  it('HS256 with the client secret: the whole flow, with the parameters inside the object', async () => {
    const id = await completeFlow(jarUrl('jar-app', await signAs(HMAC, await claims('jar-app'))));
    expect(id['nonce']).toBe('inner-nonce');
    expect(id['aud']).toBe('jar-app');
  });

  it.each(['EdDSA', 'ES256', 'RS256'] as const)('%s with a key registered inline', async (alg) => {
    const request = await signAs(keys[alg], await claims('jar-app'), {
      typ: 'oauth-authz-req+jwt',
    });
    const id = await completeFlow(jarUrl('jar-app', request));
    expect(id['nonce']).toBe('inner-nonce');
  });

  it('a key from the client’s jwks_uri, fetched once and cached', async () => {
    const before = remote.hits();
    for (let i = 0; i < 3; i++) {
      const res = await get(
        jarUrl('jar-remote', await signAs(remoteKey, await claims('jar-remote'))),
      );
      expect(res.status).toBe(303);
    }
    expect(remote.hits() - before).toBe(1);
  });

  it('a rotated jwks_uri key: an unknown kid makes the provider fetch the set again', async () => {
    const rotated = await clientKey('EdDSA');
    try {
      const first = await signAs(remoteKey, await claims('jar-remote'));
      expect((await get(jarUrl('jar-remote', first))).status).toBe(303);
      remote.publish(jwksOf(rotated));
      tp.clock.advance(31_000); // past the refetch cooldown, well within the cache lifetime
      const hits = remote.hits();
      const second = await signAs(rotated, await claims('jar-remote'));
      expect((await get(jarUrl('jar-remote', second))).status).toBe(303);
      expect(remote.hits()).toBe(hits + 1);
    } finally {
      remote.publish(jwksOf(remoteKey));
    }
  });

  it('a client pinned to EdDSA cannot use HS256, even with its secret', async () => {
    await expectErrorPage(
      await get(jarUrl('jar-pinned', await signAs(HMAC, await claims('jar-pinned')))),
      'invalid_request_object',
    );
    const ok = await get(
      jarUrl('jar-pinned', await signAs(keys.EdDSA, await claims('jar-pinned'))),
    );
    expect(ok.status).toBe(303);
  });

  it('accepts the request object by POST as well', async () => {
    const request = await signAs(HMAC, await claims('jar-app'));
    const res = await tp.fetch(`${tp.issuer}/v1/oauth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'jar-app', request }).toString(),
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toContain('/interaction/');
  });
});

describe('cannot be verified → error page (invalid_request_object), never a redirect', () => {
  it('a tampered signature', async () => {
    const [h, p, sig] = (await signAs(keys.EdDSA, await claims('jar-app'))).split('.');
    const flipped = `${sig![0] === 'A' ? 'B' : 'A'}${sig!.slice(1)}`;
    await expectErrorPage(
      await get(jarUrl('jar-app', `${h}.${p}.${flipped}`)),
      'invalid_request_object',
    );
  });

  it('a tampered payload (another redirect_uri) under the original signature', async () => {
    const [h, , sig] = (await signAs(HMAC, await claims('jar-app'))).split('.');
    const p = Buffer.from(
      JSON.stringify(await claims('jar-app', { redirect_uri: 'https://evil.example/' })),
    ).toString('base64url');
    const body = await expectErrorPage(
      await get(jarUrl('jar-app', `${h}.${p}.${sig}`)),
      'invalid_request_object',
    );
    expect(body).not.toContain('evil.example');
  });

  it('alg none', async () => {
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    await expectErrorPage(
      await get(jarUrl('jar-app', `${enc({ alg: 'none' })}.${enc(await claims('jar-app'))}.`)),
      'invalid_request_object',
    );
  });

  it('HS256 with another secret', async () => {
    await expectErrorPage(
      await get(
        jarUrl('jar-app', await signAs({ secret: 'x'.repeat(40) }, await claims('jar-app'))),
      ),
      'invalid_request_object',
    );
  });

  it('a key the client did not register', async () => {
    const stranger = await clientKey('EdDSA', keys.EdDSA.kid);
    await expectErrorPage(
      await get(jarUrl('jar-app', await signAs(stranger, await claims('jar-app')))),
      'invalid_request_object',
    );
  });

  it('an encrypted (JWE) or malformed object, or an unexpected typ', async () => {
    await expectErrorPage(await get(jarUrl('jar-app', 'a.b.c.d.e')), 'invalid_request_object');
    await expectErrorPage(await get(jarUrl('jar-app', 'not-a-jwt')), 'invalid_request_object');
    await expectErrorPage(
      await get(
        jarUrl('jar-app', await signAs(keys.EdDSA, await claims('jar-app'), { typ: 'at+jwt' })),
      ),
      'invalid_request_object',
    );
  });

  it('a redirect_uri inside that is not registered', async () => {
    await expectErrorPage(
      await get(
        jarUrl(
          'jar-app',
          await signAs(HMAC, await claims('jar-app', { redirect_uri: 'https://evil.example/' })),
        ),
      ),
      'invalid_request',
    );
  });

  it('request or request_uri inside the object', async () => {
    await expectErrorPage(
      await get(
        jarUrl('jar-app', await signAs(HMAC, await claims('jar-app', { request_uri: 'urn:x' }))),
      ),
      'invalid_request_object',
    );
  });
});

describe('verified but not acceptable → redirected invalid_request_object, with the inner state', () => {
  const rows: [string, Record<string, unknown>, RegExp][] = [
    ['expired', { exp: 'PAST' }, /expired/],
    ['exp more than 300 s after iat', { exp: 'FAR' }, /300 s/],
    ['no exp', { exp: undefined }, /exp/],
    ['no iat', { iat: undefined }, /iat/],
    ['wrong audience', { aud: 'https://other-idp.example' }, /aud/],
    ['iss not the client', { iss: 'someone-else' }, /iss/],
    ['client_id inside differs from outside', { client_id: 'web-app' }, /client_id/],
    ['no client_id inside', { client_id: undefined }, /client_id/],
    ['no jti', { jti: undefined }, /jti/],
  ];
  it.each(rows)('%s', async (_name, extra, description) => {
    const now = Math.floor(tp.clock.now() / 1000);
    const resolved = { ...extra };
    if (resolved['exp'] === 'PAST') Object.assign(resolved, { iat: now - 400, exp: now - 100 });
    if (resolved['exp'] === 'FAR') resolved['exp'] = now + 301;
    const res = await get(jarUrl('jar-app', await signAs(HMAC, await claims('jar-app', resolved))));
    const url = expectRedirectedError(res, 'invalid_request_object');
    expect(url.searchParams.get('error_description')).toMatch(description);
  });

  it('a replayed object: the second use of one jti is refused', async () => {
    const url = jarUrl('jar-app', await signAs(HMAC, await claims('jar-app')));
    expect((await get(url)).status).toBe(303);
    const again = expectRedirectedError(await get(url), 'invalid_request_object');
    expect(again.searchParams.get('error_description')).toMatch(/replay/);
  });

  it('the replay cache outlives the object: still refused just before it expires', async () => {
    const url = jarUrl('jar-app', await signAs(HMAC, await claims('jar-app')));
    expect((await get(url)).status).toBe(303);
    tp.clock.advance(85_000); // exp (60 s) + most of the 30 s tolerance
    expectRedirectedError(await get(url), 'invalid_request_object');
  });

  it('honours the configured clock tolerance', async () => {
    const lenient = async (tolerance: number) => {
      tp = await startTestProvider({ config: config({ clockToleranceSeconds: tolerance }) });
      const now = Math.floor(tp.clock.now() / 1000);
      const request = await signAs(HMAC, await claims('jar-app', { iat: now - 70, exp: now - 10 }));
      return get(jarUrl('jar-app', request));
    };
    expect((await lenient(30)).status).toBe(303);
    expectRedirectedError(await lenient(0), 'invalid_request_object');
  });

  it('outer parameters are ignored: only the object’s count', async () => {
    const request = await signAs(HMAC, await claims('jar-app'));
    const res = await get(
      jarUrl('jar-app', request, { state: 'outer-state', scope: 'openid bogus', prompt: 'none' }),
    );
    // prompt=none outside would give login_required; the object has no prompt, so the user is
    // asked to sign in, and the object's state comes back at the end.
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toContain('/interaction/');
  });
});

describe('discovery and configuration', () => {
  it('discovery advertises request objects and their algorithms (never none)', async () => {
    const doc = (await (
      await tp.fetch(`${tp.issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(doc['request_parameter_supported']).toBe(true);
    expect(doc['request_object_signing_alg_values_supported']).toEqual([
      'HS256',
      'EdDSA',
      'Ed25519',
      'ES256',
      'RS256',
    ]);
    expect(doc['request_uri_parameter_supported']).toBe(false);
  });

  it.each([
    [
      {
        client_id: 's',
        type: 'spa',
        redirect_uris: ['http://localhost:5173/cb'],
        require_signed_request_object: true,
      },
      'clients[5].require_signed_request_object',
    ],
    [
      {
        client_id: 'w',
        type: 'web',
        client_secret: JAR_SECRET,
        redirect_uris: [REDIRECT],
        request_object_signing_alg: 'ES256',
      },
      'clients[5].request_object_signing_alg',
    ],
    [
      {
        client_id: 'w',
        type: 'web',
        client_secret: JAR_SECRET,
        redirect_uris: [REDIRECT],
        jwks: { keys: [{ kty: 'oct', k: 'AAAA' }] },
      },
      'clients[5].jwks',
    ],
  ])('refuses a bad JAR registration, naming the setting (%#)', async (client, setting) => {
    const base = baseConfig();
    const err = await startTestProvider({
      config: { ...base, clients: [...base.clients!, client as never] },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.join('\n')).toContain(setting);
  });
});
