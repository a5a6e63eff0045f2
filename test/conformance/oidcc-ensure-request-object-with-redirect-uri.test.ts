/**
 * oidcc-ensure-request-object-with-redirect-uri — the request object (unsigned, by value) carries
 * the registered redirect_uri, while the plain `redirect_uri` parameter is a wrong one (the
 * registered URI with `_invalid` appended). OIDC Core §6.1: the value inside the request object
 * wins. The provider must either process the object and redirect to its redirect_uri with a code,
 * or show an invalid-redirect_uri error page. Redirecting to the registered URI with
 * `request_not_supported` fails the module (EnsureOPDoesNotUseDefaultRedirectUriInCaseOfInvalidRedirectUri),
 * and so does any redirect to the wrong URI.
 *
 * TODAY (request objects are not supported yet): the wrong plain redirect_uri is refused first,
 * with an error page, and a request object next to a valid redirect_uri is answered with a
 * `request_not_supported` redirect. The "today" tests below pin that down; when JAR lands, the
 * request object will be processed instead and those tests must change — the module contract test
 * keeps holding either way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  CLIENT,
  type Conformance,
  expectAuthorizationCode,
  expectAuthorizationError,
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

  it('TODAY: refuses the wrong plain redirect_uri with an error page (invalid_request)', async () => {
    const result = await authorize(conf, {
      redirectUri: INVALID_REDIRECT_URI,
      state: null,
      nonce: null,
      extra: { request: requestObject(randomValue(), randomValue()) },
    });
    expect(result.location).toBeUndefined();
    const body = await expectErrorPage(result.first, INVALID_REDIRECT_URI);
    expect(body).toContain('invalid_request');
  });

  it('TODAY: answers a request object next to a valid redirect_uri with a request_not_supported redirect', async () => {
    const result = await authorize(conf, {
      state: null,
      nonce: null,
      extra: { request: requestObject(randomValue(), randomValue()) },
    });
    const params = expectAuthorizationError(conf, result);
    expect(params.get('error')).toBe('request_not_supported');
    expect(params.has('state')).toBe(false);
  });
});
