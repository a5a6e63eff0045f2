import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formPost, type HttpOptions, requestJson } from './http.js';
import { defaultSend, loadedNodeRuntime, nodeRuntime, onNode } from './node-runtime.js';
import {
  answer,
  describeRequestJson,
  failure,
  serve,
  useLoopbackServer,
} from './request-json.suite.js';

useLoopbackServer();

/** As the client sets it up on Node without a `fetch` option: `send` wins over `fetch`. */
const options = (extra: Partial<HttpOptions> = {}): HttpOptions => ({
  fetch: () => Promise.reject(new Error('fetch must not be used when send is set')),
  send: defaultSend!,
  timeoutMs: 2000,
  ...extra,
});

describeRequestJson('requestJson over node:http', options);

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
      // A string is hashed as its UTF-8 bytes.
      expect(new Uint8Array(node.digest(alg, 'an access token, é'))).toEqual(web);
    }
  });
});

describe('requestJson over node:http: time and connection failures', () => {
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

describe('requestJson over node:http: answers', () => {
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

describe('Ed25519 through libsodium', () => {
  it('checks Ed25519 with libsodium (sodium-native is installed here), as Web Crypto does', async () => {
    const verify = (await nodeRuntime())?.verifyEd25519;
    expect(verify).toBeTypeOf('function');
    const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const other = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    const otherRaw = new Uint8Array(await crypto.subtle.exportKey('raw', other.publicKey));
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 600 }),
        fc.constantFrom('valid', 'signature bit', 'message bit', 'other key', 'short', 'long'),
        fc.nat(),
        async (message, change, at) => {
          let signature = new Uint8Array(
            await crypto.subtle.sign('Ed25519', pair.privateKey, message),
          );
          let data = message;
          let key = raw;
          let webKey = pair.publicKey;
          if (change === 'signature bit') {
            signature = signature.slice();
            signature[at % 64]! ^= 1 << (at % 8);
          } else if (change === 'message bit' && message.length > 0) {
            data = message.slice();
            data[at % message.length]! ^= 1 << (at % 8);
          } else if (change === 'other key') {
            key = otherRaw;
            webKey = other.publicKey;
          } else if (change === 'short') {
            signature = signature.subarray(0, 63);
          } else if (change === 'long') {
            signature = new Uint8Array([...signature, 0]);
          }
          const web = await crypto.subtle.verify('Ed25519', webKey, signature, data);
          expect(verify!(key, signature, data)).toBe(web);
          // The same bytes given as a string of code points below 256 (a JWS signing input).
          expect(verify!(key, signature, String.fromCharCode(...data))).toBe(web);
          if (change === 'valid') expect(web).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
    // A key of the wrong length is no key: false, not an exception.
    expect(verify!(raw.subarray(0, 31), new Uint8Array(64), new Uint8Array(1))).toBe(false);
  });
});
