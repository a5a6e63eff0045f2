/** Unit tests of engine pieces that are pure functions. */
import { describe, expect, it } from 'vitest';
import type { Client } from '../storage/types.js';
import { type AuthorizationRequest, needsLogin, redirectUriMatches } from './authorize.js';
import type { Engine } from './context.js';
import { pageCsp, readCookie, serializeCookie, withQuery } from './http.js';
import { halfHash } from './jwt.js';
import { claimsForScopes } from './scopes.js';

const client = (type: Client['type'], redirect_uris: string[]) =>
  ({ type, redirect_uris }) as Client;

describe('redirectUriMatches', () => {
  it('is an exact string comparison', () => {
    const c = client('web', ['https://a.example/cb']);
    expect(redirectUriMatches(c, 'https://a.example/cb')).toBe(true);
    for (const u of [
      'https://a.example/cb/',
      'https://A.example/cb',
      'https://a.example/cb?x',
      'https://a.example:443/cb',
    ]) {
      expect(redirectUriMatches(c, u)).toBe(false);
    }
  });
  it('lets only the port vary, only for native loopback http URIs', () => {
    const native = client('native', ['http://127.0.0.1/cb', 'http://[::1]:8080/cb']);
    expect(redirectUriMatches(native, 'http://127.0.0.1:55555/cb')).toBe(true);
    expect(redirectUriMatches(native, 'http://[::1]:1234/cb')).toBe(true);
    expect(redirectUriMatches(native, 'http://127.0.0.1:55555/cb2')).toBe(false);
    expect(redirectUriMatches(native, 'http://localhost:55555/cb')).toBe(false);
    expect(redirectUriMatches(native, 'https://127.0.0.1:55555/cb')).toBe(false);
    const web = client('web', ['http://127.0.0.1/cb']);
    expect(redirectUriMatches(web, 'http://127.0.0.1:55555/cb')).toBe(false);
  });
});

describe('needsLogin', () => {
  const engine = { now: () => 100_000 } as Engine;
  const req = (o: Partial<AuthorizationRequest> = {}) =>
    ({ prompt: [], ...o }) as unknown as AuthorizationRequest;
  const session = {
    id: 's',
    sub: 'u1',
    authTime: 40_000,
    clients: [],
    createdAt: 0,
    expiresAt: 1e12,
  };
  it('asks for login without a session, on prompt=login/select_account, past max_age, for another hinted user', () => {
    expect(needsLogin(engine, req(), undefined)).toBe(true);
    expect(needsLogin(engine, req(), session)).toBe(false);
    expect(needsLogin(engine, req({ prompt: ['login'] }), session)).toBe(true);
    expect(needsLogin(engine, req({ prompt: ['select_account'] }), session)).toBe(true);
    expect(needsLogin(engine, req({ maxAge: 60 }), session)).toBe(false);
    expect(needsLogin(engine, req({ maxAge: 59 }), session)).toBe(true);
    expect(needsLogin(engine, req({ hintSub: 'u1' }), session)).toBe(false);
    expect(needsLogin(engine, req({ hintSub: 'u2' }), session)).toBe(true);
  });
});

describe('http helpers', () => {
  it('appends to an existing query without dropping it', () => {
    expect(withQuery('https://a/cb?t=1', { code: 'c', state: undefined, iss: 'https://i' })).toBe(
      'https://a/cb?t=1&code=c&iss=https%3A%2F%2Fi',
    );
  });
  it('builds HttpOnly, SameSite cookies and reads them back', () => {
    const c = serializeCookie('n', 'v', { secure: true, maxAge: 10 });
    expect(c).toBe('n=v; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=10');
    const r = new Request('https://x/', { headers: { cookie: 'a=1; n=v; b=2' } });
    expect(readCookie(r, 'n')).toBe('v');
    expect(readCookie(r, 'zz')).toBeUndefined();
  });
  it('page CSP forbids script and framing', () => {
    const csp = pageCsp(['https://rp.example']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self' https://rp.example");
    expect(csp).not.toContain('unsafe');
  });
});

describe('halfHash (at_hash)', () => {
  it('uses SHA-256 for ES256/RS256 (OIDC Core §3.1.3.6 example value)', async () => {
    // Left half of SHA-256("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"), from OIDC Core A.3.
    expect(await halfHash('RS256', 'jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y')).toBe(
      '77QmUPtjPfzWtF2AnpK9RQ',
    );
  });
  it('uses SHA-512 for EdDSA (22 vs 43 characters)', async () => {
    expect(await halfHash('ES256', 'x')).toHaveLength(22);
    expect(await halfHash('EdDSA', 'x')).toHaveLength(43);
  });
});

describe('claimsForScopes', () => {
  it('releases only the claims of the granted scopes', () => {
    const user = {
      name: 'A',
      email: 'a@x',
      email_verified: true,
      phone_number: '1',
      address: { country: 'FR' },
    };
    expect(claimsForScopes(['openid'], user)).toEqual({});
    expect(claimsForScopes(['openid', 'email'], user)).toEqual({
      email: 'a@x',
      email_verified: true,
    });
    expect(claimsForScopes(['openid', 'profile', 'address'], user)).toEqual({
      name: 'A',
      address: { country: 'FR' },
    });
  });
});
