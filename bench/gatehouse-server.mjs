/**
 * Benchmark child: Gatehouse served by its own Node adapter (`startServer`).
 *
 * Started with `child_process.fork`: by run.mjs with argv[2] a directory for the SQLite database,
 * or by client-callback.mjs with argv[2] `--memory` (in-memory storage: the provider's own cost
 * is not what that bench measures, and memory keeps it small on a shared machine). Sends
 * `{ type: 'ready', issuer, ... }` once it listens on 127.0.0.1, then answers the IPC requests of
 * `serveBenchIpc` (CPU usage, profiler, close).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  freePort,
  GATEHOUSE_CLIENTS_AND_USERS,
  serveBenchIpc,
  timeGatehouseParts,
} from './client.mjs';

const dir = process.argv[2];
if (!dir) throw new Error('usage: gatehouse-server.mjs <database directory> | --memory');
const dbPath = dir === '--memory' ? undefined : join(dir, 'gh.db');

const dist = new URL('../packages/provider/dist/', import.meta.url);
const { createProvider } = await import(new URL('index.js', dist).href);
const { startServer } = await import(new URL('node/server.js', dist).href);

let serverErrors = 0;

async function start() {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = await createProvider({
    config: {
      issuer,
      storage: dbPath ? { sqlite: dbPath } : { memory: true },
      ...GATEHOUSE_CLIENTS_AND_USERS,
      // --gatehouse-access-tokens (run.mjs): `jwt` (the default) or `opaque`.
      accessTokenFormat: process.env.GATEHOUSE_BENCH_ACCESS_TOKENS ?? 'jwt',
    },
    // passwords: the default scryptHasher().
    secret: randomBytes(32).toString('base64url'),
  });
  try {
    const server = await startServer(provider, {
      port,
      host: '127.0.0.1',
      onError: (err) => {
        serverErrors++;
        process.stderr.write(`unexpected error: ${err?.stack ?? err}\n`);
      },
    });
    return { provider, server, issuer };
  } catch (err) {
    await provider.close();
    throw err;
  }
}

// The free port can be taken between the probe and the bind: try a few times.
let started;
for (let attempt = 1; !started; attempt++) {
  try {
    started = await start();
  } catch (err) {
    if (err?.code !== 'EADDRINUSE' || attempt >= 5) throw err;
  }
}
const { provider, server, issuer } = started;

// run.mjs --split: time the signatures, the code storage and the session read inside the server.
const parts = process.env.GATEHOUSE_BENCH_SPLIT === '1' ? timeGatehouseParts(provider) : undefined;

serveBenchIpc({
  serverErrors: () => serverErrors,
  parts,
  close: async () => {
    await server.close();
    await provider.close();
  },
});

process.send?.({
  type: 'ready',
  issuer,
  name: 'Gatehouse',
  detail: `${dbPath ? `SQLite (${dbPath})` : 'memory'}, startServer, ${process.env.GATEHOUSE_BENCH_ACCESS_TOKENS ?? 'jwt'} access tokens, Ed25519 by ${provider.keys.ed25519Backend}`,
  pid: process.pid,
});
