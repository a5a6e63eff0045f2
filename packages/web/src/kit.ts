/**
 * @gatehouse/web/kit — the Web-standard pieces every Gatehouse server adapter shares, for the
 * adapters themselves (@gatehouse/express builds on them): the `returnTo` rule, and more as they
 * are shared. Not the application API — that is `@gatehouse/web` and `@gatehouse/express`.
 */
export { MAX_RETURN_TO, safeReturnTo } from './lib/return-to.js';
