/** `startExampleApp`: the example app on Node.js (`@hono/node-server`), on a port of its own. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
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

export const DEFAULT_PORT = 3000;

/**
 * Listens first (a port already in use fails at once, before any request to the provider), then
 * builds the app; until it is built, requests get 503.
 *
 * @throws the listening error (`EADDRINUSE`, `EACCES`); what `createApp` throws.
 */
export async function startExampleApp(options: StartExampleAppOptions): Promise<StartedExampleApp> {
  const { port = DEFAULT_PORT, host = 'localhost', baseUrl, ...appOptions } = options;
  let app: Hono | undefined;
  const server = createServer(
    getRequestListener((request) =>
      app
        ? app.fetch(request)
        : new Response('starting\n', { status: 503, headers: { 'retry-after': '1' } }),
    ),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
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
    app = (await createApp({ ...appOptions, baseUrl: url })).app;
  } catch (err) {
    await close();
    throw err;
  }
  return { url, port: actualPort, close };
}
