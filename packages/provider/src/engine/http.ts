/** Small Web-standard HTTP helpers for the engine: responses, cookies, request bodies. */
import { OAuthError, parseParams } from '@gatehouse/oauth';
import { type HttpRequest, Reply, ReplyHeaders } from './reply.js';

/** Largest request body the provider reads, in bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

/** A JSON response; `no-store` unless told otherwise. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Reply {
  return new Reply(
    status,
    { 'content-type': 'application/json; charset=utf-8', ...NO_STORE, ...headers },
    JSON.stringify(body),
  );
}

/** The Content-Security-Policy of every HTML page: no script at all, no framing. */
export function pageCsp(formActions: readonly string[] = []): string {
  const form = ["'self'", ...formActions].join(' ');
  return [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self' data:",
    `form-action ${form}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** Security headers for HTML pages (SECURITY.md: CSP, no framing, no referrer, nosniff). */
export function pageHeaders(formActions: readonly string[] = []): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': pageCsp(formActions),
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    ...NO_STORE,
  };
}

export function html(
  body: string,
  status = 200,
  options: { formActions?: readonly string[]; headers?: Record<string, string> } = {},
): Reply {
  return new Reply(status, { ...pageHeaders(options.formActions), ...options.headers }, body);
}

/**
 * A redirect. 302 for the authorization response to a GET; 303 after a POST (never 307, which
 * would re-post credentials: RFC 9700 §4.12).
 */
export function redirect(
  location: string,
  status: 302 | 303 = 302,
  headers: ReplyHeaders | Record<string, string> = {},
): Reply {
  const h = headers instanceof ReplyHeaders ? headers : new ReplyHeaders(headers);
  h.set('location', location);
  h.set('cache-control', 'no-store');
  h.set('referrer-policy', 'no-referrer');
  return new Reply(status, h);
}

/** Adds parameters to a URL's query, keeping the parameters it already has. */
export function withQuery(base: string, params: Record<string, string | undefined>): string {
  const url = new URL(base);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.append(k, v);
  return url.href;
}

export interface CookieOptions {
  maxAge?: number;
  secure: boolean;
  sameSite?: 'Lax' | 'Strict' | 'None';
  path?: string;
}

export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [
    `${name}=${value}`,
    `Path=${options.path ?? '/'}`,
    'HttpOnly',
    `SameSite=${options.sameSite ?? 'Lax'}`,
  ];
  if (options.secure) parts.push('Secure');
  if (options.maxAge !== undefined)
    parts.push(`Max-Age=${Math.max(0, Math.floor(options.maxAge))}`);
  return parts.join('; ');
}

export function readCookie(request: HttpRequest, name: string): string | undefined {
  const header = request.headers.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Reads a body as text, refusing more than `limit` bytes. */
export async function readText(request: HttpRequest, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > limit)
    throw new OAuthError('invalid_request', 'request body is too large', { status: 413 });
  // An adapter that hands over the whole body (the Node adapter) has bounded it already.
  if (request.body === undefined) return request.text();
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new OAuthError('invalid_request', 'request body is too large', { status: 413 });
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(all);
  } catch {
    throw new OAuthError('invalid_request', 'request body is not valid UTF-8');
  }
}

/**
 * Reads an `application/x-www-form-urlencoded` body into strict parameters (no repeats, no empty
 * values). Any other content type is refused.
 */
export async function readForm(request: HttpRequest): Promise<Map<string, string>> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded');
  }
  const text = await readText(request);
  return parseParams(new URLSearchParams(text));
}
