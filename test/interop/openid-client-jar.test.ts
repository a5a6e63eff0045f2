/**
 * Interop: openid-client (v6) as a confidential client that signs its authorization requests
 * (JAR, RFC 9101), pushes them (PAR, RFC 9126) and authenticates with JWT assertions
 * (`private_key_jwt`, `client_secret_jwt`) — the request objects and assertions are built and
 * signed by openid-client, not by us, and its own response checks stay on.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientKey,
  type ClientKeyAlg,
  jwksOf,
  sharedClientKeys,
} from '../support/client-keys.js';
import {
  Browser,
  baseConfig,
  signIn,
  startTestProvider,
  type TestProvider,
} from '../support/harness.js';
import { providerFetch, RP_REDIRECT_URI, rejection, surfacedErrorCode } from './support.js';

const CSJWT_SECRET = 'oc-csjwt-secret-0123456789-abcdefghijklmnopqrstuv';

let tp: TestProvider;
let keys: Record<ClientKeyAlg, ClientKey>;

beforeAll(async () => {
  keys = await sharedClientKeys();
  const base = baseConfig();
  tp = await startTestProvider({
    config: {
      ...base,
      clients: [
        ...base.clients!,
        {
          // JAR required (the web default), private_key_jwt at the token endpoint.
          client_id: 'oc-pkjwt',
          type: 'web',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: jwksOf(keys.EdDSA, keys.ES256, keys.RS256),
          redirect_uris: [RP_REDIRECT_URI],
        },
        {
          // PAR required, client_secret_jwt; plain parameters pushed.
          client_id: 'oc-csjwt',
          type: 'web',
          token_endpoint_auth_method: 'client_secret_jwt',
          client_secret: CSJWT_SECRET,
          require_signed_request_object: false,
          require_pushed_authorization_requests: true,
          redirect_uris: [RP_REDIRECT_URI],
        },
      ],
    },
  });
});
afterAll(() => tp.provider.close());

function privateKey(alg: ClientKeyAlg): client.PrivateKey {
  return { key: keys[alg].privateKey, kid: keys[alg].kid };
}

function discover(
  clientId: string,
  auth: client.ClientAuth,
  metadata: Partial<client.ClientMetadata> = {},
): Promise<client.Configuration> {
  return client.discovery(
    new URL(tp.issuer),
    clientId,
    { redirect_uris: [RP_REDIRECT_URI], ...metadata },
    auth,
    {
      [client.customFetch]: providerFetch(tp),
      execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
    },
  );
}

async function requestParams() {
  const verifier = client.randomPKCECodeVerifier();
  return {
    verifier,
    state: client.randomState(),
    nonce: client.randomNonce(),
    params: {
      redirect_uri: RP_REDIRECT_URI,
      scope: 'openid email offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    },
  };
}

async function finish(
  config: client.Configuration,
  url: URL,
  req: { verifier: string; state: string; nonce: string },
) {
  const callback = await signIn(new Browser(tp), url.href);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: req.verifier,
    expectedState: req.state,
    expectedNonce: req.nonce,
    idTokenExpected: true,
  });
  expect(tokens.claims()?.['email']).toBe('alice@example.com');
  return tokens;
}

describe('openid-client signs the request object (JAR) and authenticates with private_key_jwt', () => {
  it.each(['EdDSA', 'ES256', 'RS256'] as const)('%s request object and assertion', async (alg) => {
    const config = await discover('oc-pkjwt', client.PrivateKeyJwt(privateKey(alg)), {
      token_endpoint_auth_method: 'private_key_jwt',
    });
    const req = await requestParams();
    const url = await client.buildAuthorizationUrlWithJAR(
      config,
      { ...req.params, state: req.state, nonce: req.nonce },
      privateKey(alg),
    );
    // Only client_id and the request object travel in the URL.
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request']);
    const tokens = await finish(config, url, req);
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
    expect(userinfo['email']).toBe('alice@example.com');
  });

  it('JAR pushed to the PAR endpoint: the browser carries only client_id and request_uri', async () => {
    const config = await discover('oc-pkjwt', client.PrivateKeyJwt(privateKey('EdDSA')), {
      token_endpoint_auth_method: 'private_key_jwt',
    });
    const req = await requestParams();
    const jar = await client.buildAuthorizationUrlWithJAR(
      config,
      { ...req.params, state: req.state, nonce: req.nonce },
      privateKey('EdDSA'),
    );
    const url = await client.buildAuthorizationUrlWithPAR(config, jar.searchParams);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    await finish(config, url, req);
  });

  it('plain parameters from this client are refused (JAR is required), as openid-client reports', async () => {
    const config = await discover('oc-pkjwt', client.PrivateKeyJwt(privateKey('EdDSA')), {
      token_endpoint_auth_method: 'private_key_jwt',
    });
    const req = await requestParams();
    const err = await rejection(() => client.buildAuthorizationUrlWithPAR(config, req.params));
    expect(surfacedErrorCode(err)).toBe('invalid_request');
    expect((err as client.ResponseBodyError).error_description).toBe(
      'JAR (request parameter) is required for confidential clients',
    );
  });
});

describe('openid-client pushes plain parameters (PAR) and authenticates with client_secret_jwt', () => {
  it('completes the flow through PAR', async () => {
    const config = await discover('oc-csjwt', client.ClientSecretJwt(CSJWT_SECRET), {
      token_endpoint_auth_method: 'client_secret_jwt',
    });
    const req = await requestParams();
    const url = await client.buildAuthorizationUrlWithPAR(config, {
      ...req.params,
      state: req.state,
      nonce: req.nonce,
    });
    const tokens = await finish(config, url, req);
    expect(tokens.refresh_token).toBeTruthy();
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).toBeTruthy();
  });

  it('a wrong secret in the assertion is refused with invalid_client', async () => {
    const config = await discover('oc-csjwt', client.ClientSecretJwt('w'.repeat(40)), {
      token_endpoint_auth_method: 'client_secret_jwt',
    });
    const req = await requestParams();
    const err = await rejection(() => client.buildAuthorizationUrlWithPAR(config, req.params));
    expect(surfacedErrorCode(err)).toBe('invalid_client');
  });
});
