/**
 * The toolkit's HTTP: every request has a timeout covering the whole exchange, bodies are read
 * with a size cap, and failures become typed errors (`network_timeout`, `network_error`). Nothing
 * is retried here: a caller that may retry says so itself (an authorization code never is).
 */
import { readBodyCapped } from '@gatehouse/oauth';
import { ClientError, type ClientErrorCode } from './errors.js';

export interface HttpOptions {
  fetch: typeof fetch;
  timeoutMs: number;
  /** Largest response body read, in bytes. */
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 1_048_576;

export interface JsonResponse {
  status: number;
  headers: Headers;
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
  const controller = new AbortController();
  const { signal } = controller;
  // Raced as well as signalled: an injected fetch (a proxy wrapper) may drop the signal.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new ClientError(
        'network_timeout',
        `${what}: no answer within ${http.timeoutMs} ms`,
        { retryable: true },
      );
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
    if (signal.aborted) {
      throw new ClientError('network_timeout', `${what}: no answer within ${http.timeoutMs} ms`, {
        retryable: true,
        cause: err,
      });
    }
    throw new ClientError('network_error', `${what}: the request failed`, {
      retryable: true,
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
  let json: unknown;
  const type = response.headers.get('content-type') ?? '';
  if (/^application\/([\w.+-]+\+)?json\b/i.test(type) || text.startsWith('{')) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: response.status, headers: response.headers, json };
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
