/** OpenID Provider metadata (OIDC Discovery §3, RFC 8414) and the JWK Set. */
import { SIGNING_ALGS } from '../keys/keys.js';
import type { Engine } from './context.js';
import { json } from './http.js';
import { Reply } from './reply.js';
import { STANDARD_SCOPES, supportedScopes } from './scopes.js';

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
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: [
      'client_secret_basic',
      'client_secret_post',
      'none',
    ],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    claims_supported: [...claims],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
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
