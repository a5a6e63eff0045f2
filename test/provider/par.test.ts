/**
 * Pushed authorization requests (RFC 9126) at `/v1/oauth/par`: the client authenticates and
 * pushes its request, gets a one-time `request_uri`, and the browser carries only that and the
 * client_id to the authorization endpoint. Failures at PAR are JSON; failures of the request_uri
 * at the authorization endpoint are the error page (nothing names a trusted redirect URI yet).
 */
import { s256Challenge } from '@gatehouse/oauth';
import { decodeJwt } from 'jose';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../packages/provider/src/config/schema.js';
import {
  assertionClaims,
  type ClientKey,
  jwksOf,
  requestObjectClaims,
  sharedClientKeys,
  signAs,
} from '../support/client-keys.js';
import {
  authorizeUrl,
  Browser,
  baseConfig,
  basic,
  exchange,
  signIn,
  startTestProvider,
  type TestProvider,
  VERIFIER,
  WEB_SECRET,
} from '../support/harness.js';

const JAR_SECRET = 'jar-web-client-secret-0123456789-abcdefghij';
const PAR_ONLY_SECRET = 'par-only-client-secret-0123456789-abcdefgh';
const JAR_REDIRECT = 'http://localhost:3000/jar-cb';
const PAR_ONLY_REDIRECT = 'http://localhost:3000/par-only-cb';
const PK_REDIRECT = 'http://localhost:3000/pk-cb';
const SPA_REDIRECT = 'http://localhost:5173/callback';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let edKey: ClientKey;
let tp: TestProvider;

beforeAll(async () => {
  edKey = (await sharedClientKeys()).EdDSA;
});

beforeEach(async () => {
  const base = baseConfig();
  const config: ConfigInput = {
    ...base,
    clients: [
      ...base.clients!,
      // Keeps the web default: JAR required.
      {
        client_id: 'jar-web',
        type: 'web',
        client_secret: JAR_SECRET,
        redirect_uris: [JAR_REDIRECT],
      },
      {
        client_id: 'par-only',
        type: 'web',
        client_secret: PAR_ONLY_SECRET,
        redirect_uris: [PAR_ONLY_REDIRECT],
        require_signed_request_object: false,
        require_pushed_authorization_requests: true,
      },
      // Shares web-app's redirect URI, so only the client check keeps it from web-app's requests.
      {
        client_id: 'twin',
        type: 'web',
        client_secret: PAR_ONLY_SECRET,
        redirect_uris: ['http://localhost:3000/callback'],
        require_signed_request_object: false,
      },
      {
        client_id: 'pk-web',
        type: 'web',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: jwksOf(edKey),
        redirect_uris: [PK_REDIRECT],
        require_signed_request_object: false,
      },
    ],
  };
  tp = await startTestProvider({ config });
});

function parUrl(): string {
  return `${tp.issuer}/v1/oauth/par`;
}

/** The parameters `authorizeUrl` would put in the query, as a form to push. */
async function paramsOf(o: Parameters<typeof authorizeUrl>[1] = {}): Promise<URLSearchParams> {
  return new URL(await authorizeUrl(tp, o)).searchParams;
}

/** POSTs a form to the PAR endpoint, with Basic credentials unless `auth` is null. */
function push(
  form: URLSearchParams | Record<string, string>,
  auth: string | null = basic('web-app', WEB_SECRET),
): Promise<Response> {
  return tp.fetch(parUrl(), {
    method: 'POST',
    headers: { ...FORM, ...(auth === null ? {} : { authorization: auth }) },
    body: new URLSearchParams(form).toString(),
  });
}

/** Pushes and returns the request_uri, failing the test unless the push was accepted. */
async function pushed(
  form: URLSearchParams | Record<string, string>,
  auth?: string | null,
): Promise<string> {
  const res = await push(form, auth);
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { request_uri: string }).request_uri;
}

/** The authorization URL that carries only client_id and request_uri (plus `extra`). */
function byReference(
  clientId: string,
  requestUri: string,
  extra: Record<string, string> = {},
): string {
  const url = new URL(`${tp.issuer}/v1/oauth/authorize`);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('request_uri', requestUri);
  for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
  return url.href;
}

async function expectJsonError(res: Response, status: number, error: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('content-type')).toContain('application/json');
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = (await res.json()) as Record<string, string>;
  expect(body['error']).toBe(error);
  return body;
}

async function expectErrorPage(res: Response, error: string) {
  expect(res.status).toBe(400);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('content-type')).toContain('text/html');
  expect(await res.text()).toContain(error);
}

describe('discovery', () => {
  it('advertises the PAR endpoint, and PAR as optional', async () => {
    const res = await tp.fetch(`${tp.issuer}/.well-known/openid-configuration`);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc['pushed_authorization_request_endpoint']).toBe(parUrl());
    expect(doc['require_pushed_authorization_requests']).toBe(false);
  });
});

describe('pushing and using a request', () => {
  it('a web client pushes plain parameters; the browser carries only the request_uri', async () => {
    const res = await push(await paramsOf({ state: 'pushed-state', nonce: 'pushed-nonce' }));
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['expires_in', 'request_uri']);
    expect(body['expires_in']).toBe(60);
    expect(body['request_uri']).toMatch(/^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43,}$/);

    // Outer parameters next to the request_uri do not count: only the pushed request does.
    const redirect = await signIn(
      new Browser(tp),
      byReference('web-app', body['request_uri'] as string, {
        state: 'outer-state',
        scope: 'openid',
        nonce: 'outer-nonce',
      }),
    );
    expect(redirect.origin + redirect.pathname).toBe('http://localhost:3000/callback');
    expect(redirect.searchParams.get('state')).toBe('pushed-state');
    expect(redirect.searchParams.get('iss')).toBe(tp.issuer);
    const code = redirect.searchParams.get('code')!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43,}$/);

    const tokens = await exchange(tp, code);
    expect(tokens.status).toBe(200);
    const json = (await tokens.json()) as Record<string, string>;
    expect(json['scope']).toBe('openid profile email offline_access');
    expect(json['refresh_token']).toBeTruthy();
    const id = decodeJwt(json['id_token']!);
    expect(id.nonce).toBe('pushed-nonce');
    expect(id.aud).toBe('web-app');
  });

  it('a client that keeps the JAR default must push a request object', async () => {
    const plain = await push(
      await paramsOf({ clientId: 'jar-web', redirectUri: JAR_REDIRECT }),
      basic('jar-web', JAR_SECRET),
    );
    const error = await expectJsonError(plain, 400, 'invalid_request');
    expect(error['error_description']).toBe(
      'JAR (request parameter) is required for confidential clients',
    );

    const request = await signAs(
      { secret: JAR_SECRET },
      requestObjectClaims(tp.issuer, 'jar-web', {
        redirect_uri: JAR_REDIRECT,
        scope: 'openid email',
        state: 'jar-state',
        nonce: 'jar-nonce',
        code_challenge: await s256Challenge(VERIFIER),
        code_challenge_method: 'S256',
      }),
    );
    const requestUri = await pushed(
      { client_id: 'jar-web', request },
      basic('jar-web', JAR_SECRET),
    );
    const redirect = await signIn(new Browser(tp), byReference('jar-web', requestUri));
    expect(redirect.origin + redirect.pathname).toBe(JAR_REDIRECT);
    expect(redirect.searchParams.get('state')).toBe('jar-state');
    const tokens = await exchange(tp, redirect.searchParams.get('code')!, {
      clientId: 'jar-web',
      secret: JAR_SECRET,
      redirectUri: JAR_REDIRECT,
    });
    expect(tokens.status).toBe(200);
    const json = (await tokens.json()) as Record<string, string>;
    expect(json['scope']).toBe('openid email');
    expect(decodeJwt(json['id_token']!).nonce).toBe('jar-nonce');
  });

  it('a public client pushes with client_id only and completes the flow', async () => {
    const requestUri = await pushed(
      await paramsOf({ clientId: 'spa-app', redirectUri: SPA_REDIRECT, scope: 'openid' }),
      null,
    );
    const redirect = await signIn(new Browser(tp), byReference('spa-app', requestUri));
    expect(redirect.origin + redirect.pathname).toBe(SPA_REDIRECT);
    expect(redirect.searchParams.get('state')).toBe('st-123');
    const tokens = await exchange(tp, redirect.searchParams.get('code')!, {
      clientId: 'spa-app',
      redirectUri: SPA_REDIRECT,
    });
    expect(tokens.status).toBe(200);
  });

  it('a private_key_jwt client authenticates with an assertion whose aud is the PAR URL', async () => {
    const form = await paramsOf({ clientId: 'pk-web', redirectUri: PK_REDIRECT });
    form.set('client_assertion_type', JWT_BEARER);
    form.set('client_assertion', await signAs(edKey, assertionClaims(parUrl(), 'pk-web')));
    const requestUri = await pushed(form, null);

    const redirect = await signIn(new Browser(tp), byReference('pk-web', requestUri));
    const tokens = await tp.fetch(`${tp.issuer}/v1/oauth/token`, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: redirect.searchParams.get('code')!,
        redirect_uri: PK_REDIRECT,
        code_verifier: VERIFIER,
        client_assertion_type: JWT_BEARER,
        client_assertion: await signAs(edKey, assertionClaims(tp.issuer, 'pk-web')),
      }).toString(),
    });
    expect(tokens.status).toBe(200);
  });

  it('prompt=none through PAR answers at once when the user is signed in (SSO)', async () => {
    const browser = new Browser(tp);
    await signIn(browser, await authorizeUrl(tp));
    const form = await paramsOf({ state: 'sso', extra: { prompt: 'none' } });

    const res = await browser.request(byReference('web-app', await pushed(form)));
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(location.searchParams.get('state')).toBe('sso');

    // The same pushed request without a session: prompt=none cannot sign in.
    const fresh = await new Browser(tp).request(byReference('web-app', await pushed(form)));
    expect(fresh.status).toBe(302);
    const refused = new URL(fresh.headers.get('location')!);
    expect(refused.searchParams.get('error')).toBe('login_required');
    expect(refused.searchParams.get('state')).toBe('sso');
  });
});

describe('the request_uri', () => {
  it('is single use', async () => {
    const requestUri = await pushed(await paramsOf());
    const browser = new Browser(tp);
    const first = await signIn(browser, byReference('web-app', requestUri));
    expect(first.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    await expectErrorPage(
      await browser.request(byReference('web-app', requestUri)),
      'invalid_request_uri',
    );
  });

  it('is not used up by a HEAD request (a link scanner or prefetcher)', async () => {
    const requestUri = await pushed(await paramsOf());
    const head = await tp.fetch(byReference('web-app', requestUri), {
      method: 'HEAD',
      redirect: 'manual',
    });
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('GET, POST');
    const code = await signIn(new Browser(tp), byReference('web-app', requestUri));
    expect(code.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43,}$/);
  });

  it('is refused with another client’s client_id', async () => {
    for (const other of ['post-app', 'twin']) {
      const requestUri = await pushed(await paramsOf());
      await expectErrorPage(
        await tp.fetch(byReference(other, requestUri), { redirect: 'manual' }),
        'invalid_request_uri',
      );
    }
  });

  it('expires after ttl.pushedRequest', async () => {
    const kept = await pushed(await paramsOf());
    const expired = await pushed(await paramsOf());
    tp.clock.advance(59_000);
    const ok = await tp.fetch(byReference('web-app', kept), { redirect: 'manual' });
    // Still valid at 59 s: handed over to the sign-in interaction.
    expect(ok.headers.get('location')).toMatch(new RegExp(`^${tp.issuer}/interaction/`));
    tp.clock.advance(2_000);
    await expectErrorPage(
      await tp.fetch(byReference('web-app', expired), { redirect: 'manual' }),
      'invalid_request_uri',
    );
  });

  it('an unknown urn is refused', async () => {
    await expectErrorPage(
      await tp.fetch(
        byReference(
          'web-app',
          'urn:ietf:params:oauth:request_uri:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        ),
      ),
      'invalid_request_uri',
    );
  });
});

describe('the PAR endpoint refuses', () => {
  it('a confidential client without credentials, or with a wrong secret (401)', async () => {
    const none = await push(await paramsOf(), null);
    await expectJsonError(none, 401, 'invalid_client');
    expect(none.headers.get('www-authenticate')).toBeNull();
    const wrong = await push(await paramsOf(), basic('web-app', 'wrong-secret'));
    await expectJsonError(wrong, 401, 'invalid_client');
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it('GET (405) and parameters in the URL (400)', async () => {
    await expectJsonError(
      await tp.fetch(parUrl(), { headers: { authorization: basic('web-app', WEB_SECRET) } }),
      405,
      'invalid_request',
    );
    const query = await tp.fetch(`${parUrl()}?${await paramsOf()}`, {
      method: 'POST',
      headers: { ...FORM, authorization: basic('web-app', WEB_SECRET) },
      body: (await paramsOf()).toString(),
    });
    await expectJsonError(query, 400, 'invalid_request');
  });

  it('a request_uri in the pushed body', async () => {
    const form = await paramsOf();
    form.set('request_uri', 'urn:ietf:params:oauth:request_uri:abc');
    await expectJsonError(await push(form), 400, 'invalid_request');
  });

  it('an unregistered redirect_uri, as JSON and never redirected', async () => {
    const res = await push(await paramsOf({ redirectUri: 'https://attacker.example/cb' }));
    const body = await expectJsonError(res, 400, 'invalid_request');
    expect(body['error_description']).toContain('redirect_uri');
  });

  it('a public client without PKCE', async () => {
    const res = await push(
      await paramsOf({ clientId: 'spa-app', redirectUri: SPA_REDIRECT, verifier: null }),
      null,
    );
    const body = await expectJsonError(res, 400, 'invalid_request');
    expect(body['error_description']).toContain('PKCE');
  });
});

describe('require_pushed_authorization_requests', () => {
  it('a direct request is redirected with invalid_request; through PAR it works', async () => {
    const direct = await tp.fetch(
      await authorizeUrl(tp, {
        clientId: 'par-only',
        redirectUri: PAR_ONLY_REDIRECT,
        state: 'direct',
      }),
      { redirect: 'manual' },
    );
    expect(direct.status).toBe(302);
    const location = new URL(direct.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(PAR_ONLY_REDIRECT);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toContain('PAR');
    expect(location.searchParams.get('state')).toBe('direct');
    expect(location.searchParams.get('iss')).toBe(tp.issuer);

    const requestUri = await pushed(
      await paramsOf({ clientId: 'par-only', redirectUri: PAR_ONLY_REDIRECT, state: 'via-par' }),
      basic('par-only', PAR_ONLY_SECRET),
    );
    const redirect = await signIn(new Browser(tp), byReference('par-only', requestUri));
    expect(redirect.searchParams.get('state')).toBe('via-par');
    const tokens = await exchange(tp, redirect.searchParams.get('code')!, {
      clientId: 'par-only',
      secret: PAR_ONLY_SECRET,
      redirectUri: PAR_ONLY_REDIRECT,
    });
    expect(tokens.status).toBe(200);
  });
});
