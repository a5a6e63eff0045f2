/** Client key sets: the checks on a set, and fetching from a real HTTP server on loopback. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, base64urlDecode } from '@gatehouse/oauth';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type JsonWebKeySet,
  JwksFetchError,
  jwksProblems,
  type RemoteJwksOptions,
  remoteJwks,
} from './client-jwks.js';

type Jwk = Record<string, unknown>;

interface KeyPairs {
  ed25519: { public: Jwk; private: Jwk };
  p256: { public: Jwk; private: Jwk };
  rsa: { public: Jwk; private: Jwk };
}
let pairs: KeyPairs;

async function pair(alg: 'EdDSA' | 'ES256' | 'RS256'): Promise<{ public: Jwk; private: Jwk }> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return {
    public: { ...(await exportJWK(publicKey)) },
    private: { ...(await exportJWK(privateKey)) },
  };
}

beforeAll(async () => {
  const [ed25519, p256, rsa] = await Promise.all([pair('EdDSA'), pair('ES256'), pair('RS256')]);
  pairs = { ed25519, p256, rsa };
});

const ed = (extra: Jwk = {}): Jwk => ({ ...pairs.ed25519.public, ...extra });
const ec = (extra: Jwk = {}): Jwk => ({ ...pairs.p256.public, ...extra });
const rsa = (extra: Jwk = {}): Jwk => ({ ...pairs.rsa.public, ...extra });
const one = (key: unknown) => jwksProblems({ keys: [key] });

describe('jwksProblems', () => {
  it('accepts public Ed25519, P-256 and RSA-2048 keys, bare or with use, alg and kid', () => {
    expect(one(ed())).toEqual([]);
    expect(one(ec())).toEqual([]);
    expect(one(rsa())).toEqual([]);
    expect(
      jwksProblems({
        keys: [
          ed({ kid: 'ed', use: 'sig', alg: 'EdDSA' }),
          ec({ kid: 'ec', use: 'sig', alg: 'ES256' }),
          rsa({ kid: 'rsa', use: 'sig', alg: 'RS256' }),
        ],
      }),
    ).toEqual([]);
  });

  it('refuses anything that is not an object with a keys array', () => {
    for (const value of [null, undefined, 'jwks', 1, [], {}, { keys: {} }, { keys: 'k' }]) {
      expect(jwksProblems(value)).toEqual(['not an object with a "keys" array']);
    }
  });

  it('refuses an empty set and one of more than 20 keys', () => {
    expect(jwksProblems({ keys: [] })).toEqual([
      'keys: is empty; register at least one public key',
    ]);
    const keys = Array.from({ length: 21 }, (_, i) => ed({ kid: `k${i}` }));
    expect(jwksProblems({ keys })).toEqual(['keys: has 21 keys; at most 20']);
    expect(jwksProblems({ keys: keys.slice(0, 20) })).toEqual([]);
  });

  it('names each key that is not an object', () => {
    expect(jwksProblems({ keys: [ed(), 'x', null, []] })).toEqual([
      'keys[1]: is not an object',
      'keys[2]: is not an object',
      'keys[3]: is not an object',
    ]);
  });

  it('refuses private keys of every type, naming the key', () => {
    for (const key of [pairs.ed25519.private, pairs.p256.private, pairs.rsa.private]) {
      expect(jwksProblems({ keys: [ed(), key] })).toEqual([
        'keys[1]: contains a private key: register only the public key',
      ]);
    }
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
      expect(one(rsa({ [member]: 'AQAB' }))).toEqual([
        'keys[0]: contains a private key: register only the public key',
      ]);
    }
  });

  it('refuses symmetric keys', () => {
    expect(one({ kty: 'oct', k: 'c2VjcmV0' })).toEqual([
      'keys[0]: kty oct: symmetric keys are not allowed; register a public key (OKP, EC or RSA)',
    ]);
  });

  it('refuses a missing or unknown kty', () => {
    expect(one({ x: 'abc' })).toEqual(['keys[0]: kty is missing']);
    expect(one({ kty: 'AKP', pub: 'abc' })).toEqual([
      'keys[0]: kty "AKP" is not supported (OKP, EC or RSA)',
    ]);
  });

  it('refuses other curves, and coordinates that are missing or the wrong size', () => {
    expect(one(ed({ crv: 'X25519' }))).toEqual([
      'keys[0]: crv "X25519" is not supported for OKP (only Ed25519)',
    ]);
    expect(one(ec({ crv: 'P-384' }))).toEqual([
      'keys[0]: crv "P-384" is not supported for EC (only P-256)',
    ]);
    expect(one(ed({ x: undefined }))).toEqual(['keys[0]: x is missing or not base64url']);
    expect(one(ec({ y: 'not base64url!' }))).toEqual(['keys[0]: y is missing or not base64url']);
    expect(one(ed({ x: base64url(new Uint8Array(31)) }))).toEqual([
      'keys[0]: x must be 32 bytes for Ed25519, not 31',
    ]);
  });

  it('refuses RSA keys without n or e, or with a modulus under 2048 bits', () => {
    const n = base64urlDecode(pairs.rsa.public['n'] as string);
    expect(one(rsa({ n: base64url(n.slice(0, 128)) }))).toEqual([
      'keys[0]: the modulus has 1024 bits; at least 2048 are required',
    ]);
    // Leading zero bytes do not count: this is still 2048 bits.
    expect(one(rsa({ n: base64url(new Uint8Array([0, ...n])) }))).toEqual([]);
    expect(one(rsa({ n: undefined, e: '' }))).toEqual([
      'keys[0]: n is missing or not base64url',
      'keys[0]: e is missing or not base64url',
    ]);
  });

  it('refuses a use other than sig', () => {
    expect(one(ec({ use: 'enc' }))).toEqual(['keys[0]: use "enc" is not allowed (only "sig")']);
  });

  it('refuses an unsupported alg, and one that does not fit the key type', () => {
    expect(one(rsa({ alg: 'RS384' }))).toEqual([
      'keys[0]: alg "RS384" is not supported (EdDSA, Ed25519, ES256 or RS256)',
    ]);
    expect(one(rsa({ alg: 'none' }))).toEqual([
      'keys[0]: alg "none" is not supported (EdDSA, Ed25519, ES256 or RS256)',
    ]);
    expect(one(ed({ alg: 'ES256' }))).toEqual([
      'keys[0]: alg ES256 does not fit kty OKP (a OKP key signs with EdDSA or Ed25519)',
    ]);
    // RFC 9864's fully specified name for EdDSA with Ed25519 is accepted on an Ed25519 key.
    expect(one(ed({ alg: 'Ed25519' }))).toEqual([]);
    expect(one(ec({ alg: 'Ed25519' }))).toEqual([
      'keys[0]: alg Ed25519 does not fit kty EC (a EC key signs with ES256)',
    ]);
  });

  it('refuses a duplicated kid, and a kid that is not a non-empty string', () => {
    expect(jwksProblems({ keys: [ed({ kid: 'a' }), ec({ kid: 'b' }), rsa({ kid: 'a' })] })).toEqual(
      ['keys[2]: kid "a" is also the kid of keys[0]'],
    );
    expect(one(ed({ kid: 7 }))).toEqual(['keys[0]: kid must be a non-empty string']);
    expect(one(ed({ kid: '' }))).toEqual(['keys[0]: kid must be a non-empty string']);
  });

  it('lists every problem of every key', () => {
    expect(jwksProblems({ keys: [ec({ use: 'enc', d: 'x' }), { kty: 'oct', k: 'x' }] })).toEqual([
      'keys[0]: contains a private key: register only the public key',
      'keys[0]: use "enc" is not allowed (only "sig")',
      'keys[1]: kty oct: symmetric keys are not allowed; register a public key (OKP, EC or RSA)',
    ]);
  });
});

describe('remoteJwks', () => {
  type Handler = (req: IncomingMessage, res: ServerResponse) => void;
  const routes = new Map<string, Handler>();
  const hits = new Map<string, number>();
  let server: Server;
  let base: string;
  let path = 0;

  /** Serves `handler` at a new path and returns its URL. */
  function route(handler: Handler): string {
    const p = `/jwks-${++path}`;
    routes.set(p, handler);
    return `${base}${p}`;
  }
  const hitsOf = (url: string) => hits.get(new URL(url).pathname) ?? 0;
  const json =
    (body: () => unknown, delayMs = 0): Handler =>
    (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
        res.end(JSON.stringify(body()));
      }, delayMs);
    };

  /** A controllable clock. */
  let t = 0;
  const options = (extra: Partial<RemoteJwksOptions> = {}): RemoteJwksOptions => ({
    timeoutMs: 1000,
    maxBytes: 10_000,
    cacheMs: 60_000,
    cooldownMs: 10_000,
    now: () => t,
    ...extra,
  });
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => expect.fail('expected JwksFetchError'),
      (error: unknown) => {
        expect(error).toBeInstanceOf(JwksFetchError);
        expect((error as JwksFetchError).code).toBe('jwks_fetch_failed');
        return (error as JwksFetchError).message;
      },
    );

  beforeAll(async () => {
    server = createServer((req, res) => {
      const p = req.url ?? '';
      hits.set(p, (hits.get(p) ?? 0) + 1);
      const handler = routes.get(p);
      if (handler) handler(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const set = (): JsonWebKeySet => ({ keys: [ed({ kid: 'k1', use: 'sig', alg: 'EdDSA' })] });

  it('fetches a set once and serves it from the cache while fresh', async () => {
    let accept: string | undefined;
    const url = route((req, res) => {
      accept = req.headers.accept;
      json(set)(req, res);
    });
    const remote = remoteJwks(options());
    expect(await remote.get(url)).toEqual(set());
    expect(await remote.get(url)).toEqual(set());
    expect(hitsOf(url)).toBe(1);
    expect(accept).toBe('application/json, application/jwk-set+json');
  });

  it('returns a copy callers cannot change', async () => {
    const url = route(json(set));
    const remote = remoteJwks(options());
    const got = await remote.get(url);
    expect(() => got.keys.push({})).toThrow();
    expect(() => {
      got.keys[0]!['kid'] = 'evil';
    }).toThrow();
  });

  it('fetches again once cacheMs has passed', async () => {
    t = 0;
    const url = route(json(set));
    const remote = remoteJwks(options());
    await remote.get(url);
    t = 59_999;
    await remote.get(url);
    expect(hitsOf(url)).toBe(1);
    t = 60_000;
    await remote.get(url);
    expect(hitsOf(url)).toBe(2);
  });

  it('refresh fetches a rotated set, but not twice within cooldownMs', async () => {
    t = 0;
    let kid = 'k1';
    const url = route(json(() => ({ keys: [ed({ kid })] })));
    const remote = remoteJwks(options());
    expect((await remote.get(url)).keys[0]!['kid']).toBe('k1');
    kid = 'k2';
    t = 9_999;
    expect((await remote.get(url, { refresh: true })).keys[0]!['kid']).toBe('k1');
    expect(hitsOf(url)).toBe(1);
    t = 10_000;
    expect((await remote.get(url, { refresh: true })).keys[0]!['kid']).toBe('k2');
    expect(hitsOf(url)).toBe(2);
    t = 15_000;
    expect((await remote.get(url, { refresh: true })).keys[0]!['kid']).toBe('k2');
    expect(hitsOf(url)).toBe(2);
  });

  it('concurrent gets of one URI share one fetch', async () => {
    const url = route(json(set, 50));
    const remote = remoteJwks(options());
    const results = await Promise.all(Array.from({ length: 10 }, () => remote.get(url)));
    expect(hitsOf(url)).toBe(1);
    for (const r of results) expect(r).toBe(results[0]);
  });

  it('gives up on a server that never answers', async () => {
    const url = route(() => {});
    const remote = remoteJwks(options({ timeoutMs: 200 }));
    expect(await failure(remote.get(url))).toBe(
      `could not fetch the key set at ${url}: no complete response within 200 ms`,
    );
  });

  it('gives up on a body that never ends, within the same timeout', async () => {
    const url = route((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":');
    });
    const remote = remoteJwks(options({ timeoutMs: 200 }));
    expect(await failure(remote.get(url))).toMatch(/no complete response within 200 ms$/);
  });

  it('refuses a body over maxBytes announced by content-length', async () => {
    const url = route((_req, res) => {
      // Sends a little and then stalls: only the announced length can fail this fast.
      res.writeHead(200, { 'content-length': '20000' });
      res.write('x'.repeat(100));
    });
    const remote = remoteJwks(options());
    expect(await failure(remote.get(url))).toMatch(/the response is larger than 10000 bytes$/);
  });

  it('refuses a chunked body once it passes maxBytes, without reading the rest', async () => {
    let written = 0;
    const url = route((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Keeps writing 1 kB chunks until the client goes away (or far past the cap).
      const timer = setInterval(() => {
        if (written >= 1_000_000) res.destroy();
        else {
          written += 1000;
          res.write('x'.repeat(1000));
        }
      }, 1);
      res.on('close', () => clearInterval(timer));
    });
    const remote = remoteJwks(options({ maxBytes: 5000 }));
    expect(await failure(remote.get(url))).toMatch(/the response is larger than 5000 bytes$/);
    expect(written).toBeLessThan(1_000_000);
  });

  it('refuses a status other than 200', async () => {
    const url = route((_req, res) => res.writeHead(500).end(JSON.stringify(set())));
    const remote = remoteJwks(options());
    expect(await failure(remote.get(url))).toBe(
      `could not fetch the key set at ${url}: HTTP 500, expected 200`,
    );
    const created = route((_req, res) => res.writeHead(201).end(JSON.stringify(set())));
    expect(await failure(remote.get(created))).toMatch(/HTTP 201, expected 200$/);
  });

  it('does not follow a redirect', async () => {
    const target = route(json(set));
    const url = route((_req, res) => res.writeHead(302, { location: target }).end());
    const remote = remoteJwks(options());
    expect(await failure(remote.get(url))).toMatch(/HTTP 302: redirects are not followed$/);
    expect(hitsOf(target)).toBe(0);
  });

  it('refuses a body that is not JSON', async () => {
    const url = route((_req, res) => res.writeHead(200).end('<html>not json</html>'));
    const remote = remoteJwks(options());
    expect(await failure(remote.get(url))).toMatch(/the response is not JSON$/);
  });

  it('refuses a set that jwksProblems rejects, naming the first problem', async () => {
    const url = route(json(() => ({ keys: [ed({ kid: 'ok' }), pairs.p256.private] })));
    const remote = remoteJwks(options());
    expect(await failure(remote.get(url))).toBe(
      `could not fetch the key set at ${url}: not a valid key set: keys[1]: contains a private key: register only the public key`,
    );
  });

  it('refuses URLs that are not https or http on loopback, without fetching', async () => {
    let calls = 0;
    const remote = remoteJwks(
      options({
        fetch: (input, init) => {
          calls++;
          return fetch(input, init);
        },
      }),
    );
    for (const uri of [
      'http://example.com/jwks',
      'http://10.0.0.1/jwks',
      'ftp://example.com/jwks',
      'file:///etc/passwd',
    ]) {
      expect(await failure(remote.get(uri))).toBe(
        `could not fetch the key set at ${uri}: only https URLs are fetched (http only on a loopback host)`,
      );
    }
    expect(await failure(remote.get('/relative'))).toMatch(/it is not an absolute URL$/);
    expect(await failure(remote.get('https://user:pw@example.com/jwks'))).toMatch(
      /it contains credentials$/,
    );
    expect(calls).toBe(0);
    await remote.get(route(json(set)));
    expect(calls).toBe(1);
  });

  it('returns the stale copy when a later fetch fails, and retries after the cooldown', async () => {
    t = 0;
    let up = true;
    const url = route((req, res) => (up ? json(set)(req, res) : res.writeHead(503).end()));
    const remote = remoteJwks(options());
    const first = await remote.get(url);
    up = false;
    t = 60_000;
    expect(await remote.get(url)).toBe(first);
    expect(hitsOf(url)).toBe(2);
    t = 65_000;
    expect(await remote.get(url, { refresh: true })).toBe(first);
    expect(hitsOf(url)).toBe(2);
    up = true;
    t = 70_000;
    expect(await remote.get(url)).toEqual(set());
    expect(hitsOf(url)).toBe(3);
  });

  it('after a failure with nothing cached, fails without fetching until the cooldown ends', async () => {
    t = 0;
    let up = false;
    const url = route((req, res) => (up ? json(set)(req, res) : res.writeHead(503).end()));
    const remote = remoteJwks(options());
    expect(await failure(remote.get(url))).toMatch(/HTTP 503/);
    up = true;
    t = 9_999;
    expect(await failure(remote.get(url, { refresh: true }))).toMatch(/HTTP 503/);
    expect(hitsOf(url)).toBe(1);
    t = 10_000;
    expect(await remote.get(url)).toEqual(set());
    expect(hitsOf(url)).toBe(2);
  });

  it('forgets the least recently used URI beyond maxEntries', async () => {
    t = 0;
    const [a, b, c] = [route(json(set)), route(json(set)), route(json(set))];
    const remote = remoteJwks(options({ maxEntries: 2 }));
    await remote.get(a);
    await remote.get(b);
    await remote.get(a);
    await remote.get(c);
    await remote.get(a);
    await remote.get(b);
    expect([hitsOf(a), hitsOf(b), hitsOf(c)]).toEqual([1, 2, 1]);
  });
});
