/**
 * Token endpoint errors (RFC 6749 §5.2): JSON bodies, the right status, `Cache-Control: no-store`,
 * `invalid_client` as 401 with a challenge when the Authorization header was used.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  Browser,
  basic,
  POST_SECRET,
  signIn,
  startTestProvider,
  type TestProvider,
  VERIFIER,
  WEB_SECRET,
} from '../support/harness.js';

let tp: TestProvider;
let code: string;
beforeEach(async () => {
  tp = await startTestProvider();
  code = (await signIn(new Browser(tp), await authorizeUrl(tp))).searchParams.get('code')!;
});

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function tokenRequest(
  body: Record<string, string> | string,
  headers: Record<string, string> = { ...FORM, authorization: basic('web-app', WEB_SECRET) },
  url = `${tp.issuer}/v1/oauth/token`,
  method = 'POST',
): Promise<Response> {
  const text = typeof body === 'string' ? body : new URLSearchParams(body).toString();
  return tp.fetch(url, { method, headers, ...(method === 'GET' ? {} : { body: text }) });
}

function grant(extra: Record<string, string> = {}): Record<string, string> {
  return {
    grant_type: 'authorization_code',
    code,
    redirect_uri: 'http://localhost:3000/callback',
    code_verifier: VERIFIER,
    ...extra,
  };
}

async function expectError(
  res: Response,
  status: number,
  error: string,
): Promise<Record<string, string>> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/json');
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = (await res.json()) as Record<string, string>;
  expect(body['error']).toBe(error);
  expect(body['error_description'] ?? '').toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/);
  expect(body['error_uri']).toBe(`${tp.issuer}/errors#${error}`);
  return body;
}

describe('request shape', () => {
  it('GET → 405 invalid_request', async () => {
    await expectError(await tokenRequest({}, {}, undefined, 'GET'), 405, 'invalid_request');
  });
  it('client credentials in the URL query are refused', async () => {
    const url = `${tp.issuer}/v1/oauth/token?client_id=web-app&client_secret=${WEB_SECRET}`;
    const body = await expectError(await tokenRequest(grant(), FORM, url), 400, 'invalid_request');
    expect(body['error_description']).toContain('body');
  });
  it('a JSON body is refused', async () => {
    const res = await tokenRequest(JSON.stringify(grant()), {
      'content-type': 'application/json',
      authorization: basic('web-app', WEB_SECRET),
    });
    await expectError(res, 400, 'invalid_request');
  });
  it('a repeated parameter is refused', async () => {
    const body = `${new URLSearchParams(grant()).toString()}&code=${code}`;
    await expectError(await tokenRequest(body), 400, 'invalid_request');
  });
  it('missing grant_type → invalid_request; unknown → unsupported_grant_type', async () => {
    const { grant_type: _, ...rest } = grant();
    await expectError(await tokenRequest(rest), 400, 'invalid_request');
    await expectError(
      await tokenRequest(grant({ grant_type: 'password' })),
      400,
      'unsupported_grant_type',
    );
  });
  it('a grant type the client is not registered for → unauthorized_client', async () => {
    await expectError(
      await tokenRequest({ grant_type: 'client_credentials' }),
      400,
      'unauthorized_client',
    );
  });
  it('missing code, redirect_uri → invalid_request', async () => {
    const { code: _c, ...noCode } = grant();
    await expectError(await tokenRequest(noCode), 400, 'invalid_request');
    const { redirect_uri: _r, ...noRedirect } = grant();
    await expectError(await tokenRequest(noRedirect), 400, 'invalid_request');
  });
  it('an oversized body → 413', async () => {
    const res = await tokenRequest(`grant_type=authorization_code&pad=${'x'.repeat(70_000)}`);
    expect(res.status).toBe(413);
  });
  it('an unknown code → invalid_grant', async () => {
    await expectError(await tokenRequest(grant({ code: 'x'.repeat(43) })), 400, 'invalid_grant');
  });
});

describe('client authentication', () => {
  it('no credentials → 401 invalid_client, no challenge (no Authorization header was sent)', async () => {
    const res = await tokenRequest(grant(), FORM);
    await expectError(res, 401, 'invalid_client');
    expect(res.headers.get('www-authenticate')).toBeNull();
  });
  it('a wrong secret with Basic → 401 with a Basic challenge naming the error', async () => {
    const res = await tokenRequest(grant(), { ...FORM, authorization: basic('web-app', 'wrong') });
    await expectError(res, 401, 'invalid_client');
    expect(res.headers.get('www-authenticate')).toMatch(
      /^Basic realm="gatehouse", error="invalid_client"/,
    );
  });
  it('an unknown client → 401 invalid_client', async () => {
    await expectError(
      await tokenRequest(grant(), { ...FORM, authorization: basic('nobody', WEB_SECRET) }),
      401,
      'invalid_client',
    );
  });
  it('malformed Basic credentials → 401 invalid_client', async () => {
    for (const authorization of ['Basic !!!', 'Basic ' + btoa('no-colon'), 'Bearer x', 'Basic']) {
      await expectError(
        await tokenRequest(grant(), { ...FORM, authorization }),
        401,
        'invalid_client',
      );
    }
  });
  it('form-encoded Basic credentials are decoded (RFC 6749 §2.3.1)', async () => {
    const raw = `Basic ${btoa(`web-app:${WEB_SECRET}`)}`;
    expect((await tokenRequest(grant(), { ...FORM, authorization: raw })).status).toBe(200);
  });
  it('two methods at once → invalid_request', async () => {
    await expectError(
      await tokenRequest(grant({ client_secret: WEB_SECRET })),
      400,
      'invalid_request',
    );
  });
  it('a method other than the registered one → invalid_client', async () => {
    const res = await tokenRequest(
      grant({ client_id: 'web-app', client_secret: WEB_SECRET }),
      FORM,
    );
    const body = await expectError(res, 401, 'invalid_client');
    expect(body['error_description']).toContain('client_secret_basic');
  });
  it('client_secret_post works for a client registered for it', async () => {
    const postCode = (
      await signIn(
        new Browser(tp),
        await authorizeUrl(tp, {
          clientId: 'post-app',
          redirectUri: 'https://post.example.com/cb',
          verifier: null,
        }),
      )
    ).searchParams.get('code')!;
    const res = await tokenRequest(
      {
        grant_type: 'authorization_code',
        code: postCode,
        redirect_uri: 'https://post.example.com/cb',
        client_id: 'post-app',
        client_secret: POST_SECRET,
      },
      FORM,
    );
    expect(res.status).toBe(200);
  });
  it('a confidential client cannot pretend to be public', async () => {
    await expectError(
      await tokenRequest(grant({ client_id: 'web-app' }), FORM),
      401,
      'invalid_client',
    );
  });
  it('a public client authenticates with client_id only and must send the verifier', async () => {
    const spaCode = (
      await signIn(
        new Browser(tp),
        await authorizeUrl(tp, {
          clientId: 'spa-app',
          redirectUri: 'http://localhost:5173/callback',
        }),
      )
    ).searchParams.get('code')!;
    const body = {
      grant_type: 'authorization_code',
      code: spaCode,
      redirect_uri: 'http://localhost:5173/callback',
      client_id: 'spa-app',
    };
    const res = await tokenRequest(body, { ...FORM, origin: 'http://localhost:5173' });
    await expectError(res, 400, 'invalid_grant');
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });
});

describe('successful responses', () => {
  it('carry no-store, Bearer, expires_in and the granted scope', async () => {
    const res = await tokenRequest(grant());
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body['token_type']).toBe('Bearer');
    expect(body['expires_in']).toBe(3600);
    expect(body['scope']).toBe('openid profile email offline_access');
  });
  it('client_credentials issues an access token (no ID token, no refresh token) to a service', async () => {
    const res = await tokenRequest(
      { grant_type: 'client_credentials', scope: 'reports.read' },
      { ...FORM, authorization: basic('svc', WEB_SECRET) },
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body['access_token']).toBeTruthy();
    expect(body['id_token']).toBeUndefined();
    expect(body['refresh_token']).toBeUndefined();
    await expectError(
      await tokenRequest(
        { grant_type: 'client_credentials', scope: 'openid' },
        { ...FORM, authorization: basic('svc', WEB_SECRET) },
      ),
      400,
      'invalid_scope',
    );
  });
});
