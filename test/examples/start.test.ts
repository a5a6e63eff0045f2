/**
 * `npm start` (scripts/start.mjs) end to end, as a newcomer runs it: in a fresh working directory
 * (so .gatehouse/ is created there), it prints "open http://localhost:3000", signing in there as
 * the demo user works, and Ctrl+C stops both servers with exit code 0. It runs the built
 * packages (`npm install` builds them; so does CI before the tests).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authorize, HttpBrowser, type World } from '../express/support.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/start.mjs');
const APP = 'http://localhost:3000';

let cwd: string;
let child: ChildProcess | undefined;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'gatehouse-start-'));
});
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
  rmSync(cwd, { recursive: true, force: true });
});

function expectBuilt(): void {
  for (const file of ['packages/provider/dist/node/cli.js', 'examples/express-app/dist/index.js']) {
    expect(existsSync(join(ROOT, file)), `${file} is missing: run npm run build`).toBe(true);
  }
}

async function listen(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, 'localhost', () => resolve(server));
  });
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

async function isFree(port: number): Promise<boolean> {
  const server = await listen(port);
  if (server) await close(server);
  return server !== undefined;
}

async function freePort(): Promise<number> {
  const server = (await listen(0))!;
  const { port } = server.address() as { port: number };
  await close(server);
  return port;
}

function start(env: Record<string, string> = {}) {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const name of ['GATEHOUSE_PORT', 'GATEHOUSE_SECRET', 'APP_SECRET', 'PORT']) {
    delete base[name];
  }
  const proc = spawn(process.execPath, [SCRIPT], {
    cwd,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  let err = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  proc.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, exit, out: () => out, err: () => err };
}

describe('npm start (scripts/start.mjs)', () => {
  it('starts the provider and the example app; signing in as demo works; Ctrl+C stops both (exit 0)', async (ctx) => {
    expectBuilt();
    if (!(await isFree(3000))) {
      return ctx.skip('port 3000 is in use here; the demo client only accepts localhost:3000');
    }
    // The test browser (test/express/support.ts) connects to 127.0.0.1 for "localhost".
    const { address } = await lookup('localhost');
    if (address !== '127.0.0.1') {
      return ctx.skip(`localhost is ${address} here; the test browser connects to 127.0.0.1`);
    }
    // The provider's port can move (GATEHOUSE_PORT); the default when it is free.
    const providerPort = (await isFree(9000)) ? 9000 : await freePort();
    const issuer = `http://localhost:${providerPort}`;
    const run = start(providerPort === 9000 ? {} : { GATEHOUSE_PORT: String(providerPort) });

    await expect
      .poll(() => run.out().includes(`open ${APP}\n`) || run.proc.exitCode !== null, {
        timeout: 30_000,
      })
      .toBe(true);
    if (run.proc.exitCode !== null && run.err().includes('is already in use')) {
      // Taken between the probe above and the start (another run of the suite, say).
      return ctx.skip(`a port was taken meanwhile: ${run.err().split('\n')[0]}`);
    }
    expect(run.proc.exitCode, run.err()).toBeNull();
    const out = run.out();
    expect(out).toContain(`Issuer      ${issuer}`);
    expect(out).toContain('sign in as "demo" / "gatehouse-demo"');
    // The banner is the last thing printed before the requests' logs.
    expect(out.indexOf(`open ${APP}`)).toBeGreaterThan(out.indexOf('Press Ctrl+C to stop.'));
    expect(run.err()).not.toContain('error');

    // Everything the demo keeps is in the working directory.
    for (const file of ['gatehouse.db', 'secret', 'demo-client-secret', 'example-app-secret']) {
      expect(existsSync(join(cwd, '.gatehouse', file)), file).toBe(true);
    }
    expect(statSync(join(cwd, '.gatehouse/example-app-secret')).mode & 0o777).toBe(0o600);

    // A newcomer opens the app, goes to the profile, signs in as the demo user.
    const browser = new HttpBrowser();
    const home = await browser.get(`${APP}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('href="/login">Sign in</a>');
    const callback = await authorize(browser, { issuer } as World, `${APP}/profile`, {
      user: { username: 'demo', password: 'gatehouse-demo' },
    });
    expect(callback.origin + callback.pathname).toBe(`${APP}/callback`);
    const back = await browser.get(callback.href);
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('/profile');
    const profile = await browser.get(`${APP}/profile`);
    expect(profile.status).toBe(200);
    const html = await profile.text();
    expect(html).toContain('<code>Demo User</code>');
    expect(html).toContain('<code>demo@example.com</code>');
    expect(html).toContain(`<code>${issuer}</code>`);

    // Sign out comes back to the app, signed out.
    const signOut = await browser.request(`${APP}/logout`, { method: 'POST' });
    const landed = await browser.follow(signOut, (u) => u.origin === issuer);
    expect(landed.headers.get('location')).toBe(`${APP}/`);
    expect(await (await browser.get(`${APP}/`)).text()).toContain('You are not signed in.');

    run.proc.kill('SIGINT');
    expect(await run.exit).toBe(0);
    expect(run.out()).toContain('Stopping (SIGINT)...');
    expect(run.out()).toContain('The example app stopped too.');
    expect(run.err()).not.toMatch(/^error/m);
    // Both ports are free again.
    expect(await isFree(3000)).toBe(true);
    expect(await isFree(providerPort)).toBe(true);
  }, 60_000);

  it('a port in use: says which, and exit code 1', async () => {
    expectBuilt();
    const blocker = (await listen(await freePort()))!;
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = start({ GATEHOUSE_PORT: String(port) });
      expect(await run.exit).toBe(1);
      expect(run.err()).toContain(`error: port ${port} (the provider) is already in use`);
      expect(run.err()).toContain('GATEHOUSE_PORT=9001 npm start');
      expect(run.out()).toBe('');
      // Nothing was started, nothing was created.
      expect(existsSync(join(cwd, '.gatehouse'))).toBe(false);
    } finally {
      await close(blocker);
    }
  });

  it('refuses a GATEHOUSE_PORT that is not a port', async () => {
    expectBuilt();
    const run = start({ GATEHOUSE_PORT: 'ninety' });
    expect(await run.exit).toBe(1);
    expect(run.err()).toContain('GATEHOUSE_PORT: "ninety" is not a port number');
  });
});
