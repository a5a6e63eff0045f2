/**
 * node-runtime.ts for browsers, put in its place by the package.json `browser` field (Vite,
 * webpack, esbuild, Rollup's node-resolve): no Node fast paths, and not a single `node:`
 * specifier in a browser bundle. Same exports, always the Web-standard paths.
 */
import type { Send, SendResult, VerifyEd25519 } from './node-runtime.js';

export type { Send, SendResult, VerifyEd25519 };

/** The request did not complete (response body included) within its time. */
export class SendTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`no complete answer within ${timeoutMs} ms`);
    this.name = 'SendTimeout';
  }
}

export const onNode = false;

export function nodeRuntime(): Promise<undefined> {
  return Promise.resolve(undefined);
}

export function loadedNodeRuntime(): undefined {
  return undefined;
}

export const defaultSend: Send | undefined = undefined;
