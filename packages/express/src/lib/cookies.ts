/**
 * Cookies over Express's request and response, as the client toolkit's `CookieJar`: the
 * request's `Cookie` header parsed once, and writes that replace any earlier `Set-Cookie` of the
 * same name in the same response (a browser applies them in order; one line per name leaves
 * nothing to chance). The jar reflects its own writes, so later reads in the same request see
 * them.
 */
import type { CookieAttributes, CookieJar } from '@gatehouse/client';
import type { Request, Response } from 'express';

/** RFC 6265 §4.1.1 cookie-name (an HTTP token). */
export const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** `name=value` pairs of a Cookie header; the first of a repeated name wins (RFC 6265 §5.4). */
export function parseCookieHeader(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1);
    }
    if (name && !cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

export function serializeCookie(name: string, value: string, a: CookieAttributes): string {
  let line = `${name}=${value}; Path=${a.path}; Max-Age=${Math.max(0, Math.floor(a.maxAge))}`;
  if (a.maxAge <= 0) line += '; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  if (a.httpOnly) line += '; HttpOnly';
  if (a.secure) line += '; Secure';
  return `${line}; SameSite=${a.sameSite}`;
}

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
