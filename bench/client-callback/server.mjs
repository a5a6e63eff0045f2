/**
 * Child process of bench/client-callback.mjs: the Gatehouse provider both clients talk to.
 *
 * `createProvider` from packages/provider/dist on in-memory storage (the provider's own cost is
 * not what this bench measures; memory storage keeps it small on the shared 2-core machine),
 * served by `startServer` on 127.0.0.1. One `web` client with `client_secret_basic`, EdDSA ID
 * tokens and plain (unsigned) authorization requests, and one user.
 *
 * Sends `{ type: 'ready', issuer, pid }` once it listens, then answers the IPC requests of
 * `serveBenchIpc` (CPU usage, profiler, close).
 */
import { randomBytes } from 'node:crypto';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  freePort,
  PASSWORD,
  REDIRECT_URI,
  serveBenchIpc,
  USERNAME,
} from '../client.mjs';

const dist = new URL('../../packages/provider/dist/', import.meta.url);
const { createProvider } = await import(new URL('index.js', dist).href);
const { startServer } = await import(new URL('node/server.js', dist).href);

let serverErrors = 0;

async function start() {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = await createProvider({
    config: {
      issuer,
      storage: { memory: true },
      clients: [
        {
          client_id: CLIENT_ID,
          type: 'web',
          client_secret: CLIENT_SECRET,
          token_endpoint_auth_method: 'client_secret_basic',
          id_token_signed_response_alg: 'EdDSA',
          // Both clients send plain authorization requests (openid-client does not sign them
          // by default); the callback is what is measured.
          require_signed_request_object: false,
          grant_types: ['authorization_code'],
          redirect_uris: [REDIRECT_URI],
        },
      ],
      users: [{ username: USERNAME, password: PASSWORD }],
    },
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

serveBenchIpc({
  serverErrors: () => serverErrors,
  close: async () => {
    await server.close();
    await provider.close();
  },
});

process.send?.({ type: 'ready', issuer, pid: process.pid });
