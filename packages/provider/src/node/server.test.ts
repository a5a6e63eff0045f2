import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createProvider } from '../provider.js';
import { memoryStorage } from '../storage/memory.js';
import {
  createNodeHandler,
  type HandlerTarget,
  type StartedServer,
  startServer,
} from './server.js';

const ISSUER = 'https://id.example.com';

interface Seen {
  request: Request;
  info: { remoteAddress?: string } | undefined;
  body: string | undefined;
}

/** A stub provider whose `handle` is the given function; records what it received. */
function stub(
  handle: (request: Request, seen: Seen) => Promise<Response> | Response,
  options: { readBody?: boolean } = {},
): HandlerTarget & { seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    config: { issuer: ISSUER },
    async handle(request, info) {
      const entry: Seen = { request, info, body: undefined };
      seen.push(entry);
      if (options.readBody !== false && request.body) entry.body = await request.text();
      return handle(request, entry);
    },
  };
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/** A request with node:http, so that the raw response (every Set-Cookie, framing) is visible. */
function send(
  url: string,
  options: {
    method?: string;
    path?: string;
    headers?: Record<string, string | string[]>;
    body?: string | Buffer | Buffer[];
  } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (Array.isArray(options.body)) {
      for (const chunk of options.body) req.write(chunk);
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

const servers: StartedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(
  target: HandlerTarget,
  options: Parameters<typeof startServer>[1] = { port: 0, host: '127.0.0.1' },
) {
  const started = await startServer(target, options);
  servers.push(started);
  return started;
}

describe('createNodeHandler: requests', () => {
  it('builds the URL from the issuer origin, never from the Host header', async () => {
    const provider = stub(() => new Response('ok'));
    const { url } = await serve(provider);
    const res = await send(url, {
      path: '/v1/oauth/authorize?client_id=a&state=b',
      headers: { host: 'evil.example' },
    });
    expect(res.status).toBe(200);
    expect(provider.seen[0]!.request.url).toBe(
      'https://id.example.com/v1/oauth/authorize?client_id=a&state=b',
    );
  });

  it('keeps a path that looks like an authority inside the path', async () => {
    const provider = stub(() => new Response('ok'));
    const { url } = await serve(provider);
    await send(url, { path: '//evil.example/x' });
    expect(new URL(provider.seen[0]!.request.url).origin).toBe(ISSUER);
    expect(new URL(provider.seen[0]!.request.url).pathname).toBe('//evil.example/x');
  });

  it('copies the request headers, joining cookies with "; "', async () => {
    const provider = stub(() => new Response('ok'));
    const { url } = await serve(provider);
    await send(url, {
      headers: {
        authorization: 'Basic YTpi',
        'x-custom': 'one',
        cookie: ['a=1', 'b=2'],
      },
    });
    const headers = provider.seen[0]!.request.headers;
    expect(headers.get('authorization')).toBe('Basic YTpi');
    expect(headers.get('x-custom')).toBe('one');
    expect(headers.get('cookie')).toBe('a=1; b=2');
  });

  it('passes the socket address, and the first X-Forwarded-For hop only with trustProxy', async () => {
    const provider = stub(() => new Response('ok'));
    const plain = await serve(provider);
    await send(plain.url, { headers: { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' } });
    expect(provider.seen[0]!.info?.remoteAddress).toBe('127.0.0.1');

    const proxied = await serve(provider, { port: 0, host: '127.0.0.1', trustProxy: true });
    await send(proxied.url, { headers: { 'x-forwarded-for': ' 203.0.113.7 , 10.0.0.1' } });
    expect(provider.seen[1]!.info?.remoteAddress).toBe('203.0.113.7');
    await send(proxied.url);
    expect(provider.seen[2]!.info?.remoteAddress).toBe('127.0.0.1');
  });

  it('streams a request body for POST, and gives GET none', async () => {
    const provider = stub(() => new Response('ok'));
    const { url } = await serve(provider);
    await send(url, {
      method: 'POST',
      path: '/v1/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=authorization_code&code=abc',
    });
    // Chunked: no Content-Length.
    await send(url, { method: 'POST', body: [Buffer.from('part one, '), Buffer.from('part two')] });
    await send(url, { method: 'GET' });
    expect(provider.seen[0]!.request.method).toBe('POST');
    expect(provider.seen[0]!.body).toBe('grant_type=authorization_code&code=abc');
    expect(provider.seen[1]!.body).toBe('part one, part two');
    expect(provider.seen[2]!.request.body).toBeNull();
  });

  it('answers 413 to a declared body over the limit without calling the provider', async () => {
    const provider = stub(() => new Response('ok'));
    const { url } = await serve(provider, { port: 0, host: '127.0.0.1', maxBodyBytes: 1024 });
    const res = await send(url, { method: 'POST', body: 'x'.repeat(1025) });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({
      error: 'invalid_request',
      error_description: 'request body is too large',
    });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(provider.seen).toHaveLength(0);
  });

  it('defaults the limit to 64 KiB', async () => {
    const provider = stub(() => new Response('ok'));
    const { url } = await serve(provider);
    expect((await send(url, { method: 'POST', body: 'x'.repeat(64 * 1024) })).status).toBe(200);
    expect((await send(url, { method: 'POST', body: 'x'.repeat(64 * 1024 + 1) })).status).toBe(413);
  });

  it('answers 413 to a chunked body that grows past the limit, whatever the provider says', async () => {
    let failed: unknown;
    const provider = stub(
      async (request) => {
        try {
          await request.text();
        } catch (err) {
          failed = err;
        }
        return new Response('read it all', { status: 200 });
      },
      { readBody: false },
    );
    const { url } = await serve(provider, { port: 0, host: '127.0.0.1', maxBodyBytes: 1000 });
    const res = await send(url, {
      method: 'POST',
      body: [Buffer.alloc(600, 'a'), Buffer.alloc(600, 'b')],
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toBe('invalid_request');
    expect(failed).toBeInstanceOf(Error);
  });
});

describe('createNodeHandler: responses', () => {
  it('writes status, headers and every Set-Cookie', async () => {
    const provider = stub(() => {
      const headers = new Headers({ 'content-type': 'text/plain', 'x-one': '1' });
      headers.append('set-cookie', 'gh_session=abc; Path=/; HttpOnly; SameSite=Lax');
      headers.append('set-cookie', 'gh_interaction=; Path=/interaction; Max-Age=0');
      headers.append('set-cookie', 'third=3, with a comma; Path=/');
      return new Response('created', { status: 201, headers });
    });
    const { url } = await serve(provider);
    const res = await send(url);
    expect(res.status).toBe(201);
    expect(res.body).toBe('created');
    expect(res.headers['x-one']).toBe('1');
    expect(res.headers['content-length']).toBe('7');
    expect(res.headers['set-cookie']).toEqual([
      'gh_session=abc; Path=/; HttpOnly; SameSite=Lax',
      'gh_interaction=; Path=/interaction; Max-Age=0',
      'third=3, with a comma; Path=/',
    ]);
  });

  it('streams a body of several chunks', async () => {
    const provider = stub(() => {
      const parts = ['alpha ', 'beta ', 'gamma'];
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = parts.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(new TextEncoder().encode(next));
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/plain' } });
    });
    const { url } = await serve(provider);
    const res = await send(url);
    expect(res.body).toBe('alpha beta gamma');
    expect(res.headers['transfer-encoding']).toBe('chunked');
  });

  it('sends redirects and empty bodies', async () => {
    const provider = stub(
      () =>
        new Response(null, { status: 302, headers: { location: 'https://rp.example/cb?code=x' } }),
    );
    const { url } = await serve(provider);
    const res = await send(url);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('https://rp.example/cb?code=x');
    expect(res.body).toBe('');
  });

  it('sends no body to HEAD', async () => {
    const provider = stub(() => new Response('hello'));
    const { url } = await serve(provider);
    const res = await send(url, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
  });

  it('answers a throwing handle with a bare server_error and no stack trace', async () => {
    const errors: unknown[] = [];
    const provider = stub(() => {
      throw new Error('database exploded at /secret/path.ts:42');
    });
    const { url } = await serve(provider, {
      port: 0,
      host: '127.0.0.1',
      onError: (err) => errors.push(err),
    });
    const res = await send(url, { method: 'POST', body: 'a=b' });
    expect(res.status).toBe(500);
    expect(res.body).toBe('{"error":"server_error"}');
    expect(res.body).not.toMatch(/exploded|at |\.ts/);
    expect(errors).toHaveLength(1);
  });

  it('destroys the connection when a body fails halfway (no stack in what was sent)', async () => {
    const provider = stub(() => {
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (!sent) {
            sent = true;
            controller.enqueue(new TextEncoder().encode('first'));
            controller.enqueue(new TextEncoder().encode('second'));
          } else controller.error(new Error('boom at file.ts:1'));
        },
      });
      return new Response(body);
    });
    const { url } = await serve(provider, { port: 0, host: '127.0.0.1', onError: () => {} });
    const outcome = await send(url).then(
      (r) => r.body,
      (err: Error) => err.message,
    );
    expect(outcome).not.toMatch(/boom/);
  });
});

describe('createNodeHandler: client aborts', () => {
  it('survives a client that goes away while the response streams', async () => {
    let cancelled!: () => void;
    const wasCancelled = new Promise<void>((resolve) => {
      cancelled = resolve;
    });
    const provider = stub((request) => {
      if (!request.url.endsWith('/stream')) return new Response('still here');
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(new Uint8Array(16 * 1024));
          return new Promise((r) => setTimeout(r, 5));
        },
        cancel() {
          cancelled();
        },
      });
      return new Response(body);
    });
    const { url } = await serve(provider);
    const { port } = new URL(url);
    await new Promise<void>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      socket.once('data', () => {
        socket.destroy();
        resolve();
      });
    });
    await wasCancelled;
    // The server still answers.
    expect((await send(url)).body).toBe('still here');
  });

  it('survives a client that goes away in the middle of a request body', async () => {
    let failure: unknown;
    const provider = stub(
      async (request) => {
        try {
          await request.text();
        } catch (err) {
          failure = err;
        }
        return new Response('late');
      },
      { readBody: false },
    );
    const { url } = await serve(provider);
    const { port } = new URL(url);
    await new Promise<void>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write('POST /v1/oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc');
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
    });
    await expect.poll(() => failure).toBeInstanceOf(Error);
    expect((await send(url)).status).toBe(200);
  });
});

describe('createNodeHandler as a plain listener', () => {
  it('mounts on http.createServer with its own options', async () => {
    const provider = stub(() => new Response('ok'));
    const server = createServer(createNodeHandler(provider, { maxBodyBytes: 10 }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect((await send(url, { method: 'POST', body: '0123456789' })).status).toBe(200);
      expect((await send(url, { method: 'POST', body: '0123456789a' })).status).toBe(413);
      expect(provider.seen).toHaveLength(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('startServer', () => {
  it('reports its URL and closes', async () => {
    const started = await startServer(
      stub(() => new Response('ok')),
      { port: 0, host: '127.0.0.1' },
    );
    expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await send(started.url)).body).toBe('ok');
    await started.close();
    await started.close();
    expect(started.server.listening).toBe(false);
  });

  it('rejects when the port is taken', async () => {
    const first = await serve(stub(() => new Response('ok')));
    const port = Number(new URL(first.url).port);
    await expect(
      startServer(
        stub(() => new Response('ok')),
        { port, host: '127.0.0.1' },
      ),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('with a real provider', () => {
  it('serves discovery, the JWKS, error pages and token errors', async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const provider = await createProvider({
      config: { issuer, storage: { memory: true } },
      storage: memoryStorage(),
      secret: 'x'.repeat(32),
    });
    try {
      const { url } = await serve(provider, { port, host: '127.0.0.1' });
      expect(url).toBe(issuer);

      const discovery = await fetch(`${url}/.well-known/openid-configuration`, {
        headers: { host: 'evil.example' },
      });
      expect(discovery.status).toBe(200);
      const doc = (await discovery.json()) as { issuer: string; token_endpoint: string };
      expect(doc.issuer).toBe(issuer);
      expect(doc.token_endpoint).toBe(`${issuer}/v1/oauth/token`);

      const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as {
        keys: { alg: string }[];
      };
      expect(jwks.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);

      const missing = await fetch(`${url}/nope`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-security-policy')).toContain("default-src 'none'");

      const token = await fetch(`${url}/v1/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=authorization_code&code=nope&client_id=unknown',
      });
      expect(token.status).toBeGreaterThanOrEqual(400);
      expect(((await token.json()) as { error: string }).error).toMatch(/^invalid_/);

      const big = await send(url, {
        method: 'POST',
        path: '/v1/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `a=${'x'.repeat(70_000)}`,
      });
      expect(big.status).toBe(413);
    } finally {
      await Promise.all(servers.splice(0).map((s) => s.close()));
      await provider.close();
    }
  });
});
