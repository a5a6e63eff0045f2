/**
 * The React SPA example, served for real: a Gatehouse provider over HTTP with a `spa` client
 * registered for the SPA's origin (CORS on token, userinfo and revocation for that origin only),
 * the example's API server (api/server.ts), and the SPA itself from Vite's dev server — React's
 * development build, so `StrictMode` runs every effect twice, as it does while an app is written.
 *
 * Every server listens on port 0. The SPA's server listens first (its origin goes into the
 * client's registration), then the provider (its issuer goes into the SPA), then the API, then
 * Vite is attached to the SPA's server in middleware mode, with the issuer and the API's URL in
 * its environment (`VITE_GATEHOUSE_ISSUER`, `VITE_GATEHOUSE_CLIENT_ID`, `VITE_API_URL`, as the
 * example's README says). The SPA imports the packages' build (`dist`, as an application gets
 * them): run `npm run build` first, like the other example tests.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer as createViteServer, type ViteDevServer } from 'vite';
import { startApi } from '../../examples/react-spa/api/server.js';
import { createNodeHandler } from '../../packages/provider/src/node/server.js';
import { createProvider, type Provider } from '../../packages/provider/src/provider.js';
import { scryptHasher } from '../../packages/provider/src/users/passwords.js';
import { SECRET, seededMemoryStorage, USER } from '../support/harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = join(ROOT, 'examples/react-spa');

export const SPA_CLIENT_ID = 'spa';
/** A user who never consents to the SPA anywhere else in the suite: the consent page asks. */
export const NEW_USER = { username: 'carol', password: 'carol password 123' } as const;

/** Why the SPA cannot be served, or undefined when it can. */
export const noSpaBuild: string | undefined = ['packages/client/dist', 'packages/react/dist'].find(
  (dir) => !existsSync(join(ROOT, dir, 'index.js')),
)
  ? 'the packages are not built (npm run build)'
  : undefined;

export interface SpaWorld {
  /** `http://127.0.0.1:<port>`: the provider (its own host, so its cookies are its own). */
  issuer: string;
  /** `http://localhost:<port>`: the SPA's origin (a secure context, as Web Crypto needs). */
  spa: string;
  /** The example API's origin. */
  api: string;
  provider: Provider;
  /** The provider's discovery document. */
  metadata: {
    token_endpoint: string;
    revocation_endpoint: string;
    end_session_endpoint: string;
    authorization_endpoint: string;
  };
  close(): Promise<void>;
}

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Runs `make` with the given `VITE_*` variables in `process.env`, then restores them. */
async function withEnv<T>(vars: Record<string, string>, make: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await make();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export async function startSpaWorld(): Promise<SpaWorld> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    // 1. The SPA's server, answering once Vite is attached.
    let spaHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
    const spaServer = createServer((req, res) => {
      if (spaHandler) spaHandler(req, res);
      else res.writeHead(503).end();
    });
    const spa = `http://localhost:${await listen(spaServer, '127.0.0.1')}`;
    closers.push(() => closeServer(spaServer));

    // 2. The provider, with the SPA as a public `spa` client.
    const providerServer = createServer();
    const issuer = `http://127.0.0.1:${await listen(providerServer, '127.0.0.1')}`;
    closers.push(() => closeServer(providerServer));
    const provider = await createProvider({
      storage: await seededMemoryStorage(),
      secret: SECRET,
      passwords: scryptHasher({ logN: 10 }),
      config: {
        issuer,
        storage: { memory: true },
        clients: [
          {
            client_id: SPA_CLIENT_ID,
            type: 'spa',
            client_name: 'React SPA example',
            redirect_uris: [`${spa}/callback`],
            post_logout_redirect_uris: [`${spa}/`],
            allowed_origins: [spa],
          },
        ],
        users: [
          {
            ...USER,
            claims: { name: 'Alice Example', email: 'alice@example.com', email_verified: true },
          },
          { ...NEW_USER, claims: { name: 'Carol Example', email: 'carol@example.com' } },
        ],
      },
    });
    providerServer.on('request', createNodeHandler(provider));
    const metadata = (await (
      await fetch(`${issuer}/.well-known/openid-configuration`)
    ).json()) as SpaWorld['metadata'];

    // 3. The example's resource server, for the SPA's origin and client.
    const api = await startApi({
      issuer,
      clientIds: [SPA_CLIENT_ID],
      allowedOrigins: [spa],
      port: 0,
      host: '127.0.0.1',
    });
    closers.push(() => api.close());

    // 4. The SPA from Vite's dev server, with the example's own config file.
    const cacheDir = mkdtempSync(join(tmpdir(), 'gatehouse-spa-vite-'));
    closers.push(async () => rmSync(cacheDir, { recursive: true, force: true }));
    const vite: ViteDevServer = await withEnv(
      {
        VITE_GATEHOUSE_ISSUER: issuer,
        VITE_GATEHOUSE_CLIENT_ID: SPA_CLIENT_ID,
        VITE_API_URL: api.url,
        VITE_SILENT_LOGIN: 'false',
      },
      () =>
        createViteServer({
          root: EXAMPLE,
          configFile: join(EXAMPLE, 'vite.config.ts'),
          mode: 'development',
          logLevel: 'warn',
          cacheDir,
          appType: 'spa',
          // The packages pre-bundled, as an application's dependencies from npm are.
          optimizeDeps: { include: ['@gatehouse/react', '@gatehouse/client'] },
          // Vite's client connects to its WebSocket on the SPA's own server; no file watching, so
          // nothing reloads the pages while the tests run (others may edit the sources).
          server: { middlewareMode: true, ws: { server: spaServer }, watch: null },
        }),
    );
    closers.push(() => vite.close());
    spaHandler = (req, res) =>
      vite.middlewares(req, res, () => {
        res.writeHead(404).end();
      });
    // Transform the app's modules (and optimise React) before the first page asks for them.
    await vite.warmupRequest('/src/main.tsx');

    return { issuer, spa, api: api.url, provider, metadata, close };
  } catch (err) {
    await close();
    throw err;
  }
}
