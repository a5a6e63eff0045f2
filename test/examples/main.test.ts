/**
 * `npm run example:express` (examples/express-app/src/main.ts): the environment variables, their
 * demo defaults, the errors that say what to set, and a run against a real provider.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMain, settingsFromEnv } from '../../examples/express-app/src/index.js';
import {
  authorize,
  CLIENT_ID,
  CLIENT_SECRET,
  HttpBrowser,
  startWorld,
} from '../express/support.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEMO_SECRET = 'demo-client-secret-from-the-file-0123456789ab';

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'gatehouse-example-'));
});
afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
});

function writeDemoSecret(): void {
  mkdirSync(join(cwd, '.gatehouse'), { recursive: true });
  writeFileSync(join(cwd, '.gatehouse/demo-client-secret'), `${DEMO_SECRET}\n`);
}

async function run(env: Record<string, string>, signal?: AbortSignal) {
  let out = '';
  let err = '';
  const exit = runMain({
    env,
    cwd,
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    ...(signal ? { signal } : {}),
  });
  return { exit, out: () => out, err: () => err };
}

async function listenOn(port: number, host: string): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}

async function freePort(): Promise<number> {
  const server = await listenOn(0, 'localhost');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('settings', () => {
  it('defaults to the demo: issuer, demo-web and its secret file, localhost:3000, a kept session key', () => {
    writeDemoSecret();
    const settings = settingsFromEnv({}, cwd);
    expect(settings).toMatchObject({
      issuer: 'http://localhost:9000',
      clientId: 'demo-web',
      clientSecret: DEMO_SECRET,
      baseUrl: 'http://localhost:3000',
      port: 3000,
      sources: {
        clientSecret: '.gatehouse/demo-client-secret',
        secret: '.gatehouse/example-app-secret (created now)',
      },
    });
    // The session key is generated once, private, and kept.
    const file = join(cwd, '.gatehouse/example-app-secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(settings.secret);
    expect(settings.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const again = settingsFromEnv({}, cwd);
    expect(again.secret).toBe(settings.secret);
    expect(again.sources.secret).toBe('.gatehouse/example-app-secret');
  });

  it('takes every variable from the environment', () => {
    const settings = settingsFromEnv(
      {
        GATEHOUSE_ISSUER: 'https://id.example/tenant',
        GATEHOUSE_CLIENT_ID: 'shop',
        GATEHOUSE_CLIENT_SECRET: 'shop-secret',
        APP_BASE_URL: 'https://shop.example/',
        PORT: '8080',
        APP_SECRET: 'x'.repeat(32),
      },
      cwd,
    );
    expect(settings).toEqual({
      issuer: 'https://id.example/tenant',
      clientId: 'shop',
      clientSecret: 'shop-secret',
      baseUrl: 'https://shop.example',
      port: 8080,
      secret: 'x'.repeat(32),
      sources: { clientSecret: 'GATEHOUSE_CLIENT_SECRET', secret: 'APP_SECRET' },
    });
    // Nothing written when everything is given.
    expect(existsSync(join(cwd, '.gatehouse'))).toBe(false);
    // APP_BASE_URL follows PORT when only PORT is set.
    writeDemoSecret();
    expect(settingsFromEnv({ PORT: '4000' }, cwd).baseUrl).toBe('http://localhost:4000');
  });

  it('names the variable at fault', () => {
    writeDemoSecret();
    const message = (env: Record<string, string>) => {
      try {
        settingsFromEnv(env, cwd);
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(message({ PORT: 'http' })).toContain('PORT: "http" is not a port number');
    expect(message({ PORT: '70000' })).toContain('PORT: "70000"');
    expect(message({ APP_SECRET: 'short' })).toContain('APP_SECRET: must be at least 32');
    expect(message({ APP_BASE_URL: 'http://localhost:3000/app' })).toContain(
      'APP_BASE_URL: "http://localhost:3000/app" must be an origin',
    );
    expect(message({ GATEHOUSE_ISSUER: 'localhost:9000' })).toContain(
      'GATEHOUSE_ISSUER: "localhost:9000"',
    );
    // Another client's secret is not the demo's: the file is not read for it.
    expect(message({ GATEHOUSE_CLIENT_ID: 'shop' })).toContain(
      'GATEHOUSE_CLIENT_SECRET is not set: give the secret of the client "shop"',
    );
  });
});

describe('runMain', () => {
  it('without a client secret: says how to get one, exit code 1', async () => {
    const r = await run({});
    expect(await r.exit).toBe(1);
    expect(r.out()).toBe('');
    const err = r.err();
    expect(err).toMatch(/^error: GATEHOUSE_CLIENT_SECRET is not set, and there is no /);
    expect(err).toContain('.gatehouse/demo-client-secret');
    expect(err).toContain('Run "npm start" once');
    expect(err).not.toMatch(/\n\s+at /);
  });

  it('as a process (dist/main.js): the same error and exit code 1', () => {
    const main = join(ROOT, 'examples/express-app/dist/main.js');
    expect(existsSync(main), 'examples/express-app is not built: run npm run build').toBe(true);
    const r = spawnSync(process.execPath, [main], {
      cwd,
      env: { PATH: process.env['PATH'] ?? '' },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('error: GATEHOUSE_CLIENT_SECRET is not set');
    expect(r.stderr).toContain('Run "npm start" once');
  });

  it('without a provider: says to start it, exit code 1', async () => {
    writeDemoSecret();
    const issuer = `http://127.0.0.1:${await freePort()}`;
    const r = await run({ GATEHOUSE_ISSUER: issuer, PORT: '0' });
    expect(await r.exit).toBe(1);
    expect(r.err()).toContain(`error: cannot reach the provider at ${issuer}`);
    expect(r.err()).toContain('"npm start" starts the demo provider and this app together');
  });

  it('with its port taken: says so, exit code 1', async () => {
    writeDemoSecret();
    const port = await freePort();
    const blocker = await listenOn(port, 'localhost');
    try {
      const r = await run({ PORT: String(port) });
      expect(await r.exit).toBe(1);
      expect(r.err()).toContain(`error: port ${port} on localhost is already in use`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('runs against a provider until stopped: prints the URL, signs in, exit code 0', async () => {
    const port = await freePort();
    const base = `http://localhost:${port}`;
    const world = await startWorld({
      apps: 0,
      config: {
        clients: [
          {
            client_id: CLIENT_ID,
            type: 'web',
            client_secret: CLIENT_SECRET,
            redirect_uris: [`${base}/callback`],
            post_logout_redirect_uris: [`${base}/`],
          },
        ],
      },
    });
    const stop = new AbortController();
    try {
      const r = await run(
        {
          GATEHOUSE_ISSUER: world.issuer,
          GATEHOUSE_CLIENT_ID: CLIENT_ID,
          GATEHOUSE_CLIENT_SECRET: CLIENT_SECRET,
          PORT: String(port),
        },
        stop.signal,
      );
      await expect.poll(() => r.out() + r.err(), { timeout: 10_000 }).toContain('open ');
      expect(r.err()).toBe('');
      expect(r.out()).toContain(`open ${base}\n`);
      expect(r.out()).toContain(`Provider    ${world.issuer}, client ${CLIENT_ID}`);
      expect(r.out()).toContain('session key from .gatehouse/example-app-secret (created now)');

      const browser = new HttpBrowser();
      const callback = await authorize(browser, world, `${base}/profile`);
      expect((await browser.get(callback.href)).headers.get('location')).toBe('/profile');
      const profile = await browser.get(`${base}/profile`);
      expect(profile.status).toBe(200);
      expect(await profile.text()).toContain('<code>Alice Example</code>');

      stop.abort();
      expect(await r.exit).toBe(0);
      expect(r.out()).toContain('Stopping (stop requested)...\nStopped.\n');
    } finally {
      stop.abort();
      await world.close();
    }
  });
});
