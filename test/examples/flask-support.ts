/**
 * Support for the tests of examples/flask-app: a real provider over HTTP with the Flask app
 * registered as a confidential `web` client (JAR required, the default), and the app itself,
 * spawned with Debian's Python in a clean environment.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type StartedServer, startServer } from '../../packages/provider/src/node/server.js';
import { createProvider } from '../../packages/provider/src/provider.js';
import { scryptHasher } from '../../packages/provider/src/users/passwords.js';
import { SECRET, seededMemoryStorage, USER } from '../support/harness.js';

export const PYTHON = '/usr/bin/python3';
export const APP_DIR = fileURLToPath(new URL('../../examples/flask-app/', import.meta.url));
export const CLIENT_ID = 'flask-app';
export const CLIENT_SECRET = 'flask-client-secret-0123456789-abcdefghijklmn';
const FLASK_SECRET_KEY = 'flask-session-key-0123456789-abcdefghijklmnop';

/** Why the example cannot run here, or undefined when it can. */
export const noFlask: string | undefined =
  spawnSync(PYTHON, ['-c', 'import flask, authlib'], { stdio: 'ignore' }).status === 0
    ? undefined
    : `${PYTHON} cannot import flask and authlib (apt-get install python3-flask python3-authlib)`;

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export interface FlaskProvider {
  /** `http://127.0.0.1:<port>`: another host than the app's, so each side has its own cookies. */
  issuer: string;
  server: StartedServer;
}

/** The provider on a port of its own, with the Flask app at `appBase` registered as a `web` client. */
export async function startFlaskProvider(appBase: string): Promise<FlaskProvider> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const provider = await createProvider({
      storage: await seededMemoryStorage(),
      secret: SECRET,
      passwords: scryptHasher({ logN: 10 }),
      config: {
        issuer: `http://127.0.0.1:${port}`,
        storage: { memory: true },
        clients: [
          {
            client_id: CLIENT_ID,
            type: 'web',
            client_name: 'Flask example',
            client_secret: CLIENT_SECRET,
            redirect_uris: [`${appBase}/callback`],
            post_logout_redirect_uris: [`${appBase}/`],
          },
        ],
        users: [
          {
            ...USER,
            claims: { name: 'Alice Example', email: 'alice@example.com', email_verified: true },
          },
        ],
      },
    });
    try {
      const server = await startServer(provider, { port, host: '127.0.0.1' });
      return { issuer: provider.config.issuer, server };
    } catch (err) {
      // Another process took the port between the probe and the start: try another.
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw err;
    }
  }
}

export interface FlaskApp {
  process: ChildProcess;
  /** Everything the app wrote so far, stdout and stderr. */
  readonly logs: string;
  /** Stops the app (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Spawns the app with Debian's Python on `port`, as `base`, and waits until it answers. */
export async function startFlaskApp(options: {
  issuer: string;
  base: string;
  port: number;
}): Promise<FlaskApp> {
  const child = spawn(PYTHON, ['app.py'], {
    cwd: APP_DIR,
    // A clean environment: no proxy settings, no bytecode files left in the example's folder.
    env: {
      PATH: '/usr/bin:/bin',
      GATEHOUSE_ISSUER: options.issuer,
      GATEHOUSE_CLIENT_ID: CLIENT_ID,
      GATEHOUSE_CLIENT_SECRET: CLIENT_SECRET,
      APP_BASE_URL: options.base,
      PORT: String(options.port),
      FLASK_SECRET_KEY,
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONUNBUFFERED: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    logs += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    logs += chunk.toString();
  });
  const app: FlaskApp = {
    process: child,
    get logs() {
      return logs;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the Flask app exited:\n${logs}`);
    try {
      if ((await fetch(`http://127.0.0.1:${options.port}/`)).ok) return app;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await app.stop();
  throw new Error(`the Flask app did not start:\n${logs}`);
}

export interface FlaskWorld {
  issuer: string;
  /** `http://localhost:<port>`: the app's external URL. */
  base: string;
  provider: FlaskProvider;
  app: FlaskApp;
  close(): Promise<void>;
}

/** The provider, then the Flask app signing in with it. */
export async function startFlaskWorld(): Promise<FlaskWorld> {
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const provider = await startFlaskProvider(base);
  let app: FlaskApp;
  try {
    app = await startFlaskApp({ issuer: provider.issuer, base, port });
  } catch (err) {
    await provider.server.close();
    throw err;
  }
  return {
    issuer: provider.issuer,
    base,
    provider,
    app,
    async close() {
      await app.stop();
      await provider.server.close();
    },
  };
}
