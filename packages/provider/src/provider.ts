/**
 * The provider: `createProvider(options)` returns `{ handle(request) }`, a function from a Web
 * `Request` to a `Response` with no HTTP framework inside. The Node server adapter and the CLI sit
 * around it.
 */
import { ERRORS, OAuthError } from '@gatehouse/oauth';
import { clientFromInput } from './clients.js';
import { type ConfigInput, type ProviderConfig, parseConfig } from './config/schema.js';
import { handleAuthorize } from './engine/authorize.js';
import {
  type Engine,
  endpointsFor,
  type RequestContext,
  type RequestInfo,
} from './engine/context.js';
import { handleDiscovery, handleJwks } from './engine/discovery.js';
import { errorPage, toResponse } from './engine/errors.js';
import { html } from './engine/http.js';
import { handleInteraction } from './engine/interaction.js';
import { handleIntrospection } from './engine/introspection.js';
import { type Logger, silentLogger } from './engine/logger.js';
import { handleLogout } from './engine/logout.js';
import { handlePar } from './engine/par.js';
import { requestId } from './engine/random.js';
import { type HttpRequest, Reply } from './engine/reply.js';
import { handleRevocation } from './engine/revocation.js';
import { handleToken } from './engine/token.js';
import { handleUserinfo } from './engine/userinfo.js';
import { defaultPages } from './interaction/pages.js';
import type { Pages } from './interaction/types.js';
import { remoteJwks } from './keys/client-jwks.js';
import { type KeyManager, loadKeys } from './keys/keys.js';
import { createSecrets } from './keys/secrets.js';
import { withReadCache } from './storage/cache.js';
import { openStorage } from './storage/open.js';
import type { Storage } from './storage/types.js';
import { type PasswordHasher, scryptHasher } from './users/passwords.js';
import { putUser } from './users/users.js';

export interface ProviderOptions {
  /** The configuration (validated here if it is not already). */
  config: ConfigInput | ProviderConfig;
  /** Storage to use instead of opening the one the configuration names. */
  storage?: Storage;
  /** The provider secret; defaults to `config.secret`, then `GATEHOUSE_SECRET`. */
  secret?: string;
  logger?: Logger;
  /** Epoch milliseconds; tests inject a movable clock. */
  clock?: () => number;
  pages?: Pages;
  passwords?: PasswordHasher;
  /**
   * How long clients, users and consents may be served from an in-process read cache, in ms
   * (default 1000; 0 turns it off). Writes through this provider's storage invalidate at once;
   * writes by another process on the same database are seen at most this much later.
   */
  readCacheTtlMs?: number;
}

export interface Provider {
  /** Handles one HTTP request. Never throws: failures become OAuth errors or error pages. */
  handle(request: Request, info?: RequestInfo): Promise<Response>;
  /**
   * `handle` without Web objects: takes anything shaped like a request and answers a plain
   * `Reply`. Server adapters use it to skip building `Request`/`Response` objects.
   */
  dispatch(request: HttpRequest, info?: RequestInfo): Promise<Reply>;
  readonly config: ProviderConfig;
  /**
   * The storage, behind the read cache of clients, users and consents (`readCacheTtlMs`): write
   * through it so that this provider sees the change at once. Cached records are frozen.
   */
  readonly storage: Storage;
  readonly keys: KeyManager;
  readonly endpoints: Engine['endpoints'];
  close(): Promise<void>;
}

type Route = (engine: Engine, ctx: RequestContext) => Promise<Reply> | Reply;

const ROUTES: Record<string, Route> = {
  '/.well-known/openid-configuration': (e) => handleDiscovery(e),
  '/.well-known/jwks.json': (e) => handleJwks(e),
  '/v1/oauth/authorize': handleAuthorize,
  '/v1/oauth/par': handlePar,
  '/v1/oauth/token': handleToken,
  '/v1/oauth/userinfo': handleUserinfo,
  '/v1/oauth/revoke': handleRevocation,
  '/v1/oauth/introspect': handleIntrospection,
  '/v1/oauth/logout': handleLogout,
  '/errors': (e) =>
    html(
      e.pages.errorsReference({
        issuer: e.config.issuer,
        entries: [...ERRORS.values()],
        stylesheetHref: e.endpoints.stylesheet,
      }),
    ),
  '/assets/gatehouse.css': (e) =>
    new Reply(
      200,
      {
        'content-type': 'text/css; charset=utf-8',
        'cache-control': 'public, max-age=3600',
        'x-content-type-options': 'nosniff',
      },
      e.pages.stylesheet,
    ),
};

/** Default `readCacheTtlMs`: the staleness bound across processes sharing one database. */
const DEFAULT_READ_CACHE_TTL_MS = 1000;

function isParsed(config: ConfigInput | ProviderConfig): config is ProviderConfig {
  return typeof (config as ProviderConfig).development === 'boolean';
}

/** Builds a provider: validates the configuration, opens storage, loads keys, seeds clients and users. */
export async function createProvider(options: ProviderOptions): Promise<Provider> {
  const config = isParsed(options.config) ? options.config : parseConfig(options.config);
  const storage = withReadCache(options.storage ?? openStorage(config.storage), {
    ttlMs: options.readCacheTtlMs ?? DEFAULT_READ_CACHE_TTL_MS,
  });
  const secret = options.secret ?? config.secret ?? process.env['GATEHOUSE_SECRET'];
  if (!secret || secret.length < 32) {
    throw new OAuthError(
      'server_error',
      'the provider secret is not set: pass `secret`, set `secret` in the configuration, or set GATEHOUSE_SECRET (at least 32 characters)',
    );
  }
  const secrets = await createSecrets(secret);
  const now = options.clock ?? Date.now;
  const keys = await loadKeys(storage.keys, secrets, now, {
    nativeEd25519: config.nativeEd25519,
  });
  const passwords = options.passwords ?? scryptHasher();
  const engine: Engine = {
    config,
    storage,
    keys,
    secrets,
    passwords,
    pages: options.pages ?? defaultPages,
    logger: options.logger ?? silentLogger,
    endpoints: endpointsFor(config.issuer),
    clientJwks: remoteJwks({
      timeoutMs: config.clientJwks.timeoutMs,
      maxBytes: config.clientJwks.maxBytes,
      cacheMs: config.clientJwks.cacheSeconds * 1000,
      cooldownMs: config.clientJwks.cooldownSeconds * 1000,
      now,
    }),
    now,
  };

  // Clients and users given in the configuration are created or updated at start.
  for (const [i, input] of config.clients.entries()) {
    const existing = await storage.clients.get(input.client_id);
    const client = await clientFromInput(input, secrets, {
      development: config.development,
      now: now(),
      prefix: `clients[${i}]`,
      ...(existing ? { existing } : {}),
    });
    await storage.clients.put(client);
  }
  for (const input of config.users) await putUser(storage.users, passwords, input, now());

  const base = new URL(config.issuer).pathname.replace(/\/$/, '');

  async function dispatch(request: HttpRequest, info: RequestInfo = {}): Promise<Reply> {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return new Reply(400, { 'content-type': 'text/plain; charset=utf-8' }, 'bad request');
    }
    const ctx: RequestContext = {
      request,
      url,
      requestId: requestId(),
      remoteAddress: info.remoteAddress ?? 'unknown',
    };
    const path = url.pathname.startsWith(base) ? url.pathname.slice(base.length) : url.pathname;
    try {
      const route =
        ROUTES[path] ?? (path.startsWith('/interaction/') ? handleInteraction : undefined);
      if (!route) {
        return errorPage(
          engine,
          ctx,
          new OAuthError('invalid_request', `no such page: ${url.pathname}`, { status: 404 }),
        );
      }
      return await route(engine, ctx);
    } catch (err) {
      return toResponse(
        engine,
        ctx,
        err,
        path === '/v1/oauth/authorize' ||
          path.startsWith('/interaction/') ||
          path === '/v1/oauth/logout'
          ? 'page'
          : 'json',
      );
    }
  }

  return {
    handle: async (request, info) => (await dispatch(request, info)).toResponse(),
    dispatch,
    config,
    storage,
    keys,
    endpoints: engine.endpoints,
    close: () => storage.close(),
  };
}
