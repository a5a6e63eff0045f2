/**
 * The React adapter's callback against the real provider: handled exactly once (StrictMode's
 * double effects, two providers, reloads), the OAuth parameters gone from the address bar before
 * the code is sent, every callback error in `error`, `login()` clearing it, silent login.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Browser, exchange } from '../support/harness.js';
import {
  type Adapter,
  CLIENT_ID,
  loadAdapter,
  loginUntilCallback,
  ORIGIN,
  options,
  page,
  REDIRECT_URI,
  settled,
  startWorld,
  until,
  type World,
} from './support.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});

/** Counts the code exchanges from here on. */
function exchanges(): () => number {
  const before = world.grants.length;
  return () => world.grants.slice(before).filter((g) => g === 'authorization_code').length;
}

/** A page load at `url` in a tab whose sessionStorage is `storage`, with a fresh adapter. */
async function load(
  url: string,
  storage: Parameters<typeof page>[0]['storage'],
  adapter?: Adapter,
  extra: Record<string, unknown> = {},
) {
  const a = adapter ?? (await loadAdapter());
  const p = page({ url, ...(storage ? { storage } : {}), now: world.tp.clock.now });
  const c = new a.AuthController(options(world, extra) as never, () => p.env);
  return { adapter: a, page: p, controller: c };
}

describe('login()', () => {
  it('leaves for the authorization endpoint with PKCE S256, keeping the transaction by state in sessionStorage', async () => {
    const adapter = await loadAdapter();
    const p = page({ url: `${ORIGIN}/orders?page=2#top`, now: world.tp.clock.now });
    const c = new adapter.AuthController(options(world) as never, () => p.env);
    await c.login();
    expect(p.navigations).toHaveLength(1);
    const url = new URL(p.navigations[0]!);
    expect(url.origin + url.pathname).toBe(`${world.tp.issuer}/v1/oauth/authorize`);
    const q = url.searchParams;
    expect(q.get('client_id')).toBe(CLIENT_ID);
    expect(q.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(q.get('response_type')).toBe('code');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('scope')).toBe('openid profile email offline_access');
    expect(q.has('request')).toBe(false);
    const state = q.get('state')!;
    expect(p.storage.keys()).toEqual([`gatehouse.tx.${state}`]);
    const saved = JSON.parse(p.storage.getItem(`gatehouse.tx.${state}`)!);
    expect(saved).toMatchObject({ state, issuer: world.tp.issuer, returnTo: '/orders?page=2#top' });
    expect(saved.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(c.getSnapshot().error).toBeUndefined();
  });

  it('keeps returnTo on this origin', async () => {
    const adapter = await loadAdapter();
    const p = page({ url: `${ORIGIN}/`, now: world.tp.clock.now });
    const c = new adapter.AuthController(options(world) as never, () => p.env);
    for (const evil of ['https://evil.example/', '//evil.example/x', '/\\evil.example']) {
      await c.login({ returnTo: evil });
      const state = new URL(p.navigations.at(-1)!).searchParams.get('state')!;
      expect(JSON.parse(p.storage.getItem(`gatehouse.tx.${state}`)!).returnTo).toBe('/');
    }
  });
});

describe('the callback', () => {
  it('signs in: one exchange, parameters removed first, then back to returnTo; tokens only in memory', async () => {
    const count = exchanges();
    const adapter = await loadAdapter();
    const { callback, storage } = await loginUntilCallback(world, adapter, {
      from: `${ORIGIN}/orders?page=2`,
    });
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    const { page: p, controller: c } = await load(callback.href, storage, adapter);
    let seenAtExchange: { url: string; stored: number } | undefined;
    world.onTokenRequest = () => {
      seenAtExchange = { url: p.url, stored: storage.length };
    };
    c.start();
    await settled(c);
    world.onTokenRequest = undefined;

    const s = c.getSnapshot();
    expect(s.error).toBeUndefined();
    expect(s.isAuthenticated).toBe(true);
    expect(s.user).toMatchObject({ name: 'Alice Example', email: 'alice@example.com' });
    expect(count()).toBe(1);
    // When the code went to the token endpoint, the address bar and sessionStorage were clean.
    expect(seenAtExchange).toEqual({ url: REDIRECT_URI, stored: 0 });
    expect(p.replaced).toEqual(['/callback', '/orders?page=2']);
    expect(p.url).toBe(`${ORIGIN}/orders?page=2`);
    // Nothing was written anywhere but memory.
    expect(storage.length).toBe(0);
    expect(await c.getAccessToken()).toMatch(/^ey/);
  });

  it('keeps parameters of the app and the fragment when it removes the OAuth ones', async () => {
    const adapter = await loadAdapter();
    const { callback, storage } = await loginUntilCallback(world, adapter);
    callback.searchParams.set('lang', 'fr');
    callback.hash = '#x';
    const { page: p, controller: c } = await load(callback.href, storage, adapter);
    c.start();
    await settled(c);
    expect(p.replaced[0]).toBe('/callback?lang=fr#x');
  });

  it('StrictMode (start, stop, start on one provider): one exchange', async () => {
    const count = exchanges();
    const adapter = await loadAdapter();
    const { callback, storage } = await loginUntilCallback(world, adapter);
    const { controller: c } = await load(callback.href, storage, adapter);
    c.start();
    c.stop();
    c.start();
    c.start();
    await settled(c);
    expect(c.getSnapshot()).toMatchObject({ isAuthenticated: true, error: undefined });
    expect(count()).toBe(1);
  });

  it('two providers on the page, and one mounted while the exchange runs: one exchange, all signed in', async () => {
    const count = exchanges();
    const adapter = await loadAdapter();
    const { callback, storage } = await loginUntilCallback(world, adapter);
    const p = page({ url: callback.href, storage, now: world.tp.clock.now });
    const first = new adapter.AuthController(options(world) as never, () => p.env);
    const second = new adapter.AuthController(options(world) as never, () => p.env);
    let late: InstanceType<Adapter['AuthController']> | undefined;
    world.onTokenRequest = () => {
      // The address bar is already clean: this one learns of the callback from the page's record.
      late = new adapter.AuthController(options(world) as never, () => p.env);
      late.start();
    };
    first.start();
    second.start();
    await Promise.all([settled(first), settled(second)]);
    world.onTokenRequest = undefined;
    await settled(late!);
    for (const c of [first, second, late!]) {
      expect(c.getSnapshot()).toMatchObject({ isAuthenticated: true, error: undefined });
    }
    expect(count()).toBe(1);
    expect(p.replaced.filter((u) => u === '/')).toHaveLength(1);
  });

  it('a reload during the exchange: the new page neither exchanges again nor reports an error', async () => {
    const count = exchanges();
    const first = await loadAdapter();
    const { callback, storage } = await loginUntilCallback(world, first);
    const before = await load(callback.href, storage, first);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let arrived!: () => void;
    const atExchange = new Promise<void>((r) => {
      arrived = r;
    });
    world.onTokenRequest = () => {
      arrived();
      return held;
    };
    before.controller.start();
    await atExchange;
    world.onTokenRequest = undefined;

    // The user reloads now: a new page at the address bar's URL, same tab (same sessionStorage).
    const after = await load(before.page.url, storage);
    after.controller.start();
    await settled(after.controller);
    expect(after.controller.getSnapshot()).toMatchObject({
      isAuthenticated: false,
      error: undefined,
    });
    release();
    expect(count()).toBe(1);
  });

  it('a reload after the login: signed out (tokens lived in memory), no error, no exchange', async () => {
    const count = exchanges();
    const adapter = await loadAdapter();
    const { callback, storage } = await loginUntilCallback(world, adapter);
    const first = await load(callback.href, storage, adapter);
    first.controller.start();
    await settled(first.controller);
    expect(first.controller.getSnapshot().isAuthenticated).toBe(true);

    const reloaded = await load(first.page.url, storage);
    reloaded.controller.start();
    await settled(reloaded.controller);
    expect(reloaded.controller.getSnapshot()).toMatchObject({
      isAuthenticated: false,
      error: undefined,
    });
    expect(count()).toBe(1);
    await expect(reloaded.controller.getAccessToken()).rejects.toMatchObject({
      code: 'login_required',
    });
  });

  it('the callback URL opened again (bookmark, copied link): transaction_not_found, no exchange', async () => {
    const count = exchanges();
    const adapter = await loadAdapter();
    const { callback, storage } = await loginUntilCallback(world, adapter);
    const first = await load(callback.href, storage, adapter);
    first.controller.start();
    await settled(first.controller);

    const again = await load(callback.href, storage);
    again.controller.start();
    await settled(again.controller);
    const { error, isAuthenticated } = again.controller.getSnapshot();
    expect(isAuthenticated).toBe(false);
    expect(error).toMatchObject({ code: 'transaction_not_found', retryable: true });
    expect(error?.hint).toMatch(/reload/);
    expect(again.page.url).toBe(REDIRECT_URI);
    expect(count()).toBe(1);
  });
});

describe('callback errors surface in `error`', () => {
  /** Loads `url` as the callback page of a tab holding `storage`; returns the settled error. */
  async function failing(url: string | URL, storage?: Parameters<typeof page>[0]['storage']) {
    const { controller: c, page: p } = await load(String(url), storage);
    c.start();
    await settled(c);
    const s = c.getSnapshot();
    expect(s.isAuthenticated).toBe(false);
    expect(p.url).not.toMatch(/[?&](code|state|error|iss)=/);
    return { error: s.error!, controller: c, page: p };
  }

  it('access_denied from the provider: provider_error with the provider’s error', async () => {
    const adapter = await loadAdapter();
    const { callback, storage } = await loginUntilCallback(world, adapter, {
      decision: 'deny',
      loginOptions: { prompt: 'consent' },
    });
    const { error } = await failing(callback, storage);
    expect(error).toMatchObject({
      code: 'provider_error',
      error: 'access_denied',
      retryable: false,
    });
    expect(error.message).toContain('access_denied');
  });

  it('a state this tab did not start while another login is pending: state_mismatch', async () => {
    const adapter = await loadAdapter();
    const { callback, storage } = await loginUntilCallback(world, adapter);
    callback.searchParams.set('state', 'forged-state-0123456789');
    const { error } = await failing(callback, storage);
    expect(error.code).toBe('state_mismatch');
    expect(error.message).toMatch(/CSRF/);
  });

  it('no state: state_missing', async () => {
    const { error } = await failing(`${REDIRECT_URI}?code=${'a'.repeat(43)}`);
    expect(error.code).toBe('state_missing');
  });

  it('a parameter twice: callback_duplicate_parameter (and the transaction is spent)', async () => {
    const adapter = await loadAdapter();
    const { callback, storage } = await loginUntilCallback(world, adapter);
    const { error } = await failing(`${callback.href}&code=${'b'.repeat(43)}`, storage);
    expect(error.code).toBe('callback_duplicate_parameter');
    expect(storage.length).toBe(0);
  });

  it('code and error together: callback_code_and_error', async () => {
    const adapter = await loadAdapter();
    const { callback, storage } = await loginUntilCallback(world, adapter);
    const { error } = await failing(`${callback.href}&error=access_denied`, storage);
    expect(error.code).toBe('callback_code_and_error');
  });

  it('another issuer in iss: issuer_mismatch', async () => {
    const adapter = await loadAdapter();
    const { callback, storage } = await loginUntilCallback(world, adapter);
    callback.searchParams.set('iss', 'https://evil.example');
    const { error } = await failing(callback, storage);
    expect(error.code).toBe('issuer_mismatch');
  });

  it('a malformed code: code_malformed', async () => {
    const adapter = await loadAdapter();
    const { callback, storage } = await loginUntilCallback(world, adapter);
    callback.searchParams.set('code', 'not a code!');
    const { error } = await failing(callback, storage);
    expect(error.code).toBe('code_malformed');
  });

  it('a code already redeemed: token_endpoint_error invalid_grant with a hint', async () => {
    const adapter = await loadAdapter();
    const { callback, storage } = await loginUntilCallback(world, adapter);
    const state = callback.searchParams.get('state')!;
    const { codeVerifier } = JSON.parse(storage.getItem(`gatehouse.tx.${state}`)!);
    const first = await exchange(world.tp, callback.searchParams.get('code')!, {
      clientId: CLIENT_ID,
      redirectUri: REDIRECT_URI,
      verifier: codeVerifier,
    });
    expect(first.status).toBe(200);
    const { error } = await failing(callback, storage);
    expect(error).toMatchObject({ code: 'token_endpoint_error', error: 'invalid_grant' });
    expect(error.hint).toMatch(/start a new login/);
  });

  it('the provider unreachable: network_error; login() clears the error and tries again', async () => {
    const adapter = await loadAdapter();
    const p = page({
      url: `${REDIRECT_URI}?code=${'c'.repeat(43)}&state=s1`,
      now: world.tp.clock.now,
    });
    let down = true;
    const c = new adapter.AuthController(
      {
        ...options(world),
        client: {
          now: world.tp.clock.now,
          fetch: (input: RequestInfo | URL, init?: RequestInit) =>
            down ? Promise.reject(new TypeError('Failed to fetch')) : world.fetch(input, init),
        },
      } as never,
      () => p.env,
    );
    c.start();
    await settled(c);
    expect(c.getSnapshot().error).toMatchObject({ code: 'network_error', retryable: true });

    down = false;
    const login = c.login();
    expect(c.getSnapshot().error).toBeUndefined();
    await login;
    expect(c.getSnapshot().error).toBeUndefined();
    expect(p.navigations).toHaveLength(1);
    // Started from the (cleaned) callback page: it comes back to the app, not to /callback.
    const state = new URL(p.navigations[0]!).searchParams.get('state')!;
    expect(JSON.parse(p.storage.getItem(`gatehouse.tx.${state}`)!).returnTo).toBe('/');
  });
});

describe('silentLogin', () => {
  it('with no session at the provider: one prompt=none round trip, then quietly signed out where the user was', async () => {
    const adapter = await loadAdapter();
    const p = page({ url: `${ORIGIN}/reports`, now: world.tp.clock.now });
    const c = new adapter.AuthController(
      options(world, { silentLogin: true }) as never,
      () => p.env,
    );
    c.start();
    await until(() => p.navigations.length === 1);
    const authorize = new URL(p.navigations[0]!);
    expect(authorize.searchParams.get('prompt')).toBe('none');
    expect(c.getSnapshot().isLoading).toBe(true);

    // The provider answers login_required at once (no session): back to the callback.
    const res = await new Browser(world.tp).navigate(authorize.href);
    const callback = new URL(res.headers.get('location')!);
    expect(callback.searchParams.get('error')).toBe('login_required');
    const back = await load(callback.href, p.storage, undefined, { silentLogin: true });
    const after = back.controller;
    after.start();
    await settled(after);
    expect(after.getSnapshot()).toMatchObject({ isAuthenticated: false, error: undefined });
    expect(back.page.url).toBe(`${ORIGIN}/reports`);
    // It does not try again in that page.
    expect(back.page.navigations).toHaveLength(0);
  });

  it('with a session at the provider: signed back in after a reload', async () => {
    const browser = new Browser(world.tp);
    const adapter = await loadAdapter();
    // A first, interactive login creates the provider session (and consent).
    await loginUntilCallback(world, adapter, { browser });

    const p = page({ url: `${ORIGIN}/`, now: world.tp.clock.now });
    const c = new (await loadAdapter()).AuthController(
      options(world, { silentLogin: true }) as never,
      () => p.env,
    );
    c.start();
    await until(() => p.navigations.length === 1);
    const res = await browser.navigate(p.navigations[0]!);
    const callback = res.headers.get('location')!;
    expect(new URL(callback).searchParams.has('code')).toBe(true);
    const { controller: after } = await load(callback, p.storage, undefined, { silentLogin: true });
    after.start();
    await settled(after);
    expect(after.getSnapshot()).toMatchObject({ isAuthenticated: true, error: undefined });
  });
});
