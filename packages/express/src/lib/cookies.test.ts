import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { cookieJar } from './cookies.js';

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
