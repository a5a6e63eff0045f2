/** OpenID Provider metadata (OIDC Discovery §3, RFC 8414) and the JWK Set. */
import { CLIENT_JWT_ALGS } from '../config/schema.js';
import { SIGNING_ALGS } from '../keys/keys.js';
import type { Engine } from './context.js';
import { json } from './http.js';
import { Reply } from './reply.js';
import { STANDARD_SCOPES, supportedScopes } from './scopes.js';

/** Client authentication methods of confidential clients (RFC 6749 §2.3, RFC 7523, OIDC Core §9). */
const CONFIDENTIAL_AUTH = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
] as const;

export function discoveryDocument(engine: Engine): Record<string, unknown> {
  const e = engine.endpoints;
  const claims = new Set<string>([
    'sub',
    'iss',
    'aud',
    'exp',
    'iat',
    'auth_time',
    'nonce',
    'azp',
    'at_hash',
    'sid',
  ]);
  for (const s of Object.values(STANDARD_SCOPES)) for (const c of s.claims) claims.add(c);
  return {
    issuer: engine.config.issuer,
    authorization_endpoint: e.authorization,
    pushed_authorization_request_endpoint: e.par,
    token_endpoint: e.token,
    userinfo_endpoint: e.userinfo,
    jwks_uri: e.jwks,
    revocation_endpoint: e.revocation,
    introspection_endpoint: e.introspection,
    end_session_endpoint: e.logout,
    scopes_supported: supportedScopes(engine.config.extraScopes),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...SIGNING_ALGS],
    userinfo_signing_alg_values_supported: [],
    token_endpoint_auth_methods_supported: [...CONFIDENTIAL_AUTH, 'none'],
    token_endpoint_auth_signing_alg_values_supported: [...CLIENT_JWT_ALGS],
    revocation_endpoint_auth_methods_supported: [...CONFIDENTIAL_AUTH, 'none'],
    revocation_endpoint_auth_signing_alg_values_supported: [...CLIENT_JWT_ALGS],
    introspection_endpoint_auth_methods_supported: [...CONFIDENTIAL_AUTH],
    introspection_endpoint_auth_signing_alg_values_supported: [...CLIENT_JWT_ALGS],
    code_challenge_methods_supported: ['S256'],
    claims_supported: [...claims],
    claims_parameter_supported: false,
    // JAR (RFC 9101): required of web clients unless registered otherwise (the per-client
    // `require_signed_request_object`), refused from public clients; so not advertised as a
    // server-wide requirement. request_uri values come only from the PAR endpoint.
    request_parameter_supported: true,
    request_object_signing_alg_values_supported: [...CLIENT_JWT_ALGS],
    request_uri_parameter_supported: false,
    require_pushed_authorization_requests: false,
    authorization_response_iss_parameter_supported: true,
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    ui_locales_supported: ['en'],
    service_documentation: e.errors,
  };
}

const CORS = { 'access-control-allow-origin': '*' } as const;

export function handleDiscovery(engine: Engine): Reply {
  return json(discoveryDocument(engine), 200, { 'cache-control': 'public, max-age=300', ...CORS });
}

export function handleJwks(engine: Engine): Reply {
  return new Reply(
    200,
    {
      'content-type': 'application/jwk-set+json; charset=utf-8',
      'cache-control': 'public, max-age=300',
      ...CORS,
    },
    JSON.stringify(engine.keys.jwks()),
  );
}
