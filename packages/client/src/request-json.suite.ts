/**
 * What `requestJson` guarantees whatever carries the request — `fetch`, or node:http on Node —
 * against a real HTTP server on loopback: the timeout covers the body, the size cap holds with and
 * without Content-Length, redirects are answers, JSON is parsed only when it is JSON. http.test.ts
 * runs it over fetch, node-runtime.test.ts over node:http.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ClientError } from './errors.js';
import { type HttpOptions, requestJson } from './http.js';
import { answer, type Handler, serve } from './loopback.suite.js';

export { answer, type Handler, serve, useLoopbackServer } from './loopback.suite.js';

/** Streams 16 KiB chunks with no content-length until the client goes away (or 64 MiB). */
export const endless: Handler = (_req, res) => {
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

export const hanging: Handler = () => {
  // Never answers.
};

export async function failure(promise: Promise<unknown>): Promise<ClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClientError);
  return error as ClientError;
}

/** The shared tests, with `options` building the HttpOptions of the transport under test. */
export function describeRequestJson(
  name: string,
  options: (extra?: Partial<HttpOptions>) => HttpOptions,
): void {
  describe(name, () => {
    it('gives network_timeout (retryable) when the server never answers', async () => {
      const route = serve(hanging);
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
    it('refuses a declared content-length over maxBytes without waiting for the body', async () => {
      const route = serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '10000000' });
        res.write('{"padding":"');
        // …and never sends the rest: only the header check can end this before the timeout.
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
      expect(body).toHaveLength(100);
      const route = serve(answer(200, body, { 'content-type': 'application/json' }));
      const res = await requestJson(route.url, {}, options({ maxBytes: 100 }), 'x', 'par_failed');
      expect(res.json).toEqual({ v: 'x'.repeat(92) });
    });
    it('decodes UTF-8 split across chunks', async () => {
      const bytes = Buffer.from('{"name":"Zoë €"}', 'utf8');
      const route = serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        // Cut inside the two-byte ë.
        res.write(bytes.subarray(0, 12));
        setTimeout(() => res.end(bytes.subarray(12)), 20);
      });
      const res = await requestJson(route.url, {}, options(), 'x', 'par_failed');
      expect(res.json).toEqual({ name: 'Zoë €' });
    });
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
  });
}
