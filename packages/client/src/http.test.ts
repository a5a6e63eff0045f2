import { describe, expect, it } from 'vitest';
import { formPost, type HttpOptions, isObject, requestJson } from './http.js';
import {
  answer,
  describeRequestJson,
  endless,
  failure,
  hanging,
  serve,
  useLoopbackServer,
} from './request-json.suite.js';

useLoopbackServer();

const options = (extra: Partial<HttpOptions> = {}): HttpOptions => ({
  fetch: globalThis.fetch,
  timeoutMs: 2000,
  ...extra,
});

describeRequestJson('requestJson over fetch', options);

describe('requestJson: time and connection failures', () => {
  it('keeps the timeout with an injected fetch that drops the signal (a proxy wrapper)', async () => {
    // ClientOptions.fetch is for proxies and custom CAs; a wrapper that rebuilds the request
    // and loses the signal must not make a hanging provider hang the login.
    const dropsSignal: typeof fetch = (input, init) =>
      globalThis.fetch(input, { ...init, signal: null });
    for (const route of [
      serve(hanging),
      serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"a":');
      }),
    ]) {
      const started = Date.now();
      const error = await failure(
        requestJson(
          route.url,
          {},
          options({ fetch: dropsSignal, timeoutMs: 100 }),
          'x',
          'par_failed',
        ),
      );
      expect(error.code).toBe('network_timeout');
      expect(error.retryable).toBe(true);
      expect(Date.now() - started).toBeLessThan(1500);
    }
  }, 4000);
});

describe('requestJson: the body size cap', () => {
  it('caps at 1 MiB by default', async () => {
    const route = serve(endless);
    const error = await failure(
      requestJson(route.url, {}, options({ timeoutMs: 5000 }), 'discovery', 'jwks_failed'),
    );
    expect(error.code).toBe('jwks_failed');
    expect(error.message).toMatch(/larger than 1048576 bytes/);
  });
});

describe('requestJson: answers', () => {
  it('sends the request as given (method, headers, body)', async () => {
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
    expect(seen?.body).toBe('a=1+2&c=%C3%A9%26%3D');
    expect(Object.fromEntries(new URLSearchParams(seen?.body))).toEqual({ a: '1 2', c: 'é&=' });
  });
});

describe('formPost and isObject', () => {
  it('lets given headers override the defaults', () => {
    const init = formPost({}, { accept: 'application/jwt' });
    expect(init.headers).toEqual({
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/jwt',
    });
    expect(init.body).toBe('');
  });

  it('tells plain objects from arrays, null and primitives', () => {
    expect(isObject({})).toBe(true);
    expect(isObject([])).toBe(false);
    expect(isObject(null)).toBe(false);
    expect(isObject('{}')).toBe(false);
    expect(isObject(undefined)).toBe(false);
  });
});
