/**
 * The toolkit's HTTP: every request has a timeout covering the whole exchange, bodies are read
 * with a size cap, and failures become typed errors (`network_timeout`, `network_error`). Nothing
 * is retried here: a caller that may retry says so itself (an authorization code never is).
 */
import { readBodyCapped } from '@gatehouse/oauth';
import { ClientError, type ClientErrorCode } from './errors.js';
import { type Send, SendTimeout } from './node-runtime.js';

export interface HttpOptions {
  fetch: typeof fetch;
  timeoutMs: number;
  /** Largest response body read, in bytes. */
  maxBytes?: number;
  /**
   * Sends instead of `fetch` when set: on Node.js, `node:http` when the application gave no
   * `fetch` of its own (see node-runtime.ts). Same timeout, size cap and error codes.
   */
  send?: Send;
}

const DEFAULT_MAX_BYTES = 1_048_576;

/** The one part of `Headers` read from answers: a fetch `Headers`, or node:http's header map. */
export interface HeaderLookup {
  get(name: string): string | null;
}

export interface JsonResponse {
  status: number;
  headers: HeaderLookup;
  /** The parsed body, or undefined when it is not JSON. */
  json: unknown;
}

/**
 * Sends a request and reads its JSON answer. `what` names the operation in error messages
 * ("token request", "discovery", …); `failure` is the code for answers that are not usable.
 */
export async function requestJson(
  url: string | URL,
  init: RequestInit,
  http: HttpOptions,
  what: string,
  failure: ClientErrorCode,
): Promise<JsonResponse> {
  if (http.send) return sendJson(http.send, url, init, http, what, failure);
  const controller = new AbortController();
  const { signal } = controller;
  // Raced as well as signalled: an injected fetch (a proxy wrapper) may drop the signal.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = transportError(what, http, true);
      controller.abort(error);
      reject(error);
    }, http.timeoutMs);
  });
  let response: Response;
  let text: string;
  try {
    response = await Promise.race([
      http.fetch(url, { ...init, signal, redirect: 'manual' }),
      timeout,
    ]);
    text = await Promise.race([
      readCapped(response, http.maxBytes ?? DEFAULT_MAX_BYTES, what, failure),
      timeout,
    ]);
  } catch (err) {
    if (err instanceof ClientError) throw err;
    throw transportError(what, http, signal.aborted, err);
  } finally {
    clearTimeout(timer);
  }
  return { status: response.status, headers: response.headers, json: jsonOf(response, text) };
}

/** The error for a request that got no answer: too slow, or failed on the way. Both retryable. */
function transportError(
  what: string,
  http: HttpOptions,
  timedOut: boolean,
  cause?: unknown,
): ClientError {
  const options = cause === undefined ? { retryable: true } : { retryable: true, cause };
  return timedOut
    ? new ClientError('network_timeout', `${what}: no answer within ${http.timeoutMs} ms`, options)
    : new ClientError('network_error', `${what}: the request failed`, options);
}

/** The body as JSON when it is JSON (by its type, or a body that starts with `{`). */
function jsonOf(response: { headers: HeaderLookup }, text: string): unknown {
  const type = response.headers.get('content-type') ?? '';
  if (/^application\/([\w.+-]+\+)?json\b/i.test(type) || text.startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const decoder = new TextDecoder();

/** `requestJson` over a `Send` (no fetch objects): the same limits, errors and parsing. */
async function sendJson(
  send: Send,
  url: string | URL,
  init: RequestInit,
  http: HttpOptions,
  what: string,
  failure: ClientErrorCode,
): Promise<JsonResponse> {
  const maxBytes = http.maxBytes ?? DEFAULT_MAX_BYTES;
  let response: Awaited<ReturnType<Send>>;
  try {
    response = await send(url, init, { timeoutMs: http.timeoutMs, maxBytes });
  } catch (err) {
    throw transportError(what, http, err instanceof SendTimeout, err);
  }
  if (response === undefined) {
    throw new ClientError(failure, `${what}: the response is larger than ${maxBytes} bytes`);
  }
  const text = decoder.decode(response.body);
  return { status: response.status, headers: response.headers, json: jsonOf(response, text) };
}

async function readCapped(
  response: Response,
  maxBytes: number,
  what: string,
  failure: ClientErrorCode,
): Promise<string> {
  const body = await readBodyCapped(response, maxBytes);
  if (body === undefined) {
    throw new ClientError(failure, `${what}: the response is larger than ${maxBytes} bytes`);
  }
  return new TextDecoder().decode(body);
}

/** Whether a parsed JSON value is a plain object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A `application/x-www-form-urlencoded` POST body and its headers. */
export function formPost(
  params: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): RequestInit {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) body.set(k, v);
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      ...headers,
    },
    body: body.toString(),
  };
}
