/**
 * The storage conformance suite: every adapter runs it (`describeStorage('name', open)`) and must
 * behave exactly like the in-memory reference adapter. Each test opens a fresh storage and closes
 * it afterwards. Times are passed explicitly; nothing here reads the clock.
 */
import { describe, expect, it } from 'vitest';
import type {
  AuthorizationCode,
  Client,
  Interaction,
  PushedRequest,
  RefreshToken,
  Session,
  Storage,
  StoredKey,
  User,
} from './types.js';

/** A fixed "now" for every test. */
const T = 1_700_000_000_000;
const MINUTE = 60_000;

export function client(clientId: string, overrides: Partial<Client> = {}): Client {
  return {
    client_id: clientId,
    type: 'web',
    client_name: `Client ${clientId}`,
    client_secret_hash: 'hash:secret',
    redirect_uris: [`https://${clientId}.example/callback`],
    post_logout_redirect_uris: [`https://${clientId}.example/`],
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid profile email',
    id_token_signed_response_alg: 'EdDSA',
    allowed_origins: [],
    require_pkce: true,
    created_at: T,
    updated_at: T,
    ...overrides,
  };
}

export function user(sub: string, username: string, overrides: Partial<User> = {}): User {
  return {
    sub,
    username,
    passwordHash: `hash:${sub}`,
    claims: { name: `User ${username}`, email: `${username}@example.com`, email_verified: true },
    createdAt: T,
    updatedAt: T,
    ...overrides,
  };
}

export function code(id: string, overrides: Partial<AuthorizationCode> = {}): AuthorizationCode {
  return {
    id,
    grantId: 'grant-1',
    clientId: 'app',
    redirectUri: 'https://app.example/callback',
    scope: 'openid profile',
    sub: 'sub-1',
    authTime: T - MINUTE,
    sessionId: 'session-1',
    issuedAt: T,
    expiresAt: T + MINUTE,
    ...overrides,
  };
}

export function refreshToken(id: string, overrides: Partial<RefreshToken> = {}): RefreshToken {
  return {
    id,
    grantId: 'grant-1',
    clientId: 'app',
    sub: 'sub-1',
    scope: 'openid offline_access',
    authTime: T - MINUTE,
    sessionId: 'session-1',
    issuedAt: T,
    expiresAt: T + 60 * MINUTE,
    ...overrides,
  };
}

export function session(id: string, overrides: Partial<Session> = {}): Session {
  return {
    id,
    sub: 'sub-1',
    authTime: T,
    clients: [],
    createdAt: T,
    expiresAt: T + 60 * MINUTE,
    ...overrides,
  };
}

function interaction(id: string, overrides: Partial<Interaction> = {}): Interaction {
  return {
    id,
    csrf: `csrf-${id}`,
    request: {
      client_id: 'app',
      redirect_uri: 'https://app.example/callback',
      scope: ['openid', 'profile'],
      claims: { id_token: { email: { essential: true } } },
      max_age: 0,
    },
    createdAt: T,
    expiresAt: T + 10 * MINUTE,
    ...overrides,
  };
}

function pushedRequest(id: string, overrides: Partial<PushedRequest> = {}): PushedRequest {
  return {
    id,
    clientId: 'app',
    request: {
      client_id: 'app',
      redirect_uri: 'https://app.example/callback',
      scope: ['openid', 'profile'],
      state: 'state-1',
      code_challenge: 'challenge',
      claims: { userinfo: { email: { essential: true } } },
      max_age: 0,
    },
    createdAt: T,
    expiresAt: T + MINUTE,
    ...overrides,
  };
}

function key(kid: string, createdAt: number, overrides: Partial<StoredKey> = {}): StoredKey {
  return {
    kid,
    alg: 'EdDSA',
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: `x-${kid}`, kid, alg: 'EdDSA', use: 'sig' },
    encryptedPrivateJwk: `encrypted:${kid}`,
    createdAt,
    status: 'active',
    ...overrides,
  };
}

export function describeStorage(name: string, open: () => Promise<Storage> | Storage): void {
  /** An `it` that runs against a freshly opened storage and always closes it. */
  function test(title: string, body: (storage: Storage) => Promise<void>): void {
    it(title, async () => {
      const storage = await open();
      try {
        await body(storage);
      } finally {
        await storage.close();
      }
    });
  }

  describe(`storage conformance: ${name}`, () => {
    describe('clients', () => {
      test('get of an unknown client is undefined', async (s) => {
        expect(await s.clients.get('nope')).toBeUndefined();
        expect(await s.clients.list()).toEqual([]);
      });

      test('put then get round-trips every field', async (s) => {
        const c = client('app', {
          type: 'spa',
          token_endpoint_auth_method: 'none',
          require_signed_request_object: true,
          jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }] },
          jwks_uri: 'https://app.example/jwks',
          allowed_origins: ['https://app.example'],
          id_token_signed_response_alg: 'ES256',
        });
        await s.clients.put(c);
        expect(await s.clients.get('app')).toEqual(c);
      });

      test('optional fields that were not set stay absent', async (s) => {
        const c = client('bare');
        delete c.client_name;
        delete c.client_secret_hash;
        await s.clients.put(c);
        const got = await s.clients.get('bare');
        expect(got).toEqual(c);
        for (const field of [
          'client_name',
          'client_secret_hash',
          'require_signed_request_object',
          'jwks',
          'jwks_uri',
        ]) {
          expect(got).not.toHaveProperty(field);
        }
      });

      test('put replaces an existing client', async (s) => {
        await s.clients.put(client('app'));
        const updated = client('app', {
          redirect_uris: ['https://new.example/cb'],
          updated_at: T + 1,
        });
        await s.clients.put(updated);
        expect(await s.clients.get('app')).toEqual(updated);
        expect(await s.clients.list()).toHaveLength(1);
      });

      test('list is sorted by client_id', async (s) => {
        for (const id of ['charlie', 'alpha', 'delta', 'bravo']) await s.clients.put(client(id));
        const list = await s.clients.list();
        expect(list.map((c) => c.client_id)).toEqual(['alpha', 'bravo', 'charlie', 'delta']);
        expect(list[0]).toEqual(client('alpha'));
      });

      test('remove reports whether a client was removed', async (s) => {
        await s.clients.put(client('app'));
        await s.clients.put(client('other'));
        expect(await s.clients.remove('app')).toBe(true);
        expect(await s.clients.remove('app')).toBe(false);
        expect(await s.clients.remove('never')).toBe(false);
        expect(await s.clients.get('app')).toBeUndefined();
        expect((await s.clients.list()).map((c) => c.client_id)).toEqual(['other']);
      });

      test('returns copies, never internal state', async (s) => {
        const c = client('app');
        await s.clients.put(c);
        c.redirect_uris.push('https://evil.example/');
        const got = (await s.clients.get('app'))!;
        expect(got.redirect_uris).toEqual(['https://app.example/callback']);
        got.redirect_uris.push('https://evil.example/');
        (await s.clients.list())[0]!.scope = 'changed';
        expect(await s.clients.get('app')).toEqual(client('app'));
      });
    });

    describe('users', () => {
      test('put then get round-trips', async (s) => {
        const u = user('sub-1', 'alice', { claims: { name: 'Alice', address: { country: 'NZ' } } });
        await s.users.put(u);
        expect(await s.users.get('sub-1')).toEqual(u);
        expect(await s.users.get('sub-2')).toBeUndefined();
      });

      test('findByUsername is case-insensitive', async (s) => {
        const u = user('sub-1', 'alice');
        await s.users.put(u);
        expect(await s.users.findByUsername('alice')).toEqual(u);
        expect(await s.users.findByUsername('ALICE')).toEqual(u);
        expect(await s.users.findByUsername('Alice')).toEqual(u);
        expect(await s.users.findByUsername('bob')).toBeUndefined();
        expect(await s.users.findByUsername('alic')).toBeUndefined();
      });

      test('list is sorted by username', async (s) => {
        await s.users.put(user('s1', 'carol'));
        await s.users.put(user('s2', 'alice'));
        await s.users.put(user('s3', 'bob'));
        const list = await s.users.list();
        expect(list.map((u) => u.username)).toEqual(['alice', 'bob', 'carol']);
        expect(list.map((u) => u.sub)).toEqual(['s2', 's3', 's1']);
      });

      test('put replaces by sub, and a renamed user frees the old username', async (s) => {
        await s.users.put(user('sub-1', 'alice'));
        const renamed = user('sub-1', 'alicia', { updatedAt: T + 1 });
        await s.users.put(renamed);
        expect(await s.users.get('sub-1')).toEqual(renamed);
        expect(await s.users.findByUsername('alice')).toBeUndefined();
        expect(await s.users.findByUsername('alicia')).toEqual(renamed);
        expect(await s.users.list()).toHaveLength(1);
        // The freed name can go to someone else.
        await s.users.put(user('sub-2', 'alice'));
        expect((await s.users.findByUsername('alice'))?.sub).toBe('sub-2');
      });

      test('a username that belongs to another sub is refused', async (s) => {
        const alice = user('sub-1', 'alice');
        await s.users.put(alice);
        await expect(s.users.put(user('sub-2', 'alice'))).rejects.toThrow();
        // Nothing changed: the original owner is intact and the intruder was not stored.
        expect(await s.users.findByUsername('alice')).toEqual(alice);
        expect(await s.users.get('sub-2')).toBeUndefined();
        // Renaming an existing user onto a taken name is refused too.
        await s.users.put(user('sub-3', 'bob'));
        await expect(s.users.put(user('sub-3', 'alice'))).rejects.toThrow();
        expect((await s.users.get('sub-3'))?.username).toBe('bob');
        // Re-putting the same user with the same username is fine.
        await s.users.put(user('sub-1', 'alice', { passwordHash: 'new' }));
        expect((await s.users.get('sub-1'))?.passwordHash).toBe('new');
      });

      test('remove reports whether a user was removed and frees the username', async (s) => {
        await s.users.put(user('sub-1', 'alice'));
        expect(await s.users.remove('sub-1')).toBe(true);
        expect(await s.users.remove('sub-1')).toBe(false);
        expect(await s.users.get('sub-1')).toBeUndefined();
        expect(await s.users.findByUsername('alice')).toBeUndefined();
        await s.users.put(user('sub-2', 'alice'));
        expect((await s.users.findByUsername('alice'))?.sub).toBe('sub-2');
      });

      test('returns copies, never internal state', async (s) => {
        await s.users.put(user('sub-1', 'alice'));
        const got = (await s.users.get('sub-1'))!;
        got.claims['name'] = 'Mallory';
        const found = (await s.users.findByUsername('alice'))!;
        expect(found.claims['name']).toBe('User alice');
        found.claims['name'] = 'Mallory';
        expect((await s.users.list())[0]!.claims['name']).toBe('User alice');
      });
    });

    describe('codes', () => {
      test('consume: ok, then reused, then missing once expired', async (s) => {
        const c = code('code-1', { codeChallenge: 'challenge', nonce: 'n-1', claims: '{"x":1}' });
        await s.codes.save(c);
        expect(await s.codes.consume('code-1', T)).toEqual({ status: 'ok', record: c });
        expect(await s.codes.consume('code-1', T + 1)).toEqual({ status: 'reused', record: c });
        expect(await s.codes.consume('code-1', T + MINUTE - 1)).toEqual({
          status: 'reused',
          record: c,
        });
        expect(await s.codes.consume('code-1', T + MINUTE)).toEqual({ status: 'missing' });
        expect(await s.codes.consume('code-1', T + 2 * MINUTE)).toEqual({ status: 'missing' });
      });

      test('an unknown code is missing', async (s) => {
        expect(await s.codes.consume('nope', T)).toEqual({ status: 'missing' });
      });

      test('a code that expired unused is missing, not ok', async (s) => {
        await s.codes.save(code('code-1'));
        expect(await s.codes.consume('code-1', T + MINUTE)).toEqual({ status: 'missing' });
        // Still unused: within its lifetime it is consumable.
        expect((await s.codes.consume('code-1', T)).status).toBe('ok');
      });

      test('optional fields that were not set stay absent', async (s) => {
        await s.codes.save(code('code-1'));
        const result = await s.codes.consume('code-1', T);
        expect(result.status).toBe('ok');
        const record = (result as { record: AuthorizationCode }).record;
        expect(record).toEqual(code('code-1'));
        expect(record).not.toHaveProperty('codeChallenge');
        expect(record).not.toHaveProperty('nonce');
        expect(record).not.toHaveProperty('claims');
      });

      test('codes are independent of each other', async (s) => {
        await s.codes.save(code('a'));
        await s.codes.save(code('b'));
        expect((await s.codes.consume('a', T)).status).toBe('ok');
        expect((await s.codes.consume('b', T)).status).toBe('ok');
        expect((await s.codes.consume('a', T)).status).toBe('reused');
      });

      test('50 concurrent consumes of one code: exactly one ok, the rest reused', async (s) => {
        const c = code('race');
        await s.codes.save(c);
        const results = await Promise.all(
          Array.from({ length: 50 }, () => s.codes.consume('race', T)),
        );
        expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
        expect(results.filter((r) => r.status === 'reused')).toHaveLength(49);
        for (const r of results) expect(r).toEqual({ status: r.status, record: c });
      });
    });

    describe('sessions', () => {
      test('put then get round-trips until expiry', async (s) => {
        const sess = session('s-1', { clients: ['app', 'other'] });
        await s.sessions.put(sess);
        expect(await s.sessions.get('s-1', T)).toEqual(sess);
        expect(await s.sessions.get('s-1', sess.expiresAt - 1)).toEqual(sess);
        expect(await s.sessions.get('s-1', sess.expiresAt)).toBeUndefined();
        expect(await s.sessions.get('unknown', T)).toBeUndefined();
      });

      test('put replaces (clients added, expiry extended)', async (s) => {
        await s.sessions.put(session('s-1'));
        const updated = session('s-1', { clients: ['app'], expiresAt: T + 120 * MINUTE });
        await s.sessions.put(updated);
        expect(await s.sessions.get('s-1', T + 90 * MINUTE)).toEqual(updated);
      });

      test('remove deletes the session', async (s) => {
        await s.sessions.put(session('s-1'));
        await s.sessions.put(session('s-2'));
        await s.sessions.remove('s-1');
        await s.sessions.remove('never');
        expect(await s.sessions.get('s-1', T)).toBeUndefined();
        expect(await s.sessions.get('s-2', T)).toEqual(session('s-2'));
      });

      test('returns copies', async (s) => {
        await s.sessions.put(session('s-1', { clients: ['app'] }));
        (await s.sessions.get('s-1', T))!.clients.push('evil');
        expect((await s.sessions.get('s-1', T))!.clients).toEqual(['app']);
      });
    });

    describe('interactions', () => {
      test('put then get round-trips until expiry', async (s) => {
        const i = interaction('i-1');
        await s.interactions.put(i);
        const got = await s.interactions.get('i-1', T);
        expect(got).toEqual(i);
        expect(got).not.toHaveProperty('sub');
        expect(got).not.toHaveProperty('authTime');
        expect(await s.interactions.get('i-1', i.expiresAt)).toBeUndefined();
        expect(await s.interactions.get('unknown', T)).toBeUndefined();
      });

      test('put replaces (sign-in recorded)', async (s) => {
        await s.interactions.put(interaction('i-1'));
        const signedIn = interaction('i-1', { sub: 'sub-1', authTime: T + 5 });
        await s.interactions.put(signedIn);
        expect(await s.interactions.get('i-1', T + 10)).toEqual(signedIn);
      });

      test('remove deletes the interaction', async (s) => {
        await s.interactions.put(interaction('i-1'));
        await s.interactions.remove('i-1');
        await s.interactions.remove('never');
        expect(await s.interactions.get('i-1', T)).toBeUndefined();
      });

      test('returns copies', async (s) => {
        await s.interactions.put(interaction('i-1'));
        (await s.interactions.get('i-1', T))!.request['client_id'] = 'evil';
        expect((await s.interactions.get('i-1', T))!.request['client_id']).toBe('app');
      });
    });

    describe('pushed requests', () => {
      test('save then consume round-trips every field, once', async (s) => {
        const r = pushedRequest('par-1');
        await s.pushedRequests.save(r);
        expect(await s.pushedRequests.consume('par-1', T)).toEqual(r);
        expect(await s.pushedRequests.consume('par-1', T)).toBeUndefined();
        expect(await s.pushedRequests.consume('par-1', T + 1)).toBeUndefined();
      });

      test('an unknown id is undefined, and requests are independent', async (s) => {
        expect(await s.pushedRequests.consume('nope', T)).toBeUndefined();
        await s.pushedRequests.save(pushedRequest('a'));
        await s.pushedRequests.save(pushedRequest('b', { clientId: 'other' }));
        expect(await s.pushedRequests.consume('a', T)).toEqual(pushedRequest('a'));
        expect(await s.pushedRequests.consume('b', T)).toEqual(
          pushedRequest('b', { clientId: 'other' }),
        );
      });

      test('an expired request is undefined', async (s) => {
        await s.pushedRequests.save(pushedRequest('edge'));
        expect(await s.pushedRequests.consume('edge', T + MINUTE - 1)).toEqual(
          pushedRequest('edge'),
        );
        await s.pushedRequests.save(pushedRequest('late'));
        expect(await s.pushedRequests.consume('late', T + MINUTE)).toBeUndefined();
        expect(await s.pushedRequests.consume('late', T + 2 * MINUTE)).toBeUndefined();
      });

      test('stores a copy of what was saved', async (s) => {
        const r = pushedRequest('par-1');
        await s.pushedRequests.save(r);
        r.request['client_id'] = 'evil';
        expect(await s.pushedRequests.consume('par-1', T)).toEqual(pushedRequest('par-1'));
      });

      test('50 concurrent consumes of one request: exactly one gets it', async (s) => {
        const r = pushedRequest('race');
        await s.pushedRequests.save(r);
        const results = await Promise.all(
          Array.from({ length: 50 }, () => s.pushedRequests.consume('race', T)),
        );
        const taken = results.filter((x) => x !== undefined);
        expect(taken).toEqual([r]);
      });
    });

    describe('grants', () => {
      test('a grant is not revoked until revoke is called', async (s) => {
        expect(await s.grants.isRevoked('g-1', T)).toBe(false);
        await s.grants.revoke('g-1', T, T + MINUTE);
        expect(await s.grants.isRevoked('g-1', T)).toBe(true);
        expect(await s.grants.isRevoked('g-1', T + MINUTE - 1)).toBe(true);
        expect(await s.grants.isRevoked('g-2', T)).toBe(false);
      });

      test('the revocation is remembered until its expiry, and a later revoke can only extend it', async (s) => {
        await s.grants.revoke('g-1', T, T + 2 * MINUTE);
        await s.grants.revoke('g-1', T + 1, T + MINUTE);
        expect(await s.grants.isRevoked('g-1', T + MINUTE + 1)).toBe(true);
        expect(await s.grants.isRevoked('g-1', T + 2 * MINUTE)).toBe(false);
        await s.grants.revoke('g-1', T + 2, T + 3 * MINUTE);
        expect(await s.grants.isRevoked('g-1', T + 2 * MINUTE)).toBe(true);
      });

      test('revoked access tokens stay revoked until they would have expired', async (s) => {
        await s.grants.revokeAccessToken('jti-1', T + MINUTE);
        expect(await s.grants.isAccessTokenRevoked('jti-1', T)).toBe(true);
        expect(await s.grants.isAccessTokenRevoked('jti-1', T + MINUTE - 1)).toBe(true);
        expect(await s.grants.isAccessTokenRevoked('jti-1', T + MINUTE)).toBe(false);
        expect(await s.grants.isAccessTokenRevoked('jti-2', T)).toBe(false);
      });

      test('revoking an access token again sets its new expiry', async (s) => {
        await s.grants.revokeAccessToken('jti-1', T + MINUTE);
        await s.grants.revokeAccessToken('jti-1', T + 2 * MINUTE);
        expect(await s.grants.isAccessTokenRevoked('jti-1', T + MINUTE + 1)).toBe(true);
        expect(await s.grants.isAccessTokenRevoked('jti-1', T + 2 * MINUTE)).toBe(false);
      });
    });

    describe('refresh tokens', () => {
      test('consume: ok, then reused, then missing once expired', async (s) => {
        const t = refreshToken('rt-1');
        await s.refreshTokens.save(t);
        expect(await s.refreshTokens.consume('rt-1', T)).toEqual({ status: 'ok', record: t });
        expect(await s.refreshTokens.consume('rt-1', T + 1)).toEqual({
          status: 'reused',
          record: t,
        });
        expect(await s.refreshTokens.consume('rt-1', t.expiresAt)).toEqual({ status: 'missing' });
      });

      test('an unknown or expired token is missing', async (s) => {
        expect(await s.refreshTokens.consume('nope', T)).toEqual({ status: 'missing' });
        const t = refreshToken('rt-1');
        await s.refreshTokens.save(t);
        expect(await s.refreshTokens.consume('rt-1', t.expiresAt + 1)).toEqual({
          status: 'missing',
        });
      });

      test('get returns the token only while unrotated and unexpired', async (s) => {
        const t = refreshToken('rt-1');
        await s.refreshTokens.save(t);
        await s.refreshTokens.save(refreshToken('rt-2'));
        expect(await s.refreshTokens.get('rt-1', T)).toEqual(t);
        expect(await s.refreshTokens.get('rt-1', t.expiresAt - 1)).toEqual(t);
        expect(await s.refreshTokens.get('rt-1', t.expiresAt)).toBeUndefined();
        expect(await s.refreshTokens.get('unknown', T)).toBeUndefined();
        // get does not consume.
        expect((await s.refreshTokens.consume('rt-1', T)).status).toBe('ok');
        expect(await s.refreshTokens.get('rt-1', T)).toBeUndefined();
        expect(await s.refreshTokens.get('rt-2', T)).toEqual(refreshToken('rt-2'));
        await s.refreshTokens.remove('rt-2');
        expect(await s.refreshTokens.get('rt-2', T)).toBeUndefined();
      });

      test('get returns copies', async (s) => {
        await s.refreshTokens.save(refreshToken('rt-1'));
        (await s.refreshTokens.get('rt-1', T))!.scope = 'evil';
        expect((await s.refreshTokens.get('rt-1', T))!.scope).toBe('openid offline_access');
      });

      test('remove returns the record once, then undefined', async (s) => {
        const t = refreshToken('rt-1');
        await s.refreshTokens.save(t);
        await s.refreshTokens.save(refreshToken('rt-2'));
        expect(await s.refreshTokens.remove('rt-1')).toEqual(t);
        expect(await s.refreshTokens.remove('rt-1')).toBeUndefined();
        expect(await s.refreshTokens.remove('never')).toBeUndefined();
        expect(await s.refreshTokens.consume('rt-1', T)).toEqual({ status: 'missing' });
        expect((await s.refreshTokens.consume('rt-2', T)).status).toBe('ok');
      });

      test('remove also returns a rotated token', async (s) => {
        const t = refreshToken('rt-1');
        await s.refreshTokens.save(t);
        expect((await s.refreshTokens.consume('rt-1', T)).status).toBe('ok');
        expect(await s.refreshTokens.remove('rt-1')).toEqual(t);
        expect(await s.refreshTokens.consume('rt-1', T)).toEqual({ status: 'missing' });
      });

      test('50 concurrent consumes of one token: exactly one ok, the rest reused', async (s) => {
        const t = refreshToken('race');
        await s.refreshTokens.save(t);
        const results = await Promise.all(
          Array.from({ length: 50 }, () => s.refreshTokens.consume('race', T)),
        );
        expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
        expect(results.filter((r) => r.status === 'reused')).toHaveLength(49);
        for (const r of results) expect(r).toEqual({ status: r.status, record: t });
      });
    });

    describe('consents', () => {
      test('get is undefined until put, then returns the scopes', async (s) => {
        expect(await s.consents.get('sub-1', 'app')).toBeUndefined();
        await s.consents.put('sub-1', 'app', ['openid', 'profile'], T);
        expect(await s.consents.get('sub-1', 'app')).toEqual(['openid', 'profile']);
      });

      test('put replaces, and consents are per (sub, client)', async (s) => {
        await s.consents.put('sub-1', 'app', ['openid'], T);
        await s.consents.put('sub-1', 'other', ['openid', 'email'], T);
        await s.consents.put('sub-2', 'app', [], T);
        await s.consents.put('sub-1', 'app', ['openid', 'profile', 'email'], T + 1);
        expect(await s.consents.get('sub-1', 'app')).toEqual(['openid', 'profile', 'email']);
        expect(await s.consents.get('sub-1', 'other')).toEqual(['openid', 'email']);
        expect(await s.consents.get('sub-2', 'app')).toEqual([]);
        expect(await s.consents.get('sub-2', 'other')).toBeUndefined();
      });

      test('returns copies', async (s) => {
        const scopes = ['openid'];
        await s.consents.put('sub-1', 'app', scopes, T);
        scopes.push('evil');
        (await s.consents.get('sub-1', 'app'))!.push('evil');
        expect(await s.consents.get('sub-1', 'app')).toEqual(['openid']);
      });
    });

    describe('keys', () => {
      test('list is empty, then sorted by createdAt', async (s) => {
        expect(await s.keys.list()).toEqual([]);
        await s.keys.put(key('k-b', T + 2));
        await s.keys.put(key('k-c', T + 3));
        await s.keys.put(key('k-a', T + 1));
        const list = await s.keys.list();
        expect(list.map((k) => k.kid)).toEqual(['k-a', 'k-b', 'k-c']);
        expect(list[0]).toEqual(key('k-a', T + 1));
      });

      test('put updates the status of an existing key', async (s) => {
        await s.keys.put(key('k-1', T, { alg: 'ES256' }));
        await s.keys.put(key('k-2', T + 1));
        await s.keys.put(key('k-1', T, { alg: 'ES256', status: 'retired' }));
        const list = await s.keys.list();
        expect(list).toHaveLength(2);
        expect(list[0]).toEqual(key('k-1', T, { alg: 'ES256', status: 'retired' }));
        expect(list[1]?.status).toBe('active');
      });

      test('remove reports whether a key was removed', async (s) => {
        await s.keys.put(key('k-1', T));
        await s.keys.put(key('k-2', T + 1));
        expect(await s.keys.remove('k-1')).toBe(true);
        expect(await s.keys.remove('k-1')).toBe(false);
        expect(await s.keys.remove('never')).toBe(false);
        expect((await s.keys.list()).map((k) => k.kid)).toEqual(['k-2']);
      });

      test('returns copies', async (s) => {
        await s.keys.put(key('k-1', T));
        (await s.keys.list())[0]!.publicJwk['x'] = 'evil';
        expect((await s.keys.list())[0]!.publicJwk['x']).toBe('x-k-1');
      });
    });

    describe('counters', () => {
      test('hit counts within the window and restarts after it', async (s) => {
        expect(await s.counters.hit('ip:1', 1000, T)).toBe(1);
        expect(await s.counters.hit('ip:1', 1000, T + 10)).toBe(2);
        expect(await s.counters.hit('ip:1', 1000, T + 999)).toBe(3);
        // The window started at the first hit (T) and ends at T + 1000.
        expect(await s.counters.hit('ip:1', 1000, T + 1000)).toBe(1);
        expect(await s.counters.hit('ip:1', 1000, T + 1500)).toBe(2);
        expect(await s.counters.hit('ip:1', 1000, T + 1999)).toBe(3);
        expect(await s.counters.hit('ip:1', 1000, T + 5000)).toBe(1);
      });

      test('keys count independently', async (s) => {
        expect(await s.counters.hit('a', 1000, T)).toBe(1);
        expect(await s.counters.hit('a', 1000, T)).toBe(2);
        expect(await s.counters.hit('b', 1000, T)).toBe(1);
        expect(await s.counters.hit('a', 1000, T)).toBe(3);
      });

      test('concurrent hits are all counted', async (s) => {
        const counts = await Promise.all(
          Array.from({ length: 20 }, () => s.counters.hit('burst', 1000, T)),
        );
        expect([...counts].sort((a, b) => a - b)).toEqual(
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
      });

      test('peek reads the count of the current window without adding to it', async (s) => {
        expect(await s.counters.peek('a', T)).toBe(0);
        await s.counters.hit('a', 1000, T);
        await s.counters.hit('a', 1000, T + 1);
        expect(await s.counters.peek('a', T + 2)).toBe(2);
        expect(await s.counters.peek('a', T + 2)).toBe(2);
        expect(await s.counters.peek('a', T + 1000)).toBe(0);
        expect(await s.counters.hit('a', 1000, T + 1000)).toBe(1);
      });

      test('reset starts the count again', async (s) => {
        await s.counters.hit('a', 1000, T);
        await s.counters.hit('a', 1000, T);
        await s.counters.hit('b', 1000, T);
        await s.counters.reset('a');
        await s.counters.reset('never');
        expect(await s.counters.hit('a', 1000, T + 1)).toBe(1);
        expect(await s.counters.hit('b', 1000, T + 1)).toBe(2);
      });

      test('once: true, then false until expiry, then true again', async (s) => {
        expect(await s.counters.once('jti:1', T + 1000, T)).toBe(true);
        expect(await s.counters.once('jti:1', T + 1000, T + 1)).toBe(false);
        expect(await s.counters.once('jti:1', T + 5000, T + 999)).toBe(false);
        expect(await s.counters.once('jti:2', T + 1000, T)).toBe(true);
        expect(await s.counters.once('jti:1', T + 2000, T + 1000)).toBe(true);
        // Recorded again, with the new expiry.
        expect(await s.counters.once('jti:1', T + 3000, T + 1999)).toBe(false);
        expect(await s.counters.once('jti:1', T + 3000, T + 2000)).toBe(true);
      });

      test('concurrent once for one key: exactly one true', async (s) => {
        const results = await Promise.all(
          Array.from({ length: 20 }, () => s.counters.once('jti:race', T + 1000, T)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('sweep', () => {
      test('removes expired records of every kind and keeps live ones', async (s) => {
        // Everything "old" expires at T + 1000; everything "new" much later. The sweep runs at
        // T + 2000, then reads use a time *before* the old expiry, so only the sweep can explain
        // a record being gone.
        const old = T + 1000;
        const sweepAt = T + 2000;
        const before = T + 500;
        const late = T + 60 * MINUTE;

        await s.codes.save(code('code-old', { expiresAt: old }));
        await s.codes.save(code('code-new', { expiresAt: late }));
        await s.refreshTokens.save(refreshToken('rt-old', { expiresAt: old }));
        await s.refreshTokens.save(refreshToken('rt-new', { expiresAt: late }));
        await s.sessions.put(session('s-old', { expiresAt: old }));
        await s.sessions.put(session('s-new', { expiresAt: late }));
        await s.interactions.put(interaction('i-old', { expiresAt: old }));
        await s.interactions.put(interaction('i-new', { expiresAt: late }));
        await s.pushedRequests.save(pushedRequest('par-old', { expiresAt: old }));
        await s.pushedRequests.save(pushedRequest('par-new', { expiresAt: late }));
        await s.grants.revoke('g-old', T, old);
        await s.grants.revoke('g-new', T, late);
        await s.grants.revokeAccessToken('jti-old', old);
        await s.grants.revokeAccessToken('jti-new', late);
        await s.counters.hit('c-old', 1000, T);
        await s.counters.hit('c-new', 60 * MINUTE, T);
        await s.counters.once('once-old', old, T);
        await s.counters.once('once-new', late, T);
        // Records without expiry are untouched by a sweep.
        await s.clients.put(client('app'));
        await s.users.put(user('sub-1', 'alice'));
        await s.consents.put('sub-1', 'app', ['openid'], T);
        await s.keys.put(key('k-1', T));

        await s.sweep(sweepAt);

        expect(await s.codes.consume('code-old', before)).toEqual({ status: 'missing' });
        expect((await s.codes.consume('code-new', before)).status).toBe('ok');
        expect(await s.refreshTokens.remove('rt-old')).toBeUndefined();
        expect(await s.refreshTokens.remove('rt-new')).toEqual(
          refreshToken('rt-new', { expiresAt: late }),
        );
        expect(await s.sessions.get('s-old', before)).toBeUndefined();
        expect(await s.sessions.get('s-new', before)).toBeDefined();
        expect(await s.interactions.get('i-old', before)).toBeUndefined();
        expect(await s.interactions.get('i-new', before)).toBeDefined();
        expect(await s.pushedRequests.consume('par-old', before)).toBeUndefined();
        expect(await s.pushedRequests.consume('par-new', before)).toEqual(
          pushedRequest('par-new', { expiresAt: late }),
        );
        // Swept records are gone even when asked about a time before their expiry.
        expect(await s.grants.isRevoked('g-old', before)).toBe(false);
        expect(await s.grants.isRevoked('g-new', before)).toBe(true);
        expect(await s.grants.isAccessTokenRevoked('jti-old', before)).toBe(false);
        expect(await s.grants.isAccessTokenRevoked('jti-new', before)).toBe(true);
        expect(await s.counters.hit('c-old', 1000, before)).toBe(1);
        expect(await s.counters.hit('c-new', 60 * MINUTE, before)).toBe(2);
        expect(await s.counters.once('once-old', old, before)).toBe(true);
        expect(await s.counters.once('once-new', late, before)).toBe(false);
        expect(await s.clients.get('app')).toEqual(client('app'));
        expect(await s.users.get('sub-1')).toEqual(user('sub-1', 'alice'));
        expect(await s.consents.get('sub-1', 'app')).toEqual(['openid']);
        expect(await s.keys.list()).toHaveLength(1);
      });

      test('a used code is kept until it expires, then swept', async (s) => {
        await s.codes.save(code('c', { expiresAt: T + 1000 }));
        expect((await s.codes.consume('c', T)).status).toBe('ok');
        await s.sweep(T + 999);
        expect((await s.codes.consume('c', T + 1)).status).toBe('reused');
        await s.sweep(T + 1000);
        expect(await s.codes.consume('c', T + 1)).toEqual({ status: 'missing' });
      });

      test('sweeping an empty storage is harmless', async (s) => {
        await s.sweep(T);
        expect(await s.clients.list()).toEqual([]);
      });
    });
  });
}
