#!/usr/bin/env node
/**
 * Gatehouse vs oidc-provider: server CPU per signed-in login and per code exchange.
 *
 *   node bench/run.mjs            # 2000 operations per path per provider, best of 4 rounds
 *   node bench/run.mjs --quick    # 300 operations
 *   node bench/run.mjs --profile  # V8 CPU profiles of the servers instead of figures
 *   node bench/run.mjs --help
 *
 * Each provider runs in its own child process (gatehouse-server.mjs, oidc-provider-server.mjs);
 * this process is the load generator. See bench/README.md for what is measured and how.
 */
import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  authorizeWithSession,
  BenchError,
  browserSignIn,
  buildWorkspace,
  CookieJar,
  discover,
  ErrorLog,
  exchangeCode,
  HttpClient,
  machineJiffies,
  newAuthorizationRequest,
  PASSWORD,
  percentile,
  runPool,
  threadJiffies,
  USERNAME,
  verifyIdToken,
} from './client.mjs';
import { ruleCategory, summarizeProfiles } from './profile-summary.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BENCH = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(BENCH, 'results');
const JIFFY_US = 1_000_000 / 100; // /proc CPU times are in USER_HZ = 100 ticks per second

/** Known figures for oidc-provider on this kind of machine, and the target ratio. */
const REFERENCE = { loginCpuUs: 850, exchangeCpuUs: 380 };
const TARGET_RATIO = 1 / 3;

const PATHS = {
  login: {
    title:
      '(a) signed-in login: authorize (session + grant) → 302 code → token → ID token verified',
    unit: 'logins/s',
    per: 'login',
    referenceCpuUs: REFERENCE.loginCpuUs,
  },
  token: {
    title: '(b) token endpoint alone: code exchange (+ ID token verified, not in latency)',
    unit: 'exchanges/s',
    per: 'exchange',
    referenceCpuUs: REFERENCE.exchangeCpuUs,
  },
};

const PROVIDERS = [
  { key: 'gatehouse', script: 'gatehouse-server.mjs' },
  { key: 'oidcProvider', script: 'oidc-provider-server.mjs' },
];

// ---------------------------------------------------------------------------------------------
// Options

const HELP = `usage: node bench/run.mjs [options]

  --quick               300 operations per phase, 200 warm-up (default 2000 / 1000)
  -n, --ops N           measured operations per path per provider per round
  --warmup N            warm-up operations before each measured phase
  -c, --concurrency N   concurrent clients (default 8)
  --browsers N          browser sessions signed in per phase (default 32, rounded up to a
                        multiple of the concurrency); each client rotates over its own
  --rounds N            rounds (default 4); the round with the lowest server CPU/op is reported
  --batch N             path (b): codes produced per batch before timing their exchange (default 200)
  --max-seconds N       time limit of one phase (default 300; --quick 120)
  --paths a,b           which paths to run: login,token (default both)
  --only NAME           gatehouse or oidc-provider (default both)
  --profile             profile the servers (V8 sampling profiler, main thread) on each path;
                        writes bench/results/profile-*.cpuprofile and prints the hotspots;
                        figures of a profiled run are inflated and not written to latest.json
  --profile-interval US sampling interval of --profile in µs (default 200)
  --split               time, inside the Gatehouse server, the parts its design requires
                        (signatures, code saved and consumed, session read) and report them
                        per operation under its server CPU
  --top N               hotspots listed per profile (default 25)
  --gatehouse-access-tokens=jwt|opaque Gatehouse's access token format (default jwt, its default)
  --oidc-provider-access-tokens=opaque|jwt oidc-provider's (default opaque, its default; jwt turns
                                      on its resourceIndicators feature with RFC 9068 JWT access
                                      tokens signed EdDSA, like Gatehouse's default)
  --gatehouse-node-args="FLAGS"       extra node flags for one child, for experiments, e.g.
  --oidc-provider-node-args="FLAGS"   --gatehouse-node-args="--max-semi-space-size=16" (note the =)
  --no-build            do not run \`tsc -b\` first
  -h, --help`;

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        ops: { type: 'string', short: 'n' },
        warmup: { type: 'string' },
        concurrency: { type: 'string', short: 'c', default: '8' },
        browsers: { type: 'string', default: '32' },
        rounds: { type: 'string' },
        batch: { type: 'string', default: '200' },
        'max-seconds': { type: 'string' },
        paths: { type: 'string', default: 'login,token' },
        only: { type: 'string' },
        profile: { type: 'boolean', default: false },
        split: { type: 'boolean', default: false },
        'profile-interval': { type: 'string', default: '200' },
        top: { type: 'string', default: '25' },
        'no-build': { type: 'boolean', default: false },
        'gatehouse-node-args': { type: 'string', default: '' },
        'gatehouse-access-tokens': { type: 'string', default: 'jwt' },
        'oidc-provider-access-tokens': { type: 'string', default: 'opaque' },
        'oidc-provider-node-args': { type: 'string', default: '' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    console.error(`${err.message}\n\n${HELP}`);
    process.exit(2);
  }
  const { values } = parsed;
  for (const name of ['gatehouse-access-tokens', 'oidc-provider-access-tokens']) {
    if (!['jwt', 'opaque'].includes(values[name])) {
      console.error(`--${name} takes jwt or opaque`);
      process.exit(2);
    }
  }
  // Read by bench/gatehouse-server.mjs and bench/oidc-provider-server.mjs (the forked children
  // inherit the environment).
  process.env.GATEHOUSE_BENCH_ACCESS_TOKENS = values['gatehouse-access-tokens'];
  process.env.GATEHOUSE_BENCH_OP_ACCESS_TOKENS = values['oidc-provider-access-tokens'];
  if (values.split) process.env.GATEHOUSE_BENCH_SPLIT = '1';
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const int = (name, v, min = 1) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      console.error(`--${name} must be an integer ≥ ${min}`);
      process.exit(2);
    }
    return n;
  };
  const quick = values.quick;
  const paths = values.paths
    .split(',')
    .map((p) => ({ a: 'login', b: 'token' })[p.trim()] ?? p.trim());
  for (const p of paths) {
    if (!PATHS[p]) {
      console.error(`unknown path ${p} (login, token)`);
      process.exit(2);
    }
  }
  let providers = PROVIDERS;
  if (values.only) {
    const key = { gatehouse: 'gatehouse', 'oidc-provider': 'oidcProvider' }[values.only];
    if (!key) {
      console.error('--only takes gatehouse or oidc-provider');
      process.exit(2);
    }
    providers = PROVIDERS.filter((p) => p.key === key);
  }
  return {
    quick,
    ops: int('ops', values.ops ?? (quick ? 300 : 2000)),
    warmup: int('warmup', values.warmup ?? (quick ? 200 : 1000), 0),
    concurrency: int('concurrency', values.concurrency),
    browsers: int('browsers', values.browsers),
    rounds: int('rounds', values.rounds ?? (values.profile ? 1 : 4)),
    batch: int('batch', values.batch),
    maxSeconds: int('max-seconds', values['max-seconds'] ?? (quick ? 120 : 300)),
    paths,
    providers,
    profile: values.profile,
    split: values.split,
    profileIntervalUs: int('profile-interval', values['profile-interval']),
    top: int('top', values.top),
    build: !values['no-build'],
    nodeArgs: {
      gatehouse: values['gatehouse-node-args'].split(/\s+/).filter(Boolean),
      oidcProvider: values['oidc-provider-node-args'].split(/\s+/).filter(Boolean),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Child processes

let ipcSeq = 0;

/** Sends a request to a child and resolves with its answer (same `id`). */
function ipc(child, type, extra = {}) {
  const id = ++ipcSeq;
  return new Promise((resolve, reject) => {
    const onMessage = (msg) => {
      if (msg?.id !== id) return;
      cleanup();
      if (msg.error) reject(new Error(msg.error));
      else resolve(msg);
    };
    const onExit = (code) => {
      cleanup();
      reject(new Error(`the server process exited (code ${code}) during '${type}'`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    if (!child.connected) {
      reject(
        new Error(`the server process is gone (exit code ${child.exitCode}) before '${type}'`),
      );
      return;
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ ...extra, type, id }, (err) => {
      if (err) {
        cleanup();
        reject(err);
      }
    });
  });
}

/** Forks a server child; resolves with its `ready` message. Child output goes to our stderr. */
async function startChild(spec, dataDir, nodeArgs = []) {
  const child = fork(join(BENCH, spec.script), [dataDir], {
    cwd: ROOT,
    execArgv: nodeArgs,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const tag = spec.key === 'gatehouse' ? '[gatehouse] ' : '[oidc-provider] ';
  const stderrLines = [];
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (stderrLines.length < 200) stderrLines.push(line);
        process.stderr.write(`${tag}${line}\n`);
      }
    });
  }
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${spec.script} did not start in 60 s`)),
      60_000,
    );
    child.once('message', (msg) => {
      clearTimeout(timer);
      if (msg?.type === 'ready') resolve(msg);
      else
        reject(new Error(`unexpected first message from ${spec.script}: ${JSON.stringify(msg)}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${spec.script} exited with code ${code} before it was ready`));
    });
  });
  return { ...spec, child, ready, stderrLines };
}

// ---------------------------------------------------------------------------------------------
// Measurement

function cpuUs(u) {
  return u.user + u.system;
}

/** A running total of the measured windows of one phase. */
class Meter {
  wallMs = 0;
  serverUserUs = 0;
  serverSystemUs = 0;
  clientUs = 0;
  machineBusyUs = 0;
  serverErrors = 0;
  /** @type {Record<string, number>} */
  threadsUs = {};
  rssBytes = 0;
  /** ns spent in each timed part (--split; Gatehouse only) */
  /** @type {Record<string, number> | undefined} */
  partsNs;

  constructor(server) {
    this.server = server;
  }

  /** Runs `fn` as a measured window: server CPU (IPC), threads (/proc), client CPU, wall time. */
  async measure(fn) {
    const pid = this.server.ready.pid;
    const m0 = machineJiffies();
    const th0 = threadJiffies(pid);
    const s0 = await ipc(this.server.child, 'cpu');
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const result = await fn();
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    const s1 = await ipc(this.server.child, 'cpu');
    const th1 = threadJiffies(pid);
    const m1 = machineJiffies();
    this.wallMs += t1 - t0;
    this.serverUserUs += s1.cpu.user - s0.cpu.user;
    this.serverSystemUs += s1.cpu.system - s0.cpu.system;
    this.clientUs += cpuUs(c1) - cpuUs(c0);
    this.serverErrors += s1.serverErrors - s0.serverErrors;
    this.rssBytes = Math.max(this.rssBytes, s1.rss);
    if (s0.parts && s1.parts) {
      this.partsNs ??= {};
      for (const [name, ns] of Object.entries(s1.parts)) {
        this.partsNs[name] = (this.partsNs[name] ?? 0) + ns - (s0.parts[name] ?? 0);
      }
    }
    if (m0 && m1) this.machineBusyUs += (m1.busy - m0.busy) * JIFFY_US;
    if (th0 && th1) {
      for (const [name, j] of Object.entries(th1)) {
        this.threadsUs[name] = (this.threadsUs[name] ?? 0) + (j - (th0[name] ?? 0)) * JIFFY_US;
      }
    }
    return result;
  }
}

/**
 * Signs in `count` browsers, one after the other (fresh sessions, hence a fresh grant at
 * oidc-provider). Sequential: Gatehouse counts concurrent attempts on one account against its
 * per-account throttle until one of them succeeds.
 */
async function signInBrowsers(client, provider, count) {
  const jars = [];
  for (let i = 0; i < count; i++) {
    const jar = new CookieJar();
    const { url } = newAuthorizationRequest(provider.authorizationEndpoint);
    await browserSignIn(client, jar, url, { username: USERNAME, password: PASSWORD });
    jars.push(jar);
  }
  return jars;
}

/**
 * One phase: fresh HTTP client and browser sessions, warm-up, then the measured operations.
 * `profile`: run the V8 profiler in the server around the measured windows; returns profiles.
 */
async function runPhase(server, provider, path, opts, { profile = false } = {}) {
  const client = new HttpClient({ maxSockets: opts.concurrency });
  const errors = new ErrorLog();
  const meter = new Meter(server);
  const profiles = [];
  const deadline = performance.now() + opts.maxSeconds * 1000;
  const C = opts.concurrency;
  let latencies = [];

  const profiled = async (fn) => {
    if (!profile) return fn();
    await ipc(server.child, 'profile-start', { intervalUs: opts.profileIntervalUs });
    try {
      return await fn();
    } finally {
      profiles.push((await ipc(server.child, 'profile-stop')).profile);
    }
  };

  try {
    // Each client w rotates over its own browsers (never two requests on one browser at once).
    const perClient = Math.max(1, Math.ceil(opts.browsers / C));
    const jars = await signInBrowsers(client, provider, perClient * C);
    const turns = new Array(C).fill(0);
    const jarFor = (w) => jars[w * perClient + (turns[w]++ % perClient)];

    if (path === 'login') {
      const login = async (w) => {
        const t0 = performance.now();
        const grant = await authorizeWithSession(client, jarFor(w), provider);
        const tokens = await exchangeCode(client, provider, grant);
        await verifyIdToken(provider, tokens.id_token, grant.nonce);
        return performance.now() - t0;
      };
      const warmErrors = new ErrorLog();
      await runPool({
        total: opts.warmup,
        concurrency: C,
        task: login,
        deadline,
        errors: warmErrors,
      });
      errors.merge(warmErrors);
      latencies = await profiled(() =>
        meter.measure(() =>
          runPool({ total: opts.ops, concurrency: C, task: login, deadline, errors }),
        ),
      );
    } else {
      // Codes come from path (a)'s authorize step, in batches (oidc-provider's in-memory adapter
      // is an LRU of ~1000 entries and its codes live 60 s: a batch is exchanged right after it
      // is made). Only the exchanges are inside the measured windows.
      const produce = async (n, errs) => {
        const grants = [];
        await runPool({
          total: n,
          concurrency: C,
          deadline,
          errors: errs,
          task: async (w) => {
            grants.push(await authorizeWithSession(client, jarFor(w), provider));
          },
        });
        return grants;
      };
      const exchange = (grants) => async (_w, i) => {
        const grant = grants[i];
        const t0 = performance.now();
        const tokens = await exchangeCode(client, provider, grant);
        const ms = performance.now() - t0;
        await verifyIdToken(provider, tokens.id_token, grant.nonce);
        return ms;
      };
      const batches = async (total, measured) => {
        for (let done = 0; done < total; ) {
          if (performance.now() > deadline) {
            errors.add(
              new BenchError('timeout', 'phase time limit reached before all operations ran'),
            );
            return;
          }
          const n = Math.min(opts.batch, total - done);
          const grants = await produce(n, errors);
          const run = () =>
            runPool({
              total: grants.length,
              concurrency: C,
              task: exchange(grants),
              deadline,
              errors,
            });
          if (measured) latencies.push(...(await profiled(() => meter.measure(run))));
          else await run();
          done += n;
        }
      };
      await batches(opts.warmup, false);
      await batches(opts.ops, true);
    }
  } catch (err) {
    errors.add(err);
  } finally {
    client.close();
  }
  if (meter.serverErrors > 0) {
    for (let i = 0; i < meter.serverErrors; i++) {
      errors.add(
        new BenchError('server', 'the server reported an unexpected error (see its stderr)'),
      );
    }
  }

  const ops = latencies.length;
  const serverUs = meter.serverUserUs + meter.serverSystemUs;
  const threads = {};
  const threadTotal = Object.values(meter.threadsUs).reduce((a, b) => a + b, 0);
  for (const [name, us] of Object.entries(meter.threadsUs)) {
    if (us > 0) threads[name] = round1((100 * us) / (threadTotal || 1));
  }
  const otherUs = Math.max(0, meter.machineBusyUs - serverUs - meter.clientUs);
  return {
    result: {
      ops,
      errors: errors.count,
      errorsByKind: errors.byKind,
      errorSamples: errors.samples,
      wallMs: round1(meter.wallMs),
      throughput: round1(ops / (meter.wallMs / 1000)),
      latencyMs: {
        p50: round2(percentile(latencies, 50)),
        p90: round2(percentile(latencies, 90)),
        p99: round2(percentile(latencies, 99)),
        max: round2(percentile(latencies, 100)),
      },
      serverCpuUsPerOp: round1(serverUs / ops),
      serverUserUsPerOp: round1(meter.serverUserUs / ops),
      serverSystemUsPerOp: round1(meter.serverSystemUs / ops),
      clientCpuUsPerOp: round1(meter.clientUs / ops),
      serverThreadsPct: threads,
      otherProcessesCpuPct: round1((100 * otherUs) / (meter.wallMs * 1000 * os.cpus().length)),
      serverRssMb: round1(meter.rssBytes / 2 ** 20),
      ...(meter.partsNs
        ? {
            serverPartsUsPerOp: Object.fromEntries(
              Object.entries(meter.partsNs).map(([k, ns]) => [k, round1(ns / 1000 / ops)]),
            ),
          }
        : {}),
    },
    profiles,
  };
}

const round1 = (x) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);
const round2 = (x) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);

// ---------------------------------------------------------------------------------------------
// Profiles

const CATEGORY_RULES = [
  [/packages\/provider\/dist\/node\//, 'gatehouse: node adapter'],
  [/packages\/provider\/dist\/storage\//, 'gatehouse: storage adapter (JS)'],
  [/packages\/provider\/dist\//, 'gatehouse: engine'],
  [/packages\/oauth\/dist\//, 'gatehouse: @gatehouse/oauth'],
  [/node_modules\/([^/]+)\//, (m) => `npm: ${m[1]}`],
  [/^node:internal\/deps\/undici/, 'node: undici (Request/Response/Headers)'],
  [/^node:internal\/webstreams/, 'node: web streams'],
  [/^node:internal\/crypto|^node:crypto/, 'node: crypto / WebCrypto'],
  [
    /^node:(_http|http|internal\/http|net|internal\/net|internal\/stream|stream|internal\/streams)/,
    'node: http / net / streams',
  ],
  [/^node:/, 'node: other core'],
  [/bench\//, 'bench harness'],
];

/**
 * The category of a frame. Native frames (no URL: C++ bindings, V8 builtins) take the category of
 * their caller, so that better-sqlite3's `Statement.run` and WebCrypto's `job.run()` are told
 * apart.
 */
function category(frame, caller) {
  const { url, functionName } = frame;
  if (url) return ruleCategory(CATEGORY_RULES, url);
  if (functionName.startsWith('(')) return functionName;
  const c = caller?.url ?? '';
  if (/packages\/provider\/dist\/storage\/sqlite/.test(c))
    return 'SQLite (better-sqlite3 native calls)';
  if (/^node:internal\/crypto/.test(c)) return 'node: crypto / WebCrypto';
  if (!c) return 'native / V8 builtins';
  return ruleCategory(CATEGORY_RULES, c);
}

/** Concatenates profiles (gaps between them removed) into one file DevTools can open. */
function mergeProfiles(profiles) {
  if (profiles.length === 1) return profiles[0];
  const nodes = [];
  const samples = [];
  const timeDeltas = [];
  let t = profiles[0].startTime;
  const root = { id: 1, callFrame: profiles[0].nodes[0].callFrame, hitCount: 0, children: [] };
  nodes.push(root);
  let nextId = 2;
  for (const p of profiles) {
    const map = new Map();
    const rootId = p.nodes[0].id;
    map.set(rootId, 1);
    for (const n of p.nodes) if (n.id !== rootId) map.set(n.id, nextId++);
    for (const n of p.nodes) {
      const children = (n.children ?? []).map((c) => map.get(c));
      if (n.id === rootId) {
        root.hitCount += n.hitCount ?? 0;
        root.children.push(...children);
      } else {
        nodes.push({ ...n, id: map.get(n.id), children });
      }
    }
    for (const s of p.samples) samples.push(map.get(s));
    timeDeltas.push(...p.timeDeltas);
    t += p.endTime - p.startTime;
  }
  return { nodes, startTime: profiles[0].startTime, endTime: t, samples, timeDeltas };
}

function printProfileSummary(name, path, s, top) {
  const line = (e) =>
    `${String(e.pct).padStart(6)}%  ${String(e.samples).padStart(6)}  ${e.fn.slice(0, 60).padEnd(60)}  ${e.where}`;
  console.log(
    `\n${name} — ${PATHS[path].title}\n  ${s.busySamples} busy samples (idle ${s.idleSamples} left out), ${s.profiledMs} ms profiled; main JS thread only`,
  );
  console.log(
    `\n  self time by category\n${s.categories.map((e) => `  ${String(e.pct).padStart(6)}%  ${String(e.samples).padStart(6)}  ${e.fn}`).join('\n')}`,
  );
  console.log(
    `\n  top ${top} functions by self time\n     %    samples  function                                                      location`,
  );
  for (const e of s.topSelf) console.log(`  ${line(e)}`);
  console.log(
    `\n  top functions by total (inclusive) time, Gatehouse and npm code\n     %    samples  function                                                      location`,
  );
  for (const e of s.topTotal) console.log(`  ${line(e)}`);
}

// ---------------------------------------------------------------------------------------------
// Report

function fmt(x, digits = 1) {
  return x === null || x === undefined || Number.isNaN(x) ? '—' : Number(x).toFixed(digits);
}

function ratio(a, b) {
  return a !== null && b !== null && b > 0 ? Math.round((a / b) * 1000) / 1000 : null;
}

/** Gatehouse ÷ oidc-provider server CPU per operation, for each round both ran. */
function pairedRatios(gatehouse = [], oidcProvider = []) {
  const out = [];
  for (const gh of gatehouse) {
    const op = oidcProvider.find((r) => r.round === gh.round);
    if (gh.serverCpuUsPerOp && op?.serverCpuUsPerOp)
      out.push(gh.serverCpuUsPerOp / op.serverCpuUsPerOp);
  }
  return out;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function reportPath(path, gh, op, names) {
  const P = PATHS[path];
  const rows = [
    [P.unit, 'throughput', 1, 'higher is better'],
    ['latency p50 (ms)', 'p50', 2, ''],
    ['latency p99 (ms)', 'p99', 2, ''],
    [`server CPU µs/${P.per}`, 'serverCpuUsPerOp', 0, ''],
    ['  of which user', 'serverUserUsPerOp', 0, ''],
    ['  of which system', 'serverSystemUsPerOp', 0, ''],
    [`client CPU µs/${P.per}`, 'clientCpuUsPerOp', 0, '(load generator, for context)'],
    ['errors', 'errors', 0, ''],
  ];
  const get = (r, k) => {
    if (!r) return null;
    if (k === 'p50' || k === 'p99') return r.latencyMs[k];
    return r[k];
  };
  const w0 = 24;
  const w = 22;
  const out = [];
  out.push(`\n${P.title}`);
  out.push(
    `${''.padEnd(w0)}${names.gatehouse.padStart(w)}${names.oidcProvider.padStart(w)}${'GH / OP'.padStart(10)}`,
  );
  const ratios = {};
  for (const [label, key, digits, note] of rows) {
    const a = get(gh, key);
    const b = get(op, key);
    const r = key === 'errors' ? null : ratio(a, b);
    if (r !== null) ratios[key] = r;
    out.push(
      `${label.padEnd(w0)}${fmt(a, digits).padStart(w)}${fmt(b, digits).padStart(w)}${(r === null ? '' : r.toFixed(3)).padStart(10)}${note ? `  ${note}` : ''}`,
    );
  }
  const cpuRatio = ratios.serverCpuUsPerOp;
  let verdict = null;
  if (cpuRatio !== undefined) {
    verdict = cpuRatio <= TARGET_RATIO;
    out.push(
      `target: Gatehouse server CPU ≤ 1/3 of oidc-provider's → ratio ${cpuRatio.toFixed(3)} ${verdict ? 'MEETS' : 'MISSES'} the target (≤ 0.333)${verdict ? '' : `; Gatehouse needs ≤ ${fmt(op.serverCpuUsPerOp / 3, 0)} µs/${P.per}, a ${fmt(gh.serverCpuUsPerOp / (op.serverCpuUsPerOp / 3), 2)}× cut`}`,
    );
    out.push(
      `reference: oidc-provider is known to spend ~${P.referenceCpuUs} µs/${P.per} on this kind of machine; measured here ${fmt(op.serverCpuUsPerOp, 0)} µs (${fmt(op.serverCpuUsPerOp / P.referenceCpuUs, 2)}× the reference); Gatehouse vs the reference: ${fmt(gh.serverCpuUsPerOp / P.referenceCpuUs, 3)}`,
    );
  }
  const threads = (r) =>
    r
      ? Object.entries(r.serverThreadsPct)
          .map(([k, v]) => `${k} ${v}%`)
          .join(', ')
      : '—';
  out.push(`server CPU by thread: Gatehouse ${threads(gh)} | oidc-provider ${threads(op)}`);
  const parts = gh?.serverPartsUsPerOp;
  if (parts) {
    const named = Object.values(parts).reduce((sum, us) => sum + us, 0);
    out.push(
      `Gatehouse's server CPU split (--split, µs/${P.per}): Ed25519 signatures ${fmt(parts.sign)}, code saved ${fmt(parts.codeSave)}, code consumed ${fmt(parts.codeConsume)}, session read ${fmt(parts.sessionGet)}, group commits ${fmt(parts.commit)}, other SQL ${fmt(parts.otherSql)}; the rest (HTTP, the engine's JavaScript, HMAC, SHA-2, GC) ${fmt(gh.serverCpuUsPerOp - named)}`,
    );
  }
  out.push(
    `other processes on the machine during the measured windows (approx., % of all cores): Gatehouse phase ${fmt(gh?.otherProcessesCpuPct)}%, oidc-provider phase ${fmt(op?.otherProcessesCpuPct)}%`,
  );
  return { text: out.join('\n'), ratios, meetsTarget: verdict };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const opts = options();
  if (opts.build) buildWorkspace();
  if (!existsSync(join(ROOT, 'packages/provider/dist/index.js'))) {
    console.error('packages/provider/dist is missing: run `npx tsc -b` first');
    process.exit(1);
  }

  const dataDir = mkdtempSync(join(os.tmpdir(), 'gatehouse-bench-'));
  const servers = [];
  const cleanup = async () => {
    for (const s of servers) {
      if (s.child.exitCode === null && s.child.signalCode === null) {
        await Promise.race([
          ipc(s.child, 'close').catch(() => {}),
          new Promise((r) => setTimeout(r, 3000)),
        ]);
        if (s.child.exitCode === null) s.child.kill();
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup().finally(() => process.exit(130));
  });

  let failed = false;
  try {
    for (const spec of opts.providers) {
      servers.push(await startChild(spec, dataDir, opts.nodeArgs[spec.key]));
    }
    const setupClient = new HttpClient({ maxSockets: 2 });
    const endpoints = {};
    for (const s of servers) endpoints[s.key] = await discover(setupClient, s.ready.issuer);
    setupClient.close();

    const names = { gatehouse: 'Gatehouse (SQLite)', oidcProvider: 'oidc-provider' };
    const ver = servers.find((s) => s.key === 'oidcProvider')?.ready.version;
    if (ver) names.oidcProvider = `oidc-provider ${ver}`;

    const cpuModel = os.cpus()[0]?.model ?? 'unknown';
    const header = [
      `Gatehouse vs oidc-provider — ${new Date().toISOString()}`,
      `node ${process.version}, ${cpuModel} × ${os.cpus().length} cores, load average at start ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
      `concurrency ${opts.concurrency} (${Math.ceil(opts.browsers / opts.concurrency) * opts.concurrency} browser sessions), ${opts.ops} measured ops per path per provider per round (warm-up ${opts.warmup}), ${opts.rounds} round(s)${opts.rounds > 1 ? ', the round with the lower server CPU/op is reported' : ''}; path (b) batches of ${opts.batch}`,
    ];
    console.log(header.join('\n'));
    if (opts.profile)
      console.log('PROFILE MODE: the V8 profiler runs in the servers; figures are inflated.');
    if (opts.split)
      console.log(
        "SPLIT MODE: Gatehouse's signatures, code storage and session read are timed inside its server (wall time of each call, about 0.1 µs of timing each).",
      );
    for (const s of servers) {
      console.log(`${names[s.key]}: ${s.ready.detail}`);
      const args = opts.nodeArgs[s.key];
      if (args.length > 0) console.log(`NOTE: ${names[s.key]} runs with node ${args.join(' ')}`);
    }

    /** results[path][provider] = [round results] */
    const results = {};
    const profileSummaries = {};
    for (let round = 1; round <= opts.rounds; round++) {
      for (const path of opts.paths) {
        for (const s of servers) {
          process.stderr.write(`round ${round}: ${path} on ${s.key}…`);
          const { result, profiles } = await runPhase(s, endpoints[s.key], path, opts, {
            profile: opts.profile,
          });
          process.stderr.write(
            ` ${result.ops} ops, ${fmt(result.throughput)}/s, ${fmt(result.serverCpuUsPerOp, 0)} µs server CPU/op, ${result.errors} errors\n`,
          );
          for (const e of result.errorSamples) process.stderr.write(`    ${e}\n`);
          results[path] ??= {};
          results[path][s.key] ??= [];
          results[path][s.key].push({ round, ...result });
          if (profiles.length > 0) {
            mkdirSync(RESULTS, { recursive: true });
            const name = s.key === 'gatehouse' ? 'gatehouse' : 'oidc-provider';
            const file = join(RESULTS, `profile-${name}-${path}.cpuprofile`);
            writeFileSync(file, JSON.stringify(mergeProfiles(profiles)));
            const summary = summarizeProfiles(profiles, { top: opts.top, category });
            profileSummaries[path] ??= {};
            profileSummaries[path][s.key] = { file: file.replace(ROOT, ''), ...summary };
          }
        }
      }
    }

    // Best round per provider and path: the lower server CPU per operation.
    const report = { paths: {} };
    let errorTotal = 0;
    for (const path of opts.paths) {
      const best = {};
      for (const s of servers) {
        const rounds = results[path][s.key];
        for (const r of rounds) errorTotal += r.errors;
        best[s.key] = [...rounds].sort(
          (a, b) =>
            (a.serverCpuUsPerOp ?? Number.POSITIVE_INFINITY) -
            (b.serverCpuUsPerOp ?? Number.POSITIVE_INFINITY),
        )[0];
      }
      const { text, ratios, meetsTarget } = reportPath(
        path,
        best.gatehouse,
        best.oidcProvider,
        names,
      );
      console.log(text);
      // The same ratio round by round (the two providers measured back to back): its spread shows
      // how much the machine moved while the bench ran.
      const paired = pairedRatios(results[path].gatehouse, results[path].oidcProvider);
      if (paired.length > 1) {
        console.log(
          `server CPU ratio round by round: ${paired.map((r) => r.toFixed(3)).join(', ')} (median ${median(paired).toFixed(3)})`,
        );
      }
      report.paths[path] = {
        title: PATHS[path].title,
        best,
        ratiosGatehouseOverOidcProvider: ratios,
        pairedRatios: paired,
        meetsTarget,
        rounds: results[path],
      };
    }
    console.log(
      `\nerrors (non-2xx/3xx, protocol, ID token verification, server-reported, timeouts): ${errorTotal}`,
    );
    console.log(
      'caveat: one 2-core machine runs the load generator, the server under test, and whatever else is running; server CPU/op is the robust figure, throughput and latency are not.',
    );

    if (opts.profile) {
      for (const path of opts.paths) {
        for (const s of servers) {
          const summary = profileSummaries[path]?.[s.key];
          if (summary) {
            printProfileSummary(names[s.key], path, summary, opts.top);
            console.log(`  profile file: ${summary.file} (open in Chrome DevTools / speedscope)`);
          }
        }
      }
      mkdirSync(RESULTS, { recursive: true });
      writeFileSync(
        join(RESULTS, 'profile-summary.json'),
        `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpuModel, options: opts, results: report, profiles: profileSummaries }, null, 2)}\n`,
      );
      console.log('\nwrote bench/results/profile-summary.json');
    } else {
      let commit = null;
      try {
        commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
      } catch {}
      const json = {
        date: new Date().toISOString(),
        node: process.version,
        cpuModel,
        cores: os.cpus().length,
        loadAverageAtEnd: os.loadavg(),
        platform: `${os.platform()} ${os.release()}`,
        commit,
        options: { ...opts, providers: opts.providers.map((p) => p.key) },
        providers: Object.fromEntries(
          servers.map((s) => [
            s.key,
            { name: names[s.key], detail: s.ready.detail, issuer: s.ready.issuer },
          ]),
        ),
        reference: { oidcProvider: REFERENCE, targetRatio: TARGET_RATIO },
        errors: errorTotal,
        ...report,
      };
      mkdirSync(RESULTS, { recursive: true });
      writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
      console.log('wrote bench/results/latest.json');
    }
    failed = errorTotal > 0;
  } catch (err) {
    console.error(`bench failed: ${err?.stack ?? err}`);
    failed = true;
  } finally {
    await cleanup();
  }
  process.exit(failed ? 1 : 0);
}

await main();
