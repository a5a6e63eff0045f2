/**
 * The Node fast paths: requests over node:http (through `requestJson`, as the client sends them
 * when it has no `fetch` of its own) keep the fetch path's guarantees, against a real server on
 * loopback; the node:crypto digest equals Web Crypto's.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientError } from './errors.js';
import { formPost, type HttpOptions, requestJson } from './http.js';
import { defaultSend, loadedNodeRuntime, nodeRuntime, onNode } from './node-runtime.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let base: string;
const routes = new Map<string, { handler: Handler; requests: Seen[] }>();
let routeCount = 0;

interface Seen {
  method: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

function serve(handler: Handler): { url: string; requests: Seen[] } {
  const path = `/r${++routeCount}`;
  const route = { handler, requests: [] as Seen[] };
  routes.set(path, route);
  return { url: `${base}${path}`, requests: route.requests };
}

function answer(status: number, body: string, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  };
}

/** Streams 16 KiB chunks with no content-length until the client goes away (or 64 MiB). */
const endless: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = `"${'x'.repeat(16_382)}"`;
  let sent = 0;
  const timer = setInterval(() => {
    if (res.destroyed || ++sent > 4096) {
      clearInterval(timer);
      res.end();
      return;
    }
    res.write(chunk);
  }, 2);
  res.on('close', () => clearInterval(timer));
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const route = routes.get(req.url ?? '');
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      route.requests.push({ method: req.method, headers: req.headers, body });
      route.handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** As the client sets it up on Node without a `fetch` option: `send` wins over `fetch`. */
const options = (extra: Partial<HttpOptions> = {}): HttpOptions => ({
  fetch: () => Promise.reject(new Error('fetch must not be used when send is set')),
  send: defaultSend!,
  timeoutMs: 2000,
  ...extra,
});

async function failure(promise: Promise<unknown>): Promise<ClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClientError);
  return error as ClientError;
}

describe('the runtime', () => {
  it('is Node here, and loads node:http and node:crypto', async () => {
    expect(onNode).toBe(true);
    expect(defaultSend).toBeTypeOf('function');
    expect(await nodeRuntime()).toBeDefined();
    expect(loadedNodeRuntime()).toBeDefined();
  });

  it('digests like Web Crypto', async () => {
    const node = (await nodeRuntime())!;
    const data = new TextEncoder().encode('an access token, é');
    for (const alg of ['SHA-256', 'SHA-512'] as const) {
      const web = new Uint8Array(await crypto.subtle.digest(alg, data));
      expect(new Uint8Array(node.digest(alg, data))).toEqual(web);
    }
  });
});

describe('requestJson over node:http: time and connection failures', () => {
  it('gives network_timeout (retryable) when the server never answers', async () => {
    const route = serve(() => {});
    const started = Date.now();
    const error = await failure(
      requestJson(route.url, {}, options({ timeoutMs: 100 }), 'discovery', 'discovery_failed'),
    );
    expect(error.code).toBe('network_timeout');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('discovery: no answer within 100 ms');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('counts the body in the timeout: headers then a body that never ends', async () => {
    const route = serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":');
      const timer = setInterval(() => res.write(' '), 20);
      res.on('close', () => clearInterval(timer));
    });
    const error = await failure(
      requestJson(route.url, {}, options({ timeoutMs: 150 }), 'token request', 'par_failed'),
    );
    expect(error.code).toBe('network_timeout');
    expect(error.retryable).toBe(true);
  });

  it('gives network_error (retryable) when the connection is refused', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(
      requestJson(`http://127.0.0.1:${port}/`, {}, options(), 'userinfo request', 'par_failed'),
    );
    expect(error.code).toBe('network_error');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('userinfo request: the request failed');
    expect(error.cause).toBeDefined();
  });

  it('gives network_error when the connection breaks while the body arrives', async () => {
    const route = serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"cut":');
      setTimeout(() => res.destroy(), 20);
    });
    const error = await failure(requestJson(route.url, {}, options(), 'x', 'par_failed'));
    expect(error.code).toBe('network_error');
  });

  it('gives network_error for a URL that is neither http nor https', async () => {
    const error = await failure(requestJson('ftp://127.0.0.1/', {}, options(), 'x', 'par_failed'));
    expect(error.code).toBe('network_error');
  });

  it('refuses a URL with credentials, as fetch does, without sending anything', async () => {
    const route = serve(answer(200, '{}'));
    const url = route.url.replace('http://', 'http://user:pass@');
    const error = await failure(requestJson(url, {}, options(), 'x', 'par_failed'));
    expect(error.code).toBe('network_error');
    expect(route.requests).toHaveLength(0);
  });
});

describe('requestJson over node:http: the body size cap', () => {
  it('refuses a declared content-length over maxBytes without waiting for the body', async () => {
    const route = serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '10000000' });
      res.write('{"padding":"');
    });
    const started = Date.now();
    const error = await failure(
      requestJson(route.url, {}, options({ maxBytes: 1000 }), 'discovery', 'discovery_failed'),
    );
    expect(error.code).toBe('discovery_failed');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('discovery: the response is larger than 1000 bytes');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses a chunked body (no content-length) once it passes maxBytes, without reading on', async () => {
    const route = serve(endless);
    const started = Date.now();
    const error = await failure(
      requestJson(
        route.url,
        {},
        options({ maxBytes: 100_000, timeoutMs: 5000 }),
        'token request',
        'token_response_invalid',
      ),
    );
    expect(error.code).toBe('token_response_invalid');
    expect(error.message).toBe('token request: the response is larger than 100000 bytes');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('accepts a body of exactly maxBytes', async () => {
    const body = JSON.stringify({ v: 'x'.repeat(92) });
    const route = serve(answer(200, body, { 'content-type': 'application/json' }));
    const res = await requestJson(route.url, {}, options({ maxBytes: 100 }), 'x', 'par_failed');
    expect(res.json).toEqual({ v: 'x'.repeat(92) });
  });

  it('decodes UTF-8 split across chunks', async () => {
    const bytes = Buffer.from('{"name":"Zoë €"}', 'utf8');
    const route = serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(bytes.subarray(0, 12));
      setTimeout(() => res.end(bytes.subarray(12)), 20);
    });
    const res = await requestJson(route.url, {}, options(), 'x', 'par_failed');
    expect(res.json).toEqual({ name: 'Zoë €' });
  });
});

describe('requestJson over node:http: answers', () => {
  it.each([301, 302, 303, 307, 308])(
    'returns a %i as a status and does not follow it',
    async (status) => {
      const target = serve(
        answer(200, '{"followed":true}', { 'content-type': 'application/json' }),
      );
      const route = serve(answer(status, '', { location: target.url }));
      const res = await requestJson(route.url, {}, options(), 'x', 'par_failed');
      expect(res.status).toBe(status);
      expect(res.headers.get('location')).toBe(target.url);
      expect(res.json).toBeUndefined();
      expect(target.requests).toHaveLength(0);
    },
  );

  it('parses JSON for application/json and +json types, and bodies that start with {', async () => {
    for (const [type, body] of [
      ['application/json; charset=utf-8', '[1,2]'],
      ['application/jwk-set+json', '{"keys":[]}'],
      ['text/plain', '{"loose":true}'],
    ] as const) {
      const route = serve(answer(200, body, { 'content-type': type }));
      const res = await requestJson(route.url, {}, options(), 'x', 'par_failed');
      expect(res.json).toEqual(JSON.parse(body));
    }
  });

  it('leaves json undefined for HTML, invalid JSON and an empty body', async () => {
    for (const [status, type, body] of [
      [500, 'text/html', '<h1>Internal Server Error</h1>'],
      [200, 'application/json', '{"cut":'],
      [200, 'application/json', ''],
      [204, 'application/json', ''],
    ] as const) {
      const route = serve(answer(status, body, { 'content-type': type }));
      const res = await requestJson(route.url, {}, options(), 'x', 'par_failed');
      expect(res.status).toBe(status);
      expect(res.json).toBeUndefined();
    }
  });

  it('keeps repeated response headers, as fetch does', async () => {
    const route = serve((_req, res) => {
      res.setHeader('x-many', ['a', 'b']);
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
    const res = await requestJson(route.url, {}, options(), 'x', 'par_failed');
    expect(res.headers.get('x-many')).toBe('a, b');
  });

  it('sends the request as given (method, headers, body), with content-length', async () => {
    const route = serve(answer(200, '{}', { 'content-type': 'application/json' }));
    await requestJson(
      route.url,
      formPost({ a: '1 2', b: undefined, c: 'é&=' }, { authorization: 'Basic abc' }),
      options(),
      'x',
      'par_failed',
    );
    const [seen] = route.requests;
    expect(seen?.method).toBe('POST');
    expect(seen?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen?.headers.accept).toBe('application/json');
    expect(seen?.headers.authorization).toBe('Basic abc');
    expect(seen?.headers['content-length']).toBe(String(Buffer.byteLength(seen?.body ?? '')));
    expect(seen?.headers['user-agent']).toBe('node');
    expect(seen?.body).toBe('a=1+2&c=%C3%A9%26%3D');
  });

  it('refuses header values fetch would refuse, as a network_error', async () => {
    const route = serve(answer(200, '{}'));
    const error = await failure(
      requestJson(route.url, { headers: { 'x-bad': 'a\nb' } }, options(), 'x', 'par_failed'),
    );
    expect(error.code).toBe('network_error');
    expect(route.requests).toHaveLength(0);
  });

  it('reuses the connection (keep-alive)', async () => {
    const route = serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ port: req.socket.remotePort }));
    });
    const first = await requestJson(route.url, {}, options(), 'x', 'par_failed');
    const second = await requestJson(route.url, {}, options(), 'x', 'par_failed');
    expect((second.json as { port: number }).port).toBe((first.json as { port: number }).port);
  });
});
