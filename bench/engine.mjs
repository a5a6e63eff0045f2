#!/usr/bin/env node
/**
 * Where Gatehouse's CPU goes on a signed-in login, without HTTP: the engine alone.
 *
 *   node bench/engine.mjs             # 3000 logins per round, 5 rounds, SQLite, JWT access tokens
 *   node bench/engine.mjs --help
 *
 * The provider runs in this process on SQLite in a temporary directory, configured like the
 * provider of run.mjs (same client, PKCE S256, EdDSA ID tokens). Each login is the authorization
 * request of a browser that is signed in and has consented, then the code exchange, both handed
 * to `provider.dispatch` as plain request objects. Codes are made in batches and then exchanged,
 * as in run.mjs's path (b), so the two steps are measured apart.
 *
 * For each step it reports the process's CPU per operation (`process.cpuUsage()`) and, inside
 * it, the time spent in the parts the design requires: the Ed25519 signatures
 * (`provider.keys.sign`), the code's storage in SQLite (saved, consumed) and the session read.
 * What is left is the engine's own JavaScript and Node's crypto (HMAC, SHA-2). The parts are
 * timed by wrapping `keys.sign` and better-sqlite3's statements (wall clock; they run
 * synchronously on this thread), so they cost the same here as in the server. Logins run one at
 * a time, so each write is alone in its turn of the event loop and is committed on its own (no
 * group commit). Medians over the rounds.
 *
 * The figures are the floor that run.mjs's figures sit on: run.mjs adds HTTP (node:http, the
 * socket) and the cache misses of sharing two cores with the load generator.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildWorkspace,
  CLIENT_ID,
  CLIENT_SECRET,
  GATEHOUSE_CLIENTS_AND_USERS,
  REDIRECT_URI,
  timeGatehouseParts,
  USERNAME,
} from './client.mjs';

const HELP = `usage: node bench/engine.mjs [options]

  -n, --ops N           logins per round (default 3000)
  --rounds N            rounds (default 5); medians are reported
  --batch N             codes made before they are exchanged (default 200)
  --access-tokens jwt|opaque   Gatehouse's access token format (default jwt)
  --no-build            do not run \`tsc -b\` first
  -h, --help`;

function options() {
  const { values } = parseArgs({
    options: {
      ops: { type: 'string', short: 'n', default: '3000' },
      rounds: { type: 'string', default: '5' },
      batch: { type: 'string', default: '200' },
      'access-tokens': { type: 'string', default: 'jwt' },
      'no-build': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const int = (name) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) {
      console.error(`--${name} must be a positive integer\n\n${HELP}`);
      process.exit(2);
    }
    return n;
  };
  const accessTokens = values['access-tokens'];
  if (accessTokens !== 'jwt' && accessTokens !== 'opaque') {
    console.error(`--access-tokens must be jwt or opaque\n\n${HELP}`);
    process.exit(2);
  }
  const batch = int('batch');
  return {
    ops: Math.ceil(int('ops') / batch) * batch,
    rounds: int('rounds'),
    batch,
    accessTokens,
    build: !values['no-build'],
  };
}

const opts = options();
if (opts.build) buildWorkspace();

const { createProvider } = await import(
  new URL('../packages/provider/dist/index.js', import.meta.url).href
);

const ISSUER = 'http://127.0.0.1:9000';
const dir = mkdtempSync(join(os.tmpdir(), 'gatehouse-engine-bench-'));
const provider = await createProvider({
  config: {
    issuer: ISSUER,
    storage: { sqlite: join(dir, 'gh.db') },
    ...GATEHOUSE_CLIENTS_AND_USERS,
    accessTokenFormat: opts.accessTokens,
  },
  secret: randomBytes(32).toString('base64url'),
});

// The timed parts: wall time (ns) spent in each, as in gatehouse-server.mjs under run.mjs --split.
const spent = timeGatehouseParts(provider);

// A signed-in browser that has consented, per session: what the login and consent pages leave
// behind, written directly (the pages are not what this measures).
const user = await provider.storage.users.findByUsername(USERNAME);
const sessions = [];
for (let i = 0; i < 32; i++) {
  const id = randomBytes(32).toString('base64url');
  const now = Date.now();
  await provider.storage.sessions.put({
    id,
    sub: user.sub,
    authTime: now,
    clients: [],
    createdAt: now,
    expiresAt: now + 24 * 3600_000,
  });
  sessions.push(id);
}
await provider.storage.consents.put(user.sub, CLIENT_ID, ['openid'], Date.now());

const BASIC = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
const discovery = JSON.parse(
  (await provider.dispatch(request('GET', `${ISSUER}/.well-known/openid-configuration`, {}))).body,
);

/** A request as the Node adapter hands it to the engine. */
function request(method, url, headers, body = '') {
  return {
    method,
    url,
    headers: {
      get: (name) => headers[name.toLowerCase()] ?? null,
      has: (name) => headers[name.toLowerCase()] !== undefined,
    },
    text: async () => body,
  };
}

async function authorize(i) {
  const verifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    state: randomBytes(16).toString('base64url'),
    nonce: randomBytes(16).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const reply = await provider.dispatch(
    request('GET', `${discovery.authorization_endpoint}?${query}`, {
      cookie: `gatehouse.session=${sessions[i % sessions.length]}`,
    }),
    { remoteAddress: '127.0.0.1' },
  );
  const location = reply.headers.get('location');
  const code = location && new URL(location).searchParams.get('code');
  if (reply.status !== 302 || !code) {
    throw new Error(`authorize: ${reply.status} ${location ?? reply.body?.slice(0, 200)}`);
  }
  return { code, verifier };
}

async function exchange(grant) {
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code: grant.code,
    redirect_uri: REDIRECT_URI,
    code_verifier: grant.verifier,
  }).toString();
  const reply = await provider.dispatch(
    request(
      'POST',
      discovery.token_endpoint,
      {
        authorization: BASIC,
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': String(body.length),
      },
      body,
    ),
    { remoteAddress: '127.0.0.1' },
  );
  if (reply.status !== 200) throw new Error(`token: ${reply.status} ${reply.body?.slice(0, 200)}`);
}

/** Runs `ops` logins in batches; returns µs per operation for each step and part. */
async function round(ops) {
  const steps = { authorize: newTally(), token: newTally() };
  for (let done = 0; done < ops; done += opts.batch) {
    const grants = [];
    await measure(steps.authorize, async () => {
      for (let i = 0; i < opts.batch; i++) grants.push(await authorize(done + i));
    });
    await measure(steps.token, async () => {
      for (const grant of grants) await exchange(grant);
    });
  }
  for (const tally of Object.values(steps)) {
    for (const key of Object.keys(tally)) tally[key] /= ops;
  }
  return steps;
}

function newTally() {
  return { cpu: 0, sign: 0, codeSave: 0, codeConsume: 0, sessionGet: 0, commit: 0, otherSql: 0 };
}

async function measure(tally, work) {
  const before = { ...spent };
  const cpu = process.cpuUsage();
  await work();
  const used = process.cpuUsage(cpu);
  tally.cpu += used.user + used.system;
  for (const key of Object.keys(spent)) tally[key] += (spent[key] - before[key]) / 1000;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

process.stderr.write(`warming up (${opts.ops} logins)…\n`);
await round(opts.ops);
const rounds = [];
for (let r = 1; r <= opts.rounds; r++) {
  process.stderr.write(`round ${r}/${opts.rounds}…\n`);
  rounds.push(await round(opts.ops));
}
await provider.close();
rmSync(dir, { recursive: true, force: true });

const cpus = os.cpus();
console.log(`Gatehouse engine alone (provider.dispatch, no HTTP) — ${new Date().toISOString()}`);
console.log(
  `node ${process.version}, ${cpus[0]?.model.trim() ?? 'unknown CPU'} × ${cpus.length}, SQLite, ${opts.accessTokens} access tokens, Ed25519 by ${provider.keys.ed25519Backend}`,
);
console.log(
  `${opts.ops} logins per round, ${opts.rounds} rounds (medians), codes exchanged in batches of ${opts.batch}\n`,
);
const fmt = (v) => v.toFixed(1).padStart(9);
const med = (step, key) => median(rounds.map((r) => r[step][key]));
const lines = [
  ['CPU (user + system)', 'cpu'],
  ['  Ed25519 signatures', 'sign'],
  ['  code saved (SQLite)', 'codeSave'],
  ['  code consumed (SQLite)', 'codeConsume'],
  ['  session read (SQLite)', 'sessionGet'],
  ['  group commits (SQLite)', 'commit'],
  ['  other SQL', 'otherSql'],
];
console.log(`${'µs per operation'.padEnd(28)}${'authorize'.padStart(9)}  ${'token'.padStart(9)}`);
const rest = { authorize: med('authorize', 'cpu'), token: med('token', 'cpu') };
for (const [label, key] of lines) {
  console.log(`${label.padEnd(28)}${fmt(med('authorize', key))}  ${fmt(med('token', key))}`);
  if (key !== 'cpu') {
    rest.authorize -= med('authorize', key);
    rest.token -= med('token', key);
  }
}
console.log(`${'  the rest (engine, HMAC…)'.padEnd(28)}${fmt(rest.authorize)}  ${fmt(rest.token)}`);
console.log(
  `\nround by round, CPU µs per token request: ${rounds.map((r) => r.token.cpu.toFixed(0)).join(', ')}`,
);
