#!/usr/bin/env node
/**
 * `npm run example:express`: the example app alone, configured by the environment (see
 * `env.ts`; the defaults are the demo's). The provider must already be running.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ExampleSettings, settingsFromEnv } from './env.js';
import { errorLine, startFailure } from './report.js';
import { type StartedExampleApp, startExampleApp } from './server.js';

export interface MainIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  cwd: string;
  /** Stops the app like SIGINT does (for embedding and tests). */
  signal?: AbortSignal;
}

/** Resolves on SIGINT, SIGTERM or `signal`; a second Ctrl+C gets Node's default (exit at once). */
export function waitForStop(signal?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      signal?.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    const onAbort = () => done('stop requested');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (signal?.aborted) done('stop requested');
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs the app until it is stopped; returns the exit code. Never throws. */
export async function runMain(io: Partial<MainIo> = {}): Promise<number> {
  const { stdout, stderr, env, cwd, signal } = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    ...io,
  };
  let settings: ExampleSettings | undefined;
  let app: StartedExampleApp;
  try {
    settings = settingsFromEnv(env, cwd);
    app = await startExampleApp({
      issuer: settings.issuer,
      clientId: settings.clientId,
      clientSecret: settings.clientSecret,
      baseUrl: settings.baseUrl,
      secret: settings.secret,
      port: settings.port,
      onError: errorLine(stderr),
    });
  } catch (err) {
    const lines = startFailure(err, {
      issuer: settings?.issuer ?? env['GATEHOUSE_ISSUER'] ?? '',
      port: settings?.port ?? 3000,
    });
    stderr.write(`error: ${lines.join('\n')}\n`);
    return 1;
  }
  stdout.write(`
Gatehouse example app (examples/express-app) is running.

  App         ${app.url}  (listening on port ${app.port})
  Provider    ${settings.issuer}, client ${settings.clientId}
  Secrets     client secret from ${settings.sources.clientSecret}; session key from ${settings.sources.secret}

open ${app.url}

Press Ctrl+C to stop.
`);
  const why = await waitForStop(signal);
  stdout.write(`\nStopping (${why})...\n`);
  await app.close();
  stdout.write('Stopped.\n');
  return 0;
}

function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  runMain().then((code) => {
    process.exitCode = code;
  });
}
