/**
 * @gatehouse/web/kit — the Web-standard pieces every Gatehouse server adapter shares, for the
 * adapters themselves (@gatehouse/express builds on them): the options' checks and defaults, the
 * client's options, the tokens a session keeps, where a logout goes, the `returnTo` rule, the
 * error page, Cookie header parsing and `Set-Cookie` serialising, and the session cookie (its
 * JSON, its chunks) whatever seals it. Not the application API — that is `@gatehouse/web` and
 * `@gatehouse/express`.
 */
export {
  type ClientAdapterOptions,
  clientOptionsOf,
  logoutLocation,
  logRefreshFailed,
  tokensOf,
  transactionStoreOf,
} from './lib/adapter-client.js';
export {
  COOKIE_NAME,
  parseCookieHeader,
  serializeCookie,
} from './lib/cookies.js';
export {
  describeError,
  ERROR_PAGE_STYLE,
  type ErrorPageContent,
  errorPageCspFor,
  errorPageHeaders,
  escapeHtml,
  renderErrorPage,
} from './lib/error-page.js';
export type { GatehouseBaseOptions, Routes } from './lib/options.js';
export { MAX_RETURN_TO, safeReturnTo } from './lib/return-to.js';
export {
  CHUNK_BYTES,
  MAX_CHUNKS,
  SessionCookie,
  type SessionCookieJar,
  type SessionCookieOptions,
  type SessionRecord,
  type SessionTokens,
  sessionFromJson,
  sessionToJson,
  sessionTokensFromJson,
} from './lib/session-cookie.js';
export {
  type AdapterOptions,
  checkSettings,
  invalidOption,
  type Settings,
} from './lib/settings.js';
