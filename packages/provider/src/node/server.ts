/**
 * The Node HTTP adapter: turns an `IncomingMessage` into a Web `Request`, hands it to the
 * provider, and writes the `Response` back. This is the hot path: no framework, no extra copies.
 *
 * - The request URL is the issuer's origin plus the request target; the Host header is never used
 *   to build it (the issuer is authoritative).
 * - Bodies are streamed (only for methods that have one) under a size limit: a declared
 *   Content-Length over the limit is refused before anything is read; a chunked body that grows
 *   past it stops being read and is answered 413 too.
 * - Whatever happens inside `handle`, the client never sees a stack trace.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuthError } from '@gatehouse/oauth';
import type { HttpRequest, Reply } from '../engine/reply.js';

/** What the adapter needs from a provider (a `Provider` has it; tests can pass a stub). */
export interface HandlerTarget {
  handle(request: Request, info?: { remoteAddress?: string }): Promise<Response>;
  /** The provider's Web-object-free entry point; used when present (it is on a `Provider`). */
  dispatch?(request: HttpRequest, info?: { remoteAddress?: string }): Promise<Reply>;
  readonly config: { readonly issuer: string; readonly trustProxy?: boolean };
}

export interface NodeHandlerOptions {
  /**
   * Take the client address from the first X-Forwarded-For hop. Only behind a reverse proxy that
   * sets the header. Defaults to the provider's `trustProxy` setting.
   */
  trustProxy?: boolean;
  /** Largest request body accepted, in bytes (default 64 KiB). */
  maxBodyBytes?: number;
  /**
   * Called with anything `handle` throws (it should never throw). The client gets a bare
   * `server_error`; this is where the details go. Defaults to a line on stderr.
   */
  onError?: (err: unknown) => void;
}

const DEFAULT_MAX_BODY = 64 * 1024;

const TOO_LARGE = JSON.stringify({
  error: 'invalid_request',
  error_description: 'request body is too large',
});
const SERVER_ERROR = JSON.stringify({ error: 'server_error' });
const BAD_REQUEST = JSON.stringify({
  error: 'invalid_request',
  error_description: 'the request target is not valid',
});

class BodyTooLarge extends Error {
  constructor() {
    super('request body is too large');
    this.name = 'BodyTooLarge';
  }
}

function defaultOnError(err: unknown): void {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  process.stderr.write(`gatehouse: unexpected error while handling a request: ${message}\n`);
}

/** Sends a small JSON answer written by the adapter itself. */
function sendJson(res: ServerResponse, status: number, body: string, close = false): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  // The rest of an unread body is not worth reading: close the connection after answering.
  if (close) headers['connection'] = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

/** `::ffff:127.0.0.1` → `127.0.0.1`, so that the same client has one address. */
function normalizeAddress(address: string | undefined): string | undefined {
  if (address?.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  return address;
}

/** The first X-Forwarded-For hop when the proxy is trusted, else the socket's peer address. */
function clientAddress(
  req: IncomingMessage,
  trustProxy: boolean,
  forwardedFor: string | undefined,
): string | undefined {
  if (trustProxy && forwardedFor) {
    const hop = forwardedFor.split(',', 1)[0]!.trim();
    if (hop) return hop;
  }
  return normalizeAddress(req.socket.remoteAddress);
}

/**
 * A readable stream over the request body, pulled on demand (the socket is paused while the
 * consumer is not reading), that errors once more than `limit` bytes have arrived.
 */
function bodyStream(
  req: IncomingMessage,
  limit: number,
  onTooLarge: () => void,
): ReadableStream<Uint8Array> {
  let size = 0;
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on('data', (chunk: Buffer) => {
        if (done) return;
        size += chunk.byteLength;
        if (size > limit) {
          done = true;
          req.pause();
          onTooLarge();
          controller.error(new BodyTooLarge());
          return;
        }
        // A Buffer is a Uint8Array: enqueued as is, no copy.
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      req.once('end', () => {
        if (done) return;
        done = true;
        controller.close();
      });
      req.once('error', (err) => {
        if (done) return;
        done = true;
        controller.error(err);
      });
      // The connection went away before the body was complete (client abort).
      req.once('close', () => {
        if (done) return;
        done = true;
        controller.error(new Error('the client closed the connection'));
      });
    },
    pull() {
      if (!done) req.resume();
    },
    cancel() {
      done = true;
      req.pause();
    },
  });
}

/** Reads a whole body (at most `limit` bytes) as UTF-8 text. */
function readBody(req: IncomingMessage, limit: number, onTooLarge: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (err: Error) => {
      req.off('data', onData);
      req.off('end', onEnd);
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) {
        req.pause();
        onTooLarge();
        fail(new OAuthError('invalid_request', 'request body is too large', { status: 413 }));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      try {
        resolve(UTF8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
      } catch {
        reject(new OAuthError('invalid_request', 'request body is not valid UTF-8'));
      }
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', fail);
    req.once('close', () => {
      if (!req.complete) fail(new Error('the client closed the connection'));
    });
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The request as the engine reads it, straight from the IncomingMessage: no Web Request, no
 * Headers object, no stream (Node has already lower-cased the header names and joined repeats).
 */
function lightRequest(
  req: IncomingMessage,
  url: string,
  hasBody: boolean,
  maxBody: number,
  onTooLarge: () => void,
): HttpRequest {
  const headers = req.headers;
  const get = (name: string): string | null => {
    const value = headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  };
  return {
    method: req.method ?? 'GET',
    url,
    headers: { get, has: (name) => get(name) !== null },
    text: () => (hasBody ? readBody(req, maxBody, onTooLarge) : Promise.resolve('')),
  };
}

/** Writes a Reply in one go, with a Content-Length. */
function writeReply(res: ServerResponse, reply: Reply, close: boolean): void {
  const headers: Record<string, string | string[] | number> = {};
  const cookies: string[] = [];
  for (const [name, value] of reply.headers) {
    if (name === 'set-cookie') cookies.push(value);
    else headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  const body = reply.body ?? '';
  headers['content-length'] = Buffer.byteLength(body);
  if (close) headers['connection'] = 'close';
  res.writeHead(reply.status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Writes a Web Response to a Node response: status, headers (every Set-Cookie), body. */
async function writeResponse(
  res: ServerResponse,
  response: Response,
  extraHeaders?: Record<string, string>,
): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') headers[name] = value;
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  if (extraHeaders) Object.assign(headers, extraHeaders);

  const body = response.body;
  if (!body || res.req.method === 'HEAD') {
    if (body) void body.cancel().catch(() => {});
    res.writeHead(response.status, headers);
    res.end();
    return;
  }

  const reader = body.getReader();
  let aborted = false;
  const onClose = () => {
    if (!res.writableFinished) {
      aborted = true;
      reader.cancel().catch(() => {});
    }
  };
  res.once('close', onClose);
  try {
    // Most responses are one chunk: send them whole, with a Content-Length, in one write.
    const first = await reader.read();
    if (first.done) {
      if (!aborted) {
        res.writeHead(response.status, headers);
        res.end();
      }
      return;
    }
    const second = await reader.read();
    if (aborted) return;
    if (second.done) {
      if (headers['content-length'] === undefined) {
        headers['content-length'] = String(first.value.byteLength);
      }
      res.writeHead(response.status, headers);
      res.end(first.value);
      return;
    }
    res.writeHead(response.status, headers);
    res.write(first.value);
    let chunk: ReadableStreamReadResult<Uint8Array> = second;
    while (!chunk.done) {
      if (aborted) return;
      if (!res.write(chunk.value)) {
        await new Promise<void>((resolve) => {
          const settle = () => {
            res.off('drain', settle);
            res.off('close', settle);
            resolve();
          };
          res.on('drain', settle);
          res.on('close', settle);
        });
      }
      chunk = await reader.read();
    }
    if (!aborted) res.end();
  } finally {
    res.off('close', onClose);
  }
}

/**
 * A `(req, res)` listener for `http.createServer` (or any framework that hands out Node
 * requests) that serves the provider.
 */
export function createNodeHandler(
  provider: HandlerTarget,
  options: NodeHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const origin = new URL(provider.config.issuer).origin;
  const trustProxy = options.trustProxy ?? provider.config.trustProxy ?? false;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const onError = options.onError ?? defaultOnError;

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    // Origin-form only ("/path?query"); the absolute form is reduced to its path and query.
    let path: string;
    if (target.startsWith('/')) {
      path = target;
    } else {
      try {
        const u = new URL(target);
        path = u.pathname + u.search;
      } catch {
        sendJson(res, 400, BAD_REQUEST);
        return;
      }
    }

    const method = req.method ?? 'GET';
    let remoteAddress: string | undefined;
    let tooLarge = false;
    if (provider.dispatch) {
      // The fast path: the provider answers a plain Reply, with no Web objects in between. The
      // headers are read from `req.headers`, where Node has lower-cased the names, joined repeats
      // (cookies with "; ") and left out HTTP/2 pseudo headers.
      const h = req.headers;
      const contentLength = h['content-length'];
      const hasBody =
        method !== 'GET' &&
        method !== 'HEAD' &&
        (h['transfer-encoding'] !== undefined ||
          (contentLength !== undefined && contentLength !== '0'));
      if (hasBody && contentLength !== undefined && Number(contentLength) > maxBody) {
        sendJson(res, 413, TOO_LARGE, true);
        return;
      }
      const light = lightRequest(req, origin + path, hasBody, maxBody, () => {
        tooLarge = true;
      });
      remoteAddress = clientAddress(req, trustProxy, h['x-forwarded-for'] as string | undefined);
      let reply: Reply;
      try {
        reply = await provider.dispatch(light, remoteAddress ? { remoteAddress } : {});
      } catch (err) {
        if (tooLarge) return sendJson(res, 413, TOO_LARGE, true);
        onError(err);
        sendJson(res, 500, SERVER_ERROR, hasBody && !req.complete);
        return;
      }
      if (tooLarge) return sendJson(res, 413, TOO_LARGE, true);
      if (res.destroyed) return;
      writeReply(res, reply, hasBody && !req.complete);
      return;
    }

    const headers = new Headers();
    const raw = req.rawHeaders;
    let forwardedFor: string | undefined;
    let contentLength: string | undefined;
    let chunked = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      // HTTP/2 pseudo headers (:method, :path, …) are not headers.
      if (name.charCodeAt(0) === 58) continue;
      const value = raw[i + 1]!;
      const lower = name.toLowerCase();
      if (lower === 'cookie') {
        // HTTP/2 splits cookies into several fields; they join with "; ", not ", ".
        const previous = headers.get('cookie');
        headers.set('cookie', previous === null ? value : `${previous}; ${value}`);
        continue;
      }
      if (lower === 'content-length') contentLength = value;
      else if (lower === 'transfer-encoding') chunked = true;
      else if (lower === 'x-forwarded-for' && forwardedFor === undefined) forwardedFor = value;
      headers.append(lower, value);
    }
    remoteAddress = clientAddress(req, trustProxy, forwardedFor);

    let body: ReadableStream<Uint8Array> | undefined;
    const hasBody =
      method !== 'GET' &&
      method !== 'HEAD' &&
      (chunked || (contentLength !== undefined && contentLength !== '0'));
    if (hasBody) {
      if (contentLength !== undefined && Number(contentLength) > maxBody) {
        sendJson(res, 413, TOO_LARGE, true);
        return;
      }
      body = bodyStream(req, maxBody, () => {
        tooLarge = true;
      });
    }

    let request: Request;
    try {
      request = new Request(origin + path, {
        method,
        headers,
        ...(body ? { body, duplex: 'half' } : {}),
      } as RequestInit);
    } catch {
      sendJson(res, 400, BAD_REQUEST, hasBody);
      return;
    }

    let response: Response;
    try {
      response = await provider.handle(request, remoteAddress ? { remoteAddress } : {});
    } catch (err) {
      if (tooLarge) {
        sendJson(res, 413, TOO_LARGE, true);
        return;
      }
      onError(err);
      sendJson(res, 500, SERVER_ERROR, hasBody && !req.complete);
      return;
    }
    if (tooLarge) {
      void response.body?.cancel().catch(() => {});
      sendJson(res, 413, TOO_LARGE, true);
      return;
    }
    if (res.destroyed) {
      void response.body?.cancel().catch(() => {});
      return;
    }
    // A body the provider did not read to the end would block the next request on this
    // connection: close it after the response instead of reading what is left.
    await writeResponse(
      res,
      response,
      hasBody && !req.complete ? { connection: 'close' } : undefined,
    );
  }

  return (req, res) => {
    serve(req, res).catch((err: unknown) => {
      onError(err);
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, SERVER_ERROR, true);
    });
  };
}

export interface StartedServer {
  server: Server;
  /** Where the server listens, e.g. `http://127.0.0.1:9000`. */
  url: string;
  /** Stops accepting connections, lets requests in flight finish (up to 10 s), then resolves. */
  close(): Promise<void>;
}

/** Starts an HTTP server for the provider. Resolves once it listens. */
export async function startServer(
  provider: HandlerTarget,
  options: { port: number; host?: string } & NodeHandlerOptions,
): Promise<StartedServer> {
  const { port, host, ...handlerOptions } = options;
  const server = createServer(createNodeHandler(provider, handlerOptions));
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostname = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostname}:${address.port}`;

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve, reject) => {
      const force = setTimeout(() => server.closeAllConnections(), 10_000);
      force.unref();
      server.close((err) => {
        clearTimeout(force);
        if (err && (err as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(err);
        else resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  }

  return { server, url, close };
}
