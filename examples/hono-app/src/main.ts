#!/usr/bin/env node
/**
 * `npm run example:hono`: the example app, configured by the environment (see `env.ts`; the
 * defaults are the demo's). The provider must already be running.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ExampleSettings, SettingsError, settingsFromEnv } from './env.js';
import { type StartedExampleApp, startExampleApp } from './server.js';

export interface MainIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  cwd: string;
  /** Stops the app like SIGINT does (for embedding and tests). */
  signal?: AbortSignal;
}

/** Resolves on SIGINT, SIGTERM or `signal`. */
function waitForStop(signal?: AbortSignal): Promise<string> {
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

/** Why the app could not start: one cause, one fix, no stack trace, no secret. */
export function startFailure(err: unknown, issuer: string): string[] {
  if (err instanceof SettingsError) return err.lines;
  const { code, hint, message } = (typeof err === 'object' && err !== null ? err : {}) as {
    code?: unknown;
    hint?: unknown;
    message?: unknown;
  };
  const text = typeof message === 'string' ? message : String(err);
  if (code === 'EADDRINUSE') {
    return [`${text}: is another app already running?`, 'Stop it, or set PORT.'];
  }
  if (code === 'network_error' || code === 'network_timeout') {
    return [
      `cannot reach the provider at ${issuer}: ${text} (${code})`,
      'Start it first ("npx gatehouse start --demo" starts the demo provider), or set GATEHOUSE_ISSUER.',
    ];
  }
  const lines = [typeof code === 'string' ? `${text} (${code})` : text];
  if (typeof hint === 'string') lines.push(hint);
  return lines;
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
      onError: (err) => {
        const { code, message } = (typeof err === 'object' && err !== null ? err : {}) as {
          code?: unknown;
          message?: unknown;
        };
        stderr.write(
          `example app: ${typeof code === 'string' ? code : 'unexpected'}: ${typeof message === 'string' ? message : String(err)}\n`,
        );
      },
    });
  } catch (err) {
    const issuer = settings?.issuer ?? env['GATEHOUSE_ISSUER'] ?? '';
    stderr.write(`error: ${startFailure(err, issuer).join('\n')}\n`);
    return 1;
  }
  stdout.write(`
Gatehouse example app (examples/hono-app, Hono on Node.js) is running.

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
