/**
 * The interaction pages the provider serves itself (sign-in, consent, logout confirmation, error
 * pages): no username enumeration, brute-force throttling, CSRF and browser binding, session
 * rotation, security headers, 303 after POSTs, prompt=login / max_age re-authentication.
 */
import { ERRORS } from '@gatehouse/oauth';
import { decodeJwt } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  Browser,
  exchange,
  OTHER_USER,
  signIn,
  startTestProvider,
  type TestProvider,
  USER,
} from '../support/harness.js';

let tp: TestProvider;
beforeEach(async () => {
  tp = await startTestProvider();
});

const SESSION = 'gatehouse.session';
const INTERACTION = 'gatehouse.interaction';
const LOGIN_FAILED = 'Wrong username or password.';

interface Form {
  action: string;
  csrf: string;
  body: string;
  status: number;
}

function decode(s: string): string {
  return s
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCharCode(Number.parseInt(n, 16)))
    .replace(/&amp;/g, '&');
}

async function formOf(res: Response): Promise<Form> {
  const body = await res.text();
  const action = /<form[^>]*action="([^"]+)"/.exec(body)?.[1];
  const csrf = /name="csrf"[^>]*value="([^"]+)"/.exec(body)?.[1];
  if (!action || !csrf) throw new Error(`no form (${res.status}):\n${body.slice(0, 400)}`);
  return { action: decode(action), csrf, body, status: res.status };
}

/** Starts an authorization request and returns the sign-in page it leads to. */
async function openLogin(browser: Browser, extra: Record<string, string> = {}): Promise<Form> {
  const res = await browser.navigate(await authorizeUrl(tp, { extra }));
  expect(res.status).toBe(200);
  const form = await formOf(res);
  expect(form.body).toContain('name="password"');
  return form;
}

/** POSTs a form without following the answer. */
function post(browser: Browser, action: string, fields: Record<string, string>): Promise<Response> {
  return browser.request(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

function login(
  browser: Browser,
  form: Form,
  user: { username: string; password: string },
): Promise<Response> {
  return post(browser, form.action, { csrf: form.csrf, ...user });
}

function alertOf(body: string): string | undefined {
  return /role="alert"[^>]*>([^<]*)</.exec(body)?.[1];
}

function setsSession(res: Response): boolean {
  return res.headers
    .getSetCookie()
    .some((c) => c.startsWith(`${SESSION}=`) && !c.startsWith(`${SESSION}=;`));
}

/** prompt=none for web-app: returns the redirect's query. */
async function silentAuth(
  browser: Browser,
  extra: Record<string, string> = {},
): Promise<URLSearchParams> {
  const res = await browser.request(
    await authorizeUrl(tp, { extra: { prompt: 'none', ...extra } }),
  );
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!).searchParams;
}

function expectSecurityHeaders(res: Response, what: string): void {
  expect(res.headers.get('content-type'), what).toMatch(/^text\/html/);
  const csp = res.headers.get('content-security-policy');
  expect(csp, `${what}: CSP`).toBeTruthy();
  const directives = new Map(
    csp!
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map((d) => [d[0]!.toLowerCase(), d.slice(1)] as const),
  );
  expect(directives.get('frame-ancestors'), `${what}: frame-ancestors`).toEqual(["'none'"]);
  expect(csp, what).not.toContain("'unsafe-inline'");
  expect(csp, what).not.toContain("'unsafe-eval'");
  // Scripts: none at all (script-src falls back to default-src).
  const scripts = directives.get('script-src') ?? directives.get('default-src');
  expect(scripts, `${what}: script-src`).toEqual(["'none'"]);
  expect(res.headers.get('x-frame-options'), what).toBe('DENY');
  expect(res.headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
}

async function expectPage(res: Response, what: string): Promise<string> {
  expectSecurityHeaders(res, what);
  const body = await res.text();
  expect(body, what).not.toMatch(/<script/i);
  expect(body, what).not.toMatch(/\son[a-z]+\s*=/i);
  expect(body, what).not.toMatch(/<style|\sstyle\s*=/i);
  return body;
}

describe('the sign-in page', () => {
  it('has the username, password and csrf fields and posts to its interaction', async () => {
    const browser = new Browser(tp);
    const form = await openLogin(browser);
    expect(form.status).toBe(200);
    expect(form.body).toMatch(/<form[^>]*method="post"/i);
    expect(form.body).toMatch(/name="username"/);
    expect(form.body).toMatch(
      /name="password"[^>]*type="password"|type="password"[^>]*name="password"/,
    );
    expect(form.body).toMatch(/name="csrf"/);
    expect(form.action).toMatch(new RegExp(`^${tp.issuer}/interaction/[A-Za-z0-9_-]{20,}/login$`));
    expect(form.csrf.length).toBeGreaterThanOrEqual(32);
    const cookie = browser.cookies.get(INTERACTION);
    expect(cookie).toBeTruthy();
    expect(form.action).toContain(cookie!);
  });

  it('gives the same status and message for a wrong password and an unknown user', async () => {
    const browser = new Browser(tp);
    const form = await openLogin(browser);
    const wrong = await login(browser, form, { username: 'alice', password: 'wrong password' });
    const unknown = await login(browser, form, { username: 'mallory', password: 'wrong password' });
    expect(wrong.status).toBe(unknown.status);
    expect(wrong.status).toBeGreaterThanOrEqual(400);
    expect(wrong.status).toBeLessThan(500);
    const a = await wrong.text();
    const b = await unknown.text();
    expect(alertOf(a)).toBe(LOGIN_FAILED);
    expect(alertOf(b)).toBe(LOGIN_FAILED);
    // The whole page is the same apart from the username typed in.
    expect(a.replaceAll('alice', 'USER')).toBe(b.replaceAll('mallory', 'USER'));
    expect(setsSession(wrong) || setsSession(unknown)).toBe(false);
  });

  it('escapes what it echoes (login_hint, the username typed)', async () => {
    const browser = new Browser(tp);
    const form = await openLogin(browser, { login_hint: '"><img src=x onerror=alert(1)>' });
    expect(form.body).not.toContain('<img src=x');
    const res = await login(browser, form, {
      username: '"><script>alert(1)</script>',
      password: 'wrong password',
    });
    const body = await res.text();
    expect(body).not.toMatch(/<script/i);
    expect(body).toContain('&lt;script&gt;');
  });
});

describe('no account enumeration by timing', () => {
  it('spends one full password hash on unknown users too (the same work as a wrong password)', async () => {
    const { scryptHasher } = await import('../../packages/provider/src/users/passwords.js');
    const real = scryptHasher({ logN: 10 });
    const calls: string[] = [];
    tp = await startTestProvider({
      passwords: {
        hash: real.hash,
        verify: (p, h) => {
          calls.push('verify');
          return real.verify(p, h);
        },
        dummyVerify: (p) => {
          calls.push('dummy');
          return real.dummyVerify(p);
        },
      },
    });
    const browser = new Browser(tp);
    const form = await openLogin(browser);
    const wrong = await login(browser, form, { username: 'alice', password: 'wrong password' });
    const unknown = await login(browser, form, { username: 'nobody', password: 'wrong password' });
    expect(calls).toEqual(['verify', 'dummy']);
    expect(unknown.status).toBe(wrong.status);
    expect(alertOf(await unknown.text())).toBe(alertOf(await wrong.text()));
  });
});

describe('throttling (SECURITY.md: per-account and per-IP)', () => {
  it('refuses the attempt after perAccount failures even with the right password', async () => {
    const { perAccount } = tp.provider.config.throttle;
    expect(perAccount).toBe(5);
    const browser = new Browser(tp);
    const form = await openLogin(browser);
    for (let i = 0; i < perAccount; i++) {
      const res = await login(browser, form, { username: 'alice', password: `wrong ${i}` });
      expect(alertOf(await res.text()), `attempt ${i + 1}`).toBe(LOGIN_FAILED);
    }
    const res = await login(browser, form, USER);
    expect(res.status).not.toBe(303);
    expect(res.headers.get('location')).toBeNull();
    expect(setsSession(res)).toBe(false);
    expect(alertOf(await res.text())).toMatch(/^Too many attempts/);
    expect(browser.cookies.has(SESSION)).toBe(false);

    // Another account is not affected.
    const other = await login(browser, form, OTHER_USER);
    expect(other.status).toBe(303);
    expect(setsSession(other)).toBe(true);
  });

  it('per IP, counts failures only: successful sign-ins from one address never lock it out', async () => {
    const { baseConfig } = await import('../support/harness.js');
    tp = await startTestProvider({ config: { ...baseConfig(), throttle: { perIp: 3 } } });
    // Many people behind one address sign in successfully.
    for (let i = 0; i < 6; i++) {
      const browser = new Browser(tp);
      const res = await login(browser, await openLogin(browser), i % 2 ? USER : OTHER_USER);
      expect(res.status, `sign-in ${i + 1}`).toBe(303);
    }
    // Three failures (spread over accounts, so no account limit applies) close the address.
    const browser = new Browser(tp);
    const form = await openLogin(browser);
    for (const username of ['u1', 'u2', 'u3']) {
      expect(
        alertOf(await (await login(browser, form, { username, password: 'nope' })).text()),
      ).toBe(LOGIN_FAILED);
    }
    const blocked = await login(browser, form, USER);
    expect(alertOf(await blocked.text())).toMatch(/^Too many attempts/);
  });

  it('counts the account however its name is typed', async () => {
    const browser = new Browser(tp);
    const form = await openLogin(browser);
    for (const username of ['alice', 'ALICE', ' Alice ', 'aLiCe', 'alice\t']) {
      await login(browser, form, { username, password: 'wrong password' });
    }
    const res = await login(browser, form, { username: 'Alice', password: USER.password });
    expect(alertOf(await res.text())).toMatch(/^Too many attempts/);
  });

  it('throttles unknown accounts the same way (no enumeration by throttling)', async () => {
    const browser = new Browser(tp);
    const form = await openLogin(browser);
    const known: (string | undefined)[] = [];
    const unknown: (string | undefined)[] = [];
    for (let i = 0; i < 6; i++) {
      known.push(
        alertOf(await (await login(browser, form, { username: 'alice', password: 'x' })).text()),
      );
      unknown.push(
        alertOf(await (await login(browser, form, { username: 'mallory', password: 'x' })).text()),
      );
    }
    expect(unknown).toEqual(known);
    expect(known.at(-1)).toMatch(/^Too many attempts/);
  });

  it('lets the account in again after windowSeconds', async () => {
    const { perAccount, windowSeconds } = tp.provider.config.throttle;
    const browser = new Browser(tp);
    const form = await openLogin(browser);
    for (let i = 0; i <= perAccount; i++) {
      await login(browser, form, { username: 'alice', password: `wrong ${i}` });
    }
    tp.clock.advance((windowSeconds - 30) * 1000);
    const early = new Browser(tp);
    const earlyForm = await openLogin(early);
    expect(alertOf(await (await login(early, earlyForm, USER)).text())).toMatch(
      /^Too many attempts/,
    );

    tp.clock.advance(31_000);
    const later = new Browser(tp);
    const laterForm = await openLogin(later);
    const res = await login(later, laterForm, USER);
    expect(res.status).toBe(303);
    expect(setsSession(res)).toBe(true);
  });

  it('throttles one client address across accounts after perIp failures', async () => {
    const { perIp } = tp.provider.config.throttle;
    const browser = new Browser(tp);
    const form = await openLogin(browser);
    for (let i = 0; i < perIp; i++) {
      await login(browser, form, { username: `user${i}`, password: 'wrong password' });
    }
    const res = await login(browser, form, USER);
    expect(setsSession(res)).toBe(false);
    expect(alertOf(await res.text())).toMatch(/^Too many attempts/);
  });
});

describe('binding and CSRF', () => {
  it('another browser (no interaction cookie) gets the expired/other-browser error page', async () => {
    const browser = new Browser(tp);
    const form = await openLogin(browser);
    const page = form.action.replace(/\/login$/, '');
    const stranger = new Browser(tp);
    const res = await stranger.request(page);
    expect(res.status).toBe(400);
    const body = await expectPage(res, 'other browser');
    expect(body).toMatch(/another browser/);
    expect(body).not.toContain('name="password"');
    // Even with the CSRF token and the right password, the stranger gets no session.
    const posted = await login(stranger, form, USER);
    expect(posted.status).toBe(400);
    expect(setsSession(posted)).toBe(false);
  });

  it('expires after ttl.interaction', async () => {
    const browser = new Browser(tp);
    const form = await openLogin(browser);
    tp.clock.advance((tp.provider.config.ttl.interaction + 1) * 1000);
    const res = await login(browser, form, USER);
    expect(res.status).toBe(400);
    expect(setsSession(res)).toBe(false);
  });

  it('a wrong or missing CSRF token → error page, no session even with the right password', async () => {
    const browser = new Browser(tp);
    const form = await openLogin(browser);
    for (const fields of [
      { csrf: `${form.csrf.slice(0, -1)}${form.csrf.endsWith('A') ? 'B' : 'A'}`, ...USER },
      { csrf: '', ...USER },
      { ...USER },
    ]) {
      const res = await post(browser, form.action, fields);
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(setsSession(res)).toBe(false);
      const body = await expectPage(res, 'csrf error');
      expect(body).not.toContain('name="password"');
    }
    // The real form still works afterwards.
    const ok = await login(browser, form, USER);
    expect(ok.status).toBe(303);
  });

  it('a wrong CSRF token on the consent form → error page, no code', async () => {
    const browser = new Browser(tp);
    const form = await openLogin(browser);
    const afterLogin = await login(browser, form, USER);
    expect(afterLogin.status).toBe(303);
    const consent = await formOf(await browser.request(afterLogin.headers.get('location')!));
    expect(consent.body).toContain('name="decision"');
    const res = await post(browser, consent.action, { csrf: 'forged', decision: 'allow' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });
});

describe('the session', () => {
  it('gets a new id at every sign-in; the previous one stops working', async () => {
    const browser = new Browser(tp);
    await signIn(browser, await authorizeUrl(tp));
    const before = browser.cookies.get(SESSION)!;
    expect(before).toBeTruthy();

    const form = await openLogin(browser, { prompt: 'login' });
    const res = await login(browser, form, USER);
    expect(res.status).toBe(303);
    const after = browser.cookies.get(SESSION)!;
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);

    const old = new Browser(tp);
    old.cookies.set(SESSION, before);
    expect((await silentAuth(old)).get('error')).toBe('login_required');
    expect((await silentAuth(browser)).get('code')).toBeTruthy();
  });

  it('never adopts a session id chosen by someone else (fixation)', async () => {
    const planted = 'attacker-chosen-session-id-0123456789';
    const browser = new Browser(tp);
    browser.cookies.set(SESSION, planted);
    await signIn(browser, await authorizeUrl(tp));
    expect(browser.cookies.get(SESSION)).toBeTruthy();
    expect(browser.cookies.get(SESSION)).not.toBe(planted);
  });

  it('the session cookie is HttpOnly and SameSite=Lax', async () => {
    const browser = new Browser(tp);
    const res = await login(browser, await openLogin(browser), USER);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION}=`))!;
    expect(cookie).toMatch(/;\s*HttpOnly/i);
    expect(cookie).toMatch(/;\s*SameSite=Lax/i);
  });

  it('prompt=login shows the sign-in page again despite a session', async () => {
    const browser = new Browser(tp);
    await signIn(browser, await authorizeUrl(tp));
    const res = await browser.navigate(await authorizeUrl(tp, { extra: { prompt: 'login' } }));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('name="password"');
  });

  it('max_age exceeded shows the sign-in page; re-authenticating updates auth_time', async () => {
    const browser = new Browser(tp);
    await signIn(browser, await authorizeUrl(tp));
    tp.clock.advance(120_000);

    // Within max_age: straight back with a code.
    const within = await browser.request(await authorizeUrl(tp, { extra: { max_age: '3600' } }));
    expect(within.status).toBe(302);
    expect(new URL(within.headers.get('location')!).searchParams.get('code')).toBeTruthy();

    const form = await openLogin(browser, { max_age: '60' });
    const res = await login(browser, form, USER);
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    const code = location.searchParams.get('code')!;
    expect(code).toBeTruthy();
    const tokens = (await (await exchange(tp, code)).json()) as Record<string, string>;
    expect(decodeJwt(tokens['id_token']!)['auth_time']).toBe(Math.floor(tp.clock.now() / 1000));
  });
});

describe('max_age=0', () => {
  it('forces re-authentication like prompt=login, however recent the session (OIDC Core §3.1.2.1)', async () => {
    const browser = new Browser(tp);
    await signIn(browser, await authorizeUrl(tp));
    // "Note that max_age=0 is equivalent to prompt=login": no elapsed time is small enough.
    const res = await browser.navigate(await authorizeUrl(tp, { extra: { max_age: '0' } }));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('name="password"');
  });
});

describe('answers after a POST are 303, never 307', () => {
  it('sign-in, consent (allow and deny), POSTed authorization, logout confirmation', async () => {
    const statuses: [string, number][] = [];

    const browser = new Browser(tp);
    const form = await openLogin(browser);
    const afterLogin = await login(browser, form, USER);
    statuses.push(['login', afterLogin.status]);
    const consent = await formOf(await browser.request(afterLogin.headers.get('location')!));
    const allowed = await post(browser, consent.action, { csrf: consent.csrf, decision: 'allow' });
    statuses.push(['consent allow', allowed.status]);
    expect(allowed.headers.get('location')).toMatch(/^http:\/\/localhost:3000\/callback\?code=/);

    const denier = new Browser(tp);
    const f2 = await openLogin(denier);
    const c2 = await formOf(
      await denier.request((await login(denier, f2, OTHER_USER)).headers.get('location')!),
    );
    const denied = await post(denier, c2.action, { csrf: c2.csrf, decision: 'deny' });
    statuses.push(['consent deny', denied.status]);

    const url = new URL(await authorizeUrl(tp, { state: 'post' }));
    const postedAuthz = await browser.request(`${tp.issuer}/v1/oauth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: url.searchParams.toString(),
    });
    statuses.push(['POST authorize', postedAuthz.status]);

    const logout = await browser.request(
      `${tp.issuer}/v1/oauth/logout?client_id=web-app&post_logout_redirect_uri=${encodeURIComponent('http://localhost:3000/')}`,
    );
    statuses.push(['logout (to confirmation)', logout.status]);
    const confirm = await formOf(await browser.request(logout.headers.get('location')!));
    const loggedOut = await post(browser, confirm.action, {
      csrf: confirm.csrf,
      decision: 'logout',
    });
    statuses.push(['logout confirmation', loggedOut.status]);

    for (const [what, status] of statuses) expect(status, what).toBe(303);
  });
});

describe('security headers on every HTML page', () => {
  it('login, consent, logout confirmation, signed-out, error pages and /errors', async () => {
    const browser = new Browser(tp);
    const pages: [string, Response][] = [];

    const loginRes = await browser.navigate(await authorizeUrl(tp));
    pages.push(['login', loginRes.clone()]);
    const form = await formOf(loginRes);
    pages.push([
      'login failed',
      await login(browser, form, { username: 'alice', password: 'nope' }),
    ]);
    const afterLogin = await login(browser, form, USER);
    const consentRes = await browser.request(afterLogin.headers.get('location')!);
    pages.push(['consent', consentRes.clone()]);
    const consent = await formOf(consentRes);
    await post(browser, consent.action, { csrf: consent.csrf, decision: 'allow' });

    const logout = await browser.request(`${tp.issuer}/v1/oauth/logout`);
    const confirmRes = await browser.request(logout.headers.get('location')!);
    pages.push(['logout confirmation', confirmRes.clone()]);
    const confirm = await formOf(confirmRes);
    pages.push([
      'signed out',
      await post(browser, confirm.action, { csrf: confirm.csrf, decision: 'logout' }),
    ]);

    pages.push([
      'interaction error',
      await new Browser(tp).request(`${tp.issuer}/interaction/${'x'.repeat(43)}`),
    ]);
    pages.push(['404', await tp.fetch(`${tp.issuer}/no/such/page`)]);
    pages.push([
      'authorization error page',
      await tp.fetch(`${tp.issuer}/v1/oauth/authorize?client_id=nobody&response_type=code`),
    ]);
    pages.push([
      'logout error page',
      await tp.fetch(`${tp.issuer}/v1/oauth/logout?id_token_hint=x`),
    ]);
    pages.push(['/errors', await tp.fetch(`${tp.issuer}/errors`)]);

    for (const [what, res] of pages) await expectPage(res, what);
  });

  it('the consent page may post back only to itself and the client redirect origin', async () => {
    const browser = new Browser(tp);
    const afterLogin = await login(browser, await openLogin(browser), USER);
    const res = await browser.request(afterLogin.headers.get('location')!);
    const csp = res.headers.get('content-security-policy')!;
    const formAction = csp
      .split(';')
      .map((d) => d.trim())
      .find((d) => d.startsWith('form-action'))!;
    expect(formAction.split(/\s+/).slice(1).sort()).toEqual(["'self'", 'http://localhost:3000']);
  });
});

describe('static pages', () => {
  it('/errors has an anchor for every error code', async () => {
    const res = await tp.fetch(`${tp.issuer}/errors`);
    expect(res.status).toBe(200);
    const body = await res.text();
    for (const code of ERRORS.keys()) expect(body).toContain(`id="${code}"`);
    for (const code of ['invalid_grant', 'invalid_request', 'login_required', 'invalid_client']) {
      expect(body).toContain(`id="${code}"`);
    }
  });

  it('/assets/gatehouse.css is served as text/css', async () => {
    const res = await tp.fetch(`${tp.issuer}/assets/gatehouse.css`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/css/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const css = await res.text();
    expect(css.length).toBeGreaterThan(100);
    expect(css).toMatch(/\{[^}]*:[^}]*\}/);
  });
});
