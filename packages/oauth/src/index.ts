/**
 * @gatehouse/oauth — protocol primitives shared by the Gatehouse provider and client.
 * Web-standard APIs only: runs on Node.js, Deno, Bun, workers and browsers.
 */
export * from './body.js';
export * from './encoding.js';
export * from './errors.js';
export * from './params.js';
export * from './pkce.js';
export * from './seal.js';
