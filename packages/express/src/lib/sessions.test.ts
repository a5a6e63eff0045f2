import { ClientError, type IdTokenClaims } from '@gatehouse/client';
import { describe, expect, it } from 'vitest';
import { browserJar } from '../../../../test/support/browser-jar.js';
import { memorySessionStore } from '../session.js';
import { CHUNK_BYTES, MAX_CHUNKS, Sessions } from './sessions.js';

const SECRET = 'a-test-secret-0123456789-abcdefghijklmnop';
const user = { sub: 'u1', iss: 'https://id.example', aud: 'app', exp: 0, iat: 0 } as IdTokenClaims;

function sessions(options: Partial<ConstructorParameters<typeof Sessions>[0]> = {}) {
  return new Sessions({
    secret: SECRET,
    cookieName: 'gh_session',
    maxAgeSeconds: 3600,
    secure: true,
    now: () => 1_000_000,
    ...options,
  });
}

describe('Sessions (cookie)', () => {
  // Chunking and the session JSON are @gatehouse/web's, tested there; here the sealing.
  it('writes one cookie for a small session and reads it back', async () => {
    const s = sessions();
    const { jar, cookies } = browserJar();
    await s.write(jar, s.create(user, { accessToken: 'at', refreshToken: 'rt', expiresAt: 5 }));
    expect([...cookies.keys()]).toEqual(['gh_session']);
    const read = await s.read(jar);
    expect(read?.user.sub).toBe('u1');
    expect(read?.tokens).toEqual({ accessToken: 'at', refreshToken: 'rt', expiresAt: 5 });
  });

  it('refuses a session that needs more than MAX_CHUNKS cookies, naming the remedy', async () => {
    const s = sessions();
    const huge = { ...user, blob: 'x'.repeat(CHUNK_BYTES * MAX_CHUNKS) } as IdTokenClaims;
    const err = await s
      .write(browserJar().jar, s.create(huge, { accessToken: 'at' }))
      .catch((e) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect(err.code).toBe('config_invalid');
    expect(err.hint).toMatch(/session\.store/);
  });

  it('a missing chunk, another secret, or an expired session is no session, and is cleared', async () => {
    const s = sessions();
    const { jar, cookies } = browserJar();
    const big = { ...user, blob: 'x'.repeat(CHUNK_BYTES) } as IdTokenClaims;
    await s.write(jar, s.create(big, { accessToken: 'at' }));
    cookies.delete('gh_session.1');
    expect(await s.read(jar)).toBeUndefined();
    expect(cookies.size).toBe(0);

    await s.write(jar, s.create(user, { accessToken: 'at' }));
    expect(await sessions({ secret: `${SECRET}!` }).read(jar)).toBeUndefined();
    expect(cookies.size).toBe(0);

    await s.write(jar, s.create(user, { accessToken: 'at' }));
    expect(await sessions({ now: () => 1_000_000 + 3600_000 }).read(jar)).toBeUndefined();
  });
});

describe('Sessions (store)', () => {
  it('keeps only an encrypted id in the cookie and the tokens encrypted in the store', async () => {
    const store = memorySessionStore({ now: () => 1_000_000 });
    const s = sessions({ store });
    const { jar, cookies } = browserJar();
    const written = await s.write(jar, s.create(user, { accessToken: 'secret-access-token' }));
    expect(written.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookies.get('gh_session')).not.toContain(written.id);
    const record = (await store.get(written.id!))!;
    expect(record.tokens).not.toContain('secret-access-token');
    expect((await s.read(jar))?.tokens.accessToken).toBe('secret-access-token');

    // A refresh rewrites the record in place; the cookie does not change.
    const cookie = cookies.get('gh_session');
    await s.write(jar, { ...written, tokens: { accessToken: 'next' } });
    expect(cookies.get('gh_session')).toBe(cookie);
    expect((await s.read(jar))?.tokens.accessToken).toBe('next');

    // A session the store no longer has is no session.
    await store.destroy(written.id!);
    expect(await s.read(jar)).toBeUndefined();
    expect(cookies.size).toBe(0);
  });

  it('tokens moved to another session id do not open', async () => {
    const store = memorySessionStore({ now: () => 1_000_000 });
    const s = sessions({ store });
    const a = browserJar();
    const b = browserJar();
    const first = await s.write(a.jar, s.create(user, { accessToken: 'a' }));
    const second = await s.write(b.jar, s.create(user, { accessToken: 'b' }));
    const stolen = (await store.get(first.id!))!;
    await store.set(second.id!, stolen);
    expect(await s.read(b.jar)).toBeUndefined();
  });
});
