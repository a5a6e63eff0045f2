/** Turning client input (configuration file, CLI) into a stored client, with type defaults. */
import {
  type ClientInput,
  ConfigError,
  clientInputSchema,
  clientProblems,
} from './config/schema.js';
import type { Secrets } from './keys/secrets.js';
import type { Client } from './storage/types.js';

export const DEFAULT_CLIENT_SCOPE = 'openid profile email address phone offline_access';

/** Whether a client type is public (no secret; PKCE and `none` authentication). */
export function isPublic(client: Pick<Client, 'type'>): boolean {
  return client.type === 'spa' || client.type === 'native';
}

/**
 * Whether a client must send signed request objects (JAR): web clients unless registered with
 * `require_signed_request_object: false` (a web client stored before JAR existed has no setting).
 */
export function requiresSignedRequest(
  client: Pick<Client, 'type' | 'require_signed_request_object'>,
): boolean {
  return client.require_signed_request_object ?? client.type === 'web';
}

/**
 * Validates client input and fills in the defaults of its type. The secret is kept twice, never
 * in the clear: as a keyed hash (to check `client_secret_basic`/`_post` quickly) and sealed with
 * AES-256-GCM under the provider secret (the HMAC key of HS256 request objects and
 * `client_secret_jwt` assertions).
 */
export async function clientFromInput(
  input: ClientInput,
  secrets: Secrets,
  options: { development: boolean; now: number; existing?: Client; prefix?: string },
): Promise<Client> {
  const prefix = options.prefix ?? 'client';
  const parsed = clientInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${prefix}.${i.path.join('.')}: ${i.message}`),
    );
  }
  const c = parsed.data;
  const problems = clientProblems(c, options.development, prefix);
  if (problems.length > 0) throw new ConfigError(problems);
  const pub = c.type === 'spa' || c.type === 'native';
  const client: Client = {
    client_id: c.client_id,
    type: c.type,
    redirect_uris: c.redirect_uris,
    post_logout_redirect_uris: c.post_logout_redirect_uris,
    token_endpoint_auth_method:
      c.token_endpoint_auth_method ?? (pub ? 'none' : 'client_secret_basic'),
    grant_types:
      c.grant_types ??
      (c.type === 'service' ? ['client_credentials'] : ['authorization_code', 'refresh_token']),
    scope: c.scope ?? (c.type === 'service' ? '' : DEFAULT_CLIENT_SCOPE),
    id_token_signed_response_alg: c.id_token_signed_response_alg,
    allowed_origins: c.allowed_origins,
    require_pkce: pub ? true : c.require_pkce,
    created_at: options.existing?.created_at ?? options.now,
    updated_at: options.now,
  };
  if (c.client_name !== undefined) client.client_name = c.client_name;
  if (c.client_secret !== undefined) {
    client.client_secret_hash = await secrets.hashClientSecret(c.client_secret);
    client.client_secret_sealed = await secrets.encrypt(c.client_secret);
  }
  if (c.type !== 'service') {
    client.require_signed_request_object = c.require_signed_request_object ?? c.type === 'web';
    client.require_pushed_authorization_requests = c.require_pushed_authorization_requests;
  }
  if (c.request_object_signing_alg !== undefined) {
    client.request_object_signing_alg = c.request_object_signing_alg;
  }
  if (c.token_endpoint_auth_signing_alg !== undefined) {
    client.token_endpoint_auth_signing_alg = c.token_endpoint_auth_signing_alg;
  }
  if (c.jwks !== undefined) client.jwks = c.jwks as NonNullable<Client['jwks']>;
  if (c.jwks_uri !== undefined) client.jwks_uri = c.jwks_uri;
  return client;
}
