import { ClientError, type IdTokenClaims } from '@gatehouse/client';
import { describe, expect, it } from 'vitest';
import { browserJar } from '../../../../test/support/browser-jar.js';
import {
  CHUNK_BYTES,
  MAX_CHUNKS,
  SessionCookie,
  sessionFromJson,
  sessionToJson,
  sessionTokensFromJson,
} from './session-cookie.js';

const user = { sub: 'u1', iss: 'https://id.example', aud: 'app', exp: 0, iat: 0 } as IdTokenClaims;

const cookie = new SessionCookie({
  cookieName: 'gh_session',
  secure: true,
  now: () => 1_000_000,
  tooLargeHint: 'ask for less',
});

describe('SessionCookie', () => {
  it('writes a short value in one cookie, and reads it back', () => {
    const { jar, cookies } = browserJar();
    cookie.write(jar, 'v1.abc', 2_000_000);
    expect([...cookies.keys()]).toEqual(['gh_session']);
    expect(cookie.value(jar)).toBe('v1.abc');
  });

  it('chunks a long value, joins it on read, and removes stale chunks when it shrinks', () => {
    const { jar, cookies } = browserJar();
    const long = 'x'.repeat(CHUNK_BYTES * 2 + 1);
    cookie.write(jar, long, 2_000_000);
    expect([...cookies.keys()]).toEqual(['gh_session.0', 'gh_session.1', 'gh_session.2']);
    for (const v of cookies.values()) expect(v.length).toBeLessThanOrEqual(CHUNK_BYTES);
    expect(cookie.value(jar)).toBe(long);

    cookie.write(jar, 'short', 2_000_000);
    expect([...cookies.keys()]).toEqual(['gh_session']);
  });

  it('refuses a value that needs more than MAX_CHUNKS cookies, with the hint given', () => {
    const err = (() => {
      try {
        cookie.write(browserJar().jar, 'x'.repeat(CHUNK_BYTES * MAX_CHUNKS + 1), 2_000_000);
      } catch (e) {
        return e;
      }
    })() as ClientError;
    expect(err).toBeInstanceOf(ClientError);
    expect(err.code).toBe('config_invalid');
    expect(err.hint).toBe('ask for less');
  });

  it('clears its own cookies and leaves other cookies alone', () => {
    const { jar, cookies } = browserJar({ gh_session_other: 'x', 'gh_session.x': 'y', gh_tx: 'z' });
    cookie.write(jar, 'x'.repeat(CHUNK_BYTES + 1), 2_000_000);
    expect(cookie.names(jar).sort()).toEqual(['gh_session.0', 'gh_session.1']);
    cookie.clear(jar);
    expect([...cookies.keys()].sort()).toEqual(['gh_session.x', 'gh_session_other', 'gh_tx']);
  });
});

describe('session JSON', () => {
  it('round-trips a session and refuses one with a field of the wrong type', () => {
    const session = {
      user,
      tokens: { accessToken: 'at', refreshToken: 'rt', expiresAt: 5 },
      createdAt: 1,
      expiresAt: 2,
    };
    expect(sessionFromJson(sessionToJson(session))).toEqual(session);
    expect(sessionFromJson('not json')).toBeUndefined();
    expect(sessionFromJson(JSON.stringify({ ...session, v: 1, createdAt: '1' }))).toBeUndefined();
    expect(sessionTokensFromJson('{"accessToken":"at","idToken":7}')).toBeUndefined();
    expect(sessionTokensFromJson('{"accessToken":"at","scope":"openid"}')).toEqual({
      accessToken: 'at',
      scope: 'openid',
    });
  });
});
