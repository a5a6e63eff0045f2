/**
 * Signed authorization requests (JAR, RFC 9101): the `request` parameter is a JWT the client
 * signed, and only the parameters inside it count.
 *
 * Checking happens in two stages because of what a failure may do. Until the signature verifies,
 * nothing inside — the redirect URI included — can be trusted, so a failure is shown on the
 * error page. Once it verifies and its redirect URI matches the client, the remaining failures
 * (expired, replayed, wrong audience …) are redirected to that URI.
 */
import { OAuthError } from '@gatehouse/oauth';
import type { JWTPayload } from 'jose';
import { CLIENT_JWT_ALGS } from '../config/schema.js';
import type { Client } from '../storage/types.js';
import {
  audiences,
  ClientJwtError,
  checkTimes,
  usableAlgs,
  useJti,
  verifyClientJwt,
} from './client-jwt.js';
import type { Engine } from './context.js';

/** A request object may live at most this long (exp − iat), in seconds. */
export const REQUEST_OBJECT_MAX_LIFETIME = 300;

/** Header types accepted: RFC 9101's own, and the generic one many libraries still send. */
const REQUEST_OBJECT_TYPES = ['oauth-authz-req+jwt', 'jwt'];

/** Claims that describe the JWT itself rather than the authorization request. */
const JWT_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'sub']);

function invalid(err: ClientJwtError | string): OAuthError {
  const message = typeof err === 'string' ? err : err.message;
  return new OAuthError('invalid_request_object', message, {
    ...(typeof err === 'string' ? {} : { detail: err.reason }),
  });
}

/**
 * Stage one: verifies the request object's signature with the client's secret or key and returns
 * its claims. Throws `invalid_request_object` (for the error page).
 */
export async function openRequestObject(
  engine: Engine,
  client: Client,
  jwt: string,
): Promise<JWTPayload> {
  try {
    const { payload } = await verifyClientJwt(engine, client, jwt, {
      algs: usableAlgs(client, CLIENT_JWT_ALGS, client.request_object_signing_alg),
      typ: REQUEST_OBJECT_TYPES,
      what: 'request object',
    });
    return payload;
  } catch (err) {
    if (err instanceof ClientJwtError) throw invalid(err);
    throw err;
  }
}

/**
 * The authorization request inside a verified request object, as parameters: strings as they
 * are, numbers (max_age) as decimal text, objects (claims) as JSON. The JWT's own claims (iss,
 * aud, exp …) are not parameters. Throws `invalid_request_object` for the error page.
 */
export function requestObjectParams(payload: JWTPayload): Map<string, string> {
  const params = new Map<string, string>();
  for (const [name, value] of Object.entries(payload)) {
    if (JWT_CLAIMS.has(name)) continue;
    if (name === 'request' || name === 'request_uri') {
      throw invalid(`a request object must not contain ${name}`);
    }
    if (typeof value === 'string') params.set(name, value);
    else if (typeof value === 'number' && Number.isFinite(value)) params.set(name, String(value));
    else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      params.set(name, JSON.stringify(value));
    } else {
      throw invalid(`the request object's ${name} must be a string`);
    }
  }
  return params;
}

/**
 * Stage two, once the redirect URI is verified: `iss` and the inner `client_id` are the client,
 * `aud` is the issuer, `iat`/`exp` present with exp at most 300 s after iat, and a `jti` never
 * seen before. Throws `invalid_request_object` (redirected).
 */
export async function checkRequestObjectClaims(
  engine: Engine,
  client: Client,
  payload: JWTPayload,
): Promise<void> {
  try {
    if (payload.iss !== client.client_id) {
      throw new ClientJwtError('iss', "the request object's iss must be the client_id");
    }
    if (payload['client_id'] !== client.client_id) {
      throw new ClientJwtError(
        'client_id',
        "the request object's client_id must be present and equal the client_id parameter",
      );
    }
    if (!audiences(payload.aud).includes(engine.config.issuer)) {
      throw new ClientJwtError('aud', "the request object's aud must be the issuer");
    }
    checkTimes(engine, payload, {
      requireIat: true,
      maxLifetime: REQUEST_OBJECT_MAX_LIFETIME,
      what: 'request object',
    });
    await useJti(engine, 'jar', client, payload, 'request object');
  } catch (err) {
    if (err instanceof ClientJwtError) throw invalid(err);
    throw err;
  }
}
