/**
 * oidcc-ensure-request-object-with-redirect-uri — the request object (unsigned, by value) carries
 * the registered redirect_uri, while the plain `redirect_uri` parameter is a wrong one (the
 * registered URI with `_invalid` appended). OIDC Core §6.1: the value inside the request object
 * wins. The provider must either process the object and redirect to its redirect_uri with a code,
 * or show an invalid-redirect_uri error page. Redirecting to the registered URI with
 * `request_not_supported` fails the module (EnsureOPDoesNotUseDefaultRedirectUriInCaseOfInvalidRedirectUri),
 * and so does any redirect to the wrong URI.
 *
 * Gatehouse refuses unsigned (`alg: none`) request objects — discovery does not list `none`, so
 * the suite would skip this module — and shows the error page for them (invalid_request_object),
 * which the module accepts. The rule the module checks is also tested with a request object the
 * client signed (HS256 with its secret): the redirect_uri inside wins over the wrong one outside.
 */
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  CLIENT,
  type Conformance,
  expectAuthorizationCode,
  expectErrorPage,
  REDIRECT_URI,
  randomValue,
  SUITE_SCOPE,
  startConformance,
  unsignedJwt,
} from './support.js';

const INVALID_REDIRECT_URI = `${REDIRECT_URI}_invalid`;

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

function requestObject(state: string, nonce: string): string {
  return unsignedJwt({
    iss: CLIENT.id,
    aud: conf.discovery['issuer'],
    client_id: CLIENT.id,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: SUITE_SCOPE,
    state,
    nonce,
  });
}

describe('oidcc-ensure-request-object-with-redirect-uri', () => {
  it('uses the redirect_uri of the request object, or shows an error page — never a redirect elsewhere', async () => {
    const state = randomValue();
    const result = await authorize(conf, {
      redirectUri: INVALID_REDIRECT_URI,
      state: null,
      nonce: null,
      extra: { request: requestObject(state, randomValue()) },
    });
    if (result.location === undefined) {
      await expectErrorPage(result.first, INVALID_REDIRECT_URI);
      return;
    }
    // Redirected: only acceptable to the request object's redirect_uri, with a code.
    expect(result.location.href.startsWith(INVALID_REDIRECT_URI)).toBe(false);
    expect(result.location.searchParams.get('error')).not.toBe('request_not_supported');
    result.request.redirectUri = REDIRECT_URI;
    result.request.state = state;
    expectAuthorizationCode(conf, result);
  });

  it('refuses an unsigned request object on the error page (invalid_request_object)', async () => {
    for (const redirectUri of [INVALID_REDIRECT_URI, REDIRECT_URI]) {
      const result = await authorize(conf, {
        redirectUri,
        state: null,
        nonce: null,
        extra: { request: requestObject(randomValue(), randomValue()) },
      });
      expect(result.location).toBeUndefined();
      const body = await expectErrorPage(result.first, INVALID_REDIRECT_URI);
      expect(body).toContain('invalid_request_object');
    }
  });

  it('uses the redirect_uri inside a signed request object, not the wrong one outside', async () => {
    const state = randomValue();
    const nonce = randomValue();
    const now = Math.floor(Date.now() / 1000);
    const request = await new SignJWT({
      iss: CLIENT.id,
      aud: conf.discovery['issuer'] as string,
      client_id: CLIENT.id,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: SUITE_SCOPE,
      state,
      nonce,
      iat: now,
      exp: now + 60,
      jti: randomValue(),
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'oauth-authz-req+jwt' })
      .sign(new TextEncoder().encode(CLIENT.secret));
    const result = await authorize(conf, {
      redirectUri: INVALID_REDIRECT_URI,
      state: null,
      nonce: null,
      extra: { request },
    });
    expect(result.location?.href.startsWith(REDIRECT_URI)).toBe(true);
    result.request.redirectUri = REDIRECT_URI;
    result.request.state = state;
    expectAuthorizationCode(conf, result);
  });
});
