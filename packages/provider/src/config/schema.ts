/**
 * The provider's configuration: one typed, validated object. Every default lives here. Invalid
 * settings fail at start with a message that names the setting (`clients[0].redirect_uris[1]`).
 */

import { GatehouseError } from '@gatehouse/oauth';
import { z } from 'zod';
import { jwksProblems } from '../keys/client-jwks.js';
import { isLoopbackHost } from './hosts.js';

export { isLoopbackHost, LOOPBACK_HOSTS } from './hosts.js';

const CLIENT_ID = /^[\x21-\x7e]{1,255}$/;

/** Lifetimes, in seconds. */
const ttlSchema = z
  .object({
    /** Authorization code. At most 600 s (10 minutes); can be set lower. */
    code: z.number().int().min(5).max(600).default(600),
    accessToken: z.number().int().min(30).max(86_400).default(3600),
    idToken: z.number().int().min(30).max(86_400).default(3600),
    /** Refresh token (absolute lifetime of the grant). */
    refreshToken: z
      .number()
      .int()
      .min(60)
      .max(31_536_000)
      .default(30 * 86_400),
    /** IdP session (the browser stays signed in at the provider). */
    session: z
      .number()
      .int()
      .min(60)
      .max(31_536_000)
      .default(14 * 86_400),
    /** Time a user has to finish signing in / consenting. */
    interaction: z.number().int().min(60).max(3600).default(900),
    /** A pushed authorization request's request_uri (RFC 9126): one use within this time. */
    pushedRequest: z.number().int().min(5).max(600).default(60),
  })
  .strict()
  .default({
    code: 600,
    accessToken: 3600,
    idToken: 3600,
    refreshToken: 30 * 86_400,
    session: 14 * 86_400,
    interaction: 900,
    pushedRequest: 60,
  });

const throttleSchema = z
  .object({
    /** Failed sign-ins allowed per account within `windowSeconds`. */
    perAccount: z.number().int().min(1).default(5),
    /** Failed sign-ins allowed per client IP within `windowSeconds`. */
    perIp: z.number().int().min(1).default(50),
    windowSeconds: z.number().int().min(1).default(900),
  })
  .strict()
  .default({ perAccount: 5, perIp: 50, windowSeconds: 900 });

const storageSchema = z.union([
  z.object({ memory: z.literal(true) }).strict(),
  z.object({ sqlite: z.string().min(1) }).strict(),
]);

const clientTypeSchema = z.enum(['web', 'spa', 'native', 'service']);
const algSchema = z.enum(['EdDSA', 'ES256', 'RS256']);
/** Algorithms of JWTs a client signs: HS256 with its secret, or one of its registered keys. */
export const CLIENT_JWT_ALGS = ['HS256', 'EdDSA', 'Ed25519', 'ES256', 'RS256'] as const;
const clientJwtAlgSchema = z.enum(CLIENT_JWT_ALGS);
const authMethodSchema = z.enum([
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'none',
]);
const grantTypeSchema = z.enum(['authorization_code', 'refresh_token', 'client_credentials']);

/** A client as written in the configuration file or passed to `clients add`. */
export const clientInputSchema = z
  .object({
    client_id: z.string().regex(CLIENT_ID, 'must be 1-255 visible ASCII characters'),
    type: clientTypeSchema,
    client_name: z.string().max(200).optional(),
    client_secret: z.string().min(32, 'must be at least 32 characters').max(512).optional(),
    redirect_uris: z.array(z.string()).default([]),
    post_logout_redirect_uris: z.array(z.string()).default([]),
    token_endpoint_auth_method: authMethodSchema.optional(),
    grant_types: z.array(grantTypeSchema).min(1).optional(),
    scope: z.string().max(1000).optional(),
    id_token_signed_response_alg: algSchema.default('EdDSA'),
    /** JAR (RFC 9101): true by default for web clients; public clients never send request objects. */
    require_signed_request_object: z.boolean().optional(),
    /** Pins the request object's algorithm; by default any the client has a key or secret for. */
    request_object_signing_alg: clientJwtAlgSchema.optional(),
    /** PAR (RFC 9126): authorization requests must come through the PAR endpoint. */
    require_pushed_authorization_requests: z.boolean().default(false),
    /** Pins the algorithm of client assertions (private_key_jwt, client_secret_jwt). */
    token_endpoint_auth_signing_alg: clientJwtAlgSchema.optional(),
    /** The client's public keys, inline (checked by `jwksProblems`) … */
    jwks: z.unknown().optional(),
    /** … or by URL (https, or http on loopback), fetched with a timeout, a size cap and a cache. */
    jwks_uri: z.string().optional(),
    allowed_origins: z.array(z.string()).default([]),
    require_pkce: z.boolean().default(true),
  })
  .strict();

export type ClientInput = z.input<typeof clientInputSchema>;

const userInputSchema = z
  .object({
    username: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[^\s]+$/, 'must not contain spaces'),
    password: z.string().min(8, 'must be at least 8 characters').max(1024),
    sub: z
      .string()
      .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 visible ASCII characters')
      .optional(),
    claims: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type UserInput = z.input<typeof userInputSchema>;

export const configSchema = z
  .object({
    /** The issuer identifier: https, or http on a loopback host for development. */
    issuer: z.string(),
    port: z.number().int().min(0).max(65_535).default(9000),
    /** Interface to listen on. */
    host: z.string().default('localhost'),
    storage: storageSchema.default({ sqlite: '.gatehouse/gatehouse.db' }),
    /**
     * Secret that encrypts private keys at rest and keys client-secret hashes (≥ 32 characters).
     * The environment variable GATEHOUSE_SECRET overrides it. When neither is set, the CLI keeps
     * one in `.gatehouse/secret` (created at first start).
     */
    secret: z.string().min(32, 'must be at least 32 characters').optional(),
    clients: z.array(clientInputSchema).default([]),
    users: z.array(userInputSchema).default([]),
    ttl: ttlSchema,
    throttle: throttleSchema,
    /**
     * Access tokens: `jwt` (RFC 9068, signed, verifiable by resource servers with the JWKS) or
     * `opaque` (sealed with AES-256-GCM: only the provider can read them; resource servers use
     * introspection). Opaque tokens save one signature per token.
     */
    accessTokenFormat: z.enum(['jwt', 'opaque']).default('jwt'),
    /**
     * Make Ed25519 (EdDSA) signatures with libsodium (the optional dependency sodium-native) when
     * it loads: half the CPU of Node's OpenSSL, the same signature bytes. `false` keeps every
     * signature on `node:crypto` (for example where only a FIPS-validated OpenSSL may be used).
     */
    nativeEd25519: z.boolean().default(true),
    /** Signing algorithm of ID tokens for clients that do not choose one, and of access tokens. */
    defaultSigningAlg: algSchema.default('EdDSA'),
    /**
     * Put the claims of the granted scopes (profile, email, address, phone) in the ID token as
     * well as at UserInfo. OpenID Connect Core §5.4 returns them from UserInfo only when an access
     * token is issued; set false for that strict reading (the conformance suite warns otherwise).
     */
    claimsInIdToken: z.boolean().default(true),
    /** Clock skew allowed when checking times in JWTs the provider receives, in seconds. */
    clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
    /** Fetching clients' `jwks_uri` key sets. */
    clientJwks: z
      .object({
        /** The whole fetch, body included. */
        timeoutMs: z.number().int().min(100).max(30_000).default(5000),
        /** Largest key set accepted, in bytes. */
        maxBytes: z.number().int().min(1024).max(1_048_576).default(65_536),
        /** How long a fetched key set is used before it is fetched again. */
        cacheSeconds: z.number().int().min(0).max(86_400).default(300),
        /** Least time between two fetches of one URL (a JWT naming an unknown kid forces one). */
        cooldownSeconds: z.number().int().min(0).max(3600).default(30),
      })
      .strict()
      .default({ timeoutMs: 5000, maxBytes: 65_536, cacheSeconds: 300, cooldownSeconds: 30 }),
    /** Trust X-Forwarded-For / X-Forwarded-Proto from a reverse proxy. */
    trustProxy: z.boolean().default(false),
    /** Scopes the provider supports beyond the standard OpenID Connect ones. */
    extraScopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/)).default([]),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
type ParsedConfig = z.output<typeof configSchema>;

/** The configuration after validation, with every default filled in. */
export interface ProviderConfig extends Omit<ParsedConfig, 'clients' | 'issuer'> {
  issuer: string;
  /** Whether the issuer is http on loopback (development). */
  development: boolean;
  clients: ParsedConfig['clients'];
}

/** A configuration that could not be accepted; `issues` names each bad setting. */
export class ConfigError extends GatehouseError {
  readonly issues: string[];
  constructor(issues: string[]) {
    super('config_invalid', `invalid configuration:\n  - ${issues.join('\n  - ')}`);
    this.issues = issues;
  }
}

function pathOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

/** Checks the issuer: an absolute https URL (http only on loopback), no query, no fragment. */
function checkIssuer(issuer: string, issues: string[]): boolean {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    issues.push(`issuer: "${issuer}" is not an absolute URL`);
    return false;
  }
  if (url.search || url.hash || issuer.includes('?') || issuer.includes('#')) {
    issues.push('issuer: must not have a query or fragment');
  }
  if (issuer.endsWith('/')) issues.push('issuer: must not end with "/"');
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) {
      issues.push(
        `issuer: "${issuer}" uses http; only https is allowed, except on a loopback host (localhost, 127.0.0.1, [::1]) for development`,
      );
    }
    return true;
  }
  if (url.protocol !== 'https:') issues.push(`issuer: must be an https URL, not ${url.protocol}`);
  return false;
}

const FORBIDDEN_SCHEMES = new Set([
  'javascript:',
  'data:',
  'file:',
  'vbscript:',
  'blob:',
  'about:',
]);

/**
 * Checks one redirect URI for a client type. https everywhere; http only on loopback — for native
 * clients always (RFC 8252 §7.3), for web and spa clients only while the issuer itself is a
 * development (loopback) issuer. Custom schemes only for native clients.
 */
export function redirectUriProblem(
  uri: string,
  type: string,
  development: boolean,
): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not an absolute URI';
  }
  if (uri.includes('#')) return 'must not contain a fragment';
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `scheme ${url.protocol} is not allowed`;
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) return 'http is only allowed on a loopback host; use https';
    if (type === 'native' || development) return undefined;
    return 'http loopback redirect URIs are only allowed for native clients (or with a development issuer)';
  }
  if (type !== 'native') return `custom scheme ${url.protocol} is only allowed for native clients`;
  if (!url.protocol.slice(0, -1).includes('.')) {
    return 'a custom scheme must be a reverse domain name, like com.example.app: (RFC 8252 §7.1)';
  }
  return undefined;
}

/** Validates a client input in context; returns problems as messages prefixed with `prefix`. */
export function clientProblems(
  client: z.output<typeof clientInputSchema>,
  development: boolean,
  prefix: string,
): string[] {
  const issues: string[] = [];
  const pub = client.type === 'spa' || client.type === 'native';
  const method = client.token_endpoint_auth_method;
  if (pub) {
    if (method !== undefined && method !== 'none') {
      issues.push(
        `${prefix}.token_endpoint_auth_method: ${client.type} clients are public and use "none"`,
      );
    }
    if (client.client_secret !== undefined) {
      issues.push(`${prefix}.client_secret: ${client.type} clients are public and have no secret`);
    }
    if (!client.require_pkce) {
      issues.push(`${prefix}.require_pkce: PKCE cannot be turned off for public clients`);
    }
  } else {
    if (method === 'none') {
      issues.push(
        `${prefix}.token_endpoint_auth_method: ${client.type} clients are confidential and must authenticate`,
      );
    }
    const m = method ?? 'client_secret_basic';
    if (m !== 'private_key_jwt' && !client.client_secret) {
      issues.push(`${prefix}.client_secret: required for ${m}`);
    }
    if (m === 'private_key_jwt' && client.jwks === undefined && !client.jwks_uri) {
      issues.push(`${prefix}.jwks: private_key_jwt needs jwks or jwks_uri`);
    }
    const assertionAlg = client.token_endpoint_auth_signing_alg;
    if (assertionAlg !== undefined) {
      if (m !== 'private_key_jwt' && m !== 'client_secret_jwt') {
        issues.push(
          `${prefix}.token_endpoint_auth_signing_alg: only for private_key_jwt and client_secret_jwt`,
        );
      } else if ((assertionAlg === 'HS256') !== (m === 'client_secret_jwt')) {
        issues.push(
          `${prefix}.token_endpoint_auth_signing_alg: ${m} ${m === 'client_secret_jwt' ? 'uses HS256' : 'uses EdDSA, Ed25519, ES256 or RS256'}`,
        );
      }
    }
  }
  issues.push(...requestObjectProblems(client, prefix));
  if (client.type === 'service') {
    if (client.redirect_uris.length > 0) {
      issues.push(`${prefix}.redirect_uris: service clients have no redirect URIs`);
    }
    if (client.grant_types?.some((g) => g !== 'client_credentials')) {
      issues.push(`${prefix}.grant_types: service clients only use client_credentials`);
    }
  } else {
    if (client.redirect_uris.length === 0) {
      issues.push(`${prefix}.redirect_uris: at least one redirect URI is required`);
    }
    client.redirect_uris.forEach((uri, i) => {
      const problem = redirectUriProblem(uri, client.type, development);
      if (problem) issues.push(`${prefix}.redirect_uris[${i}]: "${uri}" ${problem}`);
    });
    if (client.grant_types?.includes('client_credentials')) {
      issues.push(`${prefix}.grant_types: only service clients use client_credentials`);
    }
  }
  client.post_logout_redirect_uris.forEach((uri, i) => {
    const problem = redirectUriProblem(uri, client.type, development);
    if (problem) issues.push(`${prefix}.post_logout_redirect_uris[${i}]: "${uri}" ${problem}`);
  });
  client.allowed_origins.forEach((origin, i) => {
    let ok = false;
    try {
      ok = new URL(origin).origin === origin;
    } catch {}
    if (!ok)
      issues.push(
        `${prefix}.allowed_origins[${i}]: "${origin}" is not an origin (scheme://host[:port])`,
      );
  });
  if (client.jwks !== undefined && client.jwks_uri !== undefined) {
    issues.push(`${prefix}.jwks_uri: give jwks or jwks_uri, not both`);
  }
  if (client.jwks !== undefined) {
    for (const problem of jwksProblems(client.jwks)) issues.push(`${prefix}.jwks: ${problem}`);
  }
  if (client.jwks_uri !== undefined) {
    try {
      const u = new URL(client.jwks_uri);
      if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.hostname))) {
        issues.push(`${prefix}.jwks_uri: must be https`);
      }
    } catch {
      issues.push(`${prefix}.jwks_uri: is not an absolute URL`);
    }
  }
  return issues;
}

/**
 * JAR and PAR settings by client type: web clients sign their requests unless registered with
 * `require_signed_request_object: false`; public clients never do; service clients have no
 * authorization requests at all.
 */
function requestObjectProblems(
  client: z.output<typeof clientInputSchema>,
  prefix: string,
): string[] {
  const issues: string[] = [];
  const alg = client.request_object_signing_alg;
  if (client.type === 'service') {
    if (client.require_signed_request_object || alg !== undefined) {
      issues.push(
        `${prefix}.require_signed_request_object: service clients make no authorization requests`,
      );
    }
    if (client.require_pushed_authorization_requests) {
      issues.push(
        `${prefix}.require_pushed_authorization_requests: service clients make no authorization requests`,
      );
    }
    return issues;
  }
  if (client.type !== 'web') {
    if (client.require_signed_request_object || alg !== undefined) {
      issues.push(
        `${prefix}.require_signed_request_object: ${client.type} clients are public and cannot sign request objects`,
      );
    }
    return issues;
  }
  const hasKeys = client.jwks !== undefined || client.jwks_uri !== undefined;
  if (alg === 'HS256' && !client.client_secret) {
    issues.push(`${prefix}.request_object_signing_alg: HS256 needs a client_secret`);
  }
  if (alg !== undefined && alg !== 'HS256' && !hasKeys) {
    issues.push(`${prefix}.request_object_signing_alg: ${alg} needs jwks or jwks_uri`);
  }
  return issues;
}

/** Parses and validates a configuration object. Throws ConfigError naming every bad setting. */
export function parseConfig(input: unknown): ProviderConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${pathOf(i.path)}: ${i.message}`));
  }
  const config = result.data;
  const issues: string[] = [];
  const development = checkIssuer(config.issuer, issues);
  const ids = new Set<string>();
  config.clients.forEach((client, i) => {
    if (ids.has(client.client_id))
      issues.push(`clients[${i}].client_id: "${client.client_id}" appears twice`);
    ids.add(client.client_id);
    issues.push(...clientProblems(client, development, `clients[${i}]`));
  });
  const names = new Set<string>();
  config.users.forEach((user, i) => {
    const name = user.username.toLowerCase();
    if (names.has(name)) issues.push(`users[${i}].username: "${user.username}" appears twice`);
    names.add(name);
  });
  if (issues.length > 0) throw new ConfigError(issues);
  return { ...config, development };
}
