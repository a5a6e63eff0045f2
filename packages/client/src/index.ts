/**
 * @gatehouse/client — the relying-party toolkit. Web-standard APIs only (fetch, crypto.subtle,
 * URL): runs on Node.js, Deno, Bun, workers and browsers.
 */
export * from './authorize.js';
export * from './callback.js';
export * from './client.js';
export * from './discovery.js';
export * from './errors.js';
export * from './events.js';
export * from './id-token.js';
export * from './jwks.js';
export * from './token.js';
export * from './transactions.js';
