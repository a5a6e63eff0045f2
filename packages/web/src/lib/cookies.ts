/**
 * Cookies of one Web `Request`, as the client toolkit's `CookieJar`: the request's `Cookie`
 * header parsed once, and the `Set-Cookie` lines for the response collected in order — one line
 * per name, a later write replacing an earlier one (a browser applies them in order; one line
 * per name leaves nothing to chance). The jar reflects its own writes, so later reads in the
 * same request see them.
 */
import type { CookieAttributes, CookieJar } from '@gatehouse/client';

/** RFC 6265 §4.1.1 cookie-name (an HTTP token). */
export const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** `name=value` pairs of a Cookie header; the first of a repeated name wins (RFC 6265 §5.4). */
export function parseCookieHeader(header: string | null | undefined): Map<string, string> {
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

/** One `Set-Cookie` line (RFC 6265 §4.1); a deletion also carries an `Expires` in the past. */
export function serializeCookie(name: string, value: string, a: CookieAttributes): string {
  let line = `${name}=${value}; Path=${a.path}; Max-Age=${Math.max(0, Math.floor(a.maxAge))}`;
  if (a.maxAge <= 0) line += '; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  if (a.httpOnly) line += '; HttpOnly';
  if (a.secure) line += '; Secure';
  return `${line}; SameSite=${a.sameSite}`;
}

export interface RequestCookieJar extends CookieJar {
  /** Names of the cookies (as this request sent them, and as written since) starting with `prefix`. */
  namesStartingWith(prefix: string): string[];
  /** The `Set-Cookie` lines written so far, in order: what the response must carry. */
  setCookies(): string[];
}

/** The jar of one request. */
export function cookieJar(request: Request): RequestCookieJar {
  const cookies = parseCookieHeader(request.headers.get('cookie'));
  const lines = new Map<string, string>();
  const write = (name: string, line: string) => {
    lines.delete(name);
    lines.set(name, line);
  };
  return {
    get: (name) => cookies.get(name),
    names: () => [...cookies.keys()],
    namesStartingWith: (prefix) => [...cookies.keys()].filter((n) => n.startsWith(prefix)),
    set(name, value, attributes) {
      cookies.set(name, value);
      write(name, serializeCookie(name, value, attributes));
    },
    delete(name, attributes) {
      cookies.delete(name);
      write(name, serializeCookie(name, '', { ...attributes, httpOnly: true, maxAge: 0 }));
    },
    setCookies: () => [...lines.values()],
  };
}
