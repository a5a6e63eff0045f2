/**
 * Client authentication at the token, PAR, revocation and introspection endpoints (RFC 6749
 * §2.3): `client_secret_basic`, `client_secret_post`, JWT client assertions (`private_key_jwt`
 * and `client_secret_jwt`, RFC 7523 / OIDC Core §9), and `none` for public clients. A client must
 * use the method it registered; using two methods at once is refused.
 */
import { OAuthError } from '@gatehouse/oauth';
import { decodeJwt, type JWTPayload } from 'jose';
import type { Client } from '../storage/types.js';
import {
  ASYMMETRIC_ALGS,
  audiences,
  ClientJwtError,
  checkTimes,
  usableAlgs,
  useJti,
  verifyClientJwt,
} from './client-jwt.js';
import type { Engine } from './context.js';
import type { HttpRequest } from './reply.js';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** A client assertion may be valid for at most this long (exp − iat, or exp − now), in seconds. */
export const ASSERTION_MAX_LIFETIME = 300;

function invalidClient(description: string, detail?: string): OAuthError {
  return new OAuthError('invalid_client', description, detail ? { detail } : {});
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Parses `Authorization: Basic` with the form-encoding RFC 6749 §2.3.1 requires. */
function parseBasic(header: string): { id: string; secret: string } {
  const match = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
  if (!match) throw invalidClient('the Authorization header is not valid Basic credentials');
  let decoded: string;
  try {
    decoded = UTF8.decode(Buffer.from(match[1]!, 'base64'));
  } catch {
    throw invalidClient('the Authorization header is not valid Basic credentials');
  }
  const colon = decoded.indexOf(':');
  if (colon === -1) throw invalidClient('the Authorization header is not valid Basic credentials');
  try {
    const form = (s: string) =>
      s.includes('%') || s.includes('+') ? decodeURIComponent(s.replace(/\+/g, ' ')) : s;
    return { id: form(decoded.slice(0, colon)), secret: form(decoded.slice(colon + 1)) };
  } catch {
    throw invalidClient('the Basic credentials are not form-encoded');
  }
}

/**
 * Authenticates the client of a back-channel request. Throws `invalid_client` (401).
 * `endpoint` is the URL of the endpoint called: a client assertion may name it as its audience.
 */
export async function authenticateClient(
  engine: Engine,
  request: HttpRequest,
  form: Map<string, string>,
  options: { allowPublic: boolean; endpoint: string },
): Promise<Client> {
  const authorization = request.headers.get('authorization');
  const bodyId = form.get('client_id');
  const bodySecret = form.get('client_secret');
  if (form.has('client_assertion') || form.has('client_assertion_type')) {
    if (authorization !== null || bodySecret !== undefined) {
      throw new OAuthError(
        'invalid_request',
        'use one client authentication method: a client assertion, Basic header or client_secret, not several',
      );
    }
    return authenticateWithAssertion(engine, form, options.endpoint);
  }
  let method: Client['token_endpoint_auth_method'];
  let id: string;
  let secret: string | undefined;
  if (authorization !== null) {
    if (bodySecret !== undefined) {
      throw new OAuthError(
        'invalid_request',
        'use one client authentication method: Basic header or client_secret in the body, not both',
      );
    }
    const basic = parseBasic(authorization);
    if (bodyId !== undefined && bodyId !== basic.id) {
      throw new OAuthError(
        'invalid_request',
        'client_id in the body differs from the Basic credentials',
      );
    }
    method = 'client_secret_basic';
    ({ id, secret } = basic);
  } else if (bodySecret !== undefined) {
    if (bodyId === undefined) throw invalidClient('client_secret was sent without client_id');
    method = 'client_secret_post';
    id = bodyId;
    secret = bodySecret;
  } else if (bodyId !== undefined) {
    method = 'none';
    id = bodyId;
  } else {
    throw invalidClient('client authentication is missing');
  }

  const client = await engine.storage.clients.get(id);
  if (!client) throw invalidClient('client authentication failed', 'unknown client_id');
  if (client.token_endpoint_auth_method !== method) {
    if (method === 'none' && !options.allowPublic)
      throw invalidClient('client authentication is missing');
    throw invalidClient(
      `this client is registered for ${client.token_endpoint_auth_method} authentication, not ${method}`,
    );
  }
  if (method === 'none') {
    if (!options.allowPublic) throw invalidClient('public clients cannot use this endpoint');
    return client;
  }
  if (
    !client.client_secret_hash ||
    !(await engine.secrets.verifyClientSecret(secret ?? '', client.client_secret_hash))
  ) {
    throw invalidClient('client authentication failed', 'wrong client secret');
  }
  return client;
}

/**
 * `private_key_jwt` / `client_secret_jwt`: the client proves itself with a JWT it signed (RFC 7523
 * §3): `iss` = `sub` = its client_id, `aud` the issuer or the endpoint's URL, a short `exp`, and
 * a `jti` used once.
 */
async function authenticateWithAssertion(
  engine: Engine,
  form: Map<string, string>,
  endpoint: string,
): Promise<Client> {
  if (form.get('client_assertion_type') !== JWT_BEARER_ASSERTION) {
    throw invalidClient(`client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
  }
  const assertion = form.get('client_assertion');
  if (!assertion) throw invalidClient('client_assertion is missing');
  let claims: JWTPayload;
  try {
    claims = decodeJwt(assertion);
  } catch {
    throw invalidClient('client_assertion is not a JWT');
  }
  const { iss, sub } = claims;
  if (typeof iss !== 'string' || iss !== sub) {
    throw invalidClient('the client assertion must have iss and sub both equal to the client_id');
  }
  const bodyId = form.get('client_id');
  if (bodyId !== undefined && bodyId !== iss) {
    throw invalidClient('client_id differs from the client assertion’s iss');
  }
  const client = await engine.storage.clients.get(iss);
  if (!client) throw invalidClient('client authentication failed', 'unknown client_id');
  const method = client.token_endpoint_auth_method;
  if (method !== 'private_key_jwt' && method !== 'client_secret_jwt') {
    throw invalidClient(
      `this client is registered for ${method} authentication, not a client assertion`,
    );
  }
  const wanted = method === 'client_secret_jwt' ? (['HS256'] as const) : ASYMMETRIC_ALGS;
  try {
    const { payload } = await verifyClientJwt(engine, client, assertion, {
      algs: usableAlgs(client, wanted, client.token_endpoint_auth_signing_alg),
      what: 'client assertion',
    });
    const accepted = [engine.config.issuer, engine.endpoints.token, endpoint];
    if (!audiences(payload.aud).some((aud) => accepted.includes(aud))) {
      throw new ClientJwtError(
        'aud',
        'the client assertion’s aud must be the issuer or this endpoint’s URL',
      );
    }
    checkTimes(engine, payload, {
      requireIat: false,
      maxLifetime: ASSERTION_MAX_LIFETIME,
      what: 'client assertion',
    });
    await useJti(engine, 'assertion', client, payload, 'client assertion');
  } catch (err) {
    if (err instanceof ClientJwtError) throw invalidClient(err.message, err.reason);
    throw err;
  }
  return client;
}
