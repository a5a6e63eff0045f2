/**
 * Cookies over Express's request and response, as the client toolkit's `CookieJar`: the
 * request's `Cookie` header parsed once, and writes that replace any earlier `Set-Cookie` of the
 * same name in the same response (a browser applies them in order; one line per name leaves
 * nothing to chance). The jar reflects its own writes, so later reads in the same request see
 * them. The header parsing and the `Set-Cookie` lines are @gatehouse/web's.
 */
import type { CookieJar } from '@gatehouse/client';
import { parseCookieHeader, serializeCookie } from '@gatehouse/web/kit';
import type { Request, Response } from 'express';

/** Sets a `Set-Cookie` line, replacing one written earlier in this response for the same name. */
function writeSetCookie(res: Response, name: string, line: string): void {
  const current = res.getHeader('set-cookie');
  const lines = current === undefined ? [] : Array.isArray(current) ? current : [String(current)];
  const others = lines.filter((l) => l.slice(0, l.indexOf('=')).trim() !== name);
  res.setHeader('set-cookie', [...others, line]);
}

export interface RequestCookieJar extends CookieJar {
  /** Names of this request's cookies that start with `prefix`, in no particular order. */
  namesStartingWith(prefix: string): string[];
}

/** The jar of one request/response pair. */
export function cookieJar(req: Request, res: Response): RequestCookieJar {
  const header = req.headers.cookie;
  const cookies = parseCookieHeader(Array.isArray(header) ? header.join('; ') : header);
  return {
    get: (name) => cookies.get(name),
    names: () => [...cookies.keys()],
    namesStartingWith: (prefix) => [...cookies.keys()].filter((n) => n.startsWith(prefix)),
    set(name, value, attributes) {
      cookies.set(name, value);
      writeSetCookie(res, name, serializeCookie(name, value, attributes));
    },
    delete(name, attributes) {
      cookies.delete(name);
      writeSetCookie(
        res,
        name,
        serializeCookie(name, '', { ...attributes, httpOnly: true, maxAge: 0 }),
      );
    },
  };
}
