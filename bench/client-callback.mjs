#!/usr/bin/env node
/**
 * Client toolkit: cost per callback — @gatehouse/client vs openid-client v6, side by side in one
 * run, against one Gatehouse provider running in a child process (bench/gatehouse-server.mjs --memory).
 *
 *   node bench/client-callback.mjs            # 2000 callbacks per library per concurrency, best of 3 rounds
 *   node bench/client-callback.mjs --quick    # 300 callbacks, 1 round: a smoke test
 *   node bench/client-callback.mjs --profile  # V8 CPU profile of this process per library, hotspots
 *   node bench/client-callback.mjs --help
 *
 * The measured figure is this process's CPU (`process.cpuUsage()`, all threads) per callback:
 * the relying party's whole callback handling. See bench/README.md.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  BenchError,
  browserSignIn,
  buildWorkspace,
  CookieJar,
  ErrorLog,
  HttpClient,
  machineJiffies,
  PASSWORD,
  percentile,
  REDIRECT_URI,
  runPool,
  threadJiffies,
  USERNAME,
} from './client.mjs';
import { gatehouseLibrary, openidClientLibrary } from './client-callback/libraries.mjs';
import {
  printProfileSummary,
  startProfiler,
  summarizeProfile,
} from './client-callback/profile.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BENCH = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(BENCH, 'results');
const JIFFY_US = 1_000_000 / 100;

/** What openid-client is known to spend per callback on this kind of machine, and the target. */
const REFERENCE_OC_CPU_US = 900;
const TARGET_RATIO = 1 / 3;

const HELP = `usage: node bench/client-callback.mjs [options]

  --quick               300 callbacks, 100 warm-up, 1 round (default 2000 / 300 / 3)
  -n, --ops N           measured callbacks per library per concurrency per round
  --warmup N            warm-up callbacks before each measured window
  --initial-warmup N    callbacks per library before the first round, at concurrency 4, so that
                        the first window is not the JIT's (default 1500; --quick 300)
  -c, --concurrency L   comma-separated concurrencies (default 1,16)
  --rounds N            rounds (default 3); the round with the lower client CPU per callback is
                        reported; the order of the libraries alternates from round to round
  --only NAME           gatehouse or openid-client (default both)
  --fetch-variant       also run @gatehouse/client with \`fetch: globalThis.fetch\` (the fetch path
                        that runtimes other than Node take) as a third column
  --profile             V8 CPU profile of this process around each measured window; writes
                        bench/results/client-callback-<library>-c<C>.cpuprofile and prints the
                        hotspots (figures of a profiled run are inflated)
  --profile-interval US sampling interval of --profile (default 100)
  --top N               hotspots listed per profile (default 25)
  --max-seconds N       time limit of one phase (default 120)
  --no-build            do not run \`tsc -b\` first
  -h, --help`;

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        ops: { type: 'string', short: 'n' },
        warmup: { type: 'string' },
        'initial-warmup': { type: 'string' },
        'fetch-variant': { type: 'boolean', default: false },
        concurrency: { type: 'string', short: 'c', default: '1,16' },
        rounds: { type: 'string' },
        only: { type: 'string' },
        profile: { type: 'boolean', default: false },
        'profile-interval': { type: 'string', default: '100' },
        top: { type: 'string', default: '25' },
        'max-seconds': { type: 'string', default: '120' },
        'no-build': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    console.error(`${err.message}\n\n${HELP}`);
    process.exit(2);
  }
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
  let libraries = [
    'gatehouse',
    ...(values['fetch-variant'] ? ['gatehouseFetch'] : []),
    'openidClient',
  ];
  if (values.only) {
    const only = { gatehouse: 'gatehouse', 'openid-client': 'openidClient' }[values.only];
    if (only === undefined) {
      console.error('--only takes gatehouse or openid-client');
      process.exit(2);
    }
    libraries = libraries.filter(
      (k) => k === only || (only === 'gatehouse' && k === 'gatehouseFetch'),
    );
  }
  return {
    quick,
    ops: int('ops', values.ops ?? (quick ? 300 : 2000)),
    warmup: int('warmup', values.warmup ?? (quick ? 100 : 300), 0),
    initialWarmup: int('initial-warmup', values['initial-warmup'] ?? (quick ? 300 : 1500), 0),
    concurrencies: values.concurrency.split(',').map((c) => int('concurrency', c.trim())),
    rounds: int('rounds', values.rounds ?? (quick || values.profile ? 1 : 3)),
    libraries,
    profile: values.profile,
    profileIntervalUs: int('profile-interval', values['profile-interval']),
    top: int('top', values.top),
    maxSeconds: int('max-seconds', values['max-seconds']),
    build: !values['no-build'],
  };
}

// ---------------------------------------------------------------------------------------------
// The provider (child process) and its IPC

let ipcSeq = 0;
function ipc(child, type, extra = {}) {
  const id = ++ipcSeq;
  return new Promise((resolve, reject) => {
    const onMessage = (msg) => {
      if (msg?.id !== id) return;
      child.off('message', onMessage);
      if (msg.error) reject(new Error(msg.error));
      else resolve(msg);
    };
    child.on('message', onMessage);
    child.send({ ...extra, type, id }, (err) => {
      if (err) {
        child.off('message', onMessage);
        reject(err);
      }
    });
  });
}

async function startProvider() {
  const child = fork(join(BENCH, 'gatehouse-server.mjs'), ['--memory'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      for (const line of chunk.split('\n')) if (line) process.stderr.write(`[provider] ${line}\n`);
    });
  }
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the provider did not start in 60 s')), 60_000);
    child.once('message', (msg) => {
      clearTimeout(timer);
      resolve(msg);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the provider exited with code ${code} before it was ready`));
    });
  });
  return { child, ...ready };
}

// ---------------------------------------------------------------------------------------------
// Codes: authorization requests answered at once under the SSO session

/**
 * Makes `count` authorization requests with the library's own state/nonce/PKCE and collects the
 * callback URLs (with fresh codes) that the provider redirects to under the browser's session.
 * Not measured.
 */
async function prepareCallbacks(lib, http, jar, count, errors) {
  lib.fresh();
  const prepared = [];
  await runPool({
    total: count,
    concurrency: 4,
    deadline: Number.POSITIVE_INFINITY,
    errors,
    task: async () => {
      const { url, checks } = await lib.start();
      const cookie = jar.header(url);
      const res = await http.request(url, { headers: cookie ? { cookie } : {} });
      const location = res.headers.location ?? '';
      if (res.status !== 302 && res.status !== 303) {
        throw new BenchError(
          'authorize',
          `authorize: HTTP ${res.status} ${res.body.slice(0, 200)}`,
        );
      }
      if (!location.startsWith(REDIRECT_URI) || !new URL(location).searchParams.has('code')) {
        throw new BenchError('authorize', `authorize redirected to ${location.slice(0, 160)}`);
      }
      prepared.push({ callbackUrl: location, checks });
    },
  });
  return prepared;
}

// ---------------------------------------------------------------------------------------------
// Measurement

/** One phase: prepare codes, warm up, then the measured window of `ops` callbacks. */
async function runPhase(lib, ctx, C, opts) {
  const errors = new ErrorLog();
  const prepareErrors = new ErrorLog();
  const prepared = await prepareCallbacks(
    lib,
    ctx.http,
    ctx.jar,
    opts.warmup + opts.ops,
    prepareErrors,
  );
  errors.merge(prepareErrors);
  const deadline = performance.now() + opts.maxSeconds * 1000;
  const task = (offset) => async (_w, i) => {
    const { callbackUrl, checks } = prepared[offset + i];
    await lib.callback(callbackUrl, checks);
  };
  const warm = Math.min(opts.warmup, prepared.length);
  await runPool({ total: warm, concurrency: C, task: task(0), deadline, errors });
  const ops = prepared.length - warm;

  // No forced GC here: after a full collection (`gc()`) the window cost 60-80% more CPU per
  // callback than in steady state.
  const stopProfiler = opts.profile ? await startProfiler(opts.profileIntervalUs) : undefined;
  const s0 = await ipc(ctx.provider.child, 'cpu');
  const m0 = machineJiffies();
  const th0 = threadJiffies(process.pid);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const latencies = await runPool({
    total: ops,
    concurrency: C,
    task: task(warm),
    deadline,
    errors,
  });
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  const th1 = threadJiffies(process.pid);
  const m1 = machineJiffies();
  const s1 = await ipc(ctx.provider.child, 'cpu');
  const profile = stopProfiler ? await stopProfiler() : undefined;

  const n = latencies.length;
  const wallMs = t1 - t0;
  const userUs = c1.user - c0.user;
  const systemUs = c1.system - c0.system;
  const serverUs = s1.cpu.user - s0.cpu.user + (s1.cpu.system - s0.cpu.system);
  const threads = {};
  if (th0 && th1) {
    let sum = 0;
    for (const [name, j] of Object.entries(th1)) sum += j - (th0[name] ?? 0);
    for (const [name, j] of Object.entries(th1)) {
      const d = j - (th0[name] ?? 0);
      if (d > 0) threads[name] = round1((100 * d) / (sum || 1));
    }
  }
  const machineUs = m0 && m1 ? (m1.busy - m0.busy) * JIFFY_US : Number.NaN;
  const otherUs = Math.max(0, machineUs - serverUs - userUs - systemUs);
  for (let i = 0; i < s1.serverErrors - s0.serverErrors; i++) {
    errors.add(new BenchError('server', 'the provider reported an unexpected error (its stderr)'));
  }
  return {
    result: {
      concurrency: C,
      ops: n,
      errors: errors.count,
      errorSamples: errors.samples,
      wallMs: round1(wallMs),
      throughput: round1(n / (wallMs / 1000)),
      latencyMs: {
        p50: round2(percentile(latencies, 50)),
        p90: round2(percentile(latencies, 90)),
        p99: round2(percentile(latencies, 99)),
      },
      clientCpuUsPerOp: round1((userUs + systemUs) / n),
      clientUserUsPerOp: round1(userUs / n),
      clientSystemUsPerOp: round1(systemUs / n),
      clientThreadsPct: threads,
      serverCpuUsPerOp: round1(serverUs / n),
      otherProcessesCpuPct: round1((100 * otherUs) / (wallMs * 1000 * os.cpus().length)),
    },
    profile,
  };
}

const round1 = (x) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);
const round2 = (x) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);

// ---------------------------------------------------------------------------------------------
// Report

function fmt(x, digits = 1) {
  return x === null || x === undefined || Number.isNaN(x) ? '—' : Number(x).toFixed(digits);
}

function ratio(a, b) {
  return a !== null && a !== undefined && b !== null && b !== undefined && b > 0
    ? Math.round((a / b) * 1000) / 1000
    : null;
}

const SHORT = { gatehouse: 'GH', gatehouseFetch: 'GH fetch', openidClient: 'OC' };

/** The table of one concurrency: one column per library, then each Gatehouse column ÷ openid-client's. */
function reportConcurrency(C, best, names) {
  const rows = [
    ['callbacks/s', (r) => r.throughput, 1, 'higher is better'],
    ['latency p50 (ms)', (r) => r.latencyMs.p50, 2, ''],
    ['latency p99 (ms)', (r) => r.latencyMs.p99, 2, ''],
    ['client CPU µs/callback', (r) => r.clientCpuUsPerOp, 0, 'the figure to trust'],
    ['  of which user', (r) => r.clientUserUsPerOp, 0, ''],
    ['  of which system', (r) => r.clientSystemUsPerOp, 0, ''],
    ['provider CPU µs/callback', (r) => r.serverCpuUsPerOp, 0, '(its token endpoint; context)'],
    ['errors', (r) => r.errors, 0, ''],
  ];
  const keys = Object.keys(best);
  const oc = best.openidClient;
  const ghKeys = oc ? keys.filter((k) => k !== 'openidClient') : [];
  const w0 = 26;
  const w = 28;
  const wr = 14;
  const out = [`\nconcurrency ${C}: callback → token request → ID token validated (signature on)`];
  out.push(
    `${''.padEnd(w0)}${keys.map((k) => names[k].padStart(w)).join('')}${ghKeys.map((k) => `${SHORT[k]} / OC`.padStart(wr)).join('')}`,
  );
  const ratios = {};
  for (const [label, get, digits, note] of rows) {
    const values = keys.map((k) => get(best[k]));
    const rs = ghKeys.map((k) => (label === 'errors' ? null : ratio(get(best[k]), get(oc))));
    ghKeys.forEach((k, i) => {
      if (rs[i] === null) return;
      ratios[k] ??= {};
      ratios[k][label.trim()] = rs[i];
    });
    out.push(
      `${label.padEnd(w0)}${values.map((v) => fmt(v, digits).padStart(w)).join('')}${rs.map((r) => (r === null ? '' : r.toFixed(3)).padStart(wr)).join('')}${note ? `  ${note}` : ''}`,
    );
  }
  let meets = null;
  if (oc && best.gatehouse) {
    const cpu = ratio(best.gatehouse.clientCpuUsPerOp, oc.clientCpuUsPerOp);
    meets = cpu <= TARGET_RATIO;
    out.push(
      `target: @gatehouse/client's CPU per callback ≤ 1/3 of openid-client's → ratio ${cpu.toFixed(3)} ${meets ? 'MEETS' : 'MISSES'} the target (≤ 0.333)${meets ? '' : `; needs ≤ ${fmt(oc.clientCpuUsPerOp / 3, 0)} µs, a ${fmt(best.gatehouse.clientCpuUsPerOp / (oc.clientCpuUsPerOp / 3), 2)}× cut`}`,
    );
  }
  if (oc) {
    out.push(
      `reference: openid-client is known to spend ~${REFERENCE_OC_CPU_US} µs/callback with signature checks on; measured here ${fmt(oc.clientCpuUsPerOp, 0)} µs (${fmt(oc.clientCpuUsPerOp / REFERENCE_OC_CPU_US, 2)}× the reference)`,
    );
  }
  const threads = (r) =>
    Object.entries(r.clientThreadsPct)
      .map(([k, v]) => `${k} ${v}%`)
      .join(', ');
  out.push(
    `client CPU by thread (main = JS thread; other = libuv threadpool (WebCrypto) + V8 GC/JIT helpers): ${keys.map((k) => `${SHORT[k]} ${threads(best[k])}`).join(' | ')}`,
  );
  out.push(
    `other processes during the windows (% of all cores): ${keys.map((k) => `${SHORT[k]} ${fmt(best[k].otherProcessesCpuPct)}%`).join(', ')}`,
  );
  return { text: out.join('\n'), ratios, meetsTarget: meets };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const opts = options();
  if (opts.build) buildWorkspace();

  const provider = await startProvider();
  const http = new HttpClient({ maxSockets: 8 });
  let failed = false;
  try {
    const all = {
      gatehouse: await gatehouseLibrary(),
      gatehouseFetch: await gatehouseLibrary({
        fetch: (input, init) => globalThis.fetch(input, init),
      }),
      openidClient: await openidClientLibrary(),
    };
    const libs = opts.libraries.map((k) => all[k]);
    for (const lib of libs) await lib.setup(provider.issuer);
    const ocVersion = createRequire(import.meta.url)('openid-client/package.json').version;
    const names = {
      gatehouse: '@gatehouse/client',
      gatehouseFetch: '@gatehouse/client (fetch)',
      openidClient: `openid-client ${ocVersion}`,
    };

    // One browser signs in once (login form, consent); every later authorization request is
    // answered at once with a code under that session.
    const jar = new CookieJar();
    const first = await libs[0].start();
    await browserSignIn(http, jar, first.url, { username: USERNAME, password: PASSWORD });
    const ctx = { provider, http, jar };

    const cpuModel = os.cpus()[0]?.model ?? 'unknown';
    console.log(
      [
        `Client toolkit: cost per callback — ${new Date().toISOString()}`,
        `node ${process.version}, ${cpuModel} × ${os.cpus().length} cores, load average at start ${os
          .loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')}`,
        `provider: Gatehouse (memory storage) in a child process on ${provider.issuer}; client_secret_basic, PKCE S256, EdDSA ID tokens`,
        `${opts.ops} measured callbacks per library per concurrency per round (warm-up ${opts.warmup}), concurrency ${opts.concurrencies.join(' and ')}, ${opts.rounds} round(s)${opts.rounds > 1 ? ', the round with the lower client CPU/callback is reported' : ''}`,
      ].join('\n'),
    );
    if (opts.profile)
      console.log('PROFILE MODE: the V8 profiler runs in this process; figures are inflated.');

    // Every library runs its callbacks a while before anything is measured (JIT, key imports,
    // connection pools).
    if (opts.initialWarmup > 0) {
      for (const lib of libs) {
        process.stderr.write(`warm-up: ${lib.name}, ${opts.initialWarmup} callbacks…\n`);
        const errors = new ErrorLog();
        const prepared = await prepareCallbacks(lib, http, jar, opts.initialWarmup, errors);
        await runPool({
          total: prepared.length,
          concurrency: 4,
          deadline: Number.POSITIVE_INFINITY,
          errors,
          task: (_w, i) => lib.callback(prepared[i].callbackUrl, prepared[i].checks),
        });
        if (errors.count > 0) {
          throw new Error(`warm-up of ${lib.name} failed: ${errors.samples.join('; ')}`);
        }
      }
    }

    const results = {};
    const profiles = {};
    for (let round = 1; round <= opts.rounds; round++) {
      for (const C of opts.concurrencies) {
        // The order alternates: odd rounds as listed, even rounds reversed.
        const order = round % 2 === 1 ? libs : [...libs].reverse();
        for (const lib of order) {
          process.stderr.write(`round ${round}: concurrency ${C}, ${lib.name}…`);
          const { result, profile } = await runPhase(lib, ctx, C, opts);
          process.stderr.write(
            ` ${result.ops} callbacks, ${fmt(result.throughput)}/s, ${fmt(result.clientCpuUsPerOp, 0)} µs client CPU/callback, ${result.errors} errors\n`,
          );
          for (const e of result.errorSamples) process.stderr.write(`    ${e}\n`);
          results[C] ??= {};
          results[C][lib.key] ??= [];
          results[C][lib.key].push({ round, ...result });
          if (profile) {
            mkdirSync(RESULTS, { recursive: true });
            const name =
              { gatehouse: 'gatehouse', gatehouseFetch: 'gatehouse-fetch' }[lib.key] ??
              'openid-client';
            const file = join(RESULTS, `client-callback-${name}-c${C}.cpuprofile`);
            writeFileSync(file, JSON.stringify(profile));
            profiles[`${lib.key}-${C}`] = {
              title: `${names[lib.key]}, concurrency ${C}`,
              file: file.replace(ROOT, ''),
              summary: summarizeProfile(profile, opts.top),
            };
          }
        }
      }
    }

    const report = {};
    let errorTotal = 0;
    for (const C of opts.concurrencies) {
      const best = {};
      for (const lib of libs) {
        const rounds = results[C][lib.key];
        for (const r of rounds) errorTotal += r.errors;
        best[lib.key] = [...rounds].sort(
          (a, b) =>
            (a.clientCpuUsPerOp ?? Number.POSITIVE_INFINITY) -
            (b.clientCpuUsPerOp ?? Number.POSITIVE_INFINITY),
        )[0];
      }
      const { text, ratios, meetsTarget } = reportConcurrency(C, best, names);
      console.log(text);
      report[C] = { best, ratiosOverOpenidClient: ratios, meetsTarget, rounds: results[C] };
    }
    console.log(`\nerrors: ${errorTotal}`);
    console.log(
      'caveat: one 2-core machine runs this process, the provider and whatever else is running; client CPU/callback is the robust figure, throughput and latency are not.',
    );

    if (opts.profile) {
      for (const p of Object.values(profiles)) {
        printProfileSummary(p.title, p.summary);
        console.log(`  profile file: ${p.file} (open in Chrome DevTools / speedscope)`);
      }
    } else {
      mkdirSync(RESULTS, { recursive: true });
      writeFileSync(
        join(RESULTS, 'client-callback-latest.json'),
        `${JSON.stringify(
          {
            date: new Date().toISOString(),
            node: process.version,
            cpuModel,
            cores: os.cpus().length,
            options: opts,
            names,
            reference: { openidClientCpuUs: REFERENCE_OC_CPU_US, targetRatio: TARGET_RATIO },
            errors: errorTotal,
            concurrency: report,
          },
          null,
          2,
        )}\n`,
      );
      console.log('wrote bench/results/client-callback-latest.json');
    }
    failed = errorTotal > 0;
  } catch (err) {
    console.error(`bench failed: ${err?.stack ?? err}`);
    failed = true;
  } finally {
    http.close();
    await Promise.race([
      ipc(provider.child, 'close').catch(() => {}),
      new Promise((r) => setTimeout(r, 3000)),
    ]);
    if (provider.child.exitCode === null) provider.child.kill();
  }
  process.exit(failed ? 1 : 0);
}

await main();
