/**
 * Keys a test client signs with (request objects, client assertions), and a small `node:http`
 * server that publishes a key set at a `jwks_uri`, so that remote key sets are fetched for real.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export type ClientKeyAlg = 'EdDSA' | 'ES256' | 'RS256';

export interface ClientKey {
  alg: ClientKeyAlg;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

const PARAMS = {
  EdDSA: { crv: 'Ed25519' },
  ES256: {},
  RS256: { modulusLength: 2048 },
} as const;

/** A fresh key pair for `alg`, with its public JWK (kid, alg and use set). */
export async function clientKey(alg: ClientKeyAlg, kid = `${alg}-${randomUUID().slice(0, 8)}`) {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    ...PARAMS[alg],
    extractable: true,
  });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicJwk } satisfies ClientKey;
}

let shared: Promise<Record<ClientKeyAlg, ClientKey>> | undefined;

/** One key per algorithm, generated once per test worker (RSA generation is slow). */
export function sharedClientKeys(): Promise<Record<ClientKeyAlg, ClientKey>> {
  shared ??= (async () => ({
    EdDSA: await clientKey('EdDSA'),
    ES256: await clientKey('ES256'),
    RS256: await clientKey('RS256'),
  }))();
  return shared;
}

export function jwksOf(...keys: ClientKey[]): { keys: Record<string, unknown>[] } {
  return { keys: keys.map((k) => ({ ...k.publicJwk })) };
}

/** Signs `claims` as a JWT with a client key (`kid` in the header) or, for HS256, a secret. */
export async function signAs(
  key: ClientKey | { secret: string },
  claims: JWTPayload,
  header: { typ?: string; kid?: string | null } = {},
): Promise<string> {
  const jwt = new SignJWT(claims);
  if ('secret' in key) {
    return jwt
      .setProtectedHeader({ alg: 'HS256', ...(header.typ ? { typ: header.typ } : {}) })
      .sign(new TextEncoder().encode(key.secret));
  }
  const kid = header.kid === null ? {} : { kid: header.kid ?? key.kid };
  return jwt
    .setProtectedHeader({ alg: key.alg, ...kid, ...(header.typ ? { typ: header.typ } : {}) })
    .sign(key.privateKey);
}

/**
 * A request object for `clientId` (iss, client_id, aud = issuer, iat, exp = iat + 60, a fresh
 * jti) holding an authorization request; `claims` override or add (undefined removes).
 */
export function requestObjectClaims(
  issuer: string,
  clientId: string,
  claims: Record<string, unknown> = {},
  now = Date.now(),
): JWTPayload {
  const iat = Math.floor(now / 1000);
  return withClaims(
    {
      iss: clientId,
      aud: issuer,
      client_id: clientId,
      response_type: 'code',
      scope: 'openid',
      iat,
      exp: iat + 60,
      jti: randomUUID(),
    },
    claims,
  );
}

/** A client assertion (RFC 7523) for `clientId`: iss = sub = clientId, exp = iat + 60. */
export function assertionClaims(
  aud: string,
  clientId: string,
  claims: Record<string, unknown> = {},
  now = Date.now(),
): JWTPayload {
  return withClaims(
    {
      iss: clientId,
      sub: clientId,
      aud,
      iat: Math.floor(now / 1000),
      exp: Math.floor(now / 1000) + 60,
      jti: randomUUID(),
    },
    claims,
  );
}

/** `base` with `claims` over it; a claim set to undefined is removed. */
function withClaims(base: Record<string, unknown>, claims: Record<string, unknown>): JWTPayload {
  const all: Record<string, unknown> = { ...base, ...claims };
  for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k];
  return all;
}

export interface JwksServer {
  /** The URL of the key set, on 127.0.0.1. */
  url: string;
  /** Replaces the published key set. */
  publish(jwks: { keys: Record<string, unknown>[] }): void;
  /** How many times the key set was fetched. */
  hits(): number;
  close(): Promise<void>;
}

/** Serves a key set over loopback http (allowed for jwks_uri, like https). */
export async function startJwksServer(jwks: {
  keys: Record<string, unknown>[];
}): Promise<JwksServer> {
  let current = JSON.stringify(jwks);
  let count = 0;
  const server: Server = createServer((req, res) => {
    count++;
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(current);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    publish: (next) => {
      current = JSON.stringify(next);
    },
    hits: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
