/**
 * ID token validation (OpenID Connect Core §3.1.3.7): valid tokens for each algorithm, then one
 * failing token per check. The provider's keys are served by a real HTTP server on loopback.
 *
 * The whole suite runs twice: with Ed25519 signatures checked by libsodium (the Node fast path,
 * `nativeEd25519`, the default) and by Web Crypto (the path of every other runtime).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientError, type IdTokenCheck, IdTokenError } from './errors.js';
import { type IdTokenExpectations, validateIdToken } from './id-token.js';
import { JwksCache } from './jwks.js';

const ISSUER = 'https://id.example.com';
const CLIENT = 'client-a';
const NOW = 1_700_000_000; // seconds
const now = () => NOW * 1000;

type Alg = 'EdDSA' | 'Ed25519' | 'ES256' | 'RS256';
const KID: Record<Alg, string> = { EdDSA: 'ed', Ed25519: 'ed', ES256: 'ec', RS256: 'rsa' };

describe.each([
  { backend: 'libsodium', nativeEd25519: true },
  { backend: 'Web Crypto', nativeEd25519: false },
])('Ed25519 checked by $backend', ({ nativeEd25519 }) => {
  let server: Server;
  let jwksUri: string;
  let jwks: JwksCache;
  const privateKeys = new Map<string, CryptoKey>();
  let rsaPublicPem: string;
  let stranger: CryptoKey; // an Ed25519 key the provider never published

  beforeAll(async () => {
    const [ed, ec, rsa, other] = await Promise.all([
      generateKeyPair('EdDSA'),
      generateKeyPair('ES256'),
      generateKeyPair('RS256'),
      generateKeyPair('EdDSA'),
    ]);
    privateKeys.set('ed', ed.privateKey);
    privateKeys.set('ec', ec.privateKey);
    privateKeys.set('rsa', rsa.privateKey);
    stranger = other.privateKey;
    rsaPublicPem = await exportSPKI(rsa.publicKey);
    const keys = [
      { ...(await exportJWK(ed.publicKey)), kid: 'ed', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256' },
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256' },
    ];
    server = createServer((req, res) => {
      res.writeHead(req.url === '/jwks' ? 200 : 500, { 'content-type': 'application/json' });
      res.end(req.url === '/jwks' ? JSON.stringify({ keys }) : '{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    jwks = new JwksCache(jwksUri, { nativeEd25519 });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Claims of a token that passes with `expectations()`, with `changes` applied. */
  function claims(changes: Record<string, unknown> = {}): JWTPayload {
    const base: Record<string, unknown> = {
      iss: ISSUER,
      sub: 'user-1',
      aud: CLIENT,
      exp: NOW + 300,
      iat: NOW - 10,
      nonce: 'n-0S6_WzA2Mj',
    };
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined) delete base[name];
      else base[name] = value;
    }
    return base;
  }

  /** A token signed with the provider's key for `alg` (or `key`), header `{ alg, kid }`. */
  function sign(
    payload: JWTPayload = claims(),
    alg: Alg = 'EdDSA',
    key: CryptoKey = privateKeys.get(KID[alg])!,
  ): Promise<string> {
    return new SignJWT(payload).setProtectedHeader({ alg, kid: KID[alg] }).sign(key);
  }

  function expectations(changes: Partial<IdTokenExpectations> = {}): IdTokenExpectations {
    return { issuer: ISSUER, clientId: CLIENT, nonce: 'n-0S6_WzA2Mj', now, ...changes };
  }

  const b64 = (value: unknown) =>
    Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

  /** The left half of the access token's hash, base64url: computed here with node:crypto. */
  function atHashOf(accessToken: string, hash: 'sha256' | 'sha512'): string {
    const digest = createHash(hash).update(accessToken).digest();
    return digest.subarray(0, digest.length / 2).toString('base64url');
  }

  /** The check an ID token fails. */
  async function rejected(
    token: string | Promise<string>,
    expect_: IdTokenExpectations = expectations(),
  ): Promise<IdTokenCheck> {
    const error = await validateIdToken(await token, jwks, expect_).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(IdTokenError);
    expect((error as IdTokenError).code).toBe('id_token_invalid');
    return (error as IdTokenError).check;
  }

  describe('validateIdToken: valid tokens', () => {
    it.each(['EdDSA', 'Ed25519', 'ES256', 'RS256'] as const)('accepts an %s token', async (alg) => {
      const payload = claims({ sid: 's-1', azp: CLIENT });
      const result = await validateIdToken(await sign(payload, alg), jwks, expectations());
      expect(result).toEqual(payload);
    });

    it('accepts aud as an array holding the client alone, and ignores an unasked nonce', async () => {
      const token = await sign(claims({ aud: [CLIENT] }));
      const { nonce: _, ...noNonce } = expectations();
      expect((await validateIdToken(token, jwks, noNonce)).aud).toEqual([CLIENT]);
    });
  });

  describe('validateIdToken: one failing check each', () => {
    it('malformed: not three base64url parts of JSON objects, JWE, crit, odd kid', async () => {
      const body = b64(claims());
      const tokens = [
        'a.b',
        'a.b.c.d',
        `${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.x.y.z.w`,
        `${b64({ alg: 'EdDSA' })}.${body}`,
        `!!.${body}.sig`,
        `${b64('not json')}.${body}.sig`,
        `${b64([1])}.${body}.sig`,
        `${b64({ alg: 'EdDSA' })}.${b64('[]')}.sig`,
        `${b64({ alg: 'EdDSA' })}.${b64('"text"')}.sig`,
        `${b64({ kid: 'ed' })}.${body}.sig`,
        `${b64({ alg: 'EdDSA', kid: 7 })}.${body}.sig`,
        `${b64({ alg: 'EdDSA', kid: 'ed', crit: ['exp'], exp: 1 })}.${body}.sig`,
      ];
      for (const token of tokens) expect(await rejected(token), token).toBe('malformed');
      const jwe = await validateIdToken(tokens[2]!, jwks, expectations()).catch((e: Error) => e);
      expect(jwe).toHaveProperty('message', expect.stringContaining('JWE'));
    });

    it('signature: tampered payload, tampered signature, unknown key, unknown kid', async () => {
      const token = await sign();
      const [header, , signature] = token.split('.');
      const forged = `${header}.${b64(claims({ sub: 'admin' }))}.${signature}`;
      expect(await rejected(forged)).toBe('signature');
      const flipped = signature!.startsWith('A')
        ? `B${signature!.slice(1)}`
        : `A${signature!.slice(1)}`;
      expect(await rejected(`${header}.${token.split('.')[1]}.${flipped}`)).toBe('signature');
      expect(await rejected(sign(claims(), 'EdDSA', stranger))).toBe('signature');
      const unknownKid = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'EdDSA', kid: 'retired' })
        .sign(privateKeys.get('ed')!);
      expect(await rejected(unknownKid)).toBe('signature');
    });

    it('alg: none is refused', async () => {
      const unsigned = `${b64({ alg: 'none' })}.${b64(claims())}.`;
      expect(await rejected(unsigned)).toBe('alg');
      expect(await rejected(`${b64({ alg: 'none', kid: 'ed' })}.${b64(claims())}.x`)).toBe('alg');
    });

    it("alg: HS256 made with the provider's public key as secret is refused", async () => {
      for (const secret of [rsaPublicPem, JSON.stringify({ kid: 'rsa' })]) {
        const token = await new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', kid: 'rsa' })
          .sign(new TextEncoder().encode(secret));
        expect(await rejected(token)).toBe('alg');
      }
    });

    it('alg: an algorithm outside a narrowed allow-list is refused', async () => {
      const narrowed = expectations({ algorithms: ['RS256'] });
      expect(await rejected(sign(claims(), 'EdDSA'), narrowed)).toBe('alg');
      expect(await rejected(sign(claims(), 'ES256'), narrowed)).toBe('alg');
      expect(await validateIdToken(await sign(claims(), 'RS256'), jwks, narrowed)).toBeTruthy();
      const edOnly = expectations({ algorithms: ['EdDSA'] });
      expect(await rejected(sign(claims(), 'Ed25519'), edOnly)).toBe('alg');
    });

    it('iss: another issuer, a trailing slash, a missing iss', async () => {
      expect(await rejected(sign(claims({ iss: 'https://evil.example.com' })))).toBe('iss');
      expect(await rejected(sign(claims({ iss: `${ISSUER}/` })))).toBe('iss');
      expect(await rejected(sign(claims({ iss: undefined })))).toBe('iss');
    });

    it('aud: without the client, as a string or an array, or not strings', async () => {
      expect(await rejected(sign(claims({ aud: 'client-b' })))).toBe('aud');
      expect(await rejected(sign(claims({ aud: ['client-b', 'client-c'] })))).toBe('aud');
      expect(await rejected(sign(claims({ aud: undefined })))).toBe('aud');
      expect(await rejected(sign(claims({ aud: [CLIENT, 7], azp: CLIENT })))).toBe('aud');
    });

    it('azp: required with several audiences, and must be the client', async () => {
      expect(await rejected(sign(claims({ aud: [CLIENT, 'api'] })))).toBe('azp');
      expect(await rejected(sign(claims({ aud: [CLIENT, 'api'], azp: 'api' })))).toBe('azp');
      expect(await rejected(sign(claims({ azp: 'client-b' })))).toBe('azp');
      const several = await sign(claims({ aud: [CLIENT, 'api'], azp: CLIENT }));
      expect((await validateIdToken(several, jwks, expectations())).azp).toBe(CLIENT);
    });

    it('exp: expired beyond the tolerance fails, within it passes; missing fails', async () => {
      expect(await rejected(sign(claims({ exp: NOW - 30 })))).toBe('exp');
      expect(
        await rejected(sign(claims({ exp: NOW - 5 })), expectations({ clockToleranceSeconds: 0 })),
      ).toBe('exp');
      expect(await rejected(sign(claims({ exp: undefined })))).toBe('exp');
      expect(await rejected(sign(claims({ exp: String(NOW + 300) })))).toBe('exp');
      const withinTolerance = await sign(claims({ exp: NOW - 29 }));
      expect((await validateIdToken(withinTolerance, jwks, expectations())).exp).toBe(NOW - 29);
    });

    it('iat: in the future beyond the tolerance fails, within it passes; missing fails', async () => {
      expect(await rejected(sign(claims({ iat: NOW + 31 })))).toBe('iat');
      expect(await rejected(sign(claims({ iat: undefined })))).toBe('iat');
      expect(
        await validateIdToken(await sign(claims({ iat: NOW + 30 })), jwks, expectations()),
      ).toBeTruthy();
    });

    it('sub: missing, empty, or not the expected subject on refresh', async () => {
      expect(await rejected(sign(claims({ sub: undefined })))).toBe('sub');
      expect(await rejected(sign(claims({ sub: '' })))).toBe('sub');
      expect(await rejected(sign(claims({ sub: 42 })))).toBe('sub');
      expect(await rejected(sign(), expectations({ expectedSub: 'user-2' }))).toBe('sub');
      const same = await validateIdToken(
        await sign(),
        jwks,
        expectations({ expectedSub: 'user-1' }),
      );
      expect(same.sub).toBe('user-1');
    });

    it('nonce: missing or different when one was sent', async () => {
      expect(await rejected(sign(claims({ nonce: undefined })))).toBe('nonce');
      expect(await rejected(sign(claims({ nonce: 'n-other' })))).toBe('nonce');
      expect(await rejected(sign(claims({ nonce: 5 })))).toBe('nonce');
    });

    it('auth_time: missing with max_age or require_auth_time, too old, in the future', async () => {
      const maxAge = expectations({ maxAge: 600 });
      expect(await rejected(sign(), maxAge)).toBe('auth_time');
      expect(await rejected(sign(), expectations({ requireAuthTime: true }))).toBe('auth_time');
      expect(await rejected(sign(claims({ auth_time: NOW - 631 })), maxAge)).toBe('auth_time');
      expect(await rejected(sign(claims({ auth_time: NOW + 60 })))).toBe('auth_time');
      expect(await rejected(sign(claims({ auth_time: 'yesterday' })))).toBe('auth_time');
      const recent = await sign(claims({ auth_time: NOW - 630 })); // max_age + tolerance
      expect((await validateIdToken(recent, jwks, maxAge)).auth_time).toBe(NOW - 630);
    });

    describe('at_hash', () => {
      const accessToken = 'jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y';
      const cases = [
        ['RS256', 'sha256'],
        ['ES256', 'sha256'],
        ['EdDSA', 'sha512'],
        ['Ed25519', 'sha512'],
      ] as const;

      it.each(cases)('%s: matches with the left half of %s', async (alg, hash) => {
        const atHash = atHashOf(accessToken, hash);
        expect(atHash).toHaveLength(hash === 'sha256' ? 22 : 43);
        const token = await sign(claims({ at_hash: atHash }), alg);
        const valid = await validateIdToken(token, jwks, expectations({ accessToken }));
        expect(valid.at_hash).toBe(atHash);
      });

      it.each(cases)('%s: fails for another token or the other hash size', async (alg, hash) => {
        const other = hash === 'sha256' ? 'sha512' : 'sha256';
        const wrong = [atHashOf('another-token', hash), atHashOf(accessToken, other)];
        for (const atHash of wrong) {
          const token = await sign(claims({ at_hash: atHash }), alg);
          expect(await rejected(token, expectations({ accessToken }))).toBe('at_hash');
        }
      });

      it('missing: passes unless required; not checked without an access token', async () => {
        const bare = await sign();
        expect(await validateIdToken(bare, jwks, expectations({ accessToken }))).toBeTruthy();
        const required = expectations({ accessToken, requireAtHash: true });
        expect(await rejected(bare, required)).toBe('at_hash');
        const unrelated = await sign(claims({ at_hash: 'AAAAAAAAAAAAAAAAAAAAAA' }));
        expect(await validateIdToken(unrelated, jwks, expectations())).toBeTruthy();
        expect(await rejected(sign(claims({ at_hash: 1 })))).toBe('at_hash');
      });
    });

    it('runs the checks in order: signature before claims, iss before exp', async () => {
      const token = await sign(claims({ iss: 'https://evil.example.com', exp: NOW - 3600 }));
      expect(await rejected(token)).toBe('iss');
      const [header, , signature] = token.split('.');
      expect(await rejected(`${header}.${b64(claims({ iss: 'x' }))}.${signature}`)).toBe(
        'signature',
      );
      expect(await rejected(sign(claims({ sid: 12 })))).toBe('malformed');
    });
  });

  describe('validateIdToken: configuration and key set failures', () => {
    it('refuses an allow-list holding none, HMAC or an unsupported algorithm', async () => {
      const token = await sign();
      for (const algorithms of [['EdDSA', 'HS256'], ['none'], ['hs512'], ['PS256'], []]) {
        const error = await validateIdToken(token, jwks, expectations({ algorithms })).catch(
          (e: unknown) => e,
        );
        expect(error, algorithms.join()).toBeInstanceOf(ClientError);
        expect(error).not.toBeInstanceOf(IdTokenError);
        expect(error).toHaveProperty('code', 'config_invalid');
      }
    });

    it('refuses other wrong expectations: no issuer, negative maxAge, at_hash required blind', async () => {
      const token = await sign();
      const wrong: IdTokenExpectations[] = [
        expectations({ issuer: '' }),
        expectations({ clientId: undefined as unknown as string }),
        expectations({ maxAge: -1 }),
        expectations({ clockToleranceSeconds: Number.POSITIVE_INFINITY }),
        expectations({ requireAtHash: true }),
      ];
      for (const expect_ of wrong) {
        await expect(validateIdToken(token, jwks, expect_)).rejects.toHaveProperty(
          'code',
          'config_invalid',
        );
      }
    });

    it("passes on the key set's own errors (not an ID token error)", async () => {
      const broken = new JwksCache(jwksUri.replace('/jwks', '/broken'), { nativeEd25519 });
      const error = await validateIdToken(await sign(), broken, expectations()).catch((e) => e);
      expect(error).not.toBeInstanceOf(IdTokenError);
      expect(error).toHaveProperty('code', 'jwks_failed');
    });
  });
});
