/**
 * The two relying-party libraries of bench/client-callback.mjs, behind one shape:
 *
 * - `setup(issuer)`: discovery (and nothing else that could be timed later);
 * - `start()`: one authorization request with the library's own state, nonce and PKCE pair →
 *   `{ url, checks }` (what the application would keep until the callback);
 * - `callback(callbackUrl, checks)`: the measured part — the library's whole callback handling:
 *   response checks, token request (client_secret_basic, code_verifier), token response parsing,
 *   ID token validation including its signature against the provider's JWKS.
 *
 * openid-client uses the global fetch (Node's bundled undici). @gatehouse/client, on Node and
 * without a `fetch` option, sends over node:http; with `fetch` given it uses that fetch.
 */
import * as oc from 'openid-client';
import { CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SCOPE } from '../client.mjs';

const clientDist = new URL('../../packages/client/dist/index.js', import.meta.url).href;

/**
 * @gatehouse/client: `authorizationRequest()` + a memory transaction store; `callback(url, { take })`.
 * With its defaults (on Node: requests over node:http), or with `fetch` given (the global fetch:
 * the path every non-Node runtime takes, and Node with an application-supplied fetch).
 */
export async function gatehouseLibrary({ fetch } = {}) {
  const { GatehouseClient, memoryTransactionStore } = await import(clientDist);
  let client;
  let store;
  let lookup;
  return {
    key: fetch ? 'gatehouseFetch' : 'gatehouse',
    name: fetch ? '@gatehouse/client (fetch)' : '@gatehouse/client',
    async setup(issuer) {
      client = await GatehouseClient.create({
        issuer,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET, // client_secret_basic (the default with a secret)
        redirectUri: REDIRECT_URI,
        scope: SCOPE,
        signRequests: false,
        ...(fetch ? { fetch } : {}),
      });
      this.fresh();
    },
    /** A fresh transaction store (one per phase). */
    fresh() {
      store = memoryTransactionStore();
      lookup = { take: (state) => store.take(undefined, state) };
    },
    async start() {
      const { url, transaction } = await client.authorizationRequest();
      await store.save(undefined, transaction);
      return { url: url.href, checks: undefined };
    },
    async callback(callbackUrl) {
      const result = await client.callback(callbackUrl, lookup);
      if (typeof result.claims.sub !== 'string' || !result.tokens.accessToken) {
        throw new Error('gatehouse: no sub or access token in the result');
      }
    },
  };
}

/**
 * openid-client v6 with `enableNonRepudiationChecks` (the ID token's signature is verified
 * against the JWKS, which it fetches and caches) and `allowInsecureRequests` (http on loopback).
 */
export async function openidClientLibrary() {
  let config;
  return {
    key: 'openidClient',
    name: 'openid-client',
    async setup(issuer) {
      config = await oc.discovery(
        new URL(issuer),
        CLIENT_ID,
        { client_secret: CLIENT_SECRET, id_token_signed_response_alg: 'EdDSA' },
        oc.ClientSecretBasic(CLIENT_SECRET),
        { execute: [oc.allowInsecureRequests] },
      );
      oc.enableNonRepudiationChecks(config);
    },
    fresh() {},
    async start() {
      const pkceCodeVerifier = oc.randomPKCECodeVerifier();
      const expectedState = oc.randomState();
      const expectedNonce = oc.randomNonce();
      const url = oc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: SCOPE,
        state: expectedState,
        nonce: expectedNonce,
        code_challenge: await oc.calculatePKCECodeChallenge(pkceCodeVerifier),
        code_challenge_method: 'S256',
      });
      return { url: url.href, checks: { pkceCodeVerifier, expectedState, expectedNonce } };
    },
    async callback(callbackUrl, checks) {
      const tokens = await oc.authorizationCodeGrant(config, new URL(callbackUrl), {
        ...checks,
        idTokenExpected: true,
      });
      if (typeof tokens.claims()?.sub !== 'string' || !tokens.access_token) {
        throw new Error('openid-client: no sub or access token in the result');
      }
    },
  };
}
