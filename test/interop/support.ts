/**
 * Helpers for running panva's openid-client (v6) against our provider in-process: a provider
 * configuration with one relying party per (client authentication method × ID token signing alg),
 * and an openid-client `Configuration` whose HTTP calls go to `provider.handle` through
 * `customFetch` (no sockets).
 */
import * as client from 'openid-client';
import type { ConfigInput } from '../../packages/provider/src/config/schema.js';
import { baseConfig, type TestProvider } from '../support/harness.js';

export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];
export const SIGNING_ALGS = ['EdDSA', 'ES256', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export const RP_REDIRECT_URI = 'http://localhost:4000/cb';
export const RP_POST_LOGOUT_URI = 'http://localhost:4000/signed-out';
export const RP_SCOPE = 'openid profile email offline_access';

export interface RelyingParty {
  clientId: string;
  auth: AuthMethod;
  alg: SigningAlg;
  secret?: string;
}

export function relyingParty(auth: AuthMethod, alg: SigningAlg): RelyingParty {
  const clientId = `rp-${auth.replace(/_/g, '-')}-${alg.toLowerCase()}`;
  return auth === 'none'
    ? { clientId, auth, alg }
    : { clientId, auth, alg, secret: `${clientId}-secret-0123456789-abcdefghijklmnopqrstuvwxyz` };
}

export const RELYING_PARTIES: RelyingParty[] = AUTH_METHODS.flatMap((auth) =>
  SIGNING_ALGS.map((alg) => relyingParty(auth, alg)),
);

/** The harness's base configuration plus one client per relying party above. */
export function interopConfig(): ConfigInput {
  const base = baseConfig();
  return {
    ...base,
    clients: [
      ...(base.clients ?? []),
      ...RELYING_PARTIES.map((rp) => ({
        client_id: rp.clientId,
        client_name: `openid-client ${rp.auth} ${rp.alg}`,
        redirect_uris: [RP_REDIRECT_URI],
        post_logout_redirect_uris: [RP_POST_LOGOUT_URI],
        id_token_signed_response_alg: rp.alg,
        ...(rp.auth === 'none'
          ? { type: 'spa' as const, allowed_origins: ['http://localhost:4000'] }
          : {
              type: 'web' as const,
              token_endpoint_auth_method: rp.auth,
              client_secret: rp.secret!,
              // These RPs send plain authorization requests; JAR is tested with its own clients.
              require_signed_request_object: false,
            }),
      })),
    ],
  };
}

/** openid-client's `customFetch`, answered by the in-process provider. */
export function providerFetch(tp: TestProvider): client.CustomFetch {
  return (url, options) =>
    tp.fetch(url, {
      method: options.method,
      headers: options.headers,
      redirect: options.redirect,
      // openid-client's body union includes Uint8Array<ArrayBufferLike>, wider than RequestInit's.
      ...(options.body !== undefined ? { body: options.body as RequestInit['body'] } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
}

function clientAuth(rp: RelyingParty): client.ClientAuth {
  switch (rp.auth) {
    case 'client_secret_basic':
      return client.ClientSecretBasic(rp.secret);
    case 'client_secret_post':
      return client.ClientSecretPost(rp.secret);
    case 'none':
      return client.None();
  }
}

/**
 * openid-client discovery of the provider for `rp`, with its own checks on: the expected ID token
 * `alg` is pinned in the client metadata, and `enableNonRepudiationChecks` makes it verify ID token
 * signatures against the provider's JWKS (openid-client skips that by default for token endpoint
 * responses, relying on TLS). `allowInsecureRequests` is only about the http:// issuer.
 */
export async function discover(tp: TestProvider, rp: RelyingParty): Promise<client.Configuration> {
  const metadata: Partial<client.ClientMetadata> = {
    id_token_signed_response_alg: rp.alg,
    token_endpoint_auth_method: rp.auth,
    redirect_uris: [RP_REDIRECT_URI],
    post_logout_redirect_uris: [RP_POST_LOGOUT_URI],
  };
  if (rp.secret !== undefined) metadata.client_secret = rp.secret;
  return client.discovery(new URL(tp.issuer), rp.clientId, metadata, clientAuth(rp), {
    [client.customFetch]: providerFetch(tp),
    execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
  });
}

/**
 * OIDC Core §3.1.3.6 `at_hash`, computed here independently of the provider: the left half of the
 * hash of the access token, where the hash is the one of the ID token's JWS alg — SHA-256 for
 * RS256/ES256, and SHA-512 for EdDSA (Ed25519), which is also the table openid-client's
 * oauth4webapi uses for its `c_hash`/`s_hash` checks (`idTokenHash`).
 */
export async function expectedAtHash(alg: SigningAlg, accessToken: string): Promise<string> {
  const hash = alg === 'EdDSA' ? 'SHA-512' : 'SHA-256';
  const digest = new Uint8Array(
    await crypto.subtle.digest(hash, new TextEncoder().encode(accessToken)),
  );
  return Buffer.from(digest.subarray(0, digest.length / 2)).toString('base64url');
}

/** The protected header of a compact JWS, decoded without any checks. */
export function jwsHeader(jws: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** The message of an error and of every error in its `cause` chain, joined (for assertions). */
export function errorChain(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 5 && e instanceof Error; i++) {
    const code = (e as { code?: unknown }).code;
    const error = (e as { error?: unknown }).error;
    parts.push(
      `${e.name}: ${e.message}${typeof code === 'string' ? ` [${code}]` : ''}${typeof error === 'string' ? ` (${error})` : ''}`,
    );
    e = e.cause;
  }
  return parts.join(' <- ');
}

/**
 * The OAuth `error` code as openid-client surfaces it: from a `ResponseBodyError` (JSON error
 * body), or from the `error` parameter of a `WWW-Authenticate` challenge (openid-client throws
 * `WWWAuthenticateChallengeError` for any non-2xx response carrying that header and then does not
 * read the body).
 */
export function surfacedErrorCode(err: unknown): string | undefined {
  if (err instanceof client.ResponseBodyError) return err.error;
  if (err instanceof client.WWWAuthenticateChallengeError) {
    for (const challenge of err.cause)
      if (challenge.parameters.error !== undefined) return challenge.parameters.error;
  }
  return undefined;
}

/** Status and JSON `error` of the HTTP response behind an openid-client error, read directly. */
export async function responseBehind(
  err: unknown,
): Promise<{ status: number; error: unknown } | undefined> {
  if (err instanceof client.ResponseBodyError) return { status: err.status, error: err.error };
  if (err instanceof client.WWWAuthenticateChallengeError) {
    const body = (await err.response.json()) as Record<string, unknown>;
    return { status: err.status, error: body['error'] };
  }
  return undefined;
}

/** Runs `fn`, expecting it to throw; returns the thrown value. */
export async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, but the call succeeded');
}
