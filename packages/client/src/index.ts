/**
 * @gatehouse/client — the relying-party toolkit. Web-standard APIs only (fetch, crypto.subtle,
 * URL): runs on Node.js, Deno, Bun, workers and browsers.
 */
export * from './errors.js';
