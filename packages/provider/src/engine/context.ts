/** What every endpoint step can reach: the provider's parts, and the request at hand. */
import type { ProviderConfig } from '../config/schema.js';
import type { Pages } from '../interaction/types.js';
import type { RemoteJwks } from '../keys/client-jwks.js';
import type { KeyManager } from '../keys/keys.js';
import type { Secrets } from '../keys/secrets.js';
import type { Storage } from '../storage/types.js';
import type { PasswordHasher } from '../users/passwords.js';
import type { Logger } from './logger.js';
import type { HttpRequest } from './reply.js';

/** The provider's endpoint URLs, all under the issuer. */
export interface Endpoints {
  discovery: string;
  jwks: string;
  authorization: string;
  /** Pushed authorization requests (RFC 9126). */
  par: string;
  token: string;
  userinfo: string;
  revocation: string;
  introspection: string;
  logout: string;
  errors: string;
  interaction: string;
  stylesheet: string;
}

export interface Engine {
  readonly config: ProviderConfig;
  readonly storage: Storage;
  readonly keys: KeyManager;
  readonly secrets: Secrets;
  readonly passwords: PasswordHasher;
  readonly pages: Pages;
  readonly logger: Logger;
  readonly endpoints: Endpoints;
  /** Clients' key sets fetched from their `jwks_uri`, cached. */
  readonly clientJwks: RemoteJwks;
  /** Epoch milliseconds. Injected so tests can move time. */
  now(): number;
}

/** Per-request facts gathered by the server adapter. */
export interface RequestInfo {
  /** The client's IP address (for throttling). */
  remoteAddress?: string;
}

export interface RequestContext {
  readonly request: HttpRequest;
  readonly url: URL;
  /** Short id that ties log lines and error pages together. */
  readonly requestId: string;
  readonly remoteAddress: string;
}

export function endpointsFor(issuer: string): Endpoints {
  return {
    discovery: `${issuer}/.well-known/openid-configuration`,
    jwks: `${issuer}/.well-known/jwks.json`,
    authorization: `${issuer}/v1/oauth/authorize`,
    par: `${issuer}/v1/oauth/par`,
    token: `${issuer}/v1/oauth/token`,
    userinfo: `${issuer}/v1/oauth/userinfo`,
    revocation: `${issuer}/v1/oauth/revoke`,
    introspection: `${issuer}/v1/oauth/introspect`,
    logout: `${issuer}/v1/oauth/logout`,
    errors: `${issuer}/errors`,
    interaction: `${issuer}/interaction`,
    stylesheet: `${issuer}/assets/gatehouse.css`,
  };
}
