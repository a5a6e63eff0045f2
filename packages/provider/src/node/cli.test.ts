import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { s256Challenge } from '@gatehouse/oauth';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryStorage } from '../storage/memory.js';
import { sqliteStorage } from '../storage/sqlite.js';
import { type CliIo, runCli } from './cli.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(argv: string[], io: Partial<CliIo> = {}): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    cwd: dir,
    env: {},
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    ...io,
  });
  return { code, out, err };
}

function writeConfig(config: unknown, file = 'gatehouse.config.json'): string {
  const path = join(dir, file);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(config));
  return path;
}

const mode = (path: string) => statSync(path).mode & 0o777;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts `gatehouse start …` in-process; returns once the banner is out. */
async function startCli(argv: string[]) {
  const controller = new AbortController();
  let out = '';
  let err = '';
  const exit = runCli(['start', ...argv], {
    cwd: dir,
    env: {},
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    signal: controller.signal,
  });
  await expect
    .poll(() => out.includes('Press Ctrl+C') || err.includes('error'), { timeout: 15_000 })
    .toBe(true);
  return {
    output: () => out,
    errors: () => err,
    async stop() {
      controller.abort();
      return exit;
    },
  };
}

describe('help and unknown commands', () => {
  it('prints the usage for help, --help and -h, with exit code 0', async () => {
    for (const argv of [['help'], ['--help'], ['-h'], ['clients', 'add', '--help']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.out).toContain('gatehouse start [--config FILE] [--port N] [--demo]');
      expect(r.out).toContain('gatehouse clients add --id ID');
      expect(r.out).toContain('gatehouse keys rotate');
    }
  });

  it('exits 2 for an unknown or missing command', async () => {
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown command: frobnicate');
    expect(unknown.err).toContain('Usage:');
    expect((await run([])).code).toBe(2);
    expect((await run(['clients', 'rename'])).code).toBe(2);
    const badFlag = await run(['clients', 'list', '--bogus']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.err).toContain('--bogus');
  });
});

describe('configuration errors', () => {
  it('names each bad setting and the file, without a stack trace', async () => {
    writeConfig({
      issuer: 'http://id.example.com',
      ttl: { code: 9000 },
      clients: [{ client_id: 'a', type: 'web', redirect_uris: ['http://rp.example.com/cb'] }],
    });
    for (const argv of [['start'], ['clients', 'list'], ['users', 'list'], ['keys', 'list']]) {
      const r = await run(argv);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/gatehouse\.config\.json: ttl\.code: /);
      expect(r.out).toBe('');
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    writeConfig({
      issuer: 'http://id.example.com',
      clients: [{ client_id: 'a', type: 'web', redirect_uris: ['http://rp.example.com/cb'] }],
    });
    const r = await run(['start']);
    expect(r.code).toBe(1);
    const lines = r.err.trim().split('\n');
    expect(lines.some((l) => l.includes('gatehouse.config.json: issuer: '))).toBe(true);
    expect(
      lines.some((l) => l.includes('gatehouse.config.json: clients[0].redirect_uris[0]: ')),
    ).toBe(true);
    expect(lines.some((l) => l.includes('gatehouse.config.json: clients[0].client_secret: '))).toBe(
      true,
    );
  });

  it('reports a file that is not JSON, and a missing one', async () => {
    writeFileSync(join(dir, 'broken.json'), '{ "issuer": ');
    const broken = await run(['start', '--config', 'broken.json']);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain('broken.json: not valid JSON');

    const missing = await run(['start', '--config', 'nope.json']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('nope.json: no such file');

    const none = await run(['clients', 'list']);
    expect(none.code).toBe(1);
    expect(none.err).toContain('gatehouse start --demo');
  });

  it('refuses --demo with --config, and a bad --port', async () => {
    expect((await run(['start', '--demo', '--config', 'x.json'])).code).toBe(2);
    const port = await run(['start', '--demo', '--port', 'ninety']);
    expect(port.code).toBe(2);
    expect(port.err).toContain('--port');
  });
});

describe('clients', () => {
  it('adds, lists and removes clients in the SQLite database the configuration names', async () => {
    // The configuration lives in a subdirectory; the database path is relative to it.
    const config = writeConfig({ issuer: 'http://localhost:9000' }, 'etc/gatehouse.json');

    // biome-ignore format: flags and their values in pairs
    const web = await run([
      'clients', 'add', '--config', config, '--id', 'shop', '--type', 'web',
      '--redirect-uri', 'http://localhost:3000/callback',
      '--redirect-uri', 'https://shop.example/callback',
      '--post-logout-redirect-uri', 'https://shop.example/',
      '--name', 'The Shop', '--scope', 'openid email', '--alg', 'ES256',
    ]);
    expect(web.err).toBe('');
    expect(web.code).toBe(0);
    const secret = /client_secret: (\S+)/.exec(web.out)?.[1];
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(web.out).toContain('Store it now; it cannot be shown again');

    // The provider secret was created next to the database, private.
    expect(existsSync(join(dir, 'etc/.gatehouse/gatehouse.db'))).toBe(true);
    expect(mode(join(dir, 'etc/.gatehouse/secret'))).toBe(0o600);

    // biome-ignore format: flags and their values in pairs
    const spa = await run([
      'clients', 'add', '--config', config, '--id', 'spa-app', '--type', 'spa',
      '--redirect-uri', 'http://localhost:5173/callback', '--origin', 'http://localhost:5173',
    ]);
    expect(spa.code).toBe(0);
    expect(spa.out).not.toContain('client_secret:');

    // biome-ignore format: flags and their values in pairs
    const svc = await run([
      'clients', 'add', '--config', config, '--id', 'batch', '--type', 'service',
      '--secret', 'a-service-secret-that-is-long-enough-0123',
    ]);
    expect(svc.code).toBe(0);
    expect(svc.out).not.toContain('a-service-secret');

    const list = await run(['clients', 'list', '--config', config]);
    expect(list.code).toBe(0);
    const rows = list.out.trim().split('\n');
    expect(rows[0]).toMatch(/^CLIENT ID\s+TYPE\s+AUTH METHOD\s+JAR\s+PAR\s+KEYS\s+REDIRECT URIS$/);
    expect(rows).toHaveLength(4);
    expect(list.out).toMatch(
      /shop\s+web\s+client_secret_basic\s+required\s+optional\s+-\s+http:\/\/localhost:3000\/callback https:\/\/shop\.example\/callback/,
    );
    expect(list.out).toMatch(
      /spa-app\s+spa\s+none\s+-\s+optional\s+-\s+http:\/\/localhost:5173\/callback/,
    );
    expect(list.out).toMatch(/batch\s+service\s+client_secret_basic\s+-\s+-\s+-\s+-/);
    expect(list.out).not.toContain(secret!);

    // biome-ignore format: flags and their values in pairs
    const duplicate = await run([
      'clients', 'add', '--config', config, '--id', 'shop', '--type', 'web',
      '--redirect-uri', 'https://shop.example/callback',
    ]);
    expect(duplicate.code).toBe(1);
    expect(duplicate.err).toContain('already exists');

    const removed = await run(['clients', 'remove', 'shop', '--config', config]);
    expect(removed.code).toBe(0);
    expect((await run(['clients', 'remove', 'shop', '--config', config])).code).toBe(1);
    expect((await run(['clients', 'list', '--config', config])).out).not.toMatch(/^shop /m);
  });

  it('registers public keys (PEM, JWK, JWK Set or URL) and the JAR / PAR requirements', async () => {
    const config = writeConfig({ issuer: 'http://localhost:9000' });
    const ed = generateKeyPairSync('ed25519');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dir, 'ed.pub.pem'), ed.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'ed.pem'), ed.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(
      join(dir, 'keys.json'),
      JSON.stringify({ keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-1' }] }),
    );
    writeFileSync(
      join(dir, 'private.jwk'),
      JSON.stringify(ec.privateKey.export({ format: 'jwk' })),
    );

    // biome-ignore format: flags and their values in pairs
    const pem = await run([
      'clients', 'add', '--config', config, '--id', 'signer', '--type', 'web',
      '--auth-method', 'private_key_jwt', '--jwks', 'ed.pub.pem', '--require-par',
      '--redirect-uri', 'https://signer.example/cb',
    ]);
    expect(pem.err).toBe('');
    expect(pem.code).toBe(0);
    expect(pem.out).not.toContain('client_secret:');

    // biome-ignore format: flags and their values in pairs
    const set = await run([
      'clients', 'add', '--config', config, '--id', 'plain', '--type', 'web', '--no-jar',
      '--jwks', 'keys.json', '--redirect-uri', 'https://plain.example/cb',
    ]);
    expect(set.code).toBe(0);
    expect(set.out).toContain('client_secret:');

    // biome-ignore format: flags and their values in pairs
    const remote = await run([
      'clients', 'add', '--config', config, '--id', 'remote', '--type', 'web',
      '--auth-method', 'client_secret_jwt', '--jwks-uri', 'https://remote.example/jwks.json',
      '--redirect-uri', 'https://remote.example/cb',
    ]);
    expect(remote.code).toBe(0);

    const list = (await run(['clients', 'list', '--config', config])).out;
    expect(list).toMatch(/signer\s+web\s+private_key_jwt\s+required\s+required\s+1 in jwks\s/);
    expect(list).toMatch(/plain\s+web\s+client_secret_basic\s+optional\s+optional\s+1 in jwks\s/);
    expect(list).toMatch(
      /remote\s+web\s+client_secret_jwt\s+required\s+optional\s+https:\/\/remote\.example\/jwks\.json\s/,
    );

    // The stored keys are the public ones, each with a kid (the thumbprint when none was given).
    const storage = sqliteStorage(join(dir, '.gatehouse/gatehouse.db'));
    try {
      const signer = await storage.clients.get('signer');
      expect(signer?.jwks?.keys).toHaveLength(1);
      expect(signer?.jwks?.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
      expect(signer?.jwks?.keys[0]?.['kid']).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(signer?.jwks?.keys[0]?.['d']).toBeUndefined();
      expect(signer?.require_pushed_authorization_requests).toBe(true);
      expect((await storage.clients.get('plain'))?.require_signed_request_object).toBe(false);
    } finally {
      await storage.close();
    }

    // Private keys are refused, naming the way out; so is a file that is not a key.
    // biome-ignore format: flags and their values in pairs
    const privatePem = await run([
      'clients', 'add', '--config', config, '--id', 'oops', '--type', 'web',
      '--auth-method', 'private_key_jwt', '--jwks', 'ed.pem', '--redirect-uri', 'https://o.example/cb',
    ]);
    expect(privatePem.code).toBe(1);
    expect(privatePem.err).toContain('-pubout');
    // biome-ignore format: flags and their values in pairs
    const privateJwk = await run([
      'clients', 'add', '--config', config, '--id', 'oops', '--type', 'web',
      '--auth-method', 'private_key_jwt', '--jwks', 'private.jwk', '--redirect-uri', 'https://o.example/cb',
    ]);
    expect(privateJwk.code).toBe(1);
    expect(privateJwk.err).toContain('client.jwks: keys[0]');
    expect(privateJwk.err).toContain('private key');
    // biome-ignore format: flags and their values in pairs
    const notKey = await run([
      'clients', 'add', '--config', config, '--id', 'oops', '--type', 'spa',
      '--jwks', 'gatehouse.config.json', '--redirect-uri', 'https://o.example/cb',
    ]);
    expect(notKey.code).toBe(1);
    // biome-ignore format: flags and their values in pairs
    const publicPar = await run([
      'clients', 'add', '--config', config, '--id', 'oops', '--type', 'spa', '--require-par',
      '--redirect-uri', 'https://o.example/cb',
    ]);
    expect(publicPar.code).toBe(0);
  });

  it('prints validation errors and exits 1', async () => {
    writeConfig({ issuer: 'https://id.example.com' });
    // biome-ignore format: flags and their values in pairs
    const r = await run([
      'clients', 'add', '--id', 'bad', '--type', 'web',
      '--redirect-uri', 'http://rp.example.com/cb', '--origin', 'https://x.example/path',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('client.redirect_uris[0]');
    expect(r.err).toContain('client.allowed_origins[0]');
    expect(r.out).toBe('');

    // biome-ignore format: flags and their values in pairs
    const pub = await run([
      'clients', 'add', '--id', 'p', '--type', 'spa', '--no-pkce',
      '--redirect-uri', 'https://app.example/cb',
    ]);
    expect(pub.code).toBe(1);
    expect(pub.err).toContain('client.require_pkce');

    expect((await run(['clients', 'add', '--id', 'x'])).code).toBe(2);
    expect((await run(['clients', 'add', '--type', 'web'])).code).toBe(2);
    expect((await run(['clients', 'add', '--id', 'x', '--type', 'robot'])).code).toBe(2);
  });

  it('works on storage handed in through io.openStorage', async () => {
    writeConfig({ issuer: 'http://localhost:9000', storage: { memory: true } });
    const refused = await run(['clients', 'list']);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('in memory');

    const storage = memoryStorage();
    const io = { openStorage: () => storage };
    const added = await run(
      ['clients', 'add', '--id', 'm', '--type', 'native', '--redirect-uri', 'com.example.app:/cb'],
      io,
    );
    expect(added.code).toBe(0);
    expect((await run(['clients', 'list'], io)).out).toMatch(
      /m\s+native\s+none\s+-\s+optional\s+-\s+com\.example\.app:\/cb/,
    );
  });
});

describe('users', () => {
  it('adds (from stdin), updates, lists and removes users, never printing a hash', async () => {
    writeConfig({ issuer: 'http://localhost:9000' });
    // biome-ignore format: flags and their values in pairs
    const added = await run(
      [
        'users', 'add', '--username', 'Alice', '--password-stdin',
        '--claim', 'name=Alice Liddell', '--claim', 'email=alice@example.com',
        '--claim', 'email_verified=true', '--claim', 'address={"country":"UK"}',
      ],
      { stdin: Readable.from(['correct horse battery\n']) },
    );
    expect(added.err).toBe('');
    expect(added.code).toBe(0);
    expect(added.out).toMatch(/Added user alice \(sub [\w-]+\)/);

    const bob = await run(['users', 'add', '--username', 'bob', '--password', 'bobs-password-1']);
    expect(bob.code).toBe(0);

    const list = await run(['users', 'list']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^USERNAME\s+SUB\s+NAME\s+EMAIL\s+CREATED$/m);
    expect(list.out).toMatch(/alice\s+\S+\s+Alice Liddell\s+alice@example\.com\s+\d{4}-\d\d-\d\dT/);
    expect(list.out).toMatch(/^bob\s+\S+\s+-\s+-\s+\d{4}/m);
    expect(list.out).not.toContain('scrypt');
    expect(list.out).not.toContain('password');

    const sub = /alice\s+(\S+)/.exec(list.out)![1]!;
    const again = await run([
      'users',
      'add',
      '--username',
      'ALICE',
      '--password',
      'another-password',
    ]);
    expect(again.code).toBe(0);
    expect(again.out).toContain(`Updated user alice (sub ${sub})`);

    expect((await run(['users', 'remove', 'bob'])).code).toBe(0);
    expect((await run(['users', 'remove', 'bob'])).code).toBe(1);
    expect((await run(['users', 'list'])).out).not.toMatch(/^bob/m);
  });

  it('refuses bad input', async () => {
    writeConfig({ issuer: 'http://localhost:9000' });
    const short = await run(['users', 'add', '--username', 'carol', '--password', 'short']);
    expect(short.code).toBe(1);
    expect(short.err).toContain('password: must be at least 8 characters');
    expect((await run(['users', 'add', '--username', 'carol'])).code).toBe(2);
    expect(
      (
        await run([
          'users',
          'add',
          '--username',
          'carol',
          '--password',
          'long-enough',
          '--claim',
          'novalue',
        ])
      ).code,
    ).toBe(2);
    expect(
      (
        await run([
          'users',
          'add',
          '--username',
          'carol',
          '--password',
          'long-enough',
          '--claim',
          'sub=x',
        ])
      ).code,
    ).toBe(2);
    const spaces = await run([
      'users',
      'add',
      '--username',
      'carol smith',
      '--password',
      'long-enough',
    ]);
    expect(spaces.code).toBe(1);
    expect(spaces.err).toContain('username: must not contain spaces');
  });
});

describe('keys', () => {
  it('lists the EdDSA, ES256 and RS256 keys and rotates one', async () => {
    writeConfig({ issuer: 'http://localhost:9000' });
    const list = await run(['keys', 'list']);
    expect(list.err).toBe('');
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^KID\s+ALG\s+STATUS\s+CREATED$/m);
    for (const alg of ['EdDSA', 'ES256', 'RS256']) {
      expect(list.out).toMatch(new RegExp(`\\S+\\s+${alg}\\s+active\\s+\\d{4}-`));
    }

    const rotated = await run(['keys', 'rotate', '--alg', 'ES256']);
    expect(rotated.code).toBe(0);
    expect(rotated.out).toMatch(/New ES256 signing key \S+ is active/);
    const after = (await run(['keys', 'list'])).out;
    expect(after).toMatch(/ES256\s+retired/);
    expect(after.match(/ES256\s+active/g)).toHaveLength(1);
    expect(after.trim().split('\n')).toHaveLength(5);

    expect((await run(['keys', 'rotate'])).code).toBe(2);
    expect((await run(['keys', 'rotate', '--alg', 'HS256'])).code).toBe(2);
  });

  it('uses GATEHOUSE_SECRET when set, and says so when the secret does not fit', async () => {
    writeConfig({ issuer: 'http://localhost:9000' });
    const env = { GATEHOUSE_SECRET: 's'.repeat(40) };
    expect((await run(['keys', 'list'], { env })).code).toBe(0);
    expect(existsSync(join(dir, '.gatehouse/secret'))).toBe(false);

    const wrong = await run(['keys', 'list'], { env: { GATEHOUSE_SECRET: 't'.repeat(40) } });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('cannot be decrypted');

    const short = await run(['keys', 'list'], { env: { GATEHOUSE_SECRET: 'short' } });
    expect(short.code).toBe(1);
    expect(short.err).toContain('GATEHOUSE_SECRET: must be at least 32 characters');
  });
});

describe('start', () => {
  it('serves the configuration, prints the banner and stops on request', async () => {
    const port = await freePort();
    writeConfig({
      issuer: `http://127.0.0.1:${port}`,
      port,
      host: '127.0.0.1',
      storage: { memory: true },
    });
    const server = await startCli([]);
    expect(server.errors()).toContain('development only');
    const out = server.output();
    expect(out).toContain(`Issuer      http://127.0.0.1:${port}`);
    expect(out).toContain(`http://127.0.0.1:${port}/.well-known/openid-configuration`);
    expect(out).toContain('in memory');
    const doc = (await (
      await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)
    ).json()) as {
      issuer: string;
    };
    expect(doc.issuer).toBe(`http://127.0.0.1:${port}`);
    // No demo callback outside demo mode.
    expect((await fetch(`http://127.0.0.1:${port}/demo/callback?code=x`)).status).toBe(404);
    expect(await server.stop()).toBe(0);
    expect(server.output()).toContain('Stopped.');
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });

  it('exits 1 with a message when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      writeConfig({
        issuer: `http://127.0.0.1:${port}`,
        port,
        host: '127.0.0.1',
        storage: { memory: true },
      });
      const r = await run(['start']);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('runs the demo: clickable start URL (JAR), PKCE verifier, curl command, callback page', async () => {
    const port = await freePort();
    const issuer = `http://localhost:${port}`;
    const server = await startCli(['--demo', '--port', String(port)]);
    try {
      expect(server.errors()).not.toContain('error');
      const out = server.output();
      expect(out).toContain(`Issuer      ${issuer}`);
      expect(out).toContain('SQLite .gatehouse/gatehouse.db');
      expect(out).toContain('"demo" / "gatehouse-demo"');

      expect(out).toContain(`${issuer}/demo/start`);
      // The start page signs a fresh request object and redirects to the authorization endpoint.
      const start = await fetch(`${issuer}/demo/start`, { redirect: 'manual' });
      expect(start.status).toBe(302);
      const url = new URL(start.headers.get('location')!);
      expect(`${url.origin}${url.pathname}`).toBe(`${issuer}/v1/oauth/authorize`);
      expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request']);
      expect(url.searchParams.get('client_id')).toBe('demo-web');
      const request = url.searchParams.get('request')!;
      expect(decodeProtectedHeader(request).alg).toBe('HS256');
      const claims = decodeJwt(request);
      expect(claims.iss).toBe('demo-web');
      expect(claims.aud).toBe(issuer);
      const q = new URLSearchParams(
        Object.entries(claims).filter((e): e is [string, string] => typeof e[1] === 'string'),
      );
      expect(q.get('response_type')).toBe('code');
      expect(q.get('client_id')).toBe('demo-web');
      expect(q.get('scope')).toBe('openid profile email offline_access');
      expect(q.get('redirect_uri')).toBe(`${issuer}/demo/callback`);
      expect(q.get('code_challenge_method')).toBe('S256');
      expect(q.get('state')).toBeTruthy();
      expect(q.get('nonce')).toBeTruthy();
      const verifier = /code_verifier of the demo request: (\S+)/.exec(out)![1]!;
      expect(q.get('code_challenge')).toBe(await s256Challenge(verifier));

      const secretFile = join(dir, '.gatehouse/demo-client-secret');
      expect(mode(secretFile)).toBe(0o600);
      expect(mode(join(dir, '.gatehouse/secret'))).toBe(0o600);
      const clientSecret = /client_secret (\S+)/.exec(out)![1]!;
      expect(out).toContain(
        `curl -u demo-web:${clientSecret} -d grant_type=authorization_code -d code=PASTE_CODE -d redirect_uri=${issuer}/demo/callback -d code_verifier=${verifier} ${issuer}/v1/oauth/token`,
      );

      // The signed request is accepted: the engine asks the user to sign in (not an error).
      const authorize = await fetch(url, { redirect: 'manual' });
      expect(authorize.status).toBe(303);
      expect(authorize.headers.get('location')).toContain('/interaction/');
      // Each visit signs a new request object (a jti is used once).
      const again = await fetch(`${issuer}/demo/start`, { redirect: 'manual' });
      expect(again.headers.get('location')).not.toBe(start.headers.get('location'));

      const state = q.get('state')!;
      const page = await fetch(
        `${issuer}/demo/callback?code=${encodeURIComponent('abc<script>x</script>')}&state=${state}&iss=${encodeURIComponent(issuer)}`,
      );
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toBe(
        "default-src 'none'; style-src 'self'; frame-ancestors 'none'",
      );
      expect(page.headers.get('x-content-type-options')).toBe('nosniff');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      const html = await page.text();
      expect(html).toContain('<link rel="stylesheet" href="/assets/gatehouse.css">');
      expect(html).not.toContain('<script>');
      expect(html).toContain('abc&lt;script&gt;x&lt;/script&gt;');
      expect(html).toContain('matches the demo request');
      expect(html).toContain(`-d code_verifier=${verifier}`);
      expect(html).not.toContain(clientSecret);

      const denied = await (
        await fetch(
          `${issuer}/demo/callback?error=access_denied&error_description=${encodeURIComponent('the user said "no"')}&state=other`,
        )
      ).text();
      expect(denied).toContain('access_denied');
      expect(denied).toContain('the user said &quot;no&quot;');
      expect(denied).toContain('does NOT match');
      expect(denied).not.toContain('curl');
    } finally {
      expect(await server.stop()).toBe(0);
    }

    // The management commands see the demo's database, with the same secret.
    const clients = await run(['clients', 'list', '--demo']);
    expect(clients.code).toBe(0);
    expect(clients.out).toMatch(/demo-web\s+web\s+client_secret_basic/);
    expect(clients.out).toMatch(/demo-spa\s+spa\s+none/);
    expect((await run(['users', 'list', '--demo'])).out).toMatch(
      /demo\s+\S+\s+Demo User\s+demo@example\.com/,
    );
    expect((await run(['keys', 'list', '--demo'])).code).toBe(0);

    // A second start keeps the client secret.
    const secretBefore = /client_secret (\S+)/.exec(server.output())![1];
    const again = await startCli(['--demo', '--port', String(port)]);
    try {
      expect(/client_secret (\S+)/.exec(again.output())![1]).toBe(secretBefore);
      expect(again.output()).not.toContain('(created now)');
    } finally {
      expect(await again.stop()).toBe(0);
    }
  });
});
