/**
 * Access tokens of the React adapter against the real provider (which rotates refresh tokens
 * and revokes the grant when a rotated one is used again): refreshed near expiry, one refresh
 * at a time in a tab and across tabs (Web Locks + BroadcastChannel), the session shared with a
 * new tab, logout everywhere.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Adapter,
  Bus,
  type Controller,
  FakeLocks,
  loadAdapter,
  loginUntilCallback,
  MemoryStorage,
  ORIGIN,
  options,
  page,
  settled,
  startWorld,
  until,
  type World,
} from './support.js';

const ACCESS_TOKEN_SECONDS = 300;

let world: World;
beforeAll(async () => {
  world = await startWorld({}, { ttl: { accessToken: ACCESS_TOKEN_SECONDS } });
});

function refreshes(): () => number {
  const before = world.grants.length;
  return () => world.grants.slice(before).filter((g) => g === 'refresh_token').length;
}

interface Tab {
  controller: Controller;
  page: ReturnType<typeof page>;
}

/** A tab whose page loads at `url`; `origin` gives it the origin's locks and channel bus. */
async function openTab(
  url: string,
  o: { storage?: MemoryStorage; origin?: { locks: FakeLocks; bus: Bus }; extra?: object } = {},
): Promise<Tab> {
  const adapter: Adapter = await loadAdapter();
  const p = page({
    url,
    storage: o.storage ?? new MemoryStorage(),
    now: world.tp.clock.now,
    ...(o.origin ?? {}),
  });
  const controller = new adapter.AuthController(
    options(world, o.extra as Record<string, unknown>) as never,
    () => p.env,
  );
  controller.start();
  await settled(controller);
  return { controller, page: p };
}

/** A tab that has just signed in (through the callback). */
async function signedInTab(
  o: { origin?: { locks: FakeLocks; bus: Bus }; extra?: object; scope?: string } = {},
): Promise<Tab> {
  const { callback, storage } = await loginUntilCallback(world, await loadAdapter(), {
    ...(o.scope ? { loginOptions: { scope: o.scope } } : {}),
  });
  const tab = await openTab(callback.href, { storage, ...o });
  expect(tab.controller.getSnapshot()).toMatchObject({ isAuthenticated: true, error: undefined });
  return tab;
}

const origin = (delayMs = 0) => ({ locks: new FakeLocks(), bus: new Bus(delayMs) });

describe('getAccessToken()', () => {
  it('gives the current token while it is fresh, and refreshes it near expiry', async () => {
    const count = refreshes();
    const { controller: c } = await signedInTab();
    const first = await c.getAccessToken();
    expect(await c.getAccessToken()).toBe(first);
    expect(count()).toBe(0);

    world.tp.clock.advance((ACCESS_TOKEN_SECONDS - 59) * 1000);
    const second = await c.getAccessToken();
    expect(second).not.toBe(first);
    expect(count()).toBe(1);
    // The rotated refresh token is the one used next time (the old one would revoke the grant).
    world.tp.clock.advance(ACCESS_TOKEN_SECONDS * 1000);
    const third = await c.getAccessToken();
    expect(third).not.toBe(second);
    expect(count()).toBe(2);
    expect(c.getSnapshot()).toMatchObject({ isAuthenticated: true, error: undefined });
    expect(c.getSnapshot().user).toMatchObject({ name: 'Alice Example' });
  });

  it('one refresh at a time in a tab (no Web Locks, no BroadcastChannel)', async () => {
    const count = refreshes();
    const { controller: c } = await signedInTab();
    world.tp.clock.advance(ACCESS_TOKEN_SECONDS * 1000);
    const tokens = await Promise.all([c.getAccessToken(), c.getAccessToken(), c.getAccessToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(count()).toBe(1);
  });

  it('without a session: rejects with login_required', async () => {
    const { controller: c } = await openTab(`${ORIGIN}/`);
    await expect(c.getAccessToken()).rejects.toMatchObject({
      code: 'login_required',
      retryable: true,
    });
  });

  it('expired without a refresh token (no offline_access): login_required, signed out', async () => {
    const { controller: c } = await signedInTab({ scope: 'openid profile' });
    world.tp.clock.advance(ACCESS_TOKEN_SECONDS * 1000);
    await expect(c.getAccessToken()).rejects.toMatchObject({ code: 'login_required' });
    expect(c.getSnapshot()).toMatchObject({
      isAuthenticated: false,
      error: expect.objectContaining({ code: 'login_required' }),
    });
  });

  it('a refresh refused with invalid_grant ends the session: token_endpoint_error in `error`', async () => {
    const { controller: c, page: p } = await signedInTab();
    const revoked = await revokeAllRefreshTokensOf(c);
    expect(revoked).toBe(true);
    world.tp.clock.advance(ACCESS_TOKEN_SECONDS * 1000);
    await expect(c.getAccessToken()).rejects.toMatchObject({
      code: 'token_endpoint_error',
      error: 'invalid_grant',
    });
    expect(c.getSnapshot()).toMatchObject({
      isAuthenticated: false,
      error: expect.objectContaining({ code: 'token_endpoint_error' }),
    });
    expect(p.url).toBe(`${ORIGIN}/`);
  });
});

describe('tabs', () => {
  it('a new tab gets the session of an open tab, without a login or a token request', async () => {
    const o = origin();
    const a = await signedInTab({ origin: o });
    const before = world.grants.length;
    const b = await openTab(`${ORIGIN}/other`, { origin: o });
    expect(b.controller.getSnapshot()).toMatchObject({ isAuthenticated: true, error: undefined });
    expect(b.controller.getSnapshot().user?.sub).toBe(a.controller.getSnapshot().user?.sub);
    expect(await b.controller.getAccessToken()).toBe(await a.controller.getAccessToken());
    expect(world.grants.length).toBe(before);
    expect(b.page.navigations).toEqual([]);
  });

  it('the first tab of the origin does not wait for answers nobody will give', async () => {
    const adapter = await loadAdapter();
    const p = page({ url: `${ORIGIN}/`, now: world.tp.clock.now, ...origin() });
    const c = new adapter.AuthController(options(world) as never, () => p.env);
    const started = Date.now();
    c.start();
    await settled(c);
    expect(c.getSnapshot()).toMatchObject({ isLoading: false, isAuthenticated: false });
    // Asking other tabs waits up to a second, and only when some tab holds a session.
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('two tabs refreshing at once: one refresh; the rotated token reaches the other tab', async () => {
    // Messages slower than lock hand-overs: the other tab gets the lock before the news.
    const o = origin(50);
    const a = await signedInTab({ origin: o });
    const b = await openTab(`${ORIGIN}/`, { origin: o });
    expect(b.controller.getSnapshot().isAuthenticated).toBe(true);

    const count = refreshes();
    world.tp.clock.advance(ACCESS_TOKEN_SECONDS * 1000);
    const [ta, tb] = await Promise.all([
      a.controller.getAccessToken(),
      b.controller.getAccessToken(),
    ]);
    expect(count()).toBe(1);
    expect(ta).toBe(tb);

    // No rotated refresh token was presented: the grant still works, from either tab.
    world.tp.clock.advance(ACCESS_TOKEN_SECONDS * 1000);
    const next = await b.controller.getAccessToken();
    expect(next).not.toBe(tb);
    // Tab A may not have heard of that refresh yet: it waits for it rather than present its
    // rotated refresh token, then refreshes the (by now expired) tokens it received.
    world.tp.clock.advance(ACCESS_TOKEN_SECONDS * 1000);
    await a.controller.getAccessToken();
    expect(count()).toBe(3);
    for (const tab of [a, b]) {
      expect(tab.controller.getSnapshot()).toMatchObject({
        isAuthenticated: true,
        error: undefined,
      });
    }
  });

  it('a tab refreshing while the other is idle hands the new tokens over', async () => {
    const o = origin();
    const a = await signedInTab({ origin: o });
    const b = await openTab(`${ORIGIN}/`, { origin: o });
    const count = refreshes();
    world.tp.clock.advance(ACCESS_TOKEN_SECONDS * 1000);
    const fromA = await a.controller.getAccessToken();
    await new Promise((r) => setTimeout(r, 20));
    expect(await b.controller.getAccessToken()).toBe(fromA);
    expect(count()).toBe(1);
  });

  it('logout in one tab signs the others out, revokes the refresh token, and goes to end_session', async () => {
    const o = origin();
    const a = await signedInTab({ origin: o });
    const b = await openTab(`${ORIGIN}/`, { origin: o });
    const revocations = world.requests.filter((r) => r === '/v1/oauth/revoke').length;
    await a.controller.logout();
    expect(world.requests.filter((r) => r === '/v1/oauth/revoke').length).toBe(revocations + 1);
    const end = new URL(a.page.navigations.at(-1)!);
    expect(end.pathname).toBe('/v1/oauth/logout');
    expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${ORIGIN}/`);
    expect(end.searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect(end.searchParams.get('client_id')).toBe('react-spa');
    const res = await world.tp.fetch(end.href);
    expect(res.status).toBeLessThan(400);
    await until(() => !b.controller.getSnapshot().isAuthenticated);
    expect(b.controller.getSnapshot().error).toBeUndefined();
    await expect(b.controller.getAccessToken()).rejects.toMatchObject({ code: 'login_required' });
  });

  it('without Web Locks each tab keeps its own session (nothing shared that could race)', async () => {
    const bus = new Bus();
    const a = await signedInTab({ origin: { bus } as never });
    const b = await openTab(`${ORIGIN}/`, { origin: { bus } as never });
    expect(a.controller.getSnapshot().isAuthenticated).toBe(true);
    expect(b.controller.getSnapshot().isAuthenticated).toBe(false);
  });
});

/**
 * Revokes the tab's refresh token at the provider directly (as an administrator would, or a
 * logout elsewhere), without telling the tab: the next refresh is refused.
 */
async function revokeAllRefreshTokensOf(c: Controller): Promise<boolean> {
  const session = (c as unknown as { session?: { tokens: { refreshToken?: string } } }).session;
  const token = session?.tokens.refreshToken;
  if (!token) return false;
  const res = await world.tp.fetch(`${world.tp.issuer}/v1/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id: 'react-spa' }).toString(),
  });
  return res.status === 200;
}
