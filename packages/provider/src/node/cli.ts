#!/usr/bin/env node
/**
 * The `gatehouse` command: start the provider, and manage clients, users and signing keys in the
 * storage a configuration names (no server needed).
 */
import { createPublicKey, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { GatehouseError, randomToken } from '@gatehouse/oauth';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { clientFromInput, isPublic, requiresSignedRequest } from '../clients.js';
import {
  type ClientInput,
  ConfigError,
  configSchema,
  type ProviderConfig,
  parseConfig,
  type UserInput,
} from '../config/schema.js';
import { jsonLogger, type Logger } from '../engine/logger.js';
import { loadKeys, SIGNING_ALGS } from '../keys/keys.js';
import { createSecrets, type Secrets } from '../keys/secrets.js';
import { openStorage } from '../storage/open.js';
import type { Client, SigningAlg, Storage } from '../storage/types.js';
import { scryptHasher } from '../users/passwords.js';
import { putUser } from '../users/users.js';
import {
  DEMO_CLIENT_SECRET_FILE,
  DEMO_DATABASE,
  DEMO_PASSWORD,
  DEMO_SPA_CLIENT,
  DEMO_USERNAME,
  DEMO_WEB_CLIENT,
  type DemoFlow,
  demoConfig,
  demoFlow,
  tokenCurl,
  withDemoPages,
} from './demo.js';
import { startServer } from './server.js';

/** Where the CLI reads and writes. Defaults to the process's own streams, environment and cwd. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  cwd: string;
  /** Read by `users add --password-stdin` (default: the process's stdin). */
  stdin?: AsyncIterable<string | Uint8Array>;
  /** Stops `start` like SIGINT does (for embedding and tests). */
  signal?: AbortSignal;
  /**
   * Opens the storage a configuration names (paths already absolute). Defaults to
   * `openStorage`; tests and embedders can hand in their own.
   */
  openStorage?: (storage: ProviderConfig['storage']) => Storage;
}

const DEFAULT_CONFIG = 'gatehouse.config.json';
const SWEEP_INTERVAL_MS = 60_000;

const USAGE = `Gatehouse: an OpenID Connect identity provider.

Usage:
  gatehouse start [--config FILE] [--port N] [--demo]
      Start the provider. The configuration is FILE, or ${DEFAULT_CONFIG} in the current
      directory. --demo starts a ready-to-try development provider on http://localhost:9000
      (SQLite in ${DEMO_DATABASE}, user "${DEMO_USERNAME}", clients "${DEMO_WEB_CLIENT}" and "${DEMO_SPA_CLIENT}").

  gatehouse clients add --id ID --type web|spa|native|service
        [--redirect-uri URI ...] [--post-logout-redirect-uri URI ...]
        [--secret S] [--auth-method client_secret_basic|client_secret_post|
                                    client_secret_jwt|private_key_jwt|none]
        [--jwks FILE | --jwks-uri URI] [--no-jar] [--require-par]
        [--scope "openid profile ..."] [--alg EdDSA|ES256|RS256]
        [--origin ORIGIN ...] [--name NAME] [--no-pkce]
      Register a client. Confidential clients (web, service) get a generated secret unless
      --secret is given or they use private_key_jwt; it is printed once.
      --jwks FILE registers the public key(s) the client signs with (request objects,
      private_key_jwt): a PEM public key, a JWK or a JWK Set. --jwks-uri names a URL the
      provider fetches them from instead (https).
      Web clients must send signed request objects (JAR) unless --no-jar is given;
      --require-par makes a client push its requests to the PAR endpoint first.
  gatehouse clients list
  gatehouse clients remove ID

  gatehouse users add --username NAME (--password P | --password-stdin) [--claim key=value ...]
      Create a user, or replace the password and claims of an existing one. In --claim,
      true/false become booleans and values starting with { or [ are JSON.
      Prefer --password-stdin: a password on the command line stays in the shell history.
  gatehouse users list
  gatehouse users remove USERNAME

  gatehouse keys list
  gatehouse keys rotate --alg EdDSA|ES256|RS256
      Make a new signing key; the old one is retired but stays in the JWKS. A running server
      signs with the new key after its next restart.

  gatehouse help

Every command except help takes --config FILE (default ${DEFAULT_CONFIG}) or --demo (the demo's
storage). The clients, users and keys commands work on that storage directly: no server needed.
Relative paths in a configuration file are relative to the file.

The provider secret (it encrypts the signing keys at rest) is, in order: "secret" in the
configuration, the GATEHOUSE_SECRET environment variable, or the file "secret" next to the
SQLite database (created at first use, mode 0600). Keep it: keys cannot be read without it.
`;

/** A failure to report as lines (the first is prefixed "error: "), without a stack trace. */
class CliError extends Error {
  constructor(
    readonly lines: string[],
    readonly exitCode = 1,
  ) {
    super(lines.join('\n'));
  }
}

const usageError = (text: string) => new CliError([text, 'Run "gatehouse help" for usage.'], 2);

function defaultIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  };
}

// ---------------------------------------------------------------------------------------------
// Configuration and secrets

interface Loaded {
  config: ProviderConfig;
  /** What to call it in messages: the file name as given, or "the demo configuration". */
  label: string;
  demo: boolean;
  /** The demo's client secret file (absolute), in demo mode. */
  demoSecretFile?: string;
  demoClientSecret?: string;
}

const COMMON_OPTIONS = {
  config: { type: 'string' },
  demo: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

function readJson(file: string, label: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError([
      code === 'ENOENT'
        ? `${label}: no such file`
        : `${label}: cannot be read (${code ?? (err as Error).message})`,
    ]);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError([`${label}: not valid JSON: ${(err as Error).message}`]);
  }
}

/** One line per bad setting, each naming the file (`gatehouse.config.json: issuer: …`). */
function configIssues(label: string, err: ConfigError): CliError {
  return new CliError([
    `${label} is not a valid configuration:`,
    ...err.issues.map((issue) => `  ${label}: ${issue}`),
  ]);
}

/**
 * Reads a secret kept in a file, creating it (32 random bytes, base64url, mode 0600) when it does
 * not exist yet.
 */
function readOrCreateSecret(file: string): { value: string; created: boolean } {
  try {
    return { value: readFileSync(file, 'utf8').trim(), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CliError([`${file}: cannot be read (${(err as NodeJS.ErrnoException).code})`]);
    }
  }
  const value = randomBytes(32).toString('base64url');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      return { value: readFileSync(file, 'utf8').trim(), created: false };
    }
    throw err;
  }
  chmodSync(file, 0o600);
  return { value, created: true };
}

/**
 * Loads the configuration the flags name: the demo's (whose issuer follows `port`), `--config
 * FILE`, or gatehouse.config.json in the working directory.
 */
function loadConfig(values: { config?: string; demo?: boolean }, io: CliIo, port?: number): Loaded {
  if (values.demo && values.config !== undefined) {
    throw usageError('--demo and --config cannot be used together');
  }
  if (values.demo) {
    const database = resolve(io.cwd, DEMO_DATABASE);
    const secretFile = resolve(io.cwd, DEMO_CLIENT_SECRET_FILE);
    const clientSecret = readOrCreateSecret(secretFile).value;
    let config: ProviderConfig;
    try {
      config = parseConfig(
        demoConfig({
          database,
          webClientSecret: clientSecret,
          ...(port === undefined ? {} : { port }),
        }),
      );
    } catch (err) {
      if (err instanceof ConfigError) throw configIssues('the demo configuration', err);
      throw err;
    }
    return {
      config,
      label: 'the demo configuration',
      demo: true,
      demoSecretFile: secretFile,
      demoClientSecret: clientSecret,
    };
  }
  const file = resolve(io.cwd, values.config ?? DEFAULT_CONFIG);
  const label = values.config ?? DEFAULT_CONFIG;
  let input: unknown;
  try {
    input = readJson(file, label);
  } catch (err) {
    if (
      values.config === undefined &&
      err instanceof CliError &&
      err.lines[0]?.endsWith('no such file')
    ) {
      throw new CliError([
        `no configuration: ${DEFAULT_CONFIG} is not in ${io.cwd}`,
        'Pass --config FILE, create the file, or try the demo: gatehouse start --demo',
      ]);
    }
    throw err;
  }
  let config: ProviderConfig;
  try {
    config = parseConfig(input);
  } catch (err) {
    if (err instanceof ConfigError) throw configIssues(label, err);
    throw err;
  }
  // A relative database path is relative to the configuration file, not to where the command
  // runs: the server and the management commands then always open the same database.
  if ('sqlite' in config.storage && config.storage.sqlite !== ':memory:') {
    config = { ...config, storage: { sqlite: resolve(dirname(file), config.storage.sqlite) } };
  }
  return { config, label, demo: false };
}

function isPersistent(config: ProviderConfig): config is ProviderConfig & {
  storage: { sqlite: string };
} {
  return 'sqlite' in config.storage && config.storage.sqlite !== ':memory:';
}

interface ResolvedSecret {
  secret: string;
  /** Where it came from, for the banner. */
  source: string;
}

/**
 * The provider secret: the configuration's `secret`, else GATEHOUSE_SECRET, else the file
 * `secret` next to the SQLite database (created at first use). Storage that does not outlive the
 * process gets a random secret.
 */
function resolveSecret(loaded: Loaded, io: CliIo): ResolvedSecret {
  const { config } = loaded;
  if (config.secret) return { secret: config.secret, source: `"secret" in ${loaded.label}` };
  const fromEnv = io.env['GATEHOUSE_SECRET'];
  if (fromEnv) {
    if (fromEnv.length < 32) {
      throw new CliError(['GATEHOUSE_SECRET: must be at least 32 characters']);
    }
    return { secret: fromEnv, source: 'GATEHOUSE_SECRET' };
  }
  if (!isPersistent(config)) {
    return { secret: randomToken(32), source: 'random, for this process only' };
  }
  const file = join(dirname(config.storage.sqlite), 'secret');
  const { value, created } = readOrCreateSecret(file);
  if (value.length < 32) throw new CliError([`${file}: the secret must be at least 32 characters`]);
  if (!created && process.platform !== 'win32') {
    try {
      if ((statSync(file).mode & 0o077) !== 0) {
        io.stderr.write(`warning: ${file} is readable by other users; run chmod 600 on it\n`);
      }
    } catch {}
  }
  return { secret: value, source: `${displayPath(file, io)}${created ? ' (created now)' : ''}` };
}

function displayPath(file: string, io: CliIo): string {
  const rel = relative(io.cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

function storageLabel(config: ProviderConfig, io: CliIo): string {
  if ('memory' in config.storage) return 'in memory (everything is lost when the process stops)';
  if (config.storage.sqlite === ':memory:') return 'SQLite in memory (lost when the process stops)';
  return `SQLite ${displayPath(config.storage.sqlite, io)}`;
}

function open(loaded: Loaded, io: CliIo): Storage {
  try {
    return (io.openStorage ?? openStorage)(loaded.config.storage);
  } catch (err) {
    throw new CliError([
      `cannot open the storage (${storageLabel(loaded.config, io)}): ${message(err)}`,
    ]);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Opens the storage for a management command, runs `fn`, closes it. */
async function withStorage(
  loaded: Loaded,
  io: CliIo,
  fn: (storage: Storage) => Promise<number>,
): Promise<number> {
  if (!io.openStorage && !isPersistent(loaded.config)) {
    throw new CliError([
      `${loaded.label}: the storage lives in memory, inside the running server; there is nothing to manage from here.`,
      'Put clients and users in the configuration file, or use SQLite storage.',
    ]);
  }
  const storage = open(loaded, io);
  try {
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Output helpers

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

const isoDate = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

// ---------------------------------------------------------------------------------------------
// start

async function waitForStop(signal: AbortSignal | undefined): Promise<string> {
  return new Promise<string>((resolveStop) => {
    const done = (why: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      signal?.removeEventListener('abort', onAbort);
      resolveStop(why);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    const onAbort = () => done('stop requested');
    // `once`: a second Ctrl+C while shutting down gets Node's default (exit at once).
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (signal?.aborted) done('stop requested');
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function demoBanner(flow: DemoFlow, loaded: Loaded, config: ProviderConfig, io: CliIo): string {
  const secret = loaded.demoClientSecret!;
  const secretFile = displayPath(loaded.demoSecretFile!, io);
  const curl = tokenCurl(flow, 'PASTE_CODE', `${DEMO_WEB_CLIENT}:${secret}`);
  const minutes = Math.max(1, Math.round(config.ttl.code / 60));
  return `
Try it:
  1. Open this URL in a browser and sign in as "${DEMO_USERNAME}" / "${DEMO_PASSWORD}":

     ${flow.startUrl}

     It sends you to the authorization endpoint with a freshly signed request object
     (JAR, HS256 with ${DEMO_WEB_CLIENT}'s secret: confidential clients must sign their requests).

  2. You land on ${flow.redirectUri}, which shows the authorization code and
     the command that exchanges it for tokens. Or exchange it yourself (within ${minutes} min):

     ${curl}

  PKCE code_verifier of the demo request: ${flow.codeVerifier}
  (its code_challenge, S256: ${flow.codeChallenge}; state ${flow.state}, nonce ${flow.nonce})

Demo clients:
  ${DEMO_WEB_CLIENT}   web, client_secret_basic, JAR   client_secret ${secret}
             (kept in ${secretFile})
             redirect URIs http://localhost:3000/callback, ${flow.redirectUri}
  ${DEMO_SPA_CLIENT}   spa, public + PKCE          redirect URI http://localhost:5173/callback
             allowed origin http://localhost:5173

Demo user:  username "${DEMO_USERNAME}", password "${DEMO_PASSWORD}"
`;
}

async function start(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { ...COMMON_OPTIONS, port: { type: 'string' } });
  if (values.help) return help(io);
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65_535) {
      throw usageError(`--port: "${values.port}" is not a port number (0-65535)`);
    }
  }
  const loaded = loadConfig(values, io, port);
  const config: ProviderConfig = port === undefined ? loaded.config : { ...loaded.config, port };
  const issuer = new URL(config.issuer);
  if (config.development) {
    io.stderr.write(
      `warning: the issuer ${config.issuer} is http on a loopback host: for development only; use https in production\n`,
    );
    const issuerPort = Number(issuer.port || 80);
    if (config.port !== 0 && issuerPort !== config.port) {
      io.stderr.write(
        `warning: the issuer's port (${issuerPort}) differs from the port the server listens on (${config.port})\n`,
      );
    }
  }

  const { secret, source } = resolveSecret({ ...loaded, config }, io);
  const logger: Logger = jsonLogger('info', { out: io.stdout, err: io.stderr });
  // The engine is loaded only here: the management commands do not need it.
  const { createProvider } = await import('../provider.js');
  const storage = open(loaded, io);
  let provider: Awaited<ReturnType<typeof createProvider>>;
  try {
    provider = await createProvider({ config, storage, secret, logger });
  } catch (err) {
    await storage.close().catch(() => {});
    if (err instanceof ConfigError) throw configIssues(loaded.label, err);
    throw new CliError([`cannot start: ${message(err)}`]);
  }

  let flow: DemoFlow | undefined;
  let target: Parameters<typeof startServer>[0] = provider;
  if (loaded.demo) {
    flow = await demoFlow(config.issuer);
    target = withDemoPages(provider, flow, {
      secretFile: loaded.demoSecretFile!,
      clientSecret: loaded.demoClientSecret!,
      codeLifetimeSeconds: config.ttl.code,
    });
  }

  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(target, {
      port: config.port,
      host: config.host,
      trustProxy: config.trustProxy,
      onError: (err) =>
        logger.error(
          {
            event: 'adapter_error',
            err:
              err instanceof Error
                ? { type: err.name, message: err.message, stack: err.stack }
                : String(err),
          },
          'unexpected failure in the request handler',
        ),
    });
  } catch (err) {
    await provider.close().catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new CliError([
        `port ${config.port} on ${config.host} is already in use; pick another with --port`,
      ]);
    }
    if (code === 'EACCES') {
      throw new CliError([`not allowed to listen on port ${config.port} on ${config.host}`]);
    }
    throw new CliError([`cannot listen on ${config.host}:${config.port}: ${message(err)}`]);
  }

  const sweep = setInterval(() => {
    provider.storage.sweep(Date.now()).catch((err: unknown) => {
      logger.warn({ event: 'sweep_failed', err: message(err) }, 'could not delete expired records');
    });
  }, SWEEP_INTERVAL_MS);
  sweep.unref();

  const [clients, users] = await Promise.all([
    provider.storage.clients.list(),
    provider.storage.users.list(),
  ]);
  io.stdout.write(`
Gatehouse is running${loaded.demo ? ' (demo)' : ''}.

  Issuer      ${config.issuer}
  Discovery   ${provider.endpoints.discovery}
  Listening   ${server.url}
  Storage     ${storageLabel(config, io)}
  Secret      ${source}
  Ed25519     ${provider.keys.ed25519Backend}
  Registered  ${clients.length} client${clients.length === 1 ? '' : 's'}, ${users.length} user${users.length === 1 ? '' : 's'}
${flow ? demoBanner(flow, loaded, config, io) : ''}
Press Ctrl+C to stop.
`);

  const why = await waitForStop(io.signal);
  io.stdout.write(`\nStopping (${why})...\n`);
  clearInterval(sweep);
  try {
    await server.close();
  } finally {
    await provider.close();
  }
  io.stdout.write('Stopped.\n');
  return 0;
}

// ---------------------------------------------------------------------------------------------
// clients

const CLIENT_TYPES = ['web', 'spa', 'native', 'service'] as const;
const AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'none',
];

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw usageError(`${flag}: "${value}" is not one of ${allowed.join(', ')}`);
  }
  return value as T;
}

async function clientsCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'add':
      return clientsAdd(rest, io);
    case 'list': {
      const { values } = parse(rest, COMMON_OPTIONS);
      if (values.help) return help(io);
      const loaded = loadConfig(values, io);
      return withStorage(loaded, io, async (storage) => {
        const clients = await storage.clients.list();
        if (clients.length === 0) {
          io.stdout.write('No clients. Add one with: gatehouse clients add --id ID --type web\n');
          return 0;
        }
        io.stdout.write(
          table(
            ['CLIENT ID', 'TYPE', 'AUTH METHOD', 'JAR', 'PAR', 'KEYS', 'REDIRECT URIS'],
            clients.map((c) => [
              c.client_id,
              c.type,
              c.token_endpoint_auth_method,
              ...requestModes(c),
              c.jwks_uri ?? (c.jwks ? `${c.jwks.keys.length} in jwks` : '-'),
              c.redirect_uris.length > 0 ? c.redirect_uris.join(' ') : '-',
            ]),
          ),
        );
        return 0;
      });
    }
    case 'remove': {
      const { values, positionals } = parse(rest, COMMON_OPTIONS, true);
      if (values.help) return help(io);
      if (positionals.length !== 1) throw usageError('usage: gatehouse clients remove CLIENT_ID');
      const id = positionals[0]!;
      const loaded = loadConfig(values, io);
      return withStorage(loaded, io, async (storage) => {
        if (!(await storage.clients.remove(id))) {
          throw new CliError([`no client "${id}"`]);
        }
        io.stdout.write(`Removed client ${id}.\n`);
        if (loaded.config.clients.some((c) => c.client_id === id)) {
          io.stdout.write(
            `Note: ${id} is defined in ${loaded.label}; it is created again at the next start unless you delete it there.\n`,
          );
        }
        return 0;
      });
    }
    default:
      throw usageError(
        sub === undefined
          ? 'gatehouse clients: add, list or remove?'
          : `unknown command: clients ${sub}`,
      );
  }
}

/** The JAR and PAR columns of `clients list`: required, optional, or "-" where not applicable. */
function requestModes(client: Client): [string, string] {
  if (client.type === 'service') return ['-', '-'];
  const jar = isPublic(client) ? '-' : requiresSignedRequest(client) ? 'required' : 'optional';
  return [jar, client.require_pushed_authorization_requests ? 'required' : 'optional'];
}

/**
 * Reads the public key(s) a client registers: a PEM public key (SPKI), a JWK, or a JWK Set.
 * Keys without a `kid` get their RFC 7638 thumbprint as one. A private key is refused.
 */
async function readClientJwks(
  file: string,
  io: CliIo,
): Promise<{ keys: Record<string, unknown>[] }> {
  const path = resolve(io.cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError([`--jwks: cannot read ${file}: ${message(err)}`]);
  }
  let keys: Record<string, unknown>[];
  if (text.trimStart().startsWith('-----BEGIN')) {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
      throw new CliError([
        `--jwks: ${file} holds a private key; register the public key only (openssl pkey -in ${file} -pubout)`,
      ]);
    }
    try {
      keys = [createPublicKey(text).export({ format: 'jwk' }) as Record<string, unknown>];
    } catch (err) {
      throw new CliError([`--jwks: ${file} is not a PEM public key: ${message(err)}`]);
    }
  } else {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new CliError([
        `--jwks: ${file} is neither a PEM public key nor JSON (a JWK or JWK Set)`,
      ]);
    }
    const isObject = typeof value === 'object' && value !== null;
    keys =
      isObject && Array.isArray((value as { keys?: unknown }).keys)
        ? (value as { keys: Record<string, unknown>[] }).keys
        : [value as Record<string, unknown>];
  }
  for (const key of keys) {
    if (
      typeof key === 'object' &&
      key !== null &&
      key['kid'] === undefined &&
      key['d'] === undefined
    ) {
      try {
        key['kid'] = await calculateJwkThumbprint(key as JWK);
      } catch {
        // Left without a kid: the validation that follows names what is wrong with the key.
      }
    }
  }
  return { keys };
}

async function clientsAdd(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    ...COMMON_OPTIONS,
    id: { type: 'string' },
    type: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    secret: { type: 'string' },
    'auth-method': { type: 'string' },
    'jwks-uri': { type: 'string' },
    jwks: { type: 'string' },
    'no-jar': { type: 'boolean' },
    'require-par': { type: 'boolean' },
    scope: { type: 'string' },
    alg: { type: 'string' },
    origin: { type: 'string', multiple: true },
    name: { type: 'string' },
    'no-pkce': { type: 'boolean' },
  });
  if (values.help) return help(io);
  if (!values.id) throw usageError('clients add: --id is required');
  const type = oneOf('--type', values.type, CLIENT_TYPES);
  if (!type) throw usageError('clients add: --type is required (web, spa, native or service)');
  const authMethod = oneOf('--auth-method', values['auth-method'], AUTH_METHODS) as
    | ClientInput['token_endpoint_auth_method']
    | undefined;
  const alg = oneOf('--alg', values.alg, SIGNING_ALGS);

  const confidential = type === 'web' || type === 'service';
  const usesSecret =
    confidential && (authMethod === undefined || authMethod.startsWith('client_secret'));
  const generated = usesSecret && values.secret === undefined ? randomToken(32) : undefined;
  const input: ClientInput = {
    client_id: values.id,
    type,
    redirect_uris: values['redirect-uri'] ?? [],
    post_logout_redirect_uris: values['post-logout-redirect-uri'] ?? [],
    allowed_origins: values.origin ?? [],
  };
  const secret = values.secret ?? generated;
  if (secret !== undefined) input.client_secret = secret;
  if (authMethod !== undefined) input.token_endpoint_auth_method = authMethod;
  if (values['jwks-uri'] !== undefined) input.jwks_uri = values['jwks-uri'];
  if (values.jwks !== undefined) input.jwks = await readClientJwks(values.jwks, io);
  if (values['no-jar']) input.require_signed_request_object = false;
  if (values['require-par']) input.require_pushed_authorization_requests = true;
  if (values.scope !== undefined) input.scope = values.scope;
  if (alg !== undefined) input.id_token_signed_response_alg = alg;
  if (values.name !== undefined) input.client_name = values.name;
  if (values['no-pkce']) input.require_pkce = false;

  const loaded = loadConfig(values, io);
  const secrets = await providerSecrets(loaded, io);
  return withStorage(loaded, io, async (storage) => {
    if (await storage.clients.get(values.id!)) {
      throw new CliError([
        `client "${values.id}" already exists; remove it first (gatehouse clients remove ${values.id})`,
      ]);
    }
    let client: Awaited<ReturnType<typeof clientFromInput>>;
    try {
      client = await clientFromInput(input, secrets, {
        development: loaded.config.development,
        now: Date.now(),
        prefix: 'client',
      });
    } catch (err) {
      if (err instanceof ConfigError) {
        throw new CliError([
          `cannot add client "${values.id}":`,
          ...err.issues.map((i) => `  ${i}`),
        ]);
      }
      throw err;
    }
    await storage.clients.put(client);
    io.stdout.write(
      `Added ${client.type} client ${client.client_id} (${client.token_endpoint_auth_method}).\n`,
    );
    if (generated !== undefined) {
      io.stdout.write(
        `\nclient_secret: ${generated}\n\nStore it now; it cannot be shown again (only a hash of it is kept).\n`,
      );
    }
    return 0;
  });
}

async function providerSecrets(loaded: Loaded, io: CliIo): Promise<Secrets> {
  // Storage that lives in memory (or an injected store) still needs a stable secret only
  // within this one command.
  return createSecrets(resolveSecret(loaded, io).secret);
}

// ---------------------------------------------------------------------------------------------
// users

const userSchema = configSchema.shape.users.unwrap().element;

function claimValue(key: string, raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw.startsWith('{') || raw.startsWith('[')) {
    try {
      return JSON.parse(raw);
    } catch (err) {
      throw usageError(`--claim ${key}: not valid JSON: ${message(err)}`);
    }
  }
  return raw;
}

async function readAll(stream: AsyncIterable<string | Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

async function usersCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'add':
      return usersAdd(rest, io);
    case 'list': {
      const { values } = parse(rest, COMMON_OPTIONS);
      if (values.help) return help(io);
      const loaded = loadConfig(values, io);
      return withStorage(loaded, io, async (storage) => {
        const users = await storage.users.list();
        if (users.length === 0) {
          io.stdout.write(
            'No users. Add one with: gatehouse users add --username NAME --password-stdin\n',
          );
          return 0;
        }
        const text = (v: unknown) =>
          typeof v === 'string' ? v : v === undefined ? '-' : JSON.stringify(v);
        io.stdout.write(
          table(
            ['USERNAME', 'SUB', 'NAME', 'EMAIL', 'CREATED'],
            users.map((u) => [
              u.username,
              u.sub,
              text(u.claims['name']),
              text(u.claims['email']),
              isoDate(u.createdAt),
            ]),
          ),
        );
        return 0;
      });
    }
    case 'remove': {
      const { values, positionals } = parse(rest, COMMON_OPTIONS, true);
      if (values.help) return help(io);
      if (positionals.length !== 1) throw usageError('usage: gatehouse users remove USERNAME');
      const username = positionals[0]!;
      const loaded = loadConfig(values, io);
      return withStorage(loaded, io, async (storage) => {
        const user = await storage.users.findByUsername(username);
        if (!user || !(await storage.users.remove(user.sub))) {
          throw new CliError([`no user "${username}"`]);
        }
        io.stdout.write(`Removed user ${user.username} (sub ${user.sub}).\n`);
        if (loaded.config.users.some((u) => u.username.toLowerCase() === user.username)) {
          io.stdout.write(
            `Note: ${user.username} is defined in ${loaded.label}; it is created again at the next start unless you delete it there.\n`,
          );
        }
        return 0;
      });
    }
    default:
      throw usageError(
        sub === undefined
          ? 'gatehouse users: add, list or remove?'
          : `unknown command: users ${sub}`,
      );
  }
}

async function usersAdd(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    ...COMMON_OPTIONS,
    username: { type: 'string' },
    password: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    claim: { type: 'string', multiple: true },
  });
  if (values.help) return help(io);
  if (!values.username) throw usageError('users add: --username is required');
  if (values.password !== undefined && values['password-stdin']) {
    throw usageError('users add: give --password or --password-stdin, not both');
  }
  const claims: Record<string, unknown> = {};
  for (const pair of values.claim ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usageError(`--claim: "${pair}" is not key=value`);
    const key = pair.slice(0, eq);
    if (key === 'sub') throw usageError('--claim: "sub" is assigned by the provider');
    claims[key] = claimValue(key, pair.slice(eq + 1));
  }
  let password = values.password;
  if (values['password-stdin']) {
    const stdin = io.stdin ?? process.stdin;
    // One trailing line break is the end of input, not part of the password.
    password = (await readAll(stdin)).replace(/\r?\n$/, '');
  }
  if (password === undefined) {
    throw usageError('users add: give the password with --password-stdin (or --password)');
  }
  const parsed = userSchema.safeParse({ username: values.username, password, claims });
  if (!parsed.success) {
    throw new CliError([
      `cannot add user "${values.username}":`,
      ...parsed.error.issues.map((i) => `  ${i.path.join('.') || 'user'}: ${i.message}`),
    ]);
  }
  const input: UserInput = parsed.data;
  const loaded = loadConfig(values, io);
  return withStorage(loaded, io, async (storage) => {
    const existing = await storage.users.findByUsername(input.username);
    const user = await putUser(storage.users, scryptHasher(), input, Date.now());
    io.stdout.write(
      existing
        ? `Updated user ${user.username} (sub ${user.sub}): password and claims replaced.\n`
        : `Added user ${user.username} (sub ${user.sub}).\n`,
    );
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------
// keys

async function keysCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'list' && sub !== 'rotate') {
    throw usageError(
      sub === undefined ? 'gatehouse keys: list or rotate?' : `unknown command: keys ${sub}`,
    );
  }
  const { values } = parse(rest, { ...COMMON_OPTIONS, alg: { type: 'string' } });
  if (values.help) return help(io);
  let alg: SigningAlg | undefined;
  if (sub === 'rotate') {
    alg = oneOf('--alg', values.alg, SIGNING_ALGS);
    if (!alg) throw usageError('keys rotate: --alg is required (EdDSA, ES256 or RS256)');
  } else if (values.alg !== undefined) {
    throw usageError('keys list: --alg is only for keys rotate');
  }
  const loaded = loadConfig(values, io);
  const secrets = await providerSecrets(loaded, io);
  return withStorage(loaded, io, async (storage) => {
    // Loading generates the keys a fresh database does not have yet, as `start` would, and
    // proves the secret can decrypt the ones it has.
    let keys: Awaited<ReturnType<typeof loadKeys>>;
    try {
      keys = await loadKeys(storage.keys, secrets);
    } catch (err) {
      throw new CliError([message(err)]);
    }
    if (alg) {
      const fresh = await keys.rotate(alg);
      io.stdout.write(
        `New ${alg} signing key ${fresh.kid} is active. The previous ${alg} key is retired and stays in the JWKS, so tokens it signed still verify.\nRestart the server to sign with the new key.\n`,
      );
      return 0;
    }
    const stored = await storage.keys.list();
    io.stdout.write(
      table(
        ['KID', 'ALG', 'STATUS', 'CREATED'],
        stored.map((k) => [k.kid, k.alg, k.status, isoDate(k.createdAt)]),
      ),
    );
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------
// Entry point

function parse<O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw usageError(message(err));
  }
}

function help(io: CliIo): number {
  io.stdout.write(USAGE);
  return 0;
}

/**
 * Runs the `gatehouse` command line with `argv` (without `node` and the script) and returns the
 * exit code. Never throws and never prints a stack trace for expected failures.
 */
export async function runCli(argv: string[], io: Partial<CliIo> = {}): Promise<number> {
  const full: CliIo = { ...defaultIo(), ...io };
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await start(rest, full);
      case 'clients':
        return await clientsCommand(rest, full);
      case 'users':
        return await usersCommand(rest, full);
      case 'keys':
        return await keysCommand(rest, full);
      case 'help':
      case '--help':
      case '-h':
        return help(full);
      case undefined:
        full.stderr.write(USAGE);
        return 2;
      default:
        full.stderr.write(`unknown command: ${command}\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof CliError) {
      full.stderr.write(`error: ${err.lines.join('\n')}\n`);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      full.stderr.write(`${err.issues.map((i) => `error: ${i}`).join('\n')}\n`);
      return 1;
    }
    // Unexpected: the message only. GATEHOUSE_DEBUG=1 shows the stack for bug reports.
    const detail =
      full.env['GATEHOUSE_DEBUG'] && err instanceof Error
        ? (err.stack ?? err.message)
        : message(err);
    const code = err instanceof GatehouseError ? ` (${err.code})` : '';
    full.stderr.write(`error${code}: ${detail}\n`);
    return 1;
  }
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
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`error: ${message(err)}\n`);
      process.exitCode = 1;
    },
  );
}
