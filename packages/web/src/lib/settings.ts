/**
 * The adapter's options, checked once at start-up: every default is here, and every refusal is
 * a `ClientError` `config_invalid` that names the option. The same checks for every adapter
 * (@gatehouse/express adds its session store's).
 */
import { ClientError } from '@gatehouse/client';
import { COOKIE_NAME } from './cookies.js';
import type { Routes } from './options.js';

export const DEFAULT_ROUTES: Routes = {
  login: '/login',
  callback: '/callback',
  logout: '/logout',
  postLogoutRedirect: '/',
};
/** Default scope: `offline_access` brings the refresh token that keeps the session alive. */
export const DEFAULT_SCOPE = 'openid profile email offline_access';
export const DEFAULT_COOKIE_NAME = 'gh_session';
export const DEFAULT_MAX_AGE_SECONDS = 86_400;
export const DEFAULT_REFRESH_SKEW_SECONDS = 60;
export const MIN_SECRET_LENGTH = 32;

export interface Settings {
  /** `baseUrl` without a trailing slash. */
  baseUrl: string;
  /** The origin of `baseUrl`: where `returnTo` paths must lead. */
  origin: string;
  /** The path of `baseUrl` ('' at the root): the routes live under it. */
  basePath: string;
  secure: boolean;
  routes: Routes;
  cookieName: string;
  maxAgeSeconds: number;
  refreshSkewSeconds: number;
  errorPage: boolean;
}

/** The options every adapter has, as given (anything may be wrong with them). */
export interface AdapterOptions {
  baseUrl: string;
  secret: string;
  routes?: Partial<Routes>;
  session?: { cookieName?: string; maxAgeSeconds?: number };
  refreshSkewSeconds?: number;
  errorPage?: boolean;
  onError?: unknown;
}

/** A refusal of `adapter`'s options (`'gatehouseWeb()'`, `'gatehouse()'`). */
export function invalidOption(adapter: string, message: string, hint?: string): ClientError {
  return new ClientError('config_invalid', `${adapter}: ${message}`, hint ? { hint } : {});
}

export function checkSettings(options: AdapterOptions, adapter = 'gatehouseWeb()'): Settings {
  const invalid = (message: string, hint?: string) => invalidOption(adapter, message, hint);
  if (typeof options !== 'object' || options === null) throw invalid('options are required');
  const { secret } = options;
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw invalid(
      `\`secret\` must be a string of at least ${MIN_SECRET_LENGTH} characters`,
      'use a random value, e.g. 32 bytes from a CSPRNG in base64url, kept out of the source code',
    );
  }

  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw invalid(
      '`baseUrl` must be the absolute URL of the application, like https://app.example',
    );
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') {
    throw invalid('`baseUrl` must be an http(s) URL');
  }
  if (base.search || base.hash || base.username || base.password) {
    throw invalid('`baseUrl` must have no query, fragment or credentials');
  }
  const basePath = base.pathname.replace(/\/+$/, '');

  const routes: Routes = { ...DEFAULT_ROUTES, ...options.routes };
  for (const [name, path] of Object.entries(routes)) {
    if (typeof path !== 'string' || !/^\/[\x21-\x7e]*$/.test(path) || /[?#\\]|^\/\//.test(path)) {
      throw invalid(
        `\`routes.${name}\` must be a path starting with "/" (no query, fragment or spaces)`,
      );
    }
  }
  const own = [routes.login, routes.callback, routes.logout];
  if (new Set(own).size !== own.length) {
    throw invalid('`routes.login`, `routes.callback` and `routes.logout` must differ');
  }

  const session = options.session ?? {};
  const cookieName = session.cookieName ?? DEFAULT_COOKIE_NAME;
  const secure = base.protocol === 'https:';
  if (typeof cookieName !== 'string' || !COOKIE_NAME.test(cookieName)) {
    throw invalid('`session.cookieName` must be a cookie name (RFC 6265 token characters)');
  }
  if ((cookieName.startsWith('__Secure-') || cookieName.startsWith('__Host-')) && !secure) {
    throw invalid(`\`session.cookieName\` ${cookieName} needs an https \`baseUrl\``);
  }
  const maxAgeSeconds = session.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  if (!Number.isSafeInteger(maxAgeSeconds) || maxAgeSeconds < 60) {
    throw invalid('`session.maxAgeSeconds` must be a whole number of seconds, at least 60');
  }

  const refreshSkewSeconds = options.refreshSkewSeconds ?? DEFAULT_REFRESH_SKEW_SECONDS;
  if (!Number.isFinite(refreshSkewSeconds) || refreshSkewSeconds < 0) {
    throw invalid('`refreshSkewSeconds` must be a number of seconds, 0 or more');
  }
  const errorPage = options.errorPage ?? true;
  if (typeof errorPage !== 'boolean') throw invalid('`errorPage` must be true or false');
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw invalid('`onError` must be a function');
  }

  return {
    baseUrl: base.origin + basePath,
    origin: base.origin,
    basePath,
    secure,
    routes,
    cookieName,
    maxAgeSeconds,
    refreshSkewSeconds,
    errorPage,
  };
}
