/**
 * A real HTTP server on loopback for the client's tests (no fetch mocks). A test file calls
 * `useLoopbackServer()` once; each test then registers a fresh path with `serve` and sees the
 * requests that path received, body read in full.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export interface Seen {
  method: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
  /** The body read as an application/x-www-form-urlencoded form. */
  form: Record<string, string>;
}

export interface Route {
  /** `{server}/rN` followed by the path given to `serve`. */
  url: string;
  /** `{server}/rN`: the route's own prefix (an issuer, for a discovery document). */
  prefix: string;
  requests: Seen[];
  /** Answers the next requests with another handler. */
  set(handler: Handler): void;
}

let server: Server;
let base: string;
const routes = new Map<string, { handler: Handler; requests: Seen[] }>();
let routeCount = 0;

/** A fresh path on the test server (`/rN` + `path`) answered by `handler`. */
export function serve(handler: Handler, path = ''): Route {
  const prefix = `/r${++routeCount}`;
  const route = { handler, requests: [] as Seen[] };
  routes.set(prefix + path, route);
  return {
    url: `${base}${prefix}${path}`,
    prefix: `${base}${prefix}`,
    requests: route.requests,
    set: (h) => {
      route.handler = h;
    },
  };
}

/** Answers `status` with `body` as is. */
export function answer(
  status: number,
  body: string,
  headers: Record<string, string> = {},
): Handler {
  return (_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  };
}

/** Answers `status` with `body` as JSON (a string goes as is), typed application/json. */
export function answerJson(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Handler {
  return answer(status, typeof body === 'string' ? body : JSON.stringify(body), {
    'content-type': 'application/json',
    ...headers,
  });
}

/** Starts the loopback server for the calling test file (its beforeAll/afterAll). */
export function useLoopbackServer(): void {
  beforeAll(async () => {
    server = createServer((req, res) => {
      const route = routes.get(req.url ?? '');
      if (!route) {
        res.writeHead(404).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const form = Object.fromEntries(new URLSearchParams(body));
        route.requests.push({ method: req.method, headers: req.headers, body, form });
        route.handler(req, res, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
}
