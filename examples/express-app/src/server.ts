/** `startExampleApp`: the example app on a port of its own, ready to stop. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type ExampleAppOptions } from './app.js';

export interface StartExampleAppOptions extends Omit<ExampleAppOptions, 'baseUrl'> {
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default `localhost`. */
  host?: string;
  /** Default `http://localhost:<the port listened on>`. */
  baseUrl?: string;
}

export interface StartedExampleApp {
  /** The app's external URL (`baseUrl`). */
  url: string;
  /** The port it listens on. */
  port: number;
  /** Stops accepting connections and lets requests in flight finish (up to 5 s). */
  close(): Promise<void>;
}

/** Listening failed: the port is taken (`EADDRINUSE`) or not allowed (`EACCES`). */
export class ListenError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ListenError';
  }
}

export const DEFAULT_PORT = 3000;

/**
 * Listens first (a port already in use fails at once, before any request to the provider), then
 * builds the app; until it is built, requests get 503.
 *
 * @throws ListenError; what `createApp` throws.
 */
export async function startExampleApp(options: StartExampleAppOptions): Promise<StartedExampleApp> {
  const { port = DEFAULT_PORT, host = 'localhost', baseUrl, ...appOptions } = options;
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler) return handler(req, res);
    res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('starting\n');
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = `port ${port} on ${host}`;
      if (err.code === 'EADDRINUSE') {
        reject(new ListenError(`${where} is already in use`, err.code, { cause: err }));
      } else if (err.code === 'EACCES') {
        reject(new ListenError(`not allowed to listen on ${where}`, err.code, { cause: err }));
      } else {
        reject(err);
      }
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve, reject) => {
      const force = setTimeout(() => server.closeAllConnections(), 5000);
      force.unref();
      server.close((err) => {
        clearTimeout(force);
        if (err && (err as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(err);
        else resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };

  const url = (baseUrl ?? `http://localhost:${actualPort}`).replace(/\/$/, '');
  try {
    handler = await createApp({ ...appOptions, baseUrl: url });
  } catch (err) {
    await close();
    throw err;
  }
  return { url, port: actualPort, close };
}
