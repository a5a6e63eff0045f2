/** The provider's key set cache, against a real HTTP server on loopback (no fetch mocks). */
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClientError } from './errors.js';
import { JwksCache, type JwksCacheOptions } from './jwks.js';
import { type Handler, serve as serveRoute, useLoopbackServer } from './loopback.suite.js';

useLoopbackServer();

/** A fresh path on the test server answered by `handler`, and how often it was requested. */
function serve(handler: Handler): { uri: string; hits: () => number; set: (h: Handler) => void } {
  const route = serveRoute(handler, '/jwks');
  return { uri: route.url, hits: () => route.requests.length, set: route.set };
}

/** A handler answering 200 with the JSON of `body`. */
function json(body: unknown, delayMs = 0): Handler {
  return (_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    }, delayMs);
  };
}

const keySet = (...keys: unknown[]) => json({ keys });

interface Pair {
  public: JWK;
  private: JWK;
}

async function pair(alg: 'EdDSA' | 'ES256' | 'RS256' | 'ES384', kid: string): Promise<Pair> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return {
    public: { ...(await exportJWK(publicKey)), kid },
    private: { ...(await exportJWK(privateKey)), kid },
  };
}

let ed1: Pair;
let ed2: Pair;
let ec: Pair;
let rsa: Pair;
let p384: Pair;
let weakRsa: JWK;

beforeAll(async () => {
  [ed1, ed2, ec, rsa, p384] = await Promise.all([
    pair('EdDSA', 'ed1'),
    pair('EdDSA', 'ed2'),
    pair('ES256', 'ec'),
    pair('RS256', 'rsa'),
    pair('ES384', 'p384'),
  ]);
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
  weakRsa = { ...(weak.export({ format: 'jwk' }) as JWK), kid: 'weak' };
});

/** A clock the test moves by hand, in ms. */
function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

async function failure(promise: Promise<unknown>): Promise<ClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClientError);
  return error as ClientError;
}

describe('JwksCache: fetching and caching', () => {
  it('fetches once and answers repeated calls from the cache, with the same CryptoKey', async () => {
    const route = serve(keySet(ed1.public, ec.public, rsa.public));
    const jwks = new JwksCache(route.uri);
    const [first] = await jwks.keys({ alg: 'EdDSA', kid: 'ed1' });
    expect(first?.algorithm.name).toBe('Ed25519');
    expect(first?.type).toBe('public');
    expect(first?.usages).toEqual(['verify']);
    const again = await jwks.keys({ alg: 'EdDSA', kid: 'ed1' });
    expect(again).toHaveLength(1);
    expect(again[0]).toBe(first);
    expect((await jwks.keys({ alg: 'ES256', kid: 'ec' }))[0]?.algorithm.name).toBe('ECDSA');
    expect((await jwks.keys({ alg: 'RS256', kid: 'rsa' }))[0]?.algorithm.name).toBe(
      'RSASSA-PKCS1-v1_5',
    );
    expect(route.hits()).toBe(1);
  });

  it('asks for a JWK Set and follows no redirect', async () => {
    let accept: string | undefined;
    const good = serve(keySet(ed1.public));
    const route = serve((req, res) => {
      accept = req.headers.accept;
      res.writeHead(302, { location: good.uri }).end();
    });
    const error = await failure(new JwksCache(route.uri).keys({ alg: 'EdDSA', kid: 'ed1' }));
    expect(error.code).toBe('jwks_failed');
    expect(error.message).toMatch(/HTTP 302: redirects are not followed/);
    expect(accept).toMatch(/application\/jwk-set\+json/);
    expect(good.hits()).toBe(0);
  });

  it('uses the injected fetch', async () => {
    const route = serve(keySet(ed1.public));
    const seen: string[] = [];
    const fetchThrough: typeof fetch = (input, init) => {
      seen.push(String(input));
      return fetch(input, init);
    };
    const jwks = new JwksCache(route.uri, { fetch: fetchThrough });
    expect(await jwks.keys({ alg: 'EdDSA', kid: 'ed1' })).toHaveLength(1);
    expect(seen).toEqual([route.uri]);
  });

  it('shares one fetch between concurrent calls', async () => {
    const route = serve(keySet(ed1.public, ed2.public));
    const jwks = new JwksCache(route.uri);
    const slow = serve(json({ keys: [ed1.public, ed2.public] }, 50));
    const shared = new JwksCache(slow.uri);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        shared.keys({ alg: 'EdDSA', kid: i % 2 === 0 ? 'ed1' : 'ed2' }),
      ),
    );
    expect(results.every((keys) => keys.length === 1)).toBe(true);
    expect(slow.hits()).toBe(1);
    // An unknown kid during the first fetch waits for it instead of starting another.
    const unknown = await Promise.all([
      jwks.keys({ alg: 'EdDSA', kid: 'ed1' }),
      jwks.keys({ alg: 'EdDSA', kid: 'nope' }),
    ]);
    expect(unknown.map((keys) => keys.length)).toEqual([1, 0]);
    expect(route.hits()).toBe(1);
  });

  it('returns every fitting key when the header names no kid', async () => {
    const route = serve(keySet(ed1.public, ed2.public, ec.public));
    const jwks = new JwksCache(route.uri);
    expect(await jwks.keys({ alg: 'EdDSA' })).toHaveLength(2);
    expect(await jwks.keys({ alg: 'ES256' })).toHaveLength(1);
    expect(route.hits()).toBe(1);
  });

  it('serves EdDSA and Ed25519 (RFC 9864) from one Ed25519 key, whichever alg it names', async () => {
    const route = serve(
      keySet({ ...ed1.public, alg: 'EdDSA' }, { ...ed2.public, alg: 'Ed25519', use: 'sig' }),
    );
    const jwks = new JwksCache(route.uri);
    for (const alg of ['EdDSA', 'Ed25519']) {
      expect(await jwks.keys({ alg, kid: 'ed1' })).toHaveLength(1);
      expect(await jwks.keys({ alg, kid: 'ed2' })).toHaveLength(1);
    }
  });
});

describe('JwksCache: rotation, cooldown and max age', () => {
  it('fetches again for an unknown kid (rotation) once the cooldown has passed', async () => {
    const route = serve(keySet(ed1.public));
    const time = clock();
    const jwks = new JwksCache(route.uri, { now: time.now, cooldownMs: 30_000 });
    expect(await jwks.keys({ alg: 'EdDSA', kid: 'ed1' })).toHaveLength(1);
    route.set(keySet(ed1.public, ed2.public));
    time.advance(30_000);
    expect(await jwks.keys({ alg: 'EdDSA', kid: 'ed2' })).toHaveLength(1);
    expect(route.hits()).toBe(2);
    expect(await jwks.keys({ alg: 'EdDSA', kid: 'ed1' })).toHaveLength(1);
    expect(route.hits()).toBe(2);
  });

  it('does not fetch again within the cooldown, however many unknown kids arrive', async () => {
    const route = serve(keySet(ed1.public));
    const time = clock();
    const jwks = new JwksCache(route.uri, { now: time.now, cooldownMs: 30_000 });
    await jwks.keys({ alg: 'EdDSA', kid: 'ed1' });
    route.set(keySet(ed1.public, ed2.public));
    for (const kid of ['ed2', 'x', 'y', 'z']) {
      time.advance(1000);
      expect(await jwks.keys({ alg: 'EdDSA', kid })).toEqual([]);
    }
    expect(route.hits()).toBe(1);
    time.advance(26_000); // 30 s after the fetch
    expect(await jwks.keys({ alg: 'EdDSA', kid: 'ed2' })).toHaveLength(1);
    expect(route.hits()).toBe(2);
  });

  it('refreshes a set older than maxAgeMs on its next use', async () => {
    const route = serve(keySet(ed1.public));
    const time = clock();
    const jwks = new JwksCache(route.uri, { now: time.now, maxAgeMs: 600_000 });
    await jwks.keys({ alg: 'EdDSA', kid: 'ed1' });
    time.advance(599_999);
    await jwks.keys({ alg: 'EdDSA', kid: 'ed1' });
    expect(route.hits()).toBe(1);
    route.set(keySet(ed2.public)); // ed1 retired
    time.advance(1);
    expect(await jwks.keys({ alg: 'EdDSA', kid: 'ed1' })).toEqual([]);
    expect(await jwks.keys({ alg: 'EdDSA', kid: 'ed2' })).toHaveLength(1);
    expect(route.hits()).toBe(2);
    expect(jwks.snapshot()?.fetchedAt).toBe(time.now());
  });

  it('keeps using the earlier set when a refresh fails', async () => {
    const route = serve(keySet(ed1.public));
    const time = clock();
    const jwks = new JwksCache(route.uri, { now: time.now, maxAgeMs: 60_000 });
    const [key] = await jwks.keys({ alg: 'EdDSA', kid: 'ed1' });
    route.set((_req, res) => res.writeHead(503).end());
    time.advance(60_000);
    expect(await jwks.keys({ alg: 'EdDSA', kid: 'ed1' })).toEqual([key]);
    expect(route.hits()).toBe(2);
    // A kid the old set lacks: the failed fetch is the story told.
    const error = await failure(jwks.keys({ alg: 'EdDSA', kid: 'ed2' }));
    expect(error.code).toBe('jwks_failed');
    expect(error.retryable).toBe(true);
    expect(route.hits()).toBe(2);
  });

  it('after a failed first fetch, fails fast within the cooldown, then tries again', async () => {
    const route = serve((_req, res) => res.writeHead(500).end());
    const time = clock();
    const jwks = new JwksCache(route.uri, { now: time.now, cooldownMs: 30_000 });
    const first = await failure(jwks.keys({ alg: 'EdDSA', kid: 'ed1' }));
    expect(first.message).toMatch(/HTTP 500, expected 200/);
    time.advance(10_000);
    expect(await failure(jwks.keys({ alg: 'EdDSA', kid: 'ed1' }))).toBe(first);
    expect(route.hits()).toBe(1);
    route.set(keySet(ed1.public));
    time.advance(20_000);
    expect(await jwks.keys({ alg: 'EdDSA', kid: 'ed1' })).toHaveLength(1);
    expect(route.hits()).toBe(2);
  });
});

describe('JwksCache: bad answers', () => {
  it('times out on a provider that does not answer (network_timeout)', async () => {
    const route = serve(() => undefined);
    const started = Date.now();
    const error = await failure(
      new JwksCache(route.uri, { timeoutMs: 100 }).keys({ alg: 'EdDSA' }),
    );
    expect(error.code).toBe('network_timeout');
    expect(error.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('times out on a body that never ends: the timeout covers the whole request', async () => {
    const route = serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":[');
    });
    const error = await failure(
      new JwksCache(route.uri, { timeoutMs: 150 }).keys({ alg: 'EdDSA' }),
    );
    expect(error.code).toBe('network_timeout');
  });

  it('times out even when the injected fetch ignores the abort signal', async () => {
    const route = serve(() => undefined);
    const deaf: typeof fetch = (input, init) => fetch(input, { ...init, signal: null });
    const jwks = new JwksCache(route.uri, { fetch: deaf, timeoutMs: 100 });
    expect((await failure(jwks.keys({ alg: 'EdDSA' }))).code).toBe('network_timeout');
  });

  it('reports an unreachable provider as network_error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const jwks = new JwksCache(`http://127.0.0.1:${port}/jwks`);
    const error = await failure(jwks.keys({ alg: 'EdDSA' }));
    expect(error.code).toBe('network_error');
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('refuses statuses other than 200', async () => {
    for (const status of [201, 204, 404, 500]) {
      const route = serve((_req, res) => res.writeHead(status).end());
      const error = await failure(new JwksCache(route.uri).keys({ alg: 'EdDSA' }));
      expect(error.code).toBe('jwks_failed');
      expect(error.message).toContain(`HTTP ${status}`);
    }
  });

  it('refuses bodies that are not JSON, or not an object with a keys array', async () => {
    const bodies = ['{"keys":', '\xff\xfe', '[]', 'null', '{"keys":{}}', '{"key":[]}', ''];
    for (const body of bodies) {
      const route = serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(Buffer.from(body, 'latin1'));
      });
      const error = await failure(new JwksCache(route.uri).keys({ alg: 'EdDSA' }));
      expect(error.code).toBe('jwks_failed');
      expect(error.message).toMatch(/not JSON|"keys" array/);
    }
  });

  it('refuses a body larger than maxBytes, announced or streamed', async () => {
    const big = JSON.stringify({ keys: [ed1.public], pad: 'x'.repeat(2000) });
    const announced = serve((_req, res) => {
      res.writeHead(200, { 'content-length': Buffer.byteLength(big) });
      res.end(big);
    });
    const streamed = serve((_req, res) => {
      res.writeHead(200); // chunked: no content-length
      res.write(big.slice(0, 1000));
      setTimeout(() => res.end(big.slice(1000)), 10);
    });
    for (const route of [announced, streamed]) {
      const error = await failure(
        new JwksCache(route.uri, { maxBytes: 1024 }).keys({ alg: 'EdDSA' }),
      );
      expect(error.code).toBe('jwks_failed');
      expect(error.message).toMatch(/larger than 1024 bytes/);
    }
    const fits = serve(json({ keys: [ed1.public], pad: 'x'.repeat(2000) }));
    expect(await new JwksCache(fits.uri, { maxBytes: 4096 }).keys({ alg: 'EdDSA' })).toHaveLength(
      1,
    );
  });

  it('skips private, symmetric, encryption, weak and unknown keys, keeping the good ones', async () => {
    const route = serve(
      keySet(
        { ...ed1.private, kid: 'ed-private' },
        { ...rsa.private, kid: 'rsa-private' },
        { ...ec.public, kid: 'ec-with-d', d: ec.private.d },
        { kty: 'oct', k: 'c2VjcmV0', kid: 'oct' },
        { ...ec.public, kid: 'ec-enc', use: 'enc' },
        { ...ec.public, kid: 'ec-sign-only', key_ops: ['sign'] },
        { ...ec.public, kid: 'ec-ops', key_ops: ['verify'] },
        { ...ed1.public, kid: 'ed-rs256', alg: 'RS256' },
        { ...ed1.public, kid: 7 },
        { ...ed1.public, kid: 'ed-no-x', x: undefined },
        { kty: 'AKP', alg: 'ML-DSA-44', pub: 'AAAA', kid: 'pq' },
        weakRsa,
        p384.public,
        'not a key',
        null,
        rsa.public,
        ed1.public,
      ),
    );
    const jwks = new JwksCache(route.uri);
    expect(await jwks.keys({ alg: 'EdDSA', kid: 'ed1' })).toHaveLength(1);
    expect(await jwks.keys({ alg: 'RS256', kid: 'rsa' })).toHaveLength(1);
    expect(await jwks.keys({ alg: 'ES256', kid: 'ec-ops' })).toHaveLength(1);
    for (const [alg, kid] of [
      ['EdDSA', 'ed-private'],
      ['RS256', 'rsa-private'],
      ['ES256', 'ec-with-d'],
      ['ES256', 'ec-enc'],
      ['ES256', 'ec-sign-only'],
      ['RS256', 'ed-rs256'],
      ['EdDSA', 'ed-rs256'],
      ['EdDSA', 'ed-no-x'],
      ['RS256', 'weak'],
      ['ES256', 'p384'],
      ['HS256', 'oct'],
    ] as const) {
      expect(await jwks.keys({ alg, kid }), `${alg} ${kid}`).toEqual([]);
    }
    const kept = jwks.snapshot()!.keys;
    expect(kept.map((key) => key.kid)).toEqual(['ec-ops', 'rsa', 'ed1']);
    for (const key of kept) expect(Object.keys(key)).not.toContain('d');
    expect(route.hits()).toBe(1);
  });

  it('finds no key when type or curve does not fit the alg', async () => {
    const route = serve(keySet(ed1.public, ec.public, rsa.public));
    const jwks = new JwksCache(route.uri);
    expect(await jwks.keys({ alg: 'ES256', kid: 'ed1' })).toEqual([]);
    expect(await jwks.keys({ alg: 'RS256', kid: 'ec' })).toEqual([]);
    expect(await jwks.keys({ alg: 'EdDSA', kid: 'rsa' })).toEqual([]);
    expect(await jwks.keys({ alg: 'PS256', kid: 'rsa' })).toEqual([]);
    expect(await jwks.keys({ alg: 'none' })).toEqual([]);
  });
});

describe('JwksCache: snapshots and configuration', () => {
  it('round-trips a snapshot through JSON; the new cache answers without fetching', async () => {
    const route = serve(keySet(ed1.public, ec.public));
    const time = clock();
    const first = new JwksCache(route.uri, { now: time.now });
    expect(first.snapshot()).toBeUndefined();
    await first.keys({ alg: 'EdDSA', kid: 'ed1' });
    const snapshot = JSON.parse(JSON.stringify(first.snapshot()));
    expect(snapshot).toEqual({
      uri: route.uri,
      keys: [ed1.public, ec.public],
      fetchedAt: time.now(),
    });

    time.advance(1000);
    const warm = new JwksCache(route.uri, { now: time.now }, snapshot);
    expect(await warm.keys({ alg: 'EdDSA', kid: 'ed1' })).toHaveLength(1);
    expect(await warm.keys({ alg: 'ES256', kid: 'ec' })).toHaveLength(1);
    expect(warm.snapshot()).toEqual(snapshot);
    expect(route.hits()).toBe(1);

    // Past maxAgeMs, the snapshot is refreshed like any fetched set.
    time.advance(600_000);
    expect(await warm.keys({ alg: 'EdDSA', kid: 'ed1' })).toHaveLength(1);
    expect(route.hits()).toBe(2);
  });

  it('drops unusable keys from a snapshot and refuses one of another uri', async () => {
    const route = serve(keySet(ed1.public));
    const snapshot = { uri: route.uri, keys: [ed1.private, ec.public], fetchedAt: Date.now() };
    const jwks = new JwksCache(route.uri, {}, snapshot);
    expect(jwks.snapshot()?.keys).toEqual([ec.public]);
    const other = { ...snapshot, uri: serve(keySet(ec.public)).uri };
    const error = await failure(Promise.resolve().then(() => new JwksCache(route.uri, {}, other)));
    expect(error.code).toBe('config_invalid');
  });

  it('refuses non-https URIs (except loopback http) and bad limits', () => {
    const bad: [string, JwksCacheOptions][] = [
      ['http://id.example.com/jwks', {}],
      ['ftp://127.0.0.1/jwks', {}],
      ['/jwks', {}],
      ['https://user:pw@id.example.com/jwks', {}],
      ['https://id.example.com/jwks', { timeoutMs: 0 }],
      ['https://id.example.com/jwks', { maxBytes: Number.NaN }],
      ['https://id.example.com/jwks', { cooldownMs: -1 }],
    ];
    for (const [uri, options] of bad) {
      expect(() => new JwksCache(uri, options), uri).toThrow(
        expect.objectContaining({ code: 'config_invalid' }),
      );
    }
    for (const uri of [
      'https://id.example.com/jwks',
      'http://localhost:3000/jwks',
      'http://[::1]/j',
    ]) {
      expect(new JwksCache(uri).snapshot()).toBeUndefined();
    }
  });
});
