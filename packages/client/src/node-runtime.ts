/**
 * Node.js fast paths for the two costly parts of a callback, used only when the toolkit runs on
 * Node.js itself (Deno, Bun, workers and browsers keep the Web-standard paths):
 *
 * - back-channel requests over `node:http` / `node:https` (their global agents, keep-alive)
 *   instead of `fetch` — unless the application passes its own `fetch`;
 * - the `at_hash` digest from `node:crypto` instead of `crypto.subtle.digest`.
 *
 * Why: on Node, `fetch` (undici with its Request/Response/Headers objects and web streams) costs
 * about 250 µs of CPU per token request where `node:http` costs about 40, and
 * `crypto.subtle.digest` costs 25–50 µs for the SHA-512 of an access token (a threadpool round
 * trip) where `node:crypto` costs 4. See docs/performance.md, "Client toolkit: cost per callback".
 *
 * The Node modules are imported on first use, by a specifier that bundlers do not follow, so a
 * bundle for the browser or a worker never contains them. The request path keeps every guarantee
 * of the fetch path in http.ts: one timeout for the whole exchange, body included; the size cap
 * checked on Content-Length and again while the body arrives; redirects never followed.
 */

/** What a `Send` returns: the answer, or undefined when its body is larger than `maxBytes`. */
export interface SendResult {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** A request without `fetch`; rejects with `SendTimeout` when `timeoutMs` runs out. */
export type Send = (
  url: string | URL,
  init: RequestInit,
  limits: { timeoutMs: number; maxBytes: number },
) => Promise<SendResult | undefined>;

/** The request did not complete (response body included) within its time. */
export class SendTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`no complete answer within ${timeoutMs} ms`);
    this.name = 'SendTimeout';
  }
}

// The few members of node:http, node:https and node:crypto used here (the package is typed
// with the DOM library only, not @types/node).
interface NodeIncomingMessage {
  statusCode?: number;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  on(event: 'data', listener: (chunk: Uint8Array) => void): this;
  on(event: 'end' | 'close', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}
interface NodeClientRequest {
  on(event: 'error', listener: (error: Error) => void): this;
  end(body?: Uint8Array): void;
  destroy(error?: Error): void;
}
interface NodeHttp {
  request(
    url: URL,
    options: { method: string; headers: Record<string, string> },
    callback: (res: NodeIncomingMessage) => void,
  ): NodeClientRequest;
}
interface NodeCrypto {
  createHash(algorithm: string): { update(data: Uint8Array): { digest(): Uint8Array } };
}

interface NodeRuntime {
  send: Send;
  digest(algorithm: 'SHA-256' | 'SHA-512', data: Uint8Array): Uint8Array;
}

/**
 * Whether this is Node.js itself. Deno, Bun and edge runtimes provide `process.versions.node`
 * too, but also a `navigator` naming themselves; Node has none before v21 and `Node.js/…` since.
 */
export const onNode: boolean = (() => {
  const g = globalThis as {
    process?: { versions?: { node?: unknown } };
    navigator?: { userAgent?: unknown };
  };
  if (typeof g.process?.versions?.node !== 'string') return false;
  const agent = g.navigator?.userAgent;
  return agent === undefined || (typeof agent === 'string' && agent.startsWith('Node.js/'));
})();

// Held in variables so that bundlers leave these imports alone.
const HTTP = 'node:http';
const HTTPS = 'node:https';
const CRYPTO = 'node:crypto';

let runtime: Promise<NodeRuntime | undefined> | undefined;
let loaded: NodeRuntime | undefined;

/** The Node fast paths; undefined elsewhere (or if the modules cannot be loaded). */
export function nodeRuntime(): Promise<NodeRuntime | undefined> {
  runtime ??= onNode
    ? load().then((node) => {
        loaded = node;
        return node;
      })
    : Promise.resolve(undefined);
  return runtime;
}

/** The Node fast paths once loaded (no await needed); undefined before and elsewhere. */
export function loadedNodeRuntime(): NodeRuntime | undefined {
  return loaded;
}

async function load(): Promise<NodeRuntime | undefined> {
  try {
    const [http, https, crypto] = (await Promise.all([
      import(/* webpackIgnore: true */ /* @vite-ignore */ HTTP),
      import(/* webpackIgnore: true */ /* @vite-ignore */ HTTPS),
      import(/* webpackIgnore: true */ /* @vite-ignore */ CRYPTO),
    ])) as [NodeHttp, NodeHttp, NodeCrypto];
    const algorithms = { 'SHA-256': 'sha256', 'SHA-512': 'sha512' } as const;
    return {
      send: sender(http, https),
      digest: (algorithm, data) => crypto.createHash(algorithms[algorithm]).update(data).digest(),
    };
  } catch {
    return undefined;
  }
}

/**
 * On Node, the `Send` the client uses when the application gives no `fetch`; undefined
 * elsewhere. Loads the Node modules on its first request.
 */
export const defaultSend: Send | undefined = onNode
  ? (url, init, limits) =>
      loaded
        ? loaded.send(url, init, limits)
        : nodeRuntime().then((node) => {
            if (!node) throw new TypeError('node:http could not be loaded');
            return node.send(url, init, limits);
          })
  : undefined;

const encoder = new TextEncoder();

function requestBody(body: RequestInit['body']): Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return encoder.encode(body);
  if (body instanceof URLSearchParams) return encoder.encode(body.toString());
  if (body instanceof Uint8Array) return body;
  throw new TypeError('only string, URLSearchParams and Uint8Array bodies are sent');
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function sender(http: NodeHttp, https: NodeHttp): Send {
  return (url, init, { timeoutMs, maxBytes }) =>
    new Promise<SendResult | undefined>((resolve, reject) => {
      const target = typeof url === 'string' ? new URL(url) : url;
      const module =
        target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined;
      if (!module) {
        reject(new TypeError(`${target.protocol} URLs are not supported`));
        return;
      }
      if (target.username || target.password) {
        // fetch refuses them too; node:http would turn them into an Authorization header.
        reject(new TypeError('URLs with credentials are not supported'));
        return;
      }
      // Validated and lower-cased as fetch would; fetch's own default user-agent kept.
      const headers: Record<string, string> = { 'user-agent': 'node' };
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      const body = requestBody(init.body);
      if (body !== undefined) headers['content-length'] = String(body.byteLength);

      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let req: NodeClientRequest | undefined;
      const settle = (outcome: () => void, destroy = false) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
        // A connection whose answer was not read to its end cannot be reused.
        if (destroy) req?.destroy();
      };
      timer = setTimeout(() => settle(() => reject(new SendTimeout(timeoutMs)), true), timeoutMs);
      try {
        req = module.request(target, { method: init.method ?? 'GET', headers }, (res) => {
          if (Number(res.headers['content-length']) > maxBytes) {
            settle(() => resolve(undefined), true);
            return;
          }
          const chunks: Uint8Array[] = [];
          let total = 0;
          res.on('data', (chunk) => {
            total += chunk.byteLength;
            if (total > maxBytes) settle(() => resolve(undefined), true);
            else chunks.push(chunk);
          });
          res.on('end', () => {
            settle(() => {
              try {
                const received = new Headers();
                const raw = res.rawHeaders;
                for (let i = 0; i + 1 < raw.length; i += 2) received.append(raw[i]!, raw[i + 1]!);
                resolve({
                  status: res.statusCode ?? 0,
                  headers: received,
                  body: concat(chunks, total),
                });
              } catch (error) {
                // A header value fetch would refuse too.
                reject(error);
              }
            });
          });
          res.on('error', (error) => settle(() => reject(error), true));
          // Closed before its end: the connection broke while the body arrived.
          res.on('close', () =>
            settle(() => reject(new Error('the connection closed before the response ended'))),
          );
        });
        req.on('error', (error) => settle(() => reject(error), true));
        req.end(body);
      } catch (error) {
        settle(() => reject(error), true);
      }
    });
}
