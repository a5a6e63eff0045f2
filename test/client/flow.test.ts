/**
 * @gatehouse/client end to end against the real Gatehouse provider (in process): a confidential
 * client that signs its requests (JAR, HS256 or private_key_jwt + EdDSA), one that also pushes
 * them (PAR), and a public PKCE client — then the seed's error scenarios, each as the typed error
 * the application sees.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthorizationOptions,
  AuthorizationResponseError,
  ClientError,
  type ClientOptions,
  GatehouseClient,
  memoryTransactionStore,
  type TokenEndpointError,
  type Transaction,
} from '../../packages/client/src/index.js';
import { type ClientKey, jwksOf, sharedClientKeys } from '../support/client-keys.js';
import {
  Browser,
  baseConfig,
  signIn,
  startTestProvider,
  type TestProvider,
} from '../support/harness.js';

const SECRET = 'toolkit-web-secret-0123456789-abcdefghijklmnop';
const REDIRECT = 'https://app.example.com/callback';

let tp: TestProvider;
let key: ClientKey;

beforeAll(async () => {
  key = (await sharedClientKeys()).EdDSA;
  const base = baseConfig();
  tp = await startTestProvider({
    config: {
      ...base,
      clients: [
        ...base.clients!,
        { client_id: 'tk-web', type: 'web', client_secret: SECRET, redirect_uris: [REDIRECT] },
        {
          client_id: 'tk-pkjwt',
          type: 'web',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: jwksOf(key),
          require_pushed_authorization_requests: true,
          redirect_uris: [REDIRECT],
        },
        { client_id: 'tk-spa', type: 'spa', redirect_uris: [REDIRECT] },
      ],
    },
  });
});

function client(options: Partial<ClientOptions> = {}): Promise<GatehouseClient> {
  return GatehouseClient.create({
    issuer: tp.issuer,
    clientId: 'tk-web',
    clientSecret: SECRET,
    redirectUri: REDIRECT,
    scope: 'openid profile email offline_access',
    fetch: (input, init) => tp.fetch(String(input instanceof Request ? input.url : input), init),
    now: tp.clock.now,
    ...options,
  });
}

/** Starts a login, saves its transaction, signs in in the browser; returns the callback URL. */
async function login(
  c: GatehouseClient,
  store = memoryTransactionStore(),
  decision: 'allow' | 'deny' = 'allow',
  options: AuthorizationOptions = {},
) {
  const { url, transaction } = await c.authorizationRequest(options);
  await store.save(undefined, transaction);
  const callback = await signIn(new Browser(tp), url.href, undefined, decision);
  return { url, transaction, callback, store, lookup: lookup(store) };
}

function lookup(store: ReturnType<typeof memoryTransactionStore>) {
  return { take: (state: string) => store.take(undefined, state) };
}

async function failure(promise: Promise<unknown>): Promise<ClientError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClientError);
  return err as ClientError;
}

describe('logins that work', () => {
  it('confidential client: signed request (JAR, HS256), client_secret_basic, every check on', async () => {
    const c = await client();
    const { url, callback, lookup: l } = await login(c);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request']);
    const result = await c.callback(callback, l);
    expect(result.claims.iss).toBe(tp.issuer);
    expect(result.claims.aud).toBe('tk-web');
    expect(result.claims['email']).toBe('alice@example.com');
    expect(result.tokens.tokenType).toBe('Bearer');
    expect(result.tokens.refreshToken).toBeTruthy();

    const info = await c.userinfo(result.tokens.accessToken, result.claims.sub);
    expect(info['email']).toBe('alice@example.com');
    const refreshed = await c.refresh(result.tokens.refreshToken!, {
      expectedSub: result.claims.sub,
    });
    expect(refreshed.tokens.accessToken).not.toBe(result.tokens.accessToken);
    expect(refreshed.claims?.sub).toBe(result.claims.sub);
    await c.revoke(refreshed.tokens.refreshToken!, 'refresh_token');
    const revoked = await failure(c.refresh(refreshed.tokens.refreshToken!));
    expect((revoked as TokenEndpointError).error).toBe('invalid_grant');

    const logout = c.logoutUrl({ idTokenHint: result.tokens.idToken!, state: 'bye' });
    expect(logout.origin + logout.pathname).toBe(`${tp.issuer}/v1/oauth/logout`);
  });

  it('private_key_jwt (EdDSA) with the request signed by the same key and pushed (PAR required)', async () => {
    const c = await client({
      clientId: 'tk-pkjwt',
      clientSecret: undefined,
      privateKey: { key: key.privateKey, alg: 'EdDSA', kid: key.kid },
      pushRequests: true,
    });
    const { url, callback, lookup: l } = await login(c);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    const result = await c.callback(callback, l);
    expect(result.claims.aud).toBe('tk-pkjwt');
  });

  it('a client registered for PAR that does not push gets the provider’s refusal as a typed error', async () => {
    const c = await client({
      clientId: 'tk-pkjwt',
      clientSecret: undefined,
      privateKey: { key: key.privateKey, alg: 'EdDSA', kid: key.kid },
    });
    const { url, callback, lookup: l } = await login(c);
    expect(url.searchParams.has('request_uri')).toBe(false);
    const err = (await failure(c.callback(callback, l))) as AuthorizationResponseError;
    expect(err.error).toBe('invalid_request');
    expect(err.errorDescription).toMatch(/PAR/);
  });

  it('public client: plain parameters with PKCE S256, no secret', async () => {
    const c = await client({ clientId: 'tk-spa', clientSecret: undefined });
    const { url, callback, lookup: l } = await login(c);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.has('request')).toBe(false);
    const result = await c.callback(callback, l);
    expect(result.claims.aud).toBe('tk-spa');
  });

  it('several tabs log in at once: each callback finds its own transaction', async () => {
    const c = await client();
    const store = memoryTransactionStore();
    const first = await login(c, store);
    const second = await login(c, store);
    expect((await c.callback(second.callback, lookup(store))).claims.sub).toBeTruthy();
    expect((await c.callback(first.callback, lookup(store))).claims.sub).toBeTruthy();
  });
});

describe('the seed’s error cases, as typed errors', () => {
  it('access_denied: the user pressed Deny', async () => {
    const c = await client();
    // prompt=consent: alice approved this client in an earlier test.
    const { callback, lookup: l } = await login(c, undefined, 'deny', { prompt: 'consent' });
    const err = await failure(c.callback(callback, l));
    expect(err).toBeInstanceOf(AuthorizationResponseError);
    expect((err as AuthorizationResponseError).error).toBe('access_denied');
    expect(err.code).toBe('provider_error');
  });

  it('invalid_request from the provider (e.g. a plain request where JAR is required)', async () => {
    const c = await client({ signRequests: false });
    const { callback, lookup: l } = await login(c);
    const err = (await failure(c.callback(callback, l))) as AuthorizationResponseError;
    expect(err.error).toBe('invalid_request');
    expect(err.errorDescription).toBe(
      'JAR (request parameter) is required for confidential clients',
    );
    expect(err.errorUri).toBe(`${tp.issuer}/errors#invalid_request`);
  });

  it('missing state', async () => {
    const c = await client();
    const { callback, lookup: l } = await login(c);
    callback.searchParams.delete('state');
    expect((await failure(c.callback(callback, l))).code).toBe('state_missing');
  });

  it('state mismatch (another login is pending in this browser) vs. no transaction at all', async () => {
    const c = await client();
    const { callback, store } = await login(c);
    callback.searchParams.set('state', 'forged-state-value');
    const mismatch = await failure(
      c.callback(callback, { ...lookup(store), pending: async () => 1 }),
    );
    expect(mismatch.code).toBe('state_mismatch');
    const lost = await failure(c.callback(callback, lookup(memoryTransactionStore())));
    expect(lost.code).toBe('transaction_not_found');
    expect(lost.hint).toMatch(/cookie/);
  });

  it('a replayed callback (reload, back button): the transaction is gone', async () => {
    const c = await client();
    const { callback, lookup: l } = await login(c);
    await c.callback(callback, l);
    expect((await failure(c.callback(callback, l))).code).toBe('transaction_not_found');
  });

  it('code replay: the same code with a second copy of its transaction → invalid_grant', async () => {
    const c = await client();
    const { callback, transaction } = await login(c);
    const copy: Transaction = { ...transaction };
    const once = memoryTransactionStore();
    await once.save(undefined, transaction);
    await c.callback(callback, lookup(once));
    const again = memoryTransactionStore();
    await again.save(undefined, copy);
    const err = (await failure(c.callback(callback, lookup(again)))) as TokenEndpointError;
    expect(err.code).toBe('token_endpoint_error');
    expect(err.error).toBe('invalid_grant');
    expect(err.status).toBe(400);
  });

  it('issuer mismatch: a response whose iss is another provider (mix-up)', async () => {
    const c = await client();
    const { callback, lookup: l } = await login(c);
    callback.searchParams.set('iss', 'https://other-idp.example');
    expect((await failure(c.callback(callback, l))).code).toBe('issuer_mismatch');
  });

  it('issuer mismatch across two providers sharing one transaction store', async () => {
    const other = await startTestProvider({ config: { ...baseConfig('http://127.0.0.2:9000') } });
    const c = await client();
    const { callback, store } = await login(c);
    const otherClient = await GatehouseClient.create({
      issuer: other.issuer,
      clientId: 'tk-web',
      clientSecret: SECRET,
      redirectUri: REDIRECT,
      fetch: (input, init) => other.fetch(String(input), init),
    });
    expect((await failure(otherClient.callback(callback, lookup(store)))).code).toBe(
      'issuer_mismatch',
    );
  });

  it('an expired transaction', async () => {
    const c = await client({ transactionTtlMs: 60_000 });
    const store = memoryTransactionStore({ now: tp.clock.now });
    const { callback } = await login(c, store);
    tp.clock.advance(16 * 60_000);
    expect((await failure(c.callback(callback, lookup(store)))).code).toBe('transaction_not_found');
  });

  it('duplicated parameters, and code with error', async () => {
    const c = await client();
    const { callback, lookup: l } = await login(c);
    const dup = new URL(callback);
    dup.searchParams.append('code', 'x'.repeat(43));
    expect((await failure(c.callback(dup, l))).code).toBe('callback_duplicate_parameter');
    const both = new URL(callback);
    both.searchParams.set('error', 'access_denied');
    expect((await failure(c.callback(both, l))).code).toBe('callback_code_and_error');
    // Neither consumed the transaction: the genuine callback still works.
    expect((await c.callback(callback, l)).claims.sub).toBeTruthy();
  });

  it('a malformed code is refused before any request is made', async () => {
    const c = await client();
    const { callback, lookup: l } = await login(c);
    callback.searchParams.set('code', 'short');
    expect((await failure(c.callback(callback, l))).code).toBe('code_malformed');
  });
});
