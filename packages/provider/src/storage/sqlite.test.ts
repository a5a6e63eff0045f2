import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, retainNativeHandle, SCHEMA_VERSION, sqliteStorage } from './sqlite.js';
import { client, code, describeStorage, refreshToken, session, user } from './storage.suite.js';
import type { Storage } from './types.js';

const T = 1_700_000_000_000;

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-'));
  dirs.push(dir);
  return dir;
}
function tempDb(): string {
  return join(tempDir(), 'gatehouse.db');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeStorage('sqlite', () => sqliteStorage(tempDb()));

describe('sqlite storage', () => {
  it('keeps data across close and reopen of the same file', async () => {
    const path = tempDb();
    const first = sqliteStorage(path);
    await first.clients.put(client('app'));
    await first.users.put(user('sub-1', 'alice'));
    await first.codes.save(code('code-1'));
    await first.refreshTokens.save(refreshToken('rt-1'));
    expect((await first.codes.consume('code-1', T)).status).toBe('ok');
    await first.consents.put('sub-1', 'app', ['openid'], T);
    await first.grants.revoke('g-1', T + 1, T + 1000);
    expect(await first.counters.hit('k', 60_000, T)).toBe(1);
    await first.close();

    const second = sqliteStorage(path);
    try {
      expect(await second.clients.get('app')).toEqual(client('app'));
      expect(await second.users.findByUsername('ALICE')).toEqual(user('sub-1', 'alice'));
      expect(await second.codes.consume('code-1', T)).toEqual({
        status: 'reused',
        record: code('code-1'),
      });
      expect((await second.refreshTokens.consume('rt-1', T)).status).toBe('ok');
      expect(await second.consents.get('sub-1', 'app')).toEqual(['openid']);
      expect(await second.grants.isRevoked('g-1', T + 2)).toBe(true);
      expect(await second.counters.hit('k', 60_000, T + 1)).toBe(2);
    } finally {
      await second.close();
    }

    const db = retainNativeHandle(new Database(path, { readonly: true }));
    try {
      expect(retainNativeHandle(db.prepare('PRAGMA journal_mode')).pluck().get()).toBe('wal');
      // Migrations ran once, not once per open.
      expect(
        retainNativeHandle(db.prepare('SELECT version FROM schema_version')).pluck().all(),
      ).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      db.close();
    }
  });

  it('upgrades a database of schema version 1 in place, keeping its data', async () => {
    const path = tempDb();
    const db = retainNativeHandle(new Database(path));
    db.exec(
      'CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
    );
    db.exec(MIGRATIONS[0]!.sql);
    retainNativeHandle(db.prepare('INSERT INTO schema_version VALUES (1, 0)')).run();
    retainNativeHandle(db.prepare('INSERT INTO clients (client_id, data) VALUES (?, ?)')).run(
      'old',
      JSON.stringify(client('old')),
    );
    db.close();

    const storage = sqliteStorage(path);
    try {
      expect((await storage.clients.get('old'))?.client_id).toBe('old');
      await storage.pushedRequests.save({
        id: 'p',
        clientId: 'old',
        request: { scope: 'openid' },
        createdAt: T,
        expiresAt: T + 60_000,
      });
      expect((await storage.pushedRequests.consume('p', T))?.request).toEqual({ scope: 'openid' });
      // Migration 3 rebuilt the codes table: codes are saved and consumed as before.
      await storage.codes.save(code('after-upgrade'));
      expect((await storage.codes.consume('after-upgrade', T)).status).toBe('ok');
    } finally {
      await storage.close();
    }
  });

  it('sweeps expired codes without an expiry index, and never a live one', async () => {
    const path = tempDb();
    const storage = sqliteStorage(path);
    try {
      // Saved in this order; `late-first` outlives the two saved after it.
      await storage.codes.save(code('early', { expiresAt: T + 1000 }));
      await storage.codes.save(code('late-first', { expiresAt: T + 5000 }));
      await storage.codes.save(code('early-after', { expiresAt: T + 2000 }));
      await storage.codes.save(code('live', { expiresAt: T + 9000 }));

      await storage.sweep(T + 3000);
      // Gone: the expired code saved before the first live one.
      expect(await storage.codes.consume('early', T)).toEqual({ status: 'missing' });
      // Kept: everything from the first live code on, `early-after` included, though expired...
      expect((await storage.codes.consume('early-after', T)).status).toBe('ok');
      // ...which is refused all along at any time after its expiry.
      await storage.codes.save(code('early-after-2', { expiresAt: T + 2000 }));
      expect(await storage.codes.consume('early-after-2', T + 3000)).toEqual({
        status: 'missing',
      });
      expect((await storage.codes.consume('late-first', T + 3000)).status).toBe('ok');
      expect((await storage.codes.consume('live', T + 3000)).status).toBe('ok');

      // Once the older code has expired too, everything expired goes; nothing live is touched.
      await storage.codes.save(code('newest', { expiresAt: T + 20_000 }));
      await storage.sweep(T + 10_000);
      for (const id of ['late-first', 'early-after', 'early-after-2', 'live']) {
        expect(await storage.codes.consume(id, T)).toEqual({ status: 'missing' });
      }
      expect((await storage.codes.consume('newest', T + 10_000)).status).toBe('ok');

      // With no live code left, the sweep empties the table.
      await storage.sweep(T + 30_000);
      expect(await storage.codes.consume('newest', T)).toEqual({ status: 'missing' });
    } finally {
      await storage.close();
    }

    // The index that only the sweep used is gone.
    const db = retainNativeHandle(new Database(path));
    try {
      expect(
        retainNativeHandle(
          db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'codes'"),
        )
          .pluck()
          .all(),
      ).toEqual(['sqlite_autoindex_codes_1']);
    } finally {
      db.close();
    }
  });

  it('sweeps with many codes in any order of expiry, keeping every live one', async () => {
    const storage = sqliteStorage(tempDb());
    try {
      // Lifetimes that go up and down, as when the code TTL is changed between restarts.
      const expiries = Array.from({ length: 300 }, (_, i) => T + ((i * 7919) % 1000) + 1);
      for (const [i, expiresAt] of expiries.entries()) {
        await storage.codes.save(code(`c${i}`, { expiresAt }));
      }
      const sweepAt = T + 500;
      await storage.sweep(sweepAt);
      for (const [i, expiresAt] of expiries.entries()) {
        const status = (await storage.codes.consume(`c${i}`, sweepAt)).status;
        expect(status).toBe(expiresAt > sweepAt ? 'ok' : 'missing');
      }
    } finally {
      await storage.close();
    }
  });

  it('refuses a database written by a newer schema version', () => {
    const path = tempDb();
    const db = retainNativeHandle(new Database(path));
    db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER)');
    retainNativeHandle(db.prepare('INSERT INTO schema_version VALUES (?, 0)')).run(
      SCHEMA_VERSION + 1,
    );
    db.close();
    expect(() => sqliteStorage(path)).toThrow(/newer/);
  });

  it('works in memory', async () => {
    const storage = sqliteStorage(':memory:');
    try {
      await storage.codes.save(code('c'));
      expect((await storage.codes.consume('c', T)).status).toBe('ok');
      expect((await storage.codes.consume('c', T)).status).toBe('reused');
    } finally {
      await storage.close();
    }
  });

  it('two instances on one file (two provider processes) share state and race safely', async () => {
    const path = tempDb();
    const a = sqliteStorage(path);
    const b = sqliteStorage(path, { busyTimeoutMs: 2000 });
    try {
      await a.codes.save(code('race'));
      await b.refreshTokens.save(refreshToken('race'));
      const both = [a, b];
      const codeResults = await Promise.all(
        Array.from({ length: 50 }, (_, i) => both[i % 2]!.codes.consume('race', T)),
      );
      expect(codeResults.filter((r) => r.status === 'ok')).toHaveLength(1);
      expect(codeResults.filter((r) => r.status === 'reused')).toHaveLength(49);
      const tokenResults = await Promise.all(
        Array.from({ length: 50 }, (_, i) => both[i % 2]!.refreshTokens.consume('race', T)),
      );
      expect(tokenResults.filter((r) => r.status === 'ok')).toHaveLength(1);
      expect(tokenResults.filter((r) => r.status === 'reused')).toHaveLength(49);

      // Writes through one are visible through the other at once.
      await a.users.put(user('sub-1', 'alice'));
      await expect(b.users.put(user('sub-2', 'alice'))).rejects.toThrow();
      expect(await b.counters.once('jti', T + 1000, T)).toBe(true);
      expect(await a.counters.once('jti', T + 1000, T)).toBe(false);
      await a.grants.revokeAccessToken('at', T + 1000);
      expect(await b.grants.isAccessTokenRevoked('at', T)).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  describe('group commit', () => {
    const walBytes = (path: string) => statSync(`${path}-wal`).size;

    it('commits the writes issued in one turn together: one WAL append instead of one each', async () => {
      const path = tempDb();
      const storage = sqliteStorage(path);
      try {
        await storage.codes.save(code('warm-up'));
        const before = walBytes(path);
        for (let i = 0; i < 20; i++) await storage.codes.save(code(`one-by-one-${i}`));
        const oneByOne = walBytes(path) - before;
        await Promise.all(Array.from({ length: 20 }, (_, i) => storage.codes.save(code(`g-${i}`))));
        const together = walBytes(path) - before - oneByOne;
        // 20 commits append the code table's page 20 times; one commit appends it once.
        expect(oneByOne).toBeGreaterThanOrEqual(20 * 4096);
        expect(together).toBeLessThan(oneByOne / 5);
        for (let i = 0; i < 20; i++) {
          expect((await storage.codes.consume(`g-${i}`, T)).status).toBe('ok');
        }
      } finally {
        await storage.close();
      }
    });

    it('settles a write only once it is committed, visible to another connection', async () => {
      const path = tempDb();
      const storage = sqliteStorage(path);
      const reader = retainNativeHandle(new Database(path, { readonly: true }));
      const count = retainNativeHandle(reader.prepare('SELECT count(*) FROM codes')).pluck();
      try {
        const saved = Promise.all([storage.codes.save(code('a')), storage.codes.save(code('b'))]);
        // Queued, not yet written: nothing is acknowledged before the commit.
        expect(count.get()).toBe(0);
        await saved;
        expect(count.get()).toBe(2);
      } finally {
        reader.close();
        await storage.close();
      }
    });

    it('applies the writes of one group in the order they were issued', async () => {
      const storage = sqliteStorage(tempDb());
      try {
        const first = session('s-1', { clients: ['first'] });
        const second = session('s-1', { clients: ['second'] });
        await Promise.all([storage.sessions.put(first), storage.sessions.put(second)]);
        expect(await storage.sessions.get('s-1', T)).toEqual(second);
        // A consume issued before the save, in the same turn, runs before it.
        const [early] = await Promise.all([
          storage.codes.consume('c', T),
          storage.codes.save(code('c')),
        ]);
        expect(early).toEqual({ status: 'missing' });
        const [once, twice] = await Promise.all([
          storage.codes.consume('c', T),
          storage.codes.consume('c', T),
        ]);
        expect(once.status).toBe('ok');
        expect(twice.status).toBe('reused');
      } finally {
        await storage.close();
      }
    });

    it('fails only the write that fails; the rest of its group commits', async () => {
      const path = tempDb();
      const storage = sqliteStorage(path);
      try {
        await storage.users.put(user('sub-1', 'alice'));
        const results = await Promise.allSettled([
          storage.codes.save(code('before')),
          storage.users.put(user('sub-2', 'alice')),
          storage.codes.save(code('after')),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/alice is taken/);
        expect((await storage.codes.consume('before', T)).status).toBe('ok');
        expect((await storage.codes.consume('after', T)).status).toBe('ok');
        expect(await storage.users.get('sub-2')).toBeUndefined();
      } finally {
        await storage.close();
      }
    });

    it('when SQLite rolls the whole group back, runs each write again on its own', async () => {
      const path = tempDb();
      const storage = sqliteStorage(path);
      await storage.codes.save(code('warm-up'));
      // A trigger that ends the whole transaction, as an I/O error or a full disk would.
      const db = retainNativeHandle(new Database(path));
      db.exec(`CREATE TRIGGER poison BEFORE INSERT ON codes WHEN NEW.id = 'poison'
               BEGIN SELECT RAISE(ROLLBACK, 'poisoned'); END`);
      db.close();
      try {
        const results = await Promise.allSettled([
          storage.codes.save(code('before')),
          storage.codes.save(code('poison')),
          storage.codes.save(code('after')),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/poisoned/);
        // Reported done, and really there: not lost with the rolled-back group.
        expect((await storage.codes.consume('before', T)).status).toBe('ok');
        expect((await storage.codes.consume('after', T)).status).toBe('ok');
        expect(await storage.codes.consume('poison', T)).toEqual({ status: 'missing' });
      } finally {
        await storage.close();
      }
    });

    it('fails every write of a group that cannot take the write lock, and recovers', async () => {
      const path = tempDb();
      const storage = sqliteStorage(path, { busyTimeoutMs: 50 });
      await storage.codes.save(code('warm-up'));
      const other = retainNativeHandle(new Database(path));
      other.exec('BEGIN IMMEDIATE');
      try {
        const results = await Promise.allSettled([
          storage.codes.save(code('a')),
          storage.codes.consume('warm-up', T),
        ]);
        expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
        for (const r of results) {
          expect(String((r as PromiseRejectedResult).reason)).toMatch(/locked/);
        }
        other.exec('COMMIT');
        // Nothing of the group was written, and the next group goes through.
        expect(await storage.codes.consume('a', T)).toEqual({ status: 'missing' });
        expect((await storage.codes.consume('warm-up', T)).status).toBe('ok');
      } finally {
        if (other.inTransaction) other.exec('ROLLBACK');
        other.close();
        await storage.close();
      }
    });

    it('closes at once with nothing queued, even while another connection holds the write lock', async () => {
      const path = tempDb();
      const storage = sqliteStorage(path, { busyTimeoutMs: 5000 });
      await storage.codes.save(code('c'));
      const other = retainNativeHandle(new Database(path));
      other.exec('BEGIN IMMEDIATE');
      try {
        const started = performance.now();
        await storage.close();
        // An empty group would have waited out the 5 s busy timeout for the lock.
        expect(performance.now() - started).toBeLessThan(2500);
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
    });

    it('commits what is queued when the storage closes', async () => {
      const path = tempDb();
      const storage = sqliteStorage(path);
      const saved = storage.codes.save(code('last'));
      await storage.close();
      await saved;
      await expect(storage.codes.save(code('late'))).rejects.toThrow(/not open/);
      const again = sqliteStorage(path);
      try {
        expect((await again.codes.consume('last', T)).status).toBe('ok');
      } finally {
        await again.close();
      }
    });
  });

  describe('separate OS processes on one file', () => {
    /**
     * The children run the real adapter: sqlite.ts is transpiled (types stripped, nothing else)
     * into a temporary module whose `better-sqlite3` import points at this repository's copy.
     */
    let moduleDir: string;
    let childScript: string;

    beforeAll(() => {
      moduleDir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-child-'));
      const source = readFileSync(fileURLToPath(new URL('./sqlite.ts', import.meta.url)), 'utf8');
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2022,
          verbatimModuleSyntax: true,
        },
      });
      const betterSqlite = pathToFileURL(createRequire(import.meta.url).resolve('better-sqlite3'));
      const adapter = outputText.replace(
        /from ['"]better-sqlite3['"]/,
        `from ${JSON.stringify(betterSqlite.href)}`,
      );
      expect(adapter).toContain(betterSqlite.href);
      expect(adapter).not.toMatch(/from ['"]\.\//);
      writeFileSync(join(moduleDir, 'adapter.mjs'), adapter);
      childScript = join(moduleDir, 'child.mjs');
      writeFileSync(
        childScript,
        `import { sqliteStorage } from './adapter.mjs';
const [path, count, now] = process.argv.slice(2);
const n = Number(count);
const t = Number(now);
const storage = sqliteStorage(path);
process.send({ type: 'ready' });
process.once('message', async () => {
  const codes = [];
  const tokens = [];
  const hits = [];
  for (let i = 0; i < n; i++) {
    codes.push((await storage.codes.consume('code-' + i, t)).status);
    tokens.push((await storage.refreshTokens.consume('rt-' + i, t)).status);
    hits.push(await storage.counters.hit('shared', 60000, t));
  }
  await storage.close();
  process.send({ type: 'done', codes, tokens, hits }, () => process.disconnect());
});
`,
      );
    });
    afterAll(() => {
      if (moduleDir) rmSync(moduleDir, { recursive: true, force: true });
    });

    interface Done {
      type: 'done';
      codes: string[];
      tokens: string[];
      hits: number[];
    }

    it('4 processes consuming the same codes and tokens: each is ok exactly once', async () => {
      const path = tempDb();
      const processes = 4;
      const count = 150;
      const children: ChildProcess[] = [];
      const ready: Promise<void>[] = [];
      const done: Promise<Done>[] = [];
      let parent: Storage | undefined;
      try {
        for (let p = 0; p < processes; p++) {
          // The children open (and migrate) the new file concurrently.
          const child = fork(childScript, [path, String(count), String(T)], {
            execArgv: [],
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          });
          children.push(child);
          const exited = new Promise<never>((_, reject) =>
            child.once('exit', (code) => reject(new Error(`child exited early (${code})`))),
          );
          ready.push(
            Promise.race([
              new Promise<void>((resolve) =>
                child.on('message', (m: { type: string }) => m.type === 'ready' && resolve()),
              ),
              exited,
            ]),
          );
          done.push(
            Promise.race([
              new Promise<Done>((resolve) =>
                child.on('message', (m: Done) => m.type === 'done' && resolve(m)),
              ),
              exited,
            ]),
          );
        }
        await Promise.all(ready);

        parent = sqliteStorage(path);
        for (let i = 0; i < count; i++) {
          await parent.codes.save(code(`code-${i}`));
          await parent.refreshTokens.save(refreshToken(`rt-${i}`));
        }
        for (const child of children) child.send('go');
        const results = await Promise.all(done);

        for (let i = 0; i < count; i++) {
          const codeStatuses = results.map((r) => r.codes[i]);
          expect(
            codeStatuses.filter((s) => s === 'ok'),
            `code-${i}`,
          ).toHaveLength(1);
          expect(codeStatuses.filter((s) => s === 'reused')).toHaveLength(processes - 1);
          const tokenStatuses = results.map((r) => r.tokens[i]);
          expect(
            tokenStatuses.filter((s) => s === 'ok'),
            `rt-${i}`,
          ).toHaveLength(1);
          expect(tokenStatuses.filter((s) => s === 'reused')).toHaveLength(processes - 1);
        }
        // Every hit from every process was counted once: the counts are exactly 1..total.
        const hits = results.flatMap((r) => r.hits).sort((a, b) => a - b);
        expect(hits).toEqual(Array.from({ length: processes * count }, (_, i) => i + 1));
      } finally {
        for (const child of children) if (child.exitCode === null) child.kill();
        await parent?.close();
      }

      const db = retainNativeHandle(new Database(path, { readonly: true }));
      try {
        expect(
          retainNativeHandle(db.prepare('SELECT version FROM schema_version')).pluck().all(),
        ).toEqual(MIGRATIONS.map((m) => m.version));
      } finally {
        db.close();
      }
    });
  });
});
