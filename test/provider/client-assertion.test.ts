/**
 * JWT client authentication (RFC 7523 §3, OIDC Core §9): `private_key_jwt` with inline keys and
 * with a `jwks_uri`, and `client_secret_jwt`, at the token, revocation and introspection
 * endpoints. Every refusal is 401 `invalid_client`; no Basic challenge, since no Authorization
 * header was sent.
 */
import { exportJWK } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ClientInput,
  ConfigError,
  type ConfigInput,
  parseConfig,
} from '../../packages/provider/src/config/schema.js';
import {
  assertionClaims,
  type ClientKey,
  type ClientKeyAlg,
  clientKey,
  type JwksServer,
  jwksOf,
  sharedClientKeys,
  signAs,
  startJwksServer,
} from '../support/client-keys.js';
import {
  authorizeUrl,
  Browser,
  baseConfig,
  basic,
  signIn,
  startTestProvider,
  type TestProvider,
  VERIFIER,
  WEB_SECRET,
} from '../support/harness.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const CS_SECRET = 'csjwt-client-secret-0123456789-abcdefghijkl';
const REDIRECT = 'http://localhost:3000/jwt-cb';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
/** A code that does not exist: a request that gets past client authentication is invalid_grant. */
const NO_CODE = 'x'.repeat(43);

let keys: Record<ClientKeyAlg, ClientKey>;
let remote: JwksServer;
let tp: TestProvider;

beforeAll(async () => {
  keys = await sharedClientKeys();
});

function jwtClients(jwksUri: string): ClientInput[] {
  const web = {
    type: 'web' as const,
    redirect_uris: [REDIRECT],
    require_signed_request_object: false,
  };
  return [
    {
      ...web,
      client_id: 'pkjwt',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: jwksOf(keys.EdDSA, keys.ES256, keys.RS256),
    },
    {
      ...web,
      client_id: 'pkjwt-remote',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: jwksUri,
    },
    {
      ...web,
      client_id: 'csjwt',
      token_endpoint_auth_method: 'client_secret_jwt',
      client_secret: CS_SECRET,
    },
    // private_key_jwt, with a secret too (e.g. for HS256 request objects): still no HS256 assertion.
    {
      ...web,
      client_id: 'pkjwt-secret',
      token_endpoint_auth_method: 'private_key_jwt',
      client_secret: CS_SECRET,
      jwks: jwksOf(keys.EdDSA),
    },
    // client_secret_basic, with keys for request objects: its keys do not authenticate it.
    { ...web, client_id: 'basic-keys', client_secret: CS_SECRET, jwks: jwksOf(keys.EdDSA) },
    {
      client_id: 'svc-jwt',
      type: 'service',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: jwksOf(keys.EdDSA),
      scope: 'reports.read',
    },
  ];
}

beforeEach(async () => {
  remote = await startJwksServer(jwksOf(keys.EdDSA));
  const base = baseConfig();
  tp = await startTestProvider({
    config: { ...base, clients: [...base.clients!, ...jwtClients(remote.url)] },
  });
});

afterEach(async () => {
  await remote.close();
});

const endpoint = {
  token: () => `${tp.issuer}/v1/oauth/token`,
  revoke: () => `${tp.issuer}/v1/oauth/revoke`,
  introspect: () => `${tp.issuer}/v1/oauth/introspect`,
  par: () => `${tp.issuer}/v1/oauth/par`,
};

/** A code for `clientId`, through the browser: authorize, sign in, consent. */
async function codeFor(clientId: string): Promise<string> {
  const url = await authorizeUrl(tp, { clientId, redirectUri: REDIRECT });
  const redirect = await signIn(new Browser(tp), url);
  const code = redirect.searchParams.get('code');
  if (!code) throw new Error(`no code: ${redirect.href}`);
  return code;
}

function post(
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return tp.fetch(url, {
    method: 'POST',
    headers: { ...FORM, ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

function withAssertion(assertion: string, form: Record<string, string> = {}) {
  return { client_assertion_type: JWT_BEARER, client_assertion: assertion, ...form };
}

/** The authorization code grant, authenticated by `assertion`. */
function redeem(
  code: string,
  assertion: string,
  extra: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<Response> {
  const grant = {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    code_verifier: VERIFIER,
  };
  return post(endpoint.token(), withAssertion(assertion, { ...grant, ...extra }), headers);
}

function clientCredentials(assertion: string): Promise<Response> {
  return post(endpoint.token(), withAssertion(assertion, { grant_type: 'client_credentials' }));
}

/** `assertionClaims` on the provider's clock. */
function claims(aud: string, clientId: string, more: Record<string, unknown> = {}) {
  return assertionClaims(aud, clientId, more, tp.clock.now());
}

async function expectInvalidClient(res: Response): Promise<void> {
  expect(res.status).toBe(401);
  expect(res.headers.get('content-type')).toContain('application/json');
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('www-authenticate')).toBeNull();
  expect(((await res.json()) as Record<string, string>)['error']).toBe('invalid_client');
}

/** The client authenticated, and only the (made-up) code was refused. */
async function expectAuthenticated(res: Response): Promise<void> {
  expect(res.status).toBe(400);
  expect(((await res.json()) as Record<string, string>)['error']).toBe('invalid_grant');
}

/** A JWS with its signature altered in the middle (the last character may carry no bits). */
function tamper(jwt: string): string {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  const i = Math.floor(signature.length / 2);
  const swapped = signature[i] === 'A' ? 'B' : 'A';
  return `${header}.${payload}.${signature.slice(0, i)}${swapped}${signature.slice(i + 1)}`;
}

function unsigned(payload: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(payload)}.`;
}

describe('accepted assertions', () => {
  it.each(['EdDSA', 'ES256', 'RS256'] as const)(
    'private_key_jwt with %s; aud the issuer, the token endpoint, or a list with the issuer',
    async (alg) => {
      const audiences = [tp.issuer, endpoint.token(), [tp.issuer, 'https://other.example']];
      for (const aud of audiences) {
        const res = await redeem(
          await codeFor('pkjwt'),
          await signAs(keys[alg], claims('', 'pkjwt', { aud })),
        );
        expect(res.status, JSON.stringify(aud)).toBe(200);
        const tokens = (await res.json()) as Record<string, string>;
        expect(tokens['token_type']).toBe('Bearer');
        expect(tokens['id_token']).toBeTruthy();
      }
    },
  );

  it('client_secret_jwt with HS256', async () => {
    const res = await redeem(
      await codeFor('csjwt'),
      await signAs({ secret: CS_SECRET }, claims(tp.issuer, 'csjwt')),
    );
    expect(res.status).toBe(200);
  });

  it('client_credentials for a service client', async () => {
    const res = await clientCredentials(await signAs(keys.EdDSA, claims(tp.issuer, 'svc-jwt')));
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as Record<string, unknown>;
    expect(tokens['access_token']).toBeTruthy();
    expect(tokens['scope']).toBe('reports.read');
    expect(tokens['id_token']).toBeUndefined();
  });

  it('a valid assertion with a made-up code gets past authentication (the baseline below)', async () => {
    await expectAuthenticated(
      await redeem(NO_CODE, await signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt'))),
    );
    await expectAuthenticated(
      await redeem(NO_CODE, await signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt-secret'))),
    );
  });

  it('within the clock tolerance: exp 10 s ago is accepted, 40 s ago is not', async () => {
    const now = Math.floor(tp.clock.now() / 1000);
    await expectAuthenticated(
      await redeem(
        NO_CODE,
        await signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt', { iat: now - 70, exp: now - 10 })),
      ),
    );
    await expectInvalidClient(
      await redeem(
        NO_CODE,
        await signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt', { iat: now - 100, exp: now - 40 })),
      ),
    );
  });
});

describe('refused assertions (401 invalid_client)', () => {
  const refusals: [string, () => Promise<string>][] = [
    ['a foreign aud', () => signAs(keys.EdDSA, claims('https://elsewhere.example', 'pkjwt'))],
    [
      'the aud of another endpoint (PAR)',
      () => signAs(keys.EdDSA, claims(endpoint.par(), 'pkjwt')),
    ],
    [
      'expired beyond the tolerance',
      () => {
        const now = Math.floor(tp.clock.now() / 1000);
        return signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt', { iat: now - 120, exp: now - 60 }));
      },
    ],
    [
      'exp more than 300 s after iat',
      () => {
        const now = Math.floor(tp.clock.now() / 1000);
        return signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt', { exp: now + 400 }));
      },
    ],
    [
      'exp more than 300 s ahead, without iat',
      () => {
        const now = Math.floor(tp.clock.now() / 1000);
        return signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt', { iat: undefined, exp: now + 400 }));
      },
    ],
    ['no exp', () => signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt', { exp: undefined }))],
    ['no jti', () => signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt', { jti: undefined }))],
    ['sub ≠ iss', () => signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt', { sub: 'csjwt' }))],
    [
      'signed by a key the client did not register',
      async () => signAs(await clientKey('EdDSA'), claims(tp.issuer, 'pkjwt')),
    ],
    [
      'signed by another key under a registered kid',
      async () =>
        signAs(await clientKey('EdDSA'), claims(tp.issuer, 'pkjwt'), { kid: keys.EdDSA.kid }),
    ],
    [
      'HS256 for a private_key_jwt client',
      () => signAs({ secret: CS_SECRET }, claims(tp.issuer, 'pkjwt')),
    ],
    [
      'HS256 with its own secret, for a private_key_jwt client that has one',
      () => signAs({ secret: CS_SECRET }, claims(tp.issuer, 'pkjwt-secret')),
    ],
    [
      'a tampered signature',
      async () => tamper(await signAs(keys.ES256, claims(tp.issuer, 'pkjwt'))),
    ],
    ['alg none', async () => unsigned(claims(tp.issuer, 'pkjwt'))],
    [
      'client_secret_jwt signed with the wrong secret',
      () => signAs({ secret: `${CS_SECRET}-wrong` }, claims(tp.issuer, 'csjwt')),
    ],
    [
      'for a client registered for client_secret_basic (even HMAC-ed with its secret)',
      () => signAs({ secret: WEB_SECRET }, claims(tp.issuer, 'web-app')),
    ],
    [
      'for a client registered for client_secret_basic, signed with a key it registered',
      () => signAs(keys.EdDSA, claims(tp.issuer, 'basic-keys')),
    ],
    ['an unknown client', () => signAs(keys.EdDSA, claims(tp.issuer, 'nobody'))],
  ];

  it.each(refusals)('%s', async (_name, make) => {
    await expectInvalidClient(await redeem(NO_CODE, await make()));
  });

  it('a client_id form field other than the assertion’s iss', async () => {
    const assertion = await signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt'));
    await expectInvalidClient(await redeem(NO_CODE, assertion, { client_id: 'csjwt' }));
    // The same field naming the client is fine.
    const again = await signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt'));
    await expectAuthenticated(await redeem(NO_CODE, again, { client_id: 'pkjwt' }));
  });

  it('a wrong client_assertion_type', async () => {
    const assertion = await signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt'));
    await expectInvalidClient(
      await redeem(NO_CODE, assertion, {
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
      }),
    );
  });

  it('the same jti twice: the second use is a replay', async () => {
    const jti = 'once-only';
    const first = await signAs(keys.EdDSA, claims(tp.issuer, 'svc-jwt', { jti }));
    expect((await clientCredentials(first)).status).toBe(200);
    await expectInvalidClient(await clientCredentials(first));
    // A new assertion reusing the jti is a replay too …
    const second = await signAs(keys.EdDSA, claims(tp.issuer, 'svc-jwt', { jti }));
    await expectInvalidClient(await clientCredentials(second));
    // … and a fresh jti is fine.
    const third = await signAs(keys.EdDSA, claims(tp.issuer, 'svc-jwt'));
    expect((await clientCredentials(third)).status).toBe(200);
  });

  it('a refused assertion does not use up its jti', async () => {
    const jti = 'after-a-refusal';
    const wrongAud = await signAs(
      keys.EdDSA,
      claims('https://elsewhere.example', 'svc-jwt', { jti }),
    );
    await expectInvalidClient(await clientCredentials(wrongAud));
    const right = await signAs(keys.EdDSA, claims(tp.issuer, 'svc-jwt', { jti }));
    expect((await clientCredentials(right)).status).toBe(200);
  });
});

describe('one authentication method at a time (400 invalid_request)', () => {
  it('an assertion with a Basic header, or with client_secret', async () => {
    const withBasic = await redeem(
      NO_CODE,
      await signAs({ secret: CS_SECRET }, claims(tp.issuer, 'csjwt')),
      {},
      { authorization: basic('csjwt', CS_SECRET) },
    );
    expect(withBasic.status).toBe(400);
    expect(((await withBasic.json()) as Record<string, string>)['error']).toBe('invalid_request');

    const withSecret = await redeem(
      NO_CODE,
      await signAs({ secret: CS_SECRET }, claims(tp.issuer, 'csjwt')),
      { client_secret: CS_SECRET },
    );
    expect(withSecret.status).toBe(400);
    expect(((await withSecret.json()) as Record<string, string>)['error']).toBe('invalid_request');
  });
});

describe('a remote key set (jwks_uri)', () => {
  it('verifies with the fetched keys, and caches them', async () => {
    const res = await redeem(
      await codeFor('pkjwt-remote'),
      await signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt-remote')),
    );
    expect(res.status).toBe(200);
    for (let i = 0; i < 3; i++) {
      await expectAuthenticated(
        await redeem(NO_CODE, await signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt-remote'))),
      );
    }
    expect(remote.hits()).toBe(1);
    // Past the refetch cooldown (30 s) but within cacheSeconds (300 s): still the cached set.
    tp.clock.advance(60_000);
    await expectAuthenticated(
      await redeem(NO_CODE, await signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt-remote'))),
    );
    expect(remote.hits()).toBe(1);
    // Once the cached set is stale, it is fetched again.
    tp.clock.advance(300_000);
    await expectAuthenticated(
      await redeem(NO_CODE, await signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt-remote'))),
    );
    expect(remote.hits()).toBe(2);
    // A key of pkjwt's inline set is not in pkjwt-remote's published one.
    await expectInvalidClient(
      await redeem(NO_CODE, await signAs(keys.ES256, claims(tp.issuer, 'pkjwt-remote'))),
    );
  });

  it('refetches for an unknown kid once the cooldown has passed (key rotation)', async () => {
    await expectAuthenticated(
      await redeem(NO_CODE, await signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt-remote'))),
    );
    expect(remote.hits()).toBe(1);

    const rotated = await clientKey('EdDSA', 'rotated-2');
    remote.publish(jwksOf(rotated));
    // Within the cooldown (30 s) an unknown kid does not make the provider fetch again.
    await expectInvalidClient(
      await redeem(NO_CODE, await signAs(rotated, claims(tp.issuer, 'pkjwt-remote'))),
    );
    expect(remote.hits()).toBe(1);

    tp.clock.advance(31_000);
    await expectAuthenticated(
      await redeem(NO_CODE, await signAs(rotated, claims(tp.issuer, 'pkjwt-remote'))),
    );
    expect(remote.hits()).toBe(2);
    await expectAuthenticated(
      await redeem(NO_CODE, await signAs(rotated, claims(tp.issuer, 'pkjwt-remote'))),
    );
    expect(remote.hits()).toBe(2);
    // The retired key is gone from the new set.
    await expectInvalidClient(
      await redeem(NO_CODE, await signAs(keys.EdDSA, claims(tp.issuer, 'pkjwt-remote'))),
    );
  });
});

describe('revocation and introspection', () => {
  it('accept an assertion whose aud is their own URL, and not another endpoint’s', async () => {
    const res = await redeem(
      await codeFor('pkjwt'),
      await signAs(keys.EdDSA, claims(endpoint.token(), 'pkjwt')),
    );
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as Record<string, string>;
    const refresh = tokens['refresh_token']!;

    const introspect = async (aud: string) =>
      post(
        endpoint.introspect(),
        withAssertion(await signAs(keys.ES256, claims(aud, 'pkjwt')), { token: refresh }),
      );
    const active = await introspect(endpoint.introspect());
    expect(active.status).toBe(200);
    expect(((await active.json()) as Record<string, unknown>)['active']).toBe(true);
    await expectInvalidClient(await introspect(endpoint.revoke()));

    const revoked = await post(
      endpoint.revoke(),
      withAssertion(await signAs(keys.RS256, claims(endpoint.revoke(), 'pkjwt')), {
        token: refresh,
      }),
    );
    expect(revoked.status).toBe(200);
    const after = await introspect(endpoint.introspect());
    expect(((await after.json()) as Record<string, unknown>)['active']).toBe(false);
  });
});

describe('discovery', () => {
  it('lists the JWT methods and their algorithms', async () => {
    const doc = (await (
      await tp.fetch(`${tp.issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, string[]>;
    expect(doc['token_endpoint_auth_methods_supported']).toEqual(
      expect.arrayContaining(['private_key_jwt', 'client_secret_jwt']),
    );
    expect(doc['token_endpoint_auth_signing_alg_values_supported']).toEqual(
      expect.arrayContaining(['EdDSA', 'ES256', 'RS256', 'HS256']),
    );
    expect(doc['token_endpoint_auth_signing_alg_values_supported']).not.toContain('none');
  });
});

describe('configuration errors name the field', () => {
  /** The issues parseConfig reports for a configuration with `client` as its only client. */
  function issuesOf(client: ClientInput): string[] {
    const config: ConfigInput = { ...baseConfig(), clients: [client] };
    try {
      parseConfig(config);
    } catch (err) {
      if (err instanceof ConfigError) return err.issues;
      throw err;
    }
    return [];
  }

  const pk: ClientInput = {
    client_id: 'bad',
    type: 'web',
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'private_key_jwt',
  };

  it('private_key_jwt without jwks or jwks_uri (also from startTestProvider)', async () => {
    expect(issuesOf(pk)).toEqual([expect.stringMatching(/^clients\[0\]\.jwks: .*jwks_uri/)]);
    const base = baseConfig();
    await expect(
      startTestProvider({ config: { ...base, clients: [...base.clients!, pk] } }),
    ).rejects.toThrow(/clients\[5\]\.jwks: private_key_jwt needs jwks or jwks_uri/);
    await expect(
      startTestProvider({ config: { ...base, clients: [...base.clients!, pk] } }),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it('a private key in jwks', async () => {
    const priv = { ...(await exportJWK(keys.EdDSA.privateKey)), kid: 'k' };
    expect(issuesOf({ ...pk, jwks: { keys: [priv] } })).toEqual([
      expect.stringMatching(/^clients\[0\]\.jwks: keys\[0\]: contains a private key/),
    ]);
  });

  it('both jwks and jwks_uri', () => {
    expect(
      issuesOf({ ...pk, jwks: jwksOf(keys.EdDSA), jwks_uri: 'https://rp.example/jwks.json' }),
    ).toEqual([expect.stringMatching(/^clients\[0\]\.jwks_uri: .*not both/)]);
  });

  it('client_secret_jwt without a client_secret', () => {
    expect(issuesOf({ ...pk, token_endpoint_auth_method: 'client_secret_jwt' })).toEqual([
      expect.stringMatching(/^clients\[0\]\.client_secret: required for client_secret_jwt/),
    ]);
  });

  it('token_endpoint_auth_signing_alg HS256 for private_key_jwt', () => {
    expect(
      issuesOf({ ...pk, jwks: jwksOf(keys.EdDSA), token_endpoint_auth_signing_alg: 'HS256' }),
    ).toEqual([expect.stringMatching(/^clients\[0\]\.token_endpoint_auth_signing_alg: /)]);
  });
});
