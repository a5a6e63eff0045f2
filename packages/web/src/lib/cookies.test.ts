import { describe, expect, it } from 'vitest';
import { cookieJar, parseCookieHeader, serializeCookie } from './cookies.js';

const attrs = { httpOnly: true, secure: false, sameSite: 'Lax', path: '/', maxAge: 10 } as const;

describe('cookies', () => {
  it('parses a Cookie header: first of a repeated name wins, quotes dropped, junk skipped', () => {
    const cookies = parseCookieHeader('a=1; b="two"; a=3; junk; =x; c=x=y');
    expect([...cookies]).toEqual([
      ['a', '1'],
      ['b', 'two'],
      ['c', 'x=y'],
    ]);
    expect(parseCookieHeader(null).size).toBe(0);
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

  it('collects one Set-Cookie line per name (the last write wins) and reflects its writes', () => {
    const jar = cookieJar(
      new Request('https://app.example/', { headers: { cookie: 'gh_tx.a=1; gh_tx.b=2' } }),
    );
    expect(jar.names()).toEqual(['gh_tx.a', 'gh_tx.b']);
    jar.delete('gh_tx.a', attrs);
    jar.set('gh_session', 'v', attrs);
    jar.set('gh_tx.a', 'new', attrs);
    expect(jar.setCookies()).toEqual([
      'gh_session=v; Path=/; Max-Age=10; HttpOnly; SameSite=Lax',
      'gh_tx.a=new; Path=/; Max-Age=10; HttpOnly; SameSite=Lax',
    ]);
    jar.delete('gh_tx.b', attrs);
    expect(jar.get('gh_tx.b')).toBeUndefined();
    expect(jar.namesStartingWith('gh_tx.')).toEqual(['gh_tx.a']);
    // The lines go into a response as they are.
    const headers = new Headers();
    for (const line of jar.setCookies()) headers.append('set-cookie', line);
    expect(headers.getSetCookie()).toHaveLength(3);
  });
});
