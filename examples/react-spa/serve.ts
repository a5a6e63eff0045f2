/**
 * `npm run example:spa`: builds the SPA with Vite, serves the build with `vite preview` on
 * http://localhost:5173, and starts the example API (api/server.ts) on http://localhost:5174.
 * The provider runs separately (`npm start` starts the demo provider on http://localhost:9000).
 *
 * Settings come from the environment or a `.env` file in examples/react-spa (Vite's rules), the
 * same variables for the SPA and the API: VITE_GATEHOUSE_ISSUER, VITE_GATEHOUSE_CLIENT_ID,
 * VITE_API_URL. Ctrl+C stops both servers.
 */
import { fileURLToPath } from 'node:url';
import { build, loadEnv, preview } from 'vite';
import { startApi } from './api/server.js';

// dist/node/serve.js → the example's directory.
const root = fileURLToPath(new URL('../../', import.meta.url));
const SPA_ORIGIN = 'http://localhost:5173';

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

async function providerAnswers(issuer: string): Promise<boolean> {
  try {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(2000),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const env = { ...loadEnv('production', root, 'VITE_') };
  const issuer = env['VITE_GATEHOUSE_ISSUER'] || 'http://localhost:9000';
  const clientId = env['VITE_GATEHOUSE_CLIENT_ID'] || 'demo-spa';
  const apiUrl = new URL(env['VITE_API_URL'] || 'http://localhost:5174');

  if (!(await providerAnswers(issuer))) {
    process.stderr.write(
      `warning: the provider ${issuer} does not answer. Start it first (npm start runs the demo provider), or set VITE_GATEHOUSE_ISSUER.\n`,
    );
  }

  await build({ root, logLevel: 'warn' });

  const api = await startApi({
    issuer,
    clientIds: [clientId],
    allowedOrigins: [SPA_ORIGIN],
    port: Number(apiUrl.port || 80),
    host: apiUrl.hostname,
  }).catch((err: NodeJS.ErrnoException) =>
    fail(
      err.code === 'EADDRINUSE'
        ? `${apiUrl.origin} is in use: stop what listens there, or set VITE_API_URL`
        : `the API could not start: ${err.message}`,
    ),
  );
  const web = await preview({ root, logLevel: 'warn' }).catch((err: Error) => {
    void api.close();
    return fail(`the SPA could not be served on ${SPA_ORIGIN}: ${err.message}`);
  });

  process.stdout.write(
    [
      `SPA: ${SPA_ORIGIN}   (client ${clientId} of ${issuer})`,
      `API: ${api.url}/api/hello   (accepts access tokens of ${issuer} issued to ${clientId})`,
      `Open ${SPA_ORIGIN} and sign in (demo user: demo / gatehouse-demo). Ctrl+C stops.`,
      '',
    ].join('\n'),
  );

  const stop = () => {
    void Promise.all([api.close(), web.close()]).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await main();
