/**
 * Shared helpers of the benchmark.
 *
 * Load-generator side (used by run.mjs): one keep-alive HTTP client, a cookie jar, a generic
 * "browser" sign-in that fills the login and consent forms of either provider, the two timed
 * operations (authorize with an existing session; code exchange + ID token verification), a
 * bounded worker pool, percentiles, and CPU readings from /proc.
 *
 * Server side (used by both *-server.mjs children): `serveBenchIpc`, the IPC protocol through
 * which the parent asks a child for its CPU usage and drives the V8 sampling profiler.
 *
 * Both providers get exactly the same client code and request sequence.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { createLocalJWKSet, jwtVerify } from 'jose';

// ---------------------------------------------------------------------------------------------
// Constants shared by the two servers and the load generator.

export const CLIENT_ID = 'bench-web';
export const CLIENT_SECRET = 'bench-client-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
/** Nothing listens there: the bench reads the `Location` header of the authorization response. */
export const REDIRECT_URI = 'http://127.0.0.1:9399/cb';
export const USERNAME = 'bench-user';
export const PASSWORD = 'bench-password-correct-horse';
export const SCOPE = 'openid';

/**
 * The bench client as Gatehouse's configuration registers it (gatehouse-server.mjs, engine.mjs),
 * with the bench user.
 */
export const GATEHOUSE_CLIENTS_AND_USERS = {
  clients: [
    {
      client_id: CLIENT_ID,
      type: 'web',
      client_secret: CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'EdDSA',
      grant_types: ['authorization_code'],
      redirect_uris: [REDIRECT_URI],
      // The same plain authorization request as oidc-provider's client (no JAR on either side).
      require_signed_request_object: false,
    },
  ],
  users: [{ username: USERNAME, password: PASSWORD }],
};

// ---------------------------------------------------------------------------------------------
// HTTP client: node:http with a keep-alive agent (lighter on the shared CPU than fetch/undici).

export class HttpClient {
  /** @param {{ maxSockets: number, timeoutMs?: number }} options */
  constructor({ maxSockets, timeoutMs = 15_000 }) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets, scheduling: 'lifo' });
    this.timeoutMs = timeoutMs;
  }

  /**
   * @param {string} url
   * @param {{ method?: string, headers?: Record<string,string>, body?: string }} [init]
   * @returns {Promise<{ status: number, headers: import('node:http').IncomingHttpHeaders, body: string }>}
   */
  request(url, { method = 'GET', headers = {}, body } = {}) {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const h =
        body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) };
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname + u.search,
          method,
          headers: h,
          agent: this.agent,
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`request timed out after ${this.timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async json(url) {
    const res = await this.request(url, { headers: { accept: 'application/json' } });
    if (res.status !== 200) throw new BenchError('http', `GET ${url}: HTTP ${res.status}`);
    return JSON.parse(res.body);
  }

  close() {
    this.agent.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Cookies: enough of RFC 6265 for two providers on one loopback origin (name + path, expiry).

export class CookieJar {
  /** @type {Map<string, { name: string, value: string, path: string }>} */
  cookies = new Map();

  /** @param {string[] | undefined} setCookie */
  store(setCookie) {
    if (!setCookie) return;
    for (const line of setCookie) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let expired = value === '';
      for (const attr of attrs) {
        const i = attr.indexOf('=');
        const k = (i === -1 ? attr : attr.slice(0, i)).trim().toLowerCase();
        const v = i === -1 ? '' : attr.slice(i + 1).trim();
        if (k === 'path' && v.startsWith('/')) path = v;
        else if (k === 'max-age' && Number(v) <= 0) expired = true;
        else if (k === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      const key = `${name}\0${path}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  /** The Cookie header for a request to `url` (undefined when no cookie applies). */
  header(url) {
    const pathname = new URL(url).pathname;
    const out = [];
    for (const c of this.cookies.values()) {
      const p = c.path;
      if (pathname === p || pathname.startsWith(p.endsWith('/') ? p : `${p}/`)) {
        out.push(`${c.name}=${c.value}`);
      }
    }
    return out.length > 0 ? out.join('; ') : undefined;
  }
}

/** A failure of the benchmark's client checks; `kind` groups them in the report. */
export class BenchError extends Error {
  /** @param {string} kind @param {string} message */
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

async function send(client, jar, url, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  const res = await client.request(url, { ...init, headers });
  jar.store(/** @type {string[] | undefined} */ (res.headers['set-cookie']));
  return res;
}

// ---------------------------------------------------------------------------------------------
// The browser part: sign in once through the provider's own pages.

function decodeEntities(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The visible text of a page (for error messages). */
function pageText(page) {
  const body = /<body\b[^>]*>([\s\S]*)<\/body>/i.exec(page)?.[1] ?? page;
  return decodeEntities(
    body
      .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  ).slice(0, 300);
}

function attr(tag, name) {
  const m = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i').exec(tag);
  return m ? decodeEntities(m[2] ?? m[3] ?? '') : undefined;
}

/**
 * The first form of a page: its action and the fields a person would submit. A password field
 * gets the user's credentials (`username` for Gatehouse, `login` for oidc-provider's dev pages);
 * a `decision` button is pressed with `allow`; hidden fields (csrf, prompt) are kept.
 */
function fillForm(page, pageUrl, user) {
  const form = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(page);
  if (!form) return undefined;
  const open = /<form\b[^>]*>/i.exec(form[0])[0];
  const action = new URL(attr(open, 'action') ?? pageUrl, pageUrl).href;
  const fields = new URLSearchParams();
  let hasPassword = false;
  let hasDecision = false;
  for (const [tag] of form[1].matchAll(/<(input|button)\b[^>]*>/gi)) {
    const name = attr(tag, 'name');
    if (!name) continue;
    const type = (attr(tag, 'type') ?? '').toLowerCase();
    if (name === 'password' || type === 'password') hasPassword = true;
    else if (name === 'decision') hasDecision = true;
    else if (tag.toLowerCase().startsWith('<input') && type === 'hidden') {
      fields.set(name, attr(tag, 'value') ?? '');
    } else if (name === 'username' || name === 'login') fields.set(name, user.username);
  }
  if (hasPassword) fields.set('password', user.password);
  if (hasDecision) fields.set('decision', 'allow');
  return { action, body: fields.toString() };
}

/**
 * Runs one authorization request like a browser: follows redirects that stay on the provider,
 * fills the login and consent forms, and stops at the redirect to the client. Used once per
 * simulated browser to establish the IdP session and the grant/consent.
 */
export async function browserSignIn(client, jar, authorizeUrl, user, redirectUri = REDIRECT_URI) {
  let url = authorizeUrl;
  /** @type {{ method?: string, headers?: Record<string,string>, body?: string }} */
  let init = {};
  const trail = [];
  for (let step = 0; step < 20; step++) {
    const res = await send(client, jar, url, init);
    trail.push(`${init.method ?? 'GET'} ${new URL(url).pathname} → ${res.status}`);
    if (res.status >= 300 && res.status < 400 && res.headers.location) {
      const location = new URL(res.headers.location, url).href;
      if (location.startsWith(redirectUri)) return new URL(location);
      url = location;
      init = {};
      continue;
    }
    const form = res.status === 200 ? fillForm(res.body, url, user) : undefined;
    if (!form) {
      throw new BenchError(
        'sign-in',
        `sign-in stopped at HTTP ${res.status} (${trail.join(', ')}): ${pageText(res.body)}`,
      );
    }
    url = form.action;
    init = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.body,
    };
  }
  throw new BenchError('sign-in', `sign-in did not finish: ${trail.join(', ')}`);
}

// ---------------------------------------------------------------------------------------------
// The timed operations.

const b64u = (buf) => buf.toString('base64url');

/** A fresh authorization request: PKCE S256 pair, state and nonce. */
export function newAuthorizationRequest(endpoint) {
  const verifier = b64u(randomBytes(32));
  const challenge = b64u(createHash('sha256').update(verifier).digest());
  const state = b64u(randomBytes(12));
  const nonce = b64u(randomBytes(12));
  const url = `${endpoint}?${new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: 'code',
    scope: SCOPE,
    redirect_uri: REDIRECT_URI,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })}`;
  return { url, verifier, state, nonce };
}

/**
 * The provider's endpoints and keys as the bench client sees them (discovery and JWKS fetched
 * once, before anything is timed).
 */
export async function discover(client, issuer) {
  const meta = await client.json(`${issuer}/.well-known/openid-configuration`);
  if (meta.issuer !== issuer) {
    throw new BenchError('setup', `discovery issuer ${meta.issuer} differs from ${issuer}`);
  }
  const jwks = await client.json(meta.jwks_uri);
  return {
    issuer,
    authorizationEndpoint: meta.authorization_endpoint,
    tokenEndpoint: meta.token_endpoint,
    jwks: createLocalJWKSet(jwks),
    jwksKeys: jwks.keys.length,
  };
}

/**
 * Step 1 of a signed-in login: authorize with the browser's session cookie. The provider must
 * answer at once with a redirect to the client carrying `code`, the same `state`, and `iss`.
 */
export async function authorizeWithSession(client, jar, provider) {
  const req = newAuthorizationRequest(provider.authorizationEndpoint);
  const res = await send(client, jar, req.url);
  if (res.status < 300 || res.status >= 400) {
    throw new BenchError('http', `authorize: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  }
  const location = res.headers.location ?? '';
  if (!location.startsWith(REDIRECT_URI)) {
    throw new BenchError(
      'protocol',
      `authorize redirected to ${location.slice(0, 120)} instead of the client (interaction required?)`,
    );
  }
  const params = new URL(location).searchParams;
  if (params.has('error')) {
    throw new BenchError(
      'protocol',
      `authorize error ${params.get('error')}: ${params.get('error_description')}`,
    );
  }
  const code = params.get('code');
  if (!code) throw new BenchError('protocol', 'authorize: no code in the redirect');
  if (params.get('state') !== req.state)
    throw new BenchError('protocol', 'authorize: state differs');
  const iss = params.get('iss');
  if (iss !== null && iss !== provider.issuer)
    throw new BenchError('protocol', 'authorize: iss differs');
  return { code, verifier: req.verifier, nonce: req.nonce };
}

const BASIC = `Basic ${Buffer.from(
  `${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`,
).toString('base64')}`;

/** Step 2: the code exchange (client_secret_basic, PKCE verifier). Returns the token response. */
export async function exchangeCode(client, provider, grant) {
  const res = await client.request(provider.tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: BASIC,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: grant.code,
      redirect_uri: REDIRECT_URI,
      code_verifier: grant.verifier,
    }).toString(),
  });
  if (res.status !== 200) {
    throw new BenchError('http', `token: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  }
  const body = JSON.parse(res.body);
  if (typeof body.access_token !== 'string' || typeof body.id_token !== 'string') {
    throw new BenchError('protocol', 'token response lacks access_token or id_token');
  }
  return body;
}

/** Step 3: the ID token, verified with jose against the JWKS fetched once. */
export async function verifyIdToken(provider, idToken, nonce) {
  try {
    const { payload, protectedHeader } = await jwtVerify(idToken, provider.jwks, {
      issuer: provider.issuer,
      audience: CLIENT_ID,
      algorithms: ['EdDSA', 'Ed25519'],
    });
    if (payload.nonce !== nonce) throw new Error('nonce differs');
    if (typeof payload.sub !== 'string') throw new Error('sub is missing');
    return { payload, protectedHeader };
  } catch (err) {
    throw new BenchError('id_token', `ID token verification failed: ${err.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Worker pool, errors, statistics.

/** Collects failures by kind, with a few samples of each. */
export class ErrorLog {
  count = 0;
  /** @type {Record<string, number>} */
  byKind = {};
  /** @type {string[]} */
  samples = [];

  add(err) {
    this.count++;
    const kind = err instanceof BenchError ? err.kind : 'exception';
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
    if (this.samples.length < 5) this.samples.push(`[${kind}] ${err?.message ?? String(err)}`);
  }

  merge(other) {
    this.count += other.count;
    for (const [k, v] of Object.entries(other.byKind)) this.byKind[k] = (this.byKind[k] ?? 0) + v;
    for (const s of other.samples) if (this.samples.length < 5) this.samples.push(s);
  }
}

/**
 * Runs `total` operations with `concurrency` workers; `task(worker, index)` resolves to a
 * latency in ms (or undefined to use the whole task time). Stops early at `deadline`
 * (performance.now() value). Returns latencies of successful operations.
 */
export async function runPool({ total, concurrency, task, deadline, errors }) {
  let next = 0;
  const latencies = [];
  let timedOut = false;
  async function worker(w) {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      if (performance.now() > deadline) {
        timedOut = true;
        return;
      }
      const t0 = performance.now();
      try {
        const ms = await task(w, i);
        latencies.push(typeof ms === 'number' ? ms : performance.now() - t0);
      } catch (err) {
        errors.add(err);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, (_, w) => worker(w)));
  if (timedOut)
    errors.add(new BenchError('timeout', 'phase time limit reached before all operations ran'));
  return latencies;
}

/** Nearest-rank percentile of an array of numbers (sorted here). */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

// ---------------------------------------------------------------------------------------------
// CPU readings from /proc (Linux): the whole machine, and a process's threads.

/** Busy and total jiffies of the whole machine (all cores) from /proc/stat, or undefined. */
export function machineJiffies() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * CPU jiffies (user+system) per thread group of a process from /proc/<pid>/task/*\/stat: `main`
 * (the JS thread) and `other` (Node 20 leaves its threads unnamed: the libuv threadpool, which
 * runs WebCrypto and scrypt jobs, and V8's platform workers, which run GC and JIT compilation).
 * Named threads (e.g. the profiler's) are reported by name.
 */
export function threadJiffies(pid) {
  const out = {};
  let tasks;
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(open + 1, close);
      const f = stat.slice(close + 2).split(' ');
      const jiffies = Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
      const name = tid === String(pid) ? 'main' : comm === 'node' ? 'other' : comm;
      out[name] = (out[name] ?? 0) + jiffies;
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Server side: the IPC protocol of the child processes.

/**
 * Answers the parent's requests over IPC:
 * - `{ type: 'cpu' }` → `{ cpu: process.cpuUsage(), rss, serverErrors, parts }` (`parts`: the
 *   running totals of `timeGatehouseParts`, when the server times them)
 * - `{ type: 'profile-start', intervalUs }` / `{ type: 'profile-stop' }` → V8 CPU profile
 *   (inspector Profiler, main thread only) of what ran in between
 * - `{ type: 'close' }` → closes the server and exits.
 * Every answer carries the request's `id`.
 */
export function serveBenchIpc({ close, serverErrors, parts }) {
  /** @type {import('node:inspector/promises').Session | undefined} */
  let session;
  process.on('message', async (msg) => {
    const reply = (data) => process.send?.({ id: msg.id, ...data });
    try {
      switch (msg.type) {
        case 'cpu':
          reply({
            cpu: process.cpuUsage(),
            rss: process.memoryUsage.rss(),
            serverErrors: serverErrors(),
            ...(parts ? { parts: { ...parts } } : {}),
          });
          break;
        case 'profile-start': {
          const { Session } = await import('node:inspector/promises');
          session = new Session();
          session.connect();
          await session.post('Profiler.enable');
          await session.post('Profiler.setSamplingInterval', { interval: msg.intervalUs ?? 200 });
          await session.post('Profiler.start');
          reply({ ok: true });
          break;
        }
        case 'profile-stop': {
          if (!session) throw new Error('the profiler is not running');
          const { profile } = await session.post('Profiler.stop');
          await session.post('Profiler.disable');
          session.disconnect();
          session = undefined;
          reply({ profile });
          break;
        }
        case 'close':
          await close();
          reply({ ok: true });
          process.exit(0);
          break;
        default:
          reply({ error: `unknown message type ${msg.type}` });
      }
    } catch (err) {
      reply({ error: String(err?.stack ?? err) });
    }
  });
  // The parent went away: do not linger.
  process.on('disconnect', () => process.exit(0));
}

/** Finds a free TCP port on 127.0.0.1 (the server that needs it binds right after). */
export async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/** SQLite statements by what they do, for `timeGatehouseParts` (first match wins). */
const SQL_PARTS = [
  [/^\s*INSERT INTO codes\b/, 'codeSave'],
  [/^\s*(UPDATE codes\b|SELECT .* FROM codes\b)/s, 'codeConsume'],
  [/^\s*SELECT data FROM sessions\b/, 'sessionGet'],
  [/^\s*(BEGIN|COMMIT|ROLLBACK)\b/, 'commit'],
];

/** better-sqlite3 handles kept for the life of the process (see `retainNativeHandle`). */
const probes = [];

/**
 * Times the parts of Gatehouse's work that its design requires: the Ed25519 signatures (the
 * provider's `keys.sign`) and the SQLite statements, sorted by what they do: the code saved, the
 * code consumed, the session read, the BEGIN and COMMIT of writes committed together (the SQLite
 * adapter's group commit) and any other statement. Statements are timed by wrapping
 * better-sqlite3's `Statement` methods, which every statement of every connection in this process
 * goes through, so a write is counted when it runs, not when it is queued. Each wrapper adds the
 * wall time of the call (process.hrtime, no system call) to a counter, in ns; the calls are
 * synchronous, so that is the thread's time in them unless the scheduler takes the core away in
 * the middle. Used by engine.mjs and, with `run.mjs --split`, by gatehouse-server.mjs.
 * @returns {{ sign: number, codeSave: number, codeConsume: number, sessionGet: number, commit: number, otherSql: number }}
 */
export function timeGatehouseParts(provider) {
  const spent = { sign: 0, codeSave: 0, codeConsume: 0, sessionGet: 0, commit: 0, otherSql: 0 };

  const sign = provider.keys.sign.bind(provider.keys);
  provider.keys.sign = (...args) => {
    const start = process.hrtime.bigint();
    const result = sign(...args);
    spent.sign += Number(process.hrtime.bigint() - start);
    return result;
  };

  // The provider's better-sqlite3, and the prototype its statements share.
  const Database = createRequire(new URL('../packages/provider/package.json', import.meta.url))(
    'better-sqlite3',
  );
  const probe = new Database(':memory:');
  const statement = Object.getPrototypeOf(probe.prepare('SELECT 1'));
  probes.push(probe, statement);
  const partOf = new WeakMap();
  const classify = (stmt) => {
    let part = partOf.get(stmt);
    if (part === undefined) {
      part = SQL_PARTS.find(([pattern]) => pattern.test(stmt.source))?.[1] ?? 'otherSql';
      partOf.set(stmt, part);
    }
    return part;
  };
  for (const method of ['run', 'get', 'all']) {
    const original = statement[method];
    statement[method] = function timed(...args) {
      const start = process.hrtime.bigint();
      try {
        return original.apply(this, args);
      } finally {
        spent[classify(this)] += Number(process.hrtime.bigint() - start);
      }
    };
  }
  return spent;
}

/** Builds the workspace (`tsc -b`) before a run; exits with a message when the build fails. */
export function buildWorkspace() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  process.stderr.write('building (tsc -b)…\n');
  try {
    execFileSync(process.execPath, [tsc, '-b'], {
      cwd: new URL('..', import.meta.url),
      stdio: 'inherit',
    });
  } catch {
    console.error('tsc -b failed: fix the build, or run with --no-build to use the existing dist/');
    process.exit(1);
  }
}
