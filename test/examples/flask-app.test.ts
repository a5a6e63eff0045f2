/**
 * examples/flask-app — a client we did not write on our stack: Flask and Authlib from Debian's
 * packages, run by Debian's Python — against a real provider over HTTP, as a `web` client with a
 * secret and JAR required (the default), driven by the cookie-keeping browser of the Express
 * tests through the provider's login and consent pages.
 */
import { inflateSync } from 'node:zlib';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize, HttpBrowser, type World } from '../express/support.js';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  type FlaskWorld,
  noFlask,
  startFlaskWorld,
} from './flask-support.js';

let flask: FlaskWorld;
let issuer: string;
let base: string;

/** Flask's signed session cookie, read (it is signed, not encrypted: readable by design). */
function flaskSession(browser: HttpBrowser): Record<string, unknown> {
  const value = browser.jar(base).get('flask_example_session');
  if (!value) return {};
  const compressed = value.startsWith('.');
  const payload = Buffer.from((compressed ? value.slice(1) : value).split('.')[0]!, 'base64url');
  return JSON.parse((compressed ? inflateSync(payload) : payload).toString()) as Record<
    string,
    unknown
  >;
}

/**
 * Waits for a line in the app's output: its log reaches the pipe a moment after the HTTP answer
 * (and Werkzeug writes the access log only once the answer is sent).
 */
async function logged(expected: string | RegExp): Promise<void> {
  const seen = () =>
    typeof expected === 'string'
      ? flask.app.logs.includes(expected)
      : expected.test(flask.app.logs);
  for (const deadline = Date.now() + 3_000; !seen() && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (typeof expected === 'string') expect(flask.app.logs).toContain(expected);
  else expect(flask.app.logs).toMatch(expected);
}

/** The provider, as the browser helpers of the Express tests know it. */
function world(): World {
  return { issuer } as World;
}

describe.skipIf(noFlask)(
  `examples/flask-app (Flask + Authlib)${noFlask ? ` (skipped: ${noFlask})` : ''}`,
  () => {
    beforeAll(async () => {
      flask = await startFlaskWorld();
      ({ issuer, base } = flask);
    });
    afterAll(async () => {
      await flask?.close();
    });

    it('signs in with a signed request object, shows the profile, and signs out at the provider', async () => {
      const browser = new HttpBrowser();
      const home = await browser.get(`${base}/`);
      expect(home.status).toBe(200);
      expect(home.headers.get('content-security-policy')).toContain(`form-action 'self' ${issuer}`);
      expect(home.headers.get('referrer-policy')).toBe('no-referrer');
      const homeHtml = await home.text();
      expect(homeHtml).toContain('<h1>Welcome</h1>');
      expect(homeHtml).toContain('href="/login"');

      // The profile needs a login, and comes back to it afterwards.
      const profile = await browser.get(`${base}/profile`);
      expect(profile.status).toBe(302);
      expect(profile.headers.get('location')).toBe('/login?next=%2Fprofile');
      const login = await browser.get(`${base}/login?next=%2Fprofile`);
      expect(login.status).toBe(302);
      const authorizeUrl = new URL(login.headers.get('location')!);
      expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(`${issuer}/v1/oauth/authorize`);
      // JAR: only client_id and request travel in the URL.
      expect([...authorizeUrl.searchParams.keys()].sort()).toEqual(['client_id', 'request']);
      expect(authorizeUrl.searchParams.get('client_id')).toBe(CLIENT_ID);
      const requestObject = authorizeUrl.searchParams.get('request')!;
      expect(decodeProtectedHeader(requestObject)).toEqual({
        alg: 'HS256',
        typ: 'oauth-authz-req+jwt',
      });
      const { payload } = await jwtVerify(requestObject, new TextEncoder().encode(CLIENT_SECRET), {
        algorithms: ['HS256'],
        issuer: CLIENT_ID,
        audience: issuer,
      });
      const transaction = (flaskSession(browser)['pending_logins'] as Record<string, string>[])[0]!;
      expect(payload).toMatchObject({
        client_id: CLIENT_ID,
        response_type: 'code',
        redirect_uri: `${base}/callback`,
        scope: 'openid profile email',
        state: transaction['state'],
        nonce: transaction['nonce'],
        code_challenge_method: 'S256',
      });
      expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(300);
      expect(typeof payload.jti).toBe('string');

      const callback = await authorize(browser, world(), authorizeUrl.href);
      expect(callback.origin + callback.pathname).toBe(`${base}/callback`);
      expect(callback.searchParams.get('iss')).toBe(issuer);
      const back = await browser.get(callback.href);
      expect(back.status).toBe(302);
      expect(back.headers.get('location')).toBe('/profile');

      const signedIn = await browser.get(`${base}/profile`);
      expect(signedIn.status).toBe(200);
      const profileHtml = await signedIn.text();
      expect(profileHtml).toContain('<h1>Your profile</h1>');
      expect(profileHtml).toContain('<strong>alice@example.com</strong>');
      expect(profileHtml).toContain(`<code>iss</code></th><td><code>${issuer}</code>`);
      expect(await (await browser.get(`${base}/`)).text()).toContain(
        '<h1>Hello, Alice Example</h1>',
      );

      // The ID token the app verified (EdDSA, the provider's default) is kept for the logout.
      const idToken = flaskSession(browser)['id_token'] as string;
      expect(decodeProtectedHeader(idToken).alg).toBe('EdDSA');
      const sub = decodeJwt(idToken).sub!;
      await logged('event=login_started');
      await logged(/event=callback_received code=true error=false/);
      await logged(`event=login_succeeded sub=${sub}`);
      // Never a code, state, nonce, verifier or token, in the app's events or its access log.
      await logged(/"GET \/callback" 302/);
      for (const secret of [
        callback.searchParams.get('code')!,
        transaction['state']!,
        transaction['nonce']!,
        transaction['code_verifier']!,
        idToken,
        idToken.split('.')[2]!,
        requestObject.split('.')[2]!,
        CLIENT_SECRET,
      ]) {
        expect(flask.app.logs).not.toContain(secret);
      }

      // Sign out: the session ends here, then at the provider, which comes back home.
      const out = await browser.request(`${base}/logout`, { method: 'POST' });
      expect(out.status).toBe(303);
      const endSession = new URL(out.headers.get('location')!);
      expect(endSession.origin + endSession.pathname).toBe(`${issuer}/v1/oauth/logout`);
      expect(endSession.searchParams.get('id_token_hint')).toBe(idToken);
      expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${base}/`);
      const landed = await browser.follow(out, (u) => u.origin === issuer);
      expect(landed.headers.get('location')).toBe(`${base}/`);
      expect(await (await browser.get(`${base}/`)).text()).toContain('You are not signed in.');
      expect((await browser.get(`${base}/profile`)).status).toBe(302);
      await logged(`event=logout sub=${sub}`);
    });

    it('shows access_denied from the provider on its error page', async () => {
      const browser = new HttpBrowser();
      // prompt=consent: the consent page appears even for a client the user allowed before.
      const callback = await authorize(browser, world(), `${base}/login?prompt=consent`, {
        decision: 'deny',
      });
      expect(callback.searchParams.get('error')).toBe('access_denied');
      const page = await browser.get(callback.href);
      expect(page.status).toBe(400);
      const html = await page.text();
      expect(html).toContain('<h1>Sign-in was cancelled</h1>');
      expect(html).toContain('<dt>Error</dt><dd><code>access_denied</code></dd>');
      expect(html).toContain('<dt>Description</dt>');
      // The provider's error reference is a link: it is on the issuer's origin.
      expect(html).toContain(`<a href="${issuer}/errors#access_denied">`);
      expect(html).toContain('href="/login">Sign in again</a>');
      await logged('event=callback_received code=false error=true');
      await logged('event=login_failed reason=provider_error error=access_denied');
    });

    it('refuses a tampered or missing state with HTTP 400, and the real response still works', async () => {
      const browser = new HttpBrowser();
      const callback = await authorize(browser, world(), `${base}/login`);
      const tampered = new URL(callback);
      tampered.searchParams.set('state', `${callback.searchParams.get('state')}x`);
      const mismatch = await browser.get(tampered.href);
      expect(mismatch.status).toBe(400);
      const html = await mismatch.text();
      expect(html).toContain('<h1>This sign-in response was not started here</h1>');
      expect(html).toContain('The state parameter does not match');
      expect(html).toContain('<code>state_mismatch</code>');
      await logged(/event=login_failed reason=state_mismatch\n.*"GET \/callback" 400/);

      const missing = new URL(callback);
      missing.searchParams.delete('state');
      const noState = await browser.get(missing.href);
      expect(noState.status).toBe(400);
      expect(await noState.text()).toContain('<code>state_missing</code>');

      const duplicated = new URL(callback);
      duplicated.searchParams.append('code', 'x'.repeat(43));
      const twice = await browser.get(duplicated.href);
      expect(twice.status).toBe(400);
      expect(await twice.text()).toContain('<code>callback_duplicate_parameter</code>');

      // The forged responses did not spend the real one; the real one is good once.
      const back = await browser.get(callback.href);
      expect(back.status).toBe(302);
      const replay = await browser.get(callback.href);
      expect(replay.status).toBe(400);
      expect(await replay.text()).toContain('<code>transaction_not_found</code>');
      await logged(/reason=transaction_not_found\n.*"GET \/callback" 400/);
      expect(flask.app.logs).not.toContain(callback.searchParams.get('code')!);
      expect(flask.app.logs).not.toContain(callback.searchParams.get('state')!);
    });
  },
);
