/**
 * Provider metadata (OpenID Connect Discovery §4, RFC 8414): fetched from
 * `{issuer}/.well-known/openid-configuration`, checked, and kept by the client.
 */
import { ClientError } from './errors.js';
import { type HttpOptions, isObject, requestJson } from './http.js';

/** The metadata the toolkit uses; the rest of the document is kept in `raw`. */
export interface ProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
  revocation_endpoint?: string;
  end_session_endpoint?: string;
  pushed_authorization_request_endpoint?: string;
  require_pushed_authorization_requests?: boolean;
  require_signed_request_object?: boolean;
  authorization_response_iss_parameter_supported?: boolean;
  code_challenge_methods_supported?: string[];
  id_token_signing_alg_values_supported?: string[];
  raw: Record<string, unknown>;
}

const ENDPOINTS = [
  'authorization_endpoint',
  'token_endpoint',
  'jwks_uri',
  'userinfo_endpoint',
  'revocation_endpoint',
  'end_session_endpoint',
  'pushed_authorization_request_endpoint',
] as const;
const REQUIRED = new Set(['authorization_endpoint', 'token_endpoint', 'jwks_uri']);

/** Whether a URL may be used: https, or http on a loopback host (development). */
export function isSecureUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  return (
    url.protocol === 'http:' &&
    (url.hostname === 'localhost' ||
      url.hostname === '[::1]' ||
      /^127(\.\d{1,3}){3}$/.test(url.hostname))
  );
}

/** Checks a discovery document against the issuer it was fetched for. */
export function parseMetadata(issuer: string, document: unknown): ProviderMetadata {
  const bad = (why: string) =>
    new ClientError('discovery_failed', `the provider metadata of ${issuer} ${why}`);
  if (!isObject(document)) throw bad('is not a JSON object');
  if (document['issuer'] !== issuer) {
    throw bad(
      `names another issuer (${String(document['issuer'])}); the issuer must match exactly (OpenID Connect Discovery §4.3)`,
    );
  }
  const metadata: Record<string, unknown> = { issuer, raw: document };
  for (const name of ENDPOINTS) {
    const value = document[name];
    if (value === undefined) {
      if (REQUIRED.has(name)) throw bad(`has no ${name}`);
      continue;
    }
    if (typeof value !== 'string' || !isSecureUrl(value)) {
      throw bad(`has an invalid ${name} (https required, http only on loopback)`);
    }
    metadata[name] = value;
  }
  for (const name of [
    'require_pushed_authorization_requests',
    'require_signed_request_object',
    'authorization_response_iss_parameter_supported',
  ] as const) {
    if (typeof document[name] === 'boolean') metadata[name] = document[name];
  }
  for (const name of [
    'code_challenge_methods_supported',
    'id_token_signing_alg_values_supported',
  ] as const) {
    const value = document[name];
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) metadata[name] = value;
  }
  return metadata as unknown as ProviderMetadata;
}

/** Fetches and checks the metadata of `issuer`. */
export async function discover(issuer: string, http: HttpOptions): Promise<ProviderMetadata> {
  if (!isSecureUrl(issuer)) {
    throw new ClientError(
      'config_invalid',
      `issuer ${issuer} must be an https URL (http only on a loopback host, for development)`,
    );
  }
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const res = await requestJson(
    url,
    { headers: { accept: 'application/json' } },
    http,
    'discovery',
    'discovery_failed',
  );
  if (res.status !== 200) {
    throw new ClientError('discovery_failed', `discovery: ${url} answered HTTP ${res.status}`, {
      retryable: res.status >= 500,
    });
  }
  return parseMetadata(issuer, res.json);
}
