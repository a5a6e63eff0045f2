/**
 * Interop: panva's openid-client (v6, certified OpenID Connect RP) runs the authorization code flow
 * against our provider with its own validation on — as a `client_secret_basic` client, a
 * `client_secret_post` client and a public PKCE client, each with EdDSA, ES256 and RS256 ID tokens.
 * openid-client's HTTP calls are routed to the in-process provider through `customFetch`; the user
 * part (sign-in, consent) is the harness's browser.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, signIn, startTestProvider, type TestProvider } from '../support/harness.js';
import {
  discover,
  errorChain,
  expectedAtHash,
  interopConfig,
  jwsHeader,
  providerFetch,
  RELYING_PARTIES,
  type RelyingParty,
  RP_POST_LOGOUT_URI,
  RP_REDIRECT_URI,
  RP_SCOPE,
  rejection,
  relyingParty,
  responseBehind,
  SIGNING_ALGS,
  surfacedErrorCode,
} from './support.js';

let tp: TestProvider;
beforeAll(async () => {
  tp = await startTestProvider({ config: interopConfig() });
});
afterAll(async () => {
  await tp.provider.close();
});

interface Authorization {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

/** openid-client builds the authorization request: PKCE S256, state and nonce. */
async function authorizationRequest(config: client.Configuration): Promise<Authorization> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: RP_REDIRECT_URI,
    scope: RP_SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url, verifier, state, nonce };
}

/** Browser part, then openid-client's `authorizationCodeGrant` with all its checks. */
async function codeFlow(config: client.Configuration, browser: Browser) {
  const auth = await authorizationRequest(config);
  const callback = await signIn(browser, auth.url.href);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: auth.verifier,
    expectedState: auth.state,
    expectedNonce: auth.nonce,
    idTokenExpected: true,
  });
  return { auth, callback, tokens };
}

function responseError(err: unknown): string | undefined {
  return err instanceof client.ResponseBodyError ? err.error : undefined;
}

/**
 * Signs in and redeems the code with openid-client's own checks, expecting what `checks` says
 * instead of the real values, after `alterCallback` has changed the callback URL. Returns the
 * rejection; fails if the grant succeeds.
 */
async function rejectedGrant(
  party: Parameters<typeof discover>[1],
  checks: { pkceCodeVerifier?: string; expectedState?: string; expectedNonce?: string } = {},
  alterCallback: (callback: URL) => void = () => {},
): Promise<unknown> {
  const config = await discover(tp, party);
  const auth = await authorizationRequest(config);
  const callback = await signIn(new Browser(tp), auth.url.href);
  alterCallback(callback);
  return rejection(() =>
    client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: auth.verifier,
      expectedState: auth.state,
      expectedNonce: auth.nonce,
      ...checks,
    }),
  );
}

describe('discovery', () => {
  it('openid-client accepts the provider metadata', async () => {
    const config = await discover(tp, relyingParty('client_secret_basic', 'EdDSA'));
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(tp.issuer);
    expect(meta.supportsPKCE()).toBe(true);
    expect(meta.supportsPKCE('S256')).toBe(true);
    expect(meta.authorization_response_iss_parameter_supported).toBe(true);
    expect(meta.id_token_signing_alg_values_supported).toEqual(
      expect.arrayContaining([...SIGNING_ALGS]),
    );
    expect(meta.end_session_endpoint).toBe(`${tp.issuer}/v1/oauth/logout`);
    expect(meta.introspection_endpoint).toBe(`${tp.issuer}/v1/oauth/introspect`);
    expect(meta.revocation_endpoint).toBe(`${tp.issuer}/v1/oauth/revoke`);
  });
});

describe.each(
  RELYING_PARTIES.map(
    (rp) => [`${rp.auth} client with ${rp.alg} ID tokens (${rp.clientId})`, rp] as const,
  ),
)('%s', (_name, rp: RelyingParty) => {
  const confidential = rp.auth !== 'none';
  let browser: Browser;
  let config: client.Configuration;
  let auth: Authorization;
  let callback: URL;
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  let sub: string;

  beforeAll(() => {
    browser = new Browser(tp);
  });

  it('discovery', async () => {
    config = await discover(tp, rp);
    expect(config.clientMetadata().client_id).toBe(rp.clientId);
  });

  it('authorization URL with PKCE S256, state and nonce; sign-in and consent at the provider', async () => {
    auth = await authorizationRequest(config);
    expect(auth.url.origin + auth.url.pathname).toBe(`${tp.issuer}/v1/oauth/authorize`);
    const q = auth.url.searchParams;
    expect(q.get('client_id')).toBe(rp.clientId);
    expect(q.get('response_type')).toBe('code');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('state')).toBe(auth.state);
    expect(q.get('nonce')).toBe(auth.nonce);

    callback = await signIn(browser, auth.url.href);
    expect(callback.origin + callback.pathname).toBe(RP_REDIRECT_URI);
    expect(callback.searchParams.get('code')).toBeTruthy();
    expect(callback.searchParams.get('state')).toBe(auth.state);
    expect(callback.searchParams.get('iss')).toBe(tp.issuer);
  });

  it(`authorizationCodeGrant: openid-client validates the ${rp.alg} ID token (JWKS signature, alg, iss, aud, nonce) and the RFC 9207 iss`, async () => {
    tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: auth.verifier,
      expectedState: auth.state,
      expectedNonce: auth.nonce,
      idTokenExpected: true,
    });
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.expiresIn()).toBeGreaterThan(0);
    expect(jwsHeader(tokens.id_token!)['alg']).toBe(rp.alg);
    const claims = tokens.claims()!;
    expect(claims.iss).toBe(tp.issuer);
    expect(claims.aud).toBe(rp.clientId);
    expect(claims.nonce).toBe(auth.nonce);
    expect(claims['email']).toBe('alice@example.com');
    sub = claims.sub;
  });

  it(`ID token at_hash matches the access token (${rp.alg === 'EdDSA' ? 'SHA-512' : 'SHA-256'}; computed independently — openid-client does not check at_hash in the code flow)`, async () => {
    expect(tokens.claims()!['at_hash']).toBe(await expectedAtHash(rp.alg, tokens.access_token));
  });

  it('fetchUserInfo with the expected subject', async () => {
    const info = await client.fetchUserInfo(config, tokens.access_token, sub);
    expect(info.sub).toBe(sub);
    expect(info.name).toBe('Alice Example');
    expect(info.email).toBe('alice@example.com');
  });

  if (confidential) {
    it('tokenIntrospection of the access token and the refresh token', async () => {
      const at = await client.tokenIntrospection(config, tokens.access_token);
      expect(at.active).toBe(true);
      expect(at.client_id).toBe(rp.clientId);
      expect(at.sub).toBe(sub);
      expect(at.iss).toBe(tp.issuer);
      expect(at.scope?.split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));

      const rt = await client.tokenIntrospection(config, tokens.refresh_token!);
      expect(rt.active).toBe(true);
      expect(rt.client_id).toBe(rp.clientId);
      expect(rt.sub).toBe(sub);
    });
  }

  it('refreshTokenGrant rotates the refresh token; the old one then fails with invalid_grant', async () => {
    const old = tokens.refresh_token!;
    const refreshed = await client.refreshTokenGrant(config, old);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(old);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    // The provider issues a new ID token on refresh; openid-client validated it as well (JWKS
    // signature, alg, iss, aud).
    expect(refreshed.id_token).toBeTruthy();
    expect(jwsHeader(refreshed.id_token!)['alg']).toBe(rp.alg);
    expect(refreshed.claims()!.sub).toBe(sub);
    expect(refreshed.claims()!['at_hash']).toBe(
      await expectedAtHash(rp.alg, refreshed.access_token),
    );
    expect((await client.fetchUserInfo(config, refreshed.access_token, sub)).sub).toBe(sub);

    const err = await rejection(() => client.refreshTokenGrant(config, old));
    expect(err, errorChain(err)).toBeInstanceOf(client.ResponseBodyError);
    expect(responseError(err)).toBe('invalid_grant');
    // Reuse of a rotated token revokes the whole family (RFC 9700 §4.14.2), the new token too.
    const again = await rejection(() => client.refreshTokenGrant(config, refreshed.refresh_token!));
    expect(responseError(again), errorChain(again)).toBe('invalid_grant');
  });

  it('tokenRevocation of an access token and of a refresh token (on a second, SSO authorization)', async () => {
    const second = await codeFlow(config, browser);
    expect(second.tokens.claims()!.sub).toBe(sub);
    const { access_token, refresh_token } = second.tokens;

    await client.tokenRevocation(config, access_token, { token_type_hint: 'access_token' });
    const info = await rejection(() => client.fetchUserInfo(config, access_token, sub));
    expect(info, errorChain(info)).toBeInstanceOf(client.WWWAuthenticateChallengeError);
    expect((info as client.WWWAuthenticateChallengeError).status).toBe(401);
    expect(surfacedErrorCode(info)).toBe('invalid_token');
    if (confidential)
      expect((await client.tokenIntrospection(config, access_token)).active).toBe(false);

    // Revoking the access token leaves the refresh token alone.
    const refreshed = await client.refreshTokenGrant(config, refresh_token!);
    await client.tokenRevocation(config, refreshed.refresh_token!, {
      token_type_hint: 'refresh_token',
    });
    if (confidential)
      expect((await client.tokenIntrospection(config, refreshed.refresh_token!)).active).toBe(
        false,
      );
    const err = await rejection(() => client.refreshTokenGrant(config, refreshed.refresh_token!));
    expect(responseError(err), errorChain(err)).toBe('invalid_grant');
  });

  it('buildEndSessionUrl: the provider signs out and redirects to the registered post_logout_redirect_uri with the state', async () => {
    const state = client.randomState();
    const url = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: RP_POST_LOGOUT_URI,
      state,
    });
    expect(url.origin + url.pathname).toBe(`${tp.issuer}/v1/oauth/logout`);
    expect(url.searchParams.get('client_id')).toBe(rp.clientId);

    const res = await browser.request(url.href);
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(RP_POST_LOGOUT_URI);
    expect(location.searchParams.get('state')).toBe(state);

    // The IdP session is gone: a new authorization asks for the password again.
    const next = await browser.navigate((await authorizationRequest(config)).url.href);
    expect(next.status).toBe(200);
    expect(await next.text()).toContain('name="password"');
  });
});

describe("openid-client's own checks are active against the provider", () => {
  const rp = relyingParty('client_secret_basic', 'EdDSA');

  it('rejects a callback whose RFC 9207 iss is not the issuer', async () => {
    const err = await rejectedGrant(rp, {}, (callback) => {
      callback.searchParams.set('iss', 'http://localhost:9001');
    });
    expect(errorChain(err)).toContain('unexpected "iss" (issuer) response parameter value');
  });

  it('rejects a callback without iss, because the provider advertises authorization_response_iss_parameter_supported', async () => {
    const err = await rejectedGrant(rp, {}, (callback) => {
      callback.searchParams.delete('iss');
    });
    expect(errorChain(err)).toContain('response parameter "iss" (issuer) missing');
  });

  it('rejects an unexpected state', async () => {
    const err = await rejectedGrant(rp, { expectedState: 'other' });
    expect(errorChain(err)).toContain('unexpected "state" response parameter');
  });

  it('rejects an ID token with another nonce', async () => {
    const err = await rejectedGrant(rp, { expectedNonce: 'other' });
    expect(errorChain(err)).toContain('unexpected ID Token "nonce" claim value');
  });

  it('rejects an ID token signed with another alg than the one the client pinned', async () => {
    // The provider signs EdDSA for this client; the RP claims to expect RS256.
    const err = await rejectedGrant({ ...rp, alg: 'RS256' });
    expect(errorChain(err)).toContain('unexpected JWT "alg" header parameter');
  });

  it('the provider refuses a wrong PKCE verifier (openid-client surfaces invalid_grant)', async () => {
    const err = await rejectedGrant(rp, { pkceCodeVerifier: client.randomPKCECodeVerifier() });
    expect(responseError(err), errorChain(err)).toBe('invalid_grant');
  });

  it('fetchUserInfo rejects a response for another subject', async () => {
    const config = await discover(tp, rp);
    const { tokens } = await codeFlow(config, new Browser(tp));
    const err = await rejection(() =>
      client.fetchUserInfo(config, tokens.access_token, 'someone-else'),
    );
    expect(errorChain(err)).toContain('unexpected "response" body "sub" property value');
  });

  it.each(SIGNING_ALGS)(
    'rejects a %s ID token whose signature was altered in transit (JWKS verification is on)',
    async (alg) => {
      const config = await discover(tp, relyingParty('client_secret_post', alg));
      const viaProvider = providerFetch(tp);
      config[client.customFetch] = async (url, options) => {
        const res = await viaProvider(url, options);
        if (url !== `${tp.issuer}/v1/oauth/token`) return res;
        const body = (await res.json()) as Record<string, string>;
        const [header, payload, signature] = body['id_token']!.split('.');
        const bytes = Buffer.from(signature!, 'base64url');
        bytes[0]! ^= 1;
        body['id_token'] = `${header}.${payload}.${bytes.toString('base64url')}`;
        return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
      };
      const auth = await authorizationRequest(config);
      const callback = await signIn(new Browser(tp), auth.url.href);
      const err = await rejection(() =>
        client.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: auth.verifier,
          expectedState: auth.state,
          expectedNonce: auth.nonce,
        }),
      );
      expect(errorChain(err)).toContain('JWT signature verification failed');
    },
  );
});

/** Failed client authentication: what the provider answers and what openid-client makes of it. */
describe('invalid_client through openid-client', () => {
  /** A code exchange by a confidential client whose secret is wrong. */
  const wrongSecretExchange =
    (auth: 'client_secret_basic' | 'client_secret_post', alg: 'EdDSA' | 'RS256') => () => {
      const rp = relyingParty(auth, alg);
      return rejectedGrant({ ...rp, secret: `${rp.secret!}-wrong` });
    };
  const cases = [
    {
      name: 'client_secret_basic client with a wrong secret, at the token endpoint',
      run: wrongSecretExchange('client_secret_basic', 'EdDSA'),
    },
    {
      name: 'client_secret_post client with a wrong secret, at the token endpoint',
      run: wrongSecretExchange('client_secret_post', 'RS256'),
    },
    {
      name: 'public client at the introspection endpoint',
      run: async () => {
        const config = await discover(tp, relyingParty('none', 'ES256'));
        const { tokens } = await codeFlow(config, new Browser(tp));
        return rejection(() => client.tokenIntrospection(config, tokens.access_token));
      },
    },
  ] as const;

  for (const { name, run } of cases) {
    it(`${name}: the provider refuses with 401 invalid_client`, async () => {
      const err = await run();
      expect(await responseBehind(err), errorChain(err)).toEqual({
        status: 401,
        error: 'invalid_client',
      });
    });

    // openid-client stops at a WWW-Authenticate challenge on any error response, so the provider
    // sends one only when the client used the Authorization header, and names the error in it
    // (RFC 6749 §5.2). Either way the RP must learn the code `invalid_client`.
    it(`${name}: openid-client surfaces the invalid_client error code`, async () => {
      const err = await run();
      expect(surfacedErrorCode(err), errorChain(err)).toBe('invalid_client');
    });
  }
});
