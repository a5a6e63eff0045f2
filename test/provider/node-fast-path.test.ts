/**
 * The Node adapter's fast path (provider.dispatch, no Web Request/Response objects) over real
 * sockets: a whole sign-in and code exchange, and the edge cases of reading and writing.
 */
import { request as httpRequest } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedServer, startServer } from '../../packages/provider/src/node/server.js';
import {
  authorizeUrl,
  Browser,
  baseConfig,
  exchange,
  signIn,
  startTestProvider,
  type TestProvider,
} from '../support/harness.js';

let tp: TestProvider;
let server: StartedServer;
let overHttp: TestProvider;

async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  const port = await freePort();
  tp = await startTestProvider({ config: baseConfig(`http://127.0.0.1:${port}`) });
  server = await startServer(tp.provider, { port, host: '127.0.0.1' });
  // The same harness, but every request crosses a real socket to the Node adapter.
  overHttp = { ...tp, fetch: (url, init) => fetch(url, { ...init, redirect: 'manual' }) };
});

afterAll(async () => {
  await server.close();
  await tp.provider.close();
});

function raw(
  path: string,
  options: { method?: string; headers?: Record<string, string>; chunks?: Buffer[] } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: new URL(tp.issuer).port,
        path,
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
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

describe('Node adapter fast path', () => {
  it('uses dispatch: a real provider has it', () => {
    expect(typeof tp.provider.dispatch).toBe('function');
  });

  it('runs a whole sign-in, consent and code exchange over HTTP', async () => {
    const browser = new Browser(overHttp);
    const redirect = await signIn(
      browser,
      await authorizeUrl(overHttp, { state: 'over-http', nonce: 'n' }),
    );
    expect(redirect.searchParams.get('state')).toBe('over-http');
    expect(redirect.searchParams.get('iss')).toBe(tp.issuer);
    const res = await exchange(overHttp, redirect.searchParams.get('code')!);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { id_token } = (await res.json()) as { id_token: string };
    expect(decodeJwt(id_token).nonce).toBe('n');
  });

  it('sends every Set-Cookie of a reply', async () => {
    const browser = new Browser(overHttp);
    const first = await browser.navigate(await authorizeUrl(overHttp));
    const body = await first.text();
    const action = /action="([^"]+)"/.exec(body)![1]!.replace(/&amp;/g, '&');
    const csrf = /name="csrf"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf"/.exec(body)!;
    const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const form = new URLSearchParams({
      csrf: (csrf[1] ?? csrf[2])!,
      username: 'alice',
      password: 'correct horse battery',
    });
    const res = await raw(new URL(action).pathname, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      chunks: [Buffer.from(form.toString())],
    });
    expect(res.status).toBe(303);
    const setCookie = res.headers['set-cookie'] as string[];
    expect(setCookie.some((c) => c.startsWith('gatehouse.session='))).toBe(true);
  });

  it('answers 413 to a chunked body that grows past the limit', async () => {
    const res = await raw('/v1/oauth/token', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'transfer-encoding': 'chunked',
      },
      chunks: Array.from({ length: 20 }, () => Buffer.from(`a=${'x'.repeat(5000)}&`)),
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({
      error: 'invalid_request',
      error_description: 'request body is too large',
    });
  });

  it('answers invalid UTF-8 in a form body with invalid_request, not a 500', async () => {
    const res = await raw('/v1/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      chunks: [Buffer.from([0x61, 0x3d, 0xff, 0xfe])],
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toBe('invalid_request');
  });

  it('sends headers and no body to HEAD, with a correct Content-Length for GET', async () => {
    const get = await raw('/.well-known/openid-configuration');
    expect(Number(get.headers['content-length'])).toBe(Buffer.byteLength(get.body));
    const head = await raw('/.well-known/openid-configuration', { method: 'HEAD' });
    expect(head.body).toBe('');
    expect(head.headers['content-type']).toContain('application/json');
  });

  it('never trusts the Host header for URLs it builds', async () => {
    const res = await raw('/v1/oauth/authorize?client_id=nobody', {
      headers: { host: 'evil.example' },
    });
    expect(res.status).toBe(400);
    expect(res.body).toContain(`${tp.issuer}/errors#unauthorized_client`);
    expect(res.body).not.toContain('evil.example');
  });
});
