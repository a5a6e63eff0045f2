/**
 * The example's settings from the environment. Every default is the demo's (`npm start`), so
 * that with no variable set the app talks to the demo provider as its `demo-web` client.
 *
 * | variable | default |
 * |---|---|
 * | `GATEHOUSE_ISSUER` | `http://localhost:9000` |
 * | `GATEHOUSE_CLIENT_ID` | `demo-web` |
 * | `GATEHOUSE_CLIENT_SECRET` | for `demo-web`: the file `.gatehouse/demo-client-secret` that the demo writes |
 * | `PORT` | `3000` |
 * | `APP_BASE_URL` | `http://localhost:<PORT>` |
 * | `APP_SECRET` | random at each start (sessions end when the app stops) |
 *
 * The file is relative to the working directory (the repository root under `npm run`).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const DEFAULT_ISSUER = 'http://localhost:9000';
export const DEMO_CLIENT_ID = 'demo-web';
/** Written by `gatehouse start --demo` (what `npm start` runs). */
export const DEMO_CLIENT_SECRET_FILE = '.gatehouse/demo-client-secret';
const MIN_SECRET_LENGTH = 32;

export interface ExampleSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  baseUrl: string;
  port: number;
  /** The session cookie's key. */
  secret: string;
  /** Where the client secret and the session key came from, for the start-up lines. */
  sources: { clientSecret: string; secret: string };
}

/** A setting is missing or wrong: `lines` say which, and how to fix it. */
export class SettingsError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
    this.name = 'SettingsError';
  }
}

type Env = Record<string, string | undefined>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined) return 3000;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65_535) {
    throw new SettingsError([`PORT: "${raw}" is not a port number (0-65535)`]);
  }
  return port;
}

function parseUrl(name: string, raw: string, rootOnly: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SettingsError([`${name}: "${raw}" is not an absolute URL`]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SettingsError([`${name}: "${raw}" must be an http or https URL`]);
  }
  if (rootOnly && (url.pathname !== '/' || url.search || url.hash)) {
    throw new SettingsError([
      `${name}: "${raw}" must be an origin such as http://localhost:3000 (the example serves at the root)`,
    ]);
  }
  // An issuer is compared character for character: kept as given.
  return rootOnly ? url.origin : raw;
}

function readSecretFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SettingsError([
      `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    ]);
  }
}

/**
 * The settings, from `env` and the demo's secret file under `cwd`.
 *
 * @throws SettingsError naming the variable at fault and how to set it.
 */
export function settingsFromEnv(env: Env, cwd: string): ExampleSettings {
  const issuer = parseUrl(
    'GATEHOUSE_ISSUER',
    nonEmpty(env, 'GATEHOUSE_ISSUER') ?? DEFAULT_ISSUER,
    false,
  );
  const clientId = nonEmpty(env, 'GATEHOUSE_CLIENT_ID') ?? DEMO_CLIENT_ID;
  const port = parsePort(nonEmpty(env, 'PORT'));
  const baseUrl = parseUrl(
    'APP_BASE_URL',
    nonEmpty(env, 'APP_BASE_URL') ?? `http://localhost:${port}`,
    true,
  );

  let clientSecret = nonEmpty(env, 'GATEHOUSE_CLIENT_SECRET');
  let clientSecretSource = 'GATEHOUSE_CLIENT_SECRET';
  if (clientSecret === undefined) {
    // Only the demo client's secret is in the demo's file: another client's would not be.
    const fromFile =
      clientId === DEMO_CLIENT_ID
        ? readSecretFile(resolve(cwd, DEMO_CLIENT_SECRET_FILE))
        : undefined;
    if (fromFile === undefined) {
      throw new SettingsError(
        clientId === DEMO_CLIENT_ID
          ? [
              `GATEHOUSE_CLIENT_SECRET is not set, and there is no ${DEMO_CLIENT_SECRET_FILE} in ${cwd} to read the demo client's secret from.`,
              'Run "npm start" once (it starts the demo provider, which creates that file), or set',
              'GATEHOUSE_CLIENT_SECRET to the secret of the client GATEHOUSE_CLIENT_ID names.',
            ]
          : [
              `GATEHOUSE_CLIENT_SECRET is not set: give the secret of the client "${clientId}"`,
              `(what "gatehouse clients add --id ${clientId} --type web" printed).`,
            ],
      );
    }
    clientSecret = fromFile;
    clientSecretSource = DEMO_CLIENT_SECRET_FILE;
  }

  let secret = nonEmpty(env, 'APP_SECRET');
  let secretSource = 'APP_SECRET';
  if (secret === undefined) {
    secret = randomBytes(32).toString('base64url');
    secretSource = 'a random key made at start-up (sessions end when the app stops)';
  } else if (secret.length < MIN_SECRET_LENGTH) {
    throw new SettingsError([
      `APP_SECRET: must be at least ${MIN_SECRET_LENGTH} characters of random (e.g. openssl rand -base64 32), or unset for a key made at each start`,
    ]);
  }

  return {
    issuer,
    clientId,
    clientSecret,
    baseUrl,
    port,
    secret,
    sources: { clientSecret: clientSecretSource, secret: secretSource },
  };
}
