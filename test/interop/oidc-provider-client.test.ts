/**
 * Interop: @gatehouse/client against panva's oidc-provider (v9, certified OpenID Provider), a
 * provider we did not write, running in process on a real loopback port and reached with the
 * global fetch. A confidential client that signs its requests (JAR, HS256 with its secret), one
 * with private_key_jwt and EdDSA request objects, one that pushes (PAR), a public PKCE client —
 * each through sign-in, callback, UserInfo, refresh, revocation and logout — then oidc-provider's
 * errors as the typed errors an application sees.
 *
 * oidc-provider follows OpenID Connect Core §11: `offline_access` is dropped unless the request
 * has `prompt=consent`, so every login here that wants a refresh token asks for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthorizationOptions,
  AuthorizationResponseError,
  ClientError,
  type ClientOptions,
  GatehouseClient,
  memoryTransactionStore,
  TokenEndpointError,
} from '../../packages/client/src/index.js';
import { type ClientKey, jwksOf, sharedClientKeys } from '../support/client-keys.js';
import {
  ACCOUNT,
  CookieBrowser,
  type Decision,
  decodeJwt,
  type RunningProvider,
  startOidcProvider,
} from './oidc-provider-support.js';

const REDIRECT_URI = 'http://localhost:4000/cb';
const POST_LOGOUT_URI = 'http://localhost:4000/signed-out';
const SCOPE = 'openid email profile offline_access';
const WEB_SECRET = 'gh-web-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const PAR_SECRET = 'gh-par-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** What every client registers: the code flow with refresh tokens, both redirect URIs. */
const COMMON = {
  redirect_uris: [REDIRECT_URI],
  post_logout_redirect_uris: [POST_LOGOUT_URI],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
};

let op: RunningProvider;
let key: ClientKey;

beforeAll(async () => {
  key = (await sharedClientKeys()).EdDSA;
  op = await startOidcProvider([
    {
      // Confidential, JAR required, request objects HS256 with the client secret.
      ...COMMON,
      client_id: 'gh-web',
      client_secret: WEB_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      request_object_signing_alg: 'HS256',
      require_signed_request_object: true,
      id_token_signed_response_alg: 'EdDSA',
    },
    {
      // Confidential, private_key_jwt and request objects with one Ed25519 key.
      ...COMMON,
      client_id: 'gh-pkjwt',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'EdDSA',
      jwks: jwksOf(key),
      request_object_signing_alg: 'EdDSA',
      require_signed_request_object: true,
      id_token_signed_response_alg: 'ES256',
    },
    {
      // Confidential, PAR required, client_secret_post.
      ...COMMON,
      client_id: 'gh-par',
      client_secret: PAR_SECRET,
      token_endpoint_auth_method: 'client_secret_post',
      require_pushed_authorization_requests: true,
      id_token_signed_response_alg: 'RS256',
    },
    {
      // Public: no authentication, PKCE required (oidc-provider's default for `none`), and a
      // scope allow-list without `phone`.
      ...COMMON,
      client_id: 'gh-spa',
      token_endpoint_auth_method: 'none',
      scope: SCOPE,
      id_token_signed_response_alg: 'RS256',
    },
  ]);
});

afterAll(async () => {
  await op?.close();
});

function client(options: Partial<ClientOptions> = {}): Promise<GatehouseClient> {
  return GatehouseClient.create({
    issuer: op.issuer,
    clientId: 'gh-web',
    clientSecret: WEB_SECRET,
    redirectUri: REDIRECT_URI,
    scope: SCOPE,
    ...options,
  });
}

const pkjwtOptions = (): Partial<ClientOptions> => ({
  clientId: 'gh-pkjwt',
  clientSecret: undefined,
  privateKey: { key: key.privateKey, alg: 'EdDSA', kid: key.kid },
});

/** Starts a login, saves its transaction, plays the user in `browser`; returns the callback. */
async function login(
  c: GatehouseClient,
  options: AuthorizationOptions = { prompt: 'consent' },
  { browser = new CookieBrowser(), decision = 'allow' as Decision } = {},
) {
  const store = memoryTransactionStore();
  const { url, transaction } = await c.authorizationRequest(options);
  await store.save(undefined, transaction);
  const callback = await browser.authorize(url, REDIRECT_URI, { decision });
  return {
    url,
    transaction,
    callback,
    browser,
    lookup: { take: (state: string) => store.take(undefined, state) },
  };
}

async function failure(promise: Promise<unknown>): Promise<ClientError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClientError);
  return err as ClientError;
}

describe('@gatehouse/client against oidc-provider', () => {
  it('discovers oidc-provider: the endpoints the toolkit uses, and RFC 9207 iss', async () => {
    const c = await client();
    expect(c.metadata.issuer).toBe(op.issuer);
    expect(c.metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(c.metadata.pushed_authorization_request_endpoint).toBe(`${op.issuer}/request`);
    expect(c.metadata.revocation_endpoint).toBe(`${op.issuer}/token/revocation`);
    expect(c.metadata.userinfo_endpoint).toBe(`${op.issuer}/me`);
    expect(c.metadata.end_session_endpoint).toBe(`${op.issuer}/session/end`);
    expect(c.metadata.raw['request_parameter_supported']).toBe(true);
    expect(c.metadata.raw['request_object_signing_alg_values_supported']).toEqual(
      expect.arrayContaining(['HS256', 'EdDSA']),
    );
  });

  it('confidential client, JAR (HS256): login, callback, userinfo, refresh, revoke, logout', async () => {
    const c = await client();
    const { url, callback, lookup, browser } = await login(c);

    // Only client_id and the request object travel in the front channel (RFC 9101 §5).
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request']);
    const request = decodeJwt(url.searchParams.get('request')!);
    expect(request.header).toMatchObject({ alg: 'HS256', typ: 'oauth-authz-req+jwt' });
    expect(request.payload).toMatchObject({ iss: 'gh-web', aud: op.issuer, prompt: 'consent' });
    // oidc-provider answers with iss (RFC 9207), which the callback checks.
    expect(callback.searchParams.get('iss')).toBe(op.issuer);

    const result = await c.callback(callback, lookup);
    expect(result.claims).toMatchObject({ iss: op.issuer, aud: 'gh-web', sub: 'alice' });
    // oidc-provider sets at_hash only on ID tokens from the authorization endpoint (implicit,
    // hybrid); from the token endpoint it is optional (OpenID Connect Core §3.1.3.6) and absent.
    expect(result.claims['at_hash']).toBeUndefined();
    expect(decodeJwt(result.tokens.idToken!).header['alg']).toBe('EdDSA');
    expect(result.tokens.scope?.split(' ').sort()).toEqual(SCOPE.split(' ').sort());
    expect(result.tokens.refreshToken).toBeTruthy();

    // oidc-provider puts scope claims in UserInfo, not in the ID token, once an access token is
    // issued (its `conformIdTokenClaims` default, OpenID Connect Core §5.4).
    const info = await c.userinfo(result.tokens.accessToken, 'alice');
    expect(info).toMatchObject({
      sub: 'alice',
      email: ACCOUNT.email('alice'),
      email_verified: true,
      name: ACCOUNT.name('alice'),
    });
    await expect(c.userinfo(result.tokens.accessToken, 'mallory')).rejects.toMatchObject({
      code: 'userinfo_invalid',
    });

    const refreshed = await c.refresh(result.tokens.refreshToken!, { expectedSub: 'alice' });
    expect(refreshed.tokens.accessToken).not.toBe(result.tokens.accessToken);
    expect(refreshed.claims?.sub).toBe('alice');
    expect(refreshed.claims?.aud).toBe('gh-web');
    expect((await c.userinfo(refreshed.tokens.accessToken, 'alice'))['sub']).toBe('alice');

    // Still signed in at oidc-provider: a silent login works.
    const silent = await login(c, { prompt: 'none' }, { browser });
    expect((await c.callback(silent.callback, silent.lookup)).claims.sub).toBe('alice');

    // oidc-provider rotates a confidential client's refresh token only late in its life (70 % of
    // its lifetime): it answers with the same one.
    expect(refreshed.tokens.refreshToken).toBe(result.tokens.refreshToken);
    const refreshToken = result.tokens.refreshToken!;
    await c.revoke(refreshToken, 'refresh_token');
    const revoked = await failure(c.refresh(refreshToken));
    expect(revoked).toBeInstanceOf(TokenEndpointError);
    expect((revoked as TokenEndpointError).error).toBe('invalid_grant');
    // Revoking a refresh token revokes its whole grant at oidc-provider (`revokeGrantPolicy`):
    // the access tokens go with it, and a silent login must ask for consent again.
    const unauthorized = await failure(c.userinfo(refreshed.tokens.accessToken, 'alice'));
    expect(unauthorized.code).toBe('userinfo_invalid');
    expect(unauthorized.message).toMatch(/HTTP 401/);
    const regrant = await login(c, { prompt: 'none' }, { browser });
    expect(
      ((await failure(c.callback(regrant.callback, regrant.lookup))) as AuthorizationResponseError)
        .error,
    ).toBe('consent_required');
    // Revoking an unknown token is a 200 as well (RFC 7009 §2.2).
    await c.revoke('not-a-token-oidc-provider-issued', 'access_token');

    // RP-initiated logout: oidc-provider's end_session accepts the URL (no error page), asks
    // for confirmation, and returns to the registered post-logout URI with the state.
    const logoutUrl = c.logoutUrl({
      idTokenHint: result.tokens.idToken!,
      postLogoutRedirectUri: POST_LOGOUT_URI,
      state: 'bye',
    });
    expect(logoutUrl.origin + logoutUrl.pathname).toBe(`${op.issuer}/session/end`);
    const { page, redirect } = await browser.logout(logoutUrl);
    expect(page).toContain('Do you want to sign-out');
    expect(redirect?.origin + redirect!.pathname).toBe(POST_LOGOUT_URI);
    expect(redirect?.searchParams.get('state')).toBe('bye');

    // Signed out: the same browser's silent login now fails, with oidc-provider's code.
    const after = await login(c, { prompt: 'none' }, { browser });
    const err = (await failure(
      c.callback(after.callback, after.lookup),
    )) as AuthorizationResponseError;
    expect(err).toBeInstanceOf(AuthorizationResponseError);
    expect(err.error).toBe('login_required');
    expect(err.retryable).toBe(true);
  });

  it('private_key_jwt, request objects signed with the same Ed25519 key (EdDSA)', async () => {
    const c = await client(pkjwtOptions());
    const { url, callback, lookup } = await login(c, { prompt: 'consent', maxAge: 300 });
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request']);
    const request = decodeJwt(url.searchParams.get('request')!);
    expect(request.header).toMatchObject({
      alg: 'EdDSA',
      kid: key.kid,
      typ: 'oauth-authz-req+jwt',
    });
    // Inside the request object max_age is a number; oidc-provider reads it as such.
    expect(request.payload['max_age']).toBe(300);

    const result = await c.callback(callback, lookup);
    expect(result.claims).toMatchObject({ iss: op.issuer, aud: 'gh-pkjwt', sub: 'alice' });
    // max_age makes auth_time required; the client checked it against max_age.
    expect(typeof result.claims['auth_time']).toBe('number');
    expect(decodeJwt(result.tokens.idToken!).header['alg']).toBe('ES256');
    expect((await c.userinfo(result.tokens.accessToken, 'alice'))['email']).toBe(
      ACCOUNT.email('alice'),
    );
    const refreshed = await c.refresh(result.tokens.refreshToken!, { expectedSub: 'alice' });
    expect(refreshed.claims?.sub).toBe('alice');
    await c.revoke(result.tokens.refreshToken!, 'refresh_token');
    expect(
      ((await failure(c.refresh(result.tokens.refreshToken!))) as TokenEndpointError).error,
    ).toBe('invalid_grant');
  });

  it('PAR: the signed request is pushed (client_secret_post); the browser carries request_uri', async () => {
    const c = await client({
      clientId: 'gh-par',
      clientSecret: PAR_SECRET,
      tokenEndpointAuthMethod: 'client_secret_post',
      pushRequests: true,
    });
    const { url, callback, lookup } = await login(c);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    const result = await c.callback(callback, lookup);
    expect(result.claims).toMatchObject({ aud: 'gh-par', sub: 'alice' });
    expect(decodeJwt(result.tokens.idToken!).header['alg']).toBe('RS256');
    expect(result.tokens.refreshToken).toBeTruthy();
  });

  it('PAR with private_key_jwt: the EdDSA request object and assertion at the PAR endpoint', async () => {
    const c = await client({ ...pkjwtOptions(), pushRequests: true });
    const { url, callback, lookup } = await login(c);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect((await c.callback(callback, lookup)).claims.aud).toBe('gh-pkjwt');
  });

  it('public client: plain parameters with PKCE S256; its refresh tokens rotate', async () => {
    const c = await client({ clientId: 'gh-spa', clientSecret: undefined });
    expect(c.confidential).toBe(false);
    const { url, callback, lookup } = await login(c);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.has('request')).toBe(false);

    const result = await c.callback(callback, lookup);
    expect(result.claims).toMatchObject({ aud: 'gh-spa', sub: 'alice' });
    expect((await c.userinfo(result.tokens.accessToken, 'alice'))['name']).toBe(
      ACCOUNT.name('alice'),
    );

    const refreshed = await c.refresh(result.tokens.refreshToken!, { expectedSub: 'alice' });
    expect(refreshed.tokens.refreshToken).toBeTruthy();
    expect(refreshed.tokens.refreshToken).not.toBe(result.tokens.refreshToken);
    // The rotated-out token is refused (and oidc-provider revokes the whole family).
    const reuse = (await failure(c.refresh(result.tokens.refreshToken!))) as TokenEndpointError;
    expect(reuse.error).toBe('invalid_grant');
    expect(
      ((await failure(c.refresh(refreshed.tokens.refreshToken!))) as TokenEndpointError).error,
    ).toBe('invalid_grant');
  });
});

describe('oidc-provider’s errors, as typed errors', () => {
  it('access_denied: the user cancels at the consent page', async () => {
    const c = await client();
    const { callback, lookup } = await login(c, { prompt: 'consent' }, { decision: 'deny' });
    const err = (await failure(c.callback(callback, lookup))) as AuthorizationResponseError;
    expect(err).toBeInstanceOf(AuthorizationResponseError);
    expect(err.code).toBe('provider_error');
    expect(err.error).toBe('access_denied');
    expect(err.errorDescription).toBe('End-User aborted interaction');
    expect(err.retryable).toBe(false);
  });

  it('invalid_scope: a scope outside the client’s allow-list', async () => {
    const c = await client({ clientId: 'gh-spa', clientSecret: undefined });
    const { url, transaction } = await c.authorizationRequest({ scope: 'openid phone' });
    const store = memoryTransactionStore();
    await store.save(undefined, transaction);
    // No user interaction: oidc-provider redirects the error back at once.
    const callback = await new CookieBrowser().authorize(url, REDIRECT_URI);
    const err = (await failure(
      c.callback(callback, { take: (s) => store.take(undefined, s) }),
    )) as AuthorizationResponseError;
    expect(err.error).toBe('invalid_scope');
    expect(err.errorDescription).toBe('requested scope is not allowed');
  });

  it('invalid_request: a plain request from a client registered for signed requests', async () => {
    const c = await client({ signRequests: false });
    const { url, transaction } = await c.authorizationRequest();
    expect(url.searchParams.has('state')).toBe(true);
    const store = memoryTransactionStore();
    await store.save(undefined, transaction);
    const callback = await new CookieBrowser().authorize(url, REDIRECT_URI);
    const err = (await failure(
      c.callback(callback, { take: (s) => store.take(undefined, s) }),
    )) as AuthorizationResponseError;
    expect(err.error).toBe('invalid_request');
    expect(err.errorDescription).toBe('Request Object must be used by this client');
  });

  it('invalid_request_object: a request object signed with the wrong secret', async () => {
    const c = await client({ clientSecret: `${WEB_SECRET}-wrong` });
    const { url, transaction } = await c.authorizationRequest();
    const store = memoryTransactionStore();
    await store.save(undefined, transaction);
    // oidc-provider echoes the state it read from the (unverified) request object, so the
    // callback finds the transaction and reports the provider's error.
    const callback = await new CookieBrowser().authorize(url, REDIRECT_URI);
    expect(callback.searchParams.get('state')).toBe(transaction.state);
    const err = (await failure(
      c.callback(callback, { take: (s) => store.take(undefined, s) }),
    )) as AuthorizationResponseError;
    expect(err.error).toBe('invalid_request_object');
    expect(err.errorDescription).toBe('could not validate Request Object');
  });

  it('a PAR-only client that does not push: oidc-provider’s error carries no state', async () => {
    const c = await client({
      clientId: 'gh-par',
      clientSecret: PAR_SECRET,
      tokenEndpointAuthMethod: 'client_secret_post',
    });
    const { url, transaction } = await c.authorizationRequest();
    expect(url.searchParams.has('request')).toBe(true);
    const store = memoryTransactionStore();
    await store.save(undefined, transaction);
    // oidc-provider refuses before it opens the request object, so it cannot echo the state
    // (RFC 6749 §4.1.2.1 only asks for it when the request carried one it could read).
    const callback = await new CookieBrowser().authorize(url, REDIRECT_URI);
    expect(callback.searchParams.get('error')).toBe('invalid_request');
    expect(callback.searchParams.get('error_description')).toBe(
      'Pushed Authorization Request must be used',
    );
    expect(callback.searchParams.has('state')).toBe(false);
    // Without a state the response cannot be tied to this login, so the client does not act on
    // it: it reports the missing state (the fix is `pushRequests: true`).
    const err = await failure(c.callback(callback, { take: (s) => store.take(undefined, s) }));
    expect(err.code).toBe('state_missing');
  });

  it('par_failed: a request pushed with the wrong client secret', async () => {
    const c = await client({
      clientId: 'gh-par',
      clientSecret: `${PAR_SECRET}-wrong`,
      tokenEndpointAuthMethod: 'client_secret_post',
      pushRequests: true,
    });
    const err = await failure(c.authorizationRequest());
    expect(err.code).toBe('par_failed');
    expect(err.message).toMatch(/401 invalid_client/);
  });

  it('code replay: the same code with a second copy of its transaction → invalid_grant', async () => {
    const c = await client();
    const { callback, transaction, lookup } = await login(c);
    const copy = { ...transaction };
    await c.callback(callback, lookup);
    const again = memoryTransactionStore();
    await again.save(undefined, copy);
    const err = (await failure(
      c.callback(callback, { take: (s) => again.take(undefined, s) }),
    )) as TokenEndpointError;
    expect(err).toBeInstanceOf(TokenEndpointError);
    expect(err.code).toBe('token_endpoint_error');
    expect(err.error).toBe('invalid_grant');
    expect(err.status).toBe(400);
  });

  it('oidc-provider logged no server_error during the run', () => {
    expect(op.serverErrors).toEqual([]);
  });
});
