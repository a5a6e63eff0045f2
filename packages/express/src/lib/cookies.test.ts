import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { cookieJar, parseCookieHeader, serializeCookie } from './cookies.js';

function fakeResponse() {
  const headers = new Map<string, unknown>();
  return {
    res: {
      getHeader: (name: string) => headers.get(name.toLowerCase()),
      setHeader: (name: string, value: unknown) => headers.set(name.toLowerCase(), value),
    } as unknown as Response,
    setCookies: () => headers.get('set-cookie') as string[] | undefined,
  };
}

describe('cookies', () => {
  it('parses a Cookie header: first of a repeated name wins, quotes dropped, junk skipped', () => {
    const cookies = parseCookieHeader('a=1; b="two"; a=3; junk; =x; c=x=y');
    expect([...cookies]).toEqual([
      ['a', '1'],
      ['b', 'two'],
      ['c', 'x=y'],
    ]);
    expect(parseCookieHeader(undefined).size).toBe(0);
  });

  it('serialises attributes; a deletion expires the cookie', () => {
    const base = { httpOnly: true, secure: true, sameSite: 'Lax', path: '/' } as const;
    expect(serializeCookie('n', 'v', { ...base, maxAge: 60 })).toBe(
      'n=v; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax',
    );
    expect(serializeCookie('n', '', { ...base, maxAge: 0 })).toBe(
      'n=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax',
    );
  });

  it('writes one Set-Cookie per name (the last write wins) and keeps the other cookies', () => {
    const { res, setCookies } = fakeResponse();
    res.setHeader('set-cookie', ['other=1; Path=/']);
    const jar = cookieJar({ headers: { cookie: 'gh_tx.a=1; gh_tx.b=2' } } as Request, res);
    const attrs = {
      httpOnly: true,
      secure: false,
      sameSite: 'Lax',
      path: '/',
      maxAge: 10,
    } as const;
    jar.delete('gh_tx.a', attrs);
    jar.set('gh_tx.a', 'new', attrs);
    jar.set('gh_session', 'v', attrs);
    expect(setCookies()).toEqual([
      'other=1; Path=/',
      'gh_tx.a=new; Path=/; Max-Age=10; HttpOnly; SameSite=Lax',
      'gh_session=v; Path=/; Max-Age=10; HttpOnly; SameSite=Lax',
    ]);
    // The jar reflects its own writes.
    jar.delete('gh_tx.b', attrs);
    expect(jar.get('gh_tx.b')).toBeUndefined();
    expect(jar.namesStartingWith('gh_tx.')).toEqual(['gh_tx.a']);
  });
});
