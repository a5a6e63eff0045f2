/**
 * Node.js fast paths for the two costly parts of a callback, used only when the toolkit runs on
 * Node.js itself (Deno, Bun, workers and browsers keep the Web-standard paths):
 *
 * - back-channel requests over `node:http` / `node:https` (their global agents, keep-alive)
 *   instead of `fetch` — unless the application passes its own `fetch`;
 * - the `at_hash` digest from `node:crypto` instead of `crypto.subtle.digest`;
 * - Ed25519 signature checks through libsodium, when its binding `sodium-native` (an optional
 *   dependency) is installed and loads: about 50 µs of CPU on the calling thread, where
 *   `crypto.subtle.verify` costs about 115 µs plus a threadpool round trip. Other algorithms, and
 *   Ed25519 without the binding, stay on Web Crypto (jose).
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
  /** Header values by name (any case); repeated headers joined with ", ", as `Headers#get`. */
  headers: { get(name: string): string | null };
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
    options: {
      protocol: string;
      hostname: string;
      port: string;
      path: string;
      method: string;
      headers: Record<string, string>;
    },
    callback: (res: NodeIncomingMessage) => void,
  ): NodeClientRequest;
}
interface NodeCrypto {
  hash(algorithm: string, data: string | Uint8Array, outputEncoding: 'buffer'): Uint8Array;
}
interface NodeBuffer {
  Buffer: { from(text: string, encoding: 'latin1'): Uint8Array };
}

interface SodiumVerify {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, key: Uint8Array): boolean;
}

/**
 * Whether `signature` is a valid Ed25519 signature by the 32-byte `publicKey` of `data`: bytes, or
 * a string of code points below 256 taken one byte each (a JWS signing input is ASCII).
 */
export type VerifyEd25519 = (
  publicKey: Uint8Array,
  signature: Uint8Array,
  data: Uint8Array | string,
) => boolean;

interface NodeRuntime {
  send: Send;
  /** The digest of `data`; a string is hashed as UTF-8. */
  digest(algorithm: 'SHA-256' | 'SHA-512', data: Uint8Array | string): Uint8Array;
  /** libsodium's Ed25519 check; absent when sodium-native is not installed or does not load. */
  verifyEd25519?: VerifyEd25519;
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
const BUFFER = 'node:buffer';
const SODIUM = 'sodium-native';

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
    const [http, https, crypto, buffer] = (await Promise.all([
      import(/* webpackIgnore: true */ /* @vite-ignore */ HTTP),
      import(/* webpackIgnore: true */ /* @vite-ignore */ HTTPS),
      import(/* webpackIgnore: true */ /* @vite-ignore */ CRYPTO),
      import(/* webpackIgnore: true */ /* @vite-ignore */ BUFFER),
    ])) as [NodeHttp, NodeHttp, NodeCrypto, NodeBuffer];
    const algorithms = { 'SHA-256': 'sha256', 'SHA-512': 'sha512' } as const;
    const verifyEd25519 = await sodiumVerify(buffer);
    return {
      send: sender(http, https),
      digest: (algorithm, data) => crypto.hash(algorithms[algorithm], data, 'buffer'),
      ...(verifyEd25519 ? { verifyEd25519 } : {}),
    };
  } catch {
    return undefined;
  }
}

/** libsodium's Ed25519 check, or undefined when sodium-native is not installed or fails to load. */
async function sodiumVerify({ Buffer }: NodeBuffer): Promise<VerifyEd25519 | undefined> {
  let sodium: SodiumVerify;
  try {
    const module = (await import(/* webpackIgnore: true */ /* @vite-ignore */ SODIUM)) as {
      default?: SodiumVerify;
    };
    if (typeof module.default?.crypto_sign_verify_detached !== 'function') return undefined;
    sodium = module.default;
  } catch {
    return undefined;
  }
  // libsodium throws on lengths it cannot use; here those are just signatures that do not verify.
  return (publicKey, signature, data) =>
    publicKey.length === 32 &&
    signature.length === 64 &&
    sodium.crypto_sign_verify_detached(
      signature,
      typeof data === 'string' ? Buffer.from(data, 'latin1') : data,
      publicKey,
    );
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

/** Where node:http sends a URL: the module and the request options (parsed once per URL). */
interface Target {
  module: NodeHttp;
  options: { protocol: string; hostname: string; port: string; path: string };
}

/**
 * The target of `url`; throws TypeError for what fetch would refuse too (other schemes,
 * credentials in the URL). Parsed URLs are kept per string, at most `MAX_TARGETS` of them: a client
 * talks to a handful of endpoints.
 */
function targetOf(
  http: NodeHttp,
  https: NodeHttp,
  cache: Map<string, Target>,
  url: string | URL,
): Target {
  const key = typeof url === 'string' ? url : url.href;
  const known = cache.get(key);
  if (known) return known;
  const parsed = typeof url === 'string' ? new URL(url) : url;
  const module =
    parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
  if (!module) throw new TypeError(`${parsed.protocol} URLs are not supported`);
  // fetch refuses them too; node:http would turn them into an Authorization header.
  if (parsed.username || parsed.password) {
    throw new TypeError('URLs with credentials are not supported');
  }
  const target: Target = {
    module,
    options: {
      protocol: parsed.protocol,
      // node:http wants an IPv6 literal without its brackets.
      hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: parsed.port,
      path: `${parsed.pathname}${parsed.search}`,
    },
  };
  if (cache.size >= MAX_TARGETS) cache.delete(cache.keys().next().value as string);
  cache.set(key, target);
  return target;
}

const MAX_TARGETS = 64;

/** Request headers as node:http takes them: lower-cased names (node:http checks the characters). */
function requestHeaders(init: RequestInit['headers']): Record<string, string> {
  // fetch's own default user-agent kept.
  const headers: Record<string, string> = { 'user-agent': 'node' };
  if (init === undefined) return headers;
  if (Array.isArray(init) || init instanceof Headers) {
    new Headers(init).forEach((value, name) => {
      headers[name] = value;
    });
    return headers;
  }
  for (const [name, value] of Object.entries(init)) {
    // Trimmed, as fetch normalises a header value.
    headers[name.toLowerCase()] = String(value).trim();
  }
  return headers;
}

/** A `get` over node:http's header map (names lower-cased, repeats already joined). */
function headerLookup(received: Record<string, string | string[] | undefined>) {
  return {
    get(name: string): string | null {
      const value = received[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

function sender(http: NodeHttp, https: NodeHttp): Send {
  const targets = new Map<string, Target>();
  return (url, init, { timeoutMs, maxBytes }) =>
    new Promise<SendResult | undefined>((resolve, reject) => {
      let target: Target;
      let headers: Record<string, string>;
      let body: Uint8Array | undefined;
      try {
        target = targetOf(http, https, targets, url);
        headers = requestHeaders(init.headers);
        body = requestBody(init.body);
      } catch (error) {
        reject(error);
        return;
      }
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
        const options = { ...target.options, method: init.method ?? 'GET', headers };
        req = target.module.request(options, (res) => {
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
            settle(() =>
              resolve({
                status: res.statusCode ?? 0,
                headers: headerLookup(res.headers),
                body: concat(chunks, total),
              }),
            );
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
