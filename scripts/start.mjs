#!/usr/bin/env node
/**
 * `npm start`: the demo provider (`gatehouse start --demo`, http://localhost:9000) and the example
 * app (examples/express-app, http://localhost:3000) in one process, then "open
 * http://localhost:3000". Ctrl+C stops both (exit 0); a port in use is a clear error (exit 1).
 *
 * Everything the demo keeps (SQLite database, keys, secrets) goes to .gatehouse/ in the working
 * directory. GATEHOUSE_PORT moves the provider (its issuer follows). The app's port is not
 * configurable here: the demo client `demo-web` has exactly one app redirect URI,
 * http://localhost:3000/callback. To run the app elsewhere, use `npm run example:express` with
 * a client of your own.
 *
 * Run it with `npm start` (which builds first): it loads the built packages.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

const root = new URL('../', import.meta.url);
const CLI = new URL('packages/provider/dist/node/cli.js', root);
const DEMO = new URL('packages/provider/dist/node/demo.js', root);
const EXAMPLE = new URL('examples/express-app/dist/index.js', root);
const APP_PORT = 3000;
const APP_URL = `http://localhost:${APP_PORT}`;

function fail(lines) {
  process.stderr.write(`error: ${lines.join('\n')}\n`);
  process.exitCode = 1;
}

/** Resolves true when `port` on localhost can be listened on now. */
function portIsFree(port) {
  return new Promise((resolveFree) => {
    const probe = createServer();
    probe.once('error', () => resolveFree(false));
    probe.listen(port, 'localhost', () => probe.close(() => resolveFree(true)));
  });
}

/** Polls the provider's discovery document until it answers 200. */
async function waitForDiscovery(issuer, stopped) {
  const url = `${issuer}/.well-known/openid-configuration`;
  for (;;) {
    if (stopped()) return false;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.ok) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  for (const file of [CLI, DEMO, EXAMPLE]) {
    if (!existsSync(file)) {
      return fail([
        `${file.pathname.slice(root.pathname.length)} is missing: the packages are not built.`,
        'Run "npm start" (it builds first) or "npm run build".',
      ]);
    }
  }
  const rawPort = process.env.GATEHOUSE_PORT?.trim() || '9000';
  const providerPort = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || providerPort < 1 || providerPort > 65_535) {
    return fail([`GATEHOUSE_PORT: "${rawPort}" is not a port number (1-65535)`]);
  }
  if (providerPort === APP_PORT) {
    return fail([`GATEHOUSE_PORT: ${APP_PORT} is the example app's port; pick another`]);
  }

  const busy = [];
  if (!(await portIsFree(providerPort))) {
    busy.push(`port ${providerPort} (the provider) is already in use on localhost`);
  }
  if (!(await portIsFree(APP_PORT))) {
    busy.push(`port ${APP_PORT} (the example app) is already in use on localhost`);
  }
  if (busy.length > 0) {
    return fail([
      ...busy,
      'Is "npm start" already running in another terminal? Stop it, or whatever uses the port.',
      ...(busy[0].startsWith(`port ${providerPort} `)
        ? ['The provider can move: GATEHOUSE_PORT=9001 npm start']
        : []),
    ]);
  }

  const { runCli } = await import(CLI.href);
  const { DEMO_PASSWORD, DEMO_USERNAME, DEMO_WEB_CLIENT, demoIssuer } = await import(DEMO.href);
  const { errorLine, settingsFromEnv, startExampleApp, startFailure } = await import(EXAMPLE.href);

  // Ctrl+C stops both: this closes the app, and the CLI stops the provider on the same signal
  // (the abort covers a signal that comes before the CLI listens for it).
  const providerStop = new AbortController();
  let app;
  let settings;
  let stopping = false;
  let appClosed;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    appClosed = app ? app.close() : Promise.resolve();
    // After the signal's other listeners, so that the CLI reports the signal it got.
    setImmediate(() => providerStop.abort());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  let providerExited = false;
  const provider = runCli(['start', '--demo', '--port', String(providerPort)], {
    signal: providerStop.signal,
  }).then((code) => {
    providerExited = true;
    return code;
  });

  const issuer = demoIssuer(providerPort);
  const up = await waitForDiscovery(issuer, () => providerExited || stopping);
  if (!up) {
    stop();
    const code = await provider;
    process.exitCode = code === 0 && stopping ? 0 : code || 1;
    return;
  }

  try {
    settings = settingsFromEnv(
      {
        GATEHOUSE_ISSUER: issuer,
        GATEHOUSE_CLIENT_ID: DEMO_WEB_CLIENT,
        APP_BASE_URL: APP_URL,
        PORT: String(APP_PORT),
        APP_SECRET: process.env.APP_SECRET,
      },
      process.cwd(),
    );
    app = await startExampleApp({
      issuer: settings.issuer,
      clientId: settings.clientId,
      clientSecret: settings.clientSecret,
      baseUrl: settings.baseUrl,
      secret: settings.secret,
      port: settings.port,
      onError: errorLine(process.stderr),
    });
  } catch (err) {
    fail(startFailure(err, { issuer, port: APP_PORT }));
    stop();
    await provider;
    process.exitCode = 1;
    return;
  }
  if (stopping) {
    // Ctrl+C while the app was starting.
    await Promise.all([app.close(), provider]);
    return;
  }

  const rule = '='.repeat(76);
  process.stdout.write(`
${rule}
  Gatehouse is running: the provider on ${issuer}
  and the example app on ${app.url}.

      open ${app.url}

  and sign in as "${DEMO_USERNAME}" / "${DEMO_PASSWORD}".

  The app (examples/express-app) is the web client "${DEMO_WEB_CLIENT}" (secret in
  ${settings.sources.clientSecret}): it signs its authorization requests (JAR), and
  /profile shows your ID token's claims.
  Press Ctrl+C to stop both.
${rule}
`);

  // Until Ctrl+C (or the provider stops on its own: then the app stops too).
  const code = await provider;
  stop();
  await appClosed;
  process.stdout.write('The example app stopped too.\n');
  process.exitCode = code;
}

main().catch((err) => {
  fail([err instanceof Error ? err.message : String(err)]);
});
