/**
 * The SQLite adapter (better-sqlite3). One file holds everything; several `sqliteStorage`
 * instances — in one process or in several — may open the same file at once: the database runs in
 * WAL mode with a busy timeout, and every single-use operation (codes, refresh tokens, pushed
 * requests, replay keys, counters) is one atomic SQL statement, so it holds across connections and
 * processes.
 *
 * better-sqlite3 is synchronous. Reads run at once; writes are committed in groups (see
 * `groupCommit`): every write issued in one turn of the event loop shares one transaction, and
 * its promise settles once that transaction is committed. Records are stored as JSON text beside
 * the indexed columns (keys, expiry, username) that the queries need, so every read returns a
 * fresh object. Authorization codes, written and consumed on
 * every sign-in, are stored as columns instead: no JSON to write or parse on the hot path.
 */
import Database from 'better-sqlite3';
import type {
  AuthorizationCode,
  Client,
  ConsumeResult,
  Interaction,
  PushedRequest,
  RefreshToken,
  Session,
  Storage,
  StoredKey,
  User,
} from './types.js';

export interface SqliteStorageOptions {
  /** How long a statement waits for another connection's write lock, in ms. Default 5000. */
  busyTimeoutMs?: number;
}

export interface Migration {
  version: number;
  sql: string;
}

/**
 * Numbered schema migrations, applied in order at open. Never edit a released migration: append a
 * new one. The versions applied are recorded in `schema_version`.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE clients (
        client_id TEXT PRIMARY KEY,
        data TEXT NOT NULL
      );
      CREATE TABLE users (
        sub TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        data TEXT NOT NULL
      );
      CREATE TABLE codes (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
      );
      CREATE INDEX codes_expires_at ON codes (expires_at);
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX sessions_expires_at ON sessions (expires_at);
      CREATE TABLE interactions (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX interactions_expires_at ON interactions (expires_at);
      CREATE TABLE revoked_grants (
        id TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX revoked_grants_expires_at ON revoked_grants (expires_at);
      CREATE TABLE revoked_access_tokens (
        jti TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX revoked_access_tokens_expires_at ON revoked_access_tokens (expires_at);
      CREATE TABLE refresh_tokens (
        id TEXT PRIMARY KEY,
        grant_id TEXT NOT NULL,
        data TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
      );
      CREATE INDEX refresh_tokens_grant_id ON refresh_tokens (grant_id);
      CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);
      CREATE TABLE consents (
        sub TEXT NOT NULL,
        client_id TEXT NOT NULL,
        scopes TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (sub, client_id)
      );
      CREATE TABLE keys (
        kid TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX keys_created_at ON keys (created_at);
      CREATE TABLE counters (
        key TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        reset_at INTEGER NOT NULL
      );
      CREATE INDEX counters_reset_at ON counters (reset_at);
      CREATE TABLE once_keys (
        key TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX once_keys_expires_at ON once_keys (expires_at);
    `,
  },
  {
    version: 2,
    sql: `
      CREATE TABLE pushed_requests (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        data TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);
    `,
  },
  {
    // Authorization codes as columns instead of JSON: nothing to serialise or parse on the hot
    // path. Codes live ten minutes at most, so the old table is dropped rather than converted:
    // a code issued just before the upgrade has to be asked for again.
    version: 3,
    sql: `
      DROP TABLE codes;
      CREATE TABLE codes (
        id TEXT PRIMARY KEY,
        grant_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        code_challenge TEXT,
        nonce TEXT,
        scope TEXT NOT NULL,
        sub TEXT NOT NULL,
        auth_time INTEGER NOT NULL,
        session_id TEXT NOT NULL,
        claims TEXT,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
      );
      CREATE INDEX codes_expires_at ON codes (expires_at);
    `,
  },
  {
    // Every code saved wrote three b-trees (the table, the key, the expiry index), and only the
    // sweep read the expiry index. Codes are appended in time order, so the sweep now deletes
    // the expired prefix in rowid order instead (see `sweep`): one b-tree less per code.
    version: 4,
    sql: 'DROP INDEX codes_expires_at;',
  },
];

/** The schema version this adapter writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The columns of a code row that make up its record, in the order `codeRecord` reads them. */
const CODE_COLUMNS =
  'grant_id, client_id, redirect_uri, code_challenge, nonce, scope, sub, auth_time, session_id, claims, issued_at, expires_at';

/**
 * Marks an authorization code used, atomically: only an unused, unexpired code matches, and of
 * concurrent statements (any connection, any process) exactly one updates the row and gets its
 * columns back. Parameters: `@id`, `@now`.
 */
export const CONSUME_CODE_SQL = `UPDATE codes SET used_at = @now WHERE id = @id AND used_at IS NULL AND expires_at > @now RETURNING ${CODE_COLUMNS}`;

/** Rotates a refresh token, atomically, like {@link CONSUME_CODE_SQL}. */
export const CONSUME_REFRESH_TOKEN_SQL =
  'UPDATE refresh_tokens SET used_at = @now WHERE id = @id AND used_at IS NULL AND expires_at > @now RETURNING data';

/**
 * Takes a pushed authorization request, atomically: the row is deleted as it is read, so of
 * concurrent statements (any connection, any process) exactly one gets its data. An expired row
 * matches nothing and is left for the sweep. Parameters: `@id`, `@now`.
 */
export const CONSUME_PUSHED_REQUEST_SQL =
  'DELETE FROM pushed_requests WHERE id = @id AND expires_at > @now RETURNING data';

/**
 * better-sqlite3 12 on Node 24.20 and later aborts the whole process (a failed CHECK in
 * node::RemoveEnvironmentCleanupHook) when the garbage collector destroys one of its Database or
 * Statement objects outside a V8 context. better-sqlite3 13 fixes that but needs Node 22, and
 * Gatehouse supports Node 20. So every native handle created here stays reachable for the life of
 * the process: a few kilobytes per opened database, and a provider opens one.
 */
const nativeHandles: object[] = [];

/** Keeps a better-sqlite3 object from ever being garbage-collected (see above). */
export function retainNativeHandle<T extends object>(handle: T): T {
  nativeHandles.push(handle);
  return handle;
}

function migrate(db: Database.Database): void {
  // IMMEDIATE: the write lock is taken first, so two processes opening a new file at once
  // serialise here instead of both applying migration 1.
  db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
    );
    const current =
      retainNativeHandle(db.prepare<[], number | null>('SELECT max(version) FROM schema_version'))
        .pluck()
        .get() ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `database schema version ${current} is newer than this version of Gatehouse supports (${SCHEMA_VERSION})`,
      );
    }
    const record = retainNativeHandle(
      db.prepare<[number, number]>(
        'INSERT INTO schema_version (version, applied_at) VALUES (?, ?)',
      ),
    );
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, Date.now());
    }
  }).immediate();
}

const parse = <T>(json: string): T => JSON.parse(json) as T;

/** Sorts like the memory adapter: by `localeCompare`, ties kept in insertion (rowid) order. */
function sortBy<T>(items: T[], key: (item: T) => string): T[] {
  return items.sort((a, b) => key(a).localeCompare(key(b)));
}

function isUniqueViolation(error: unknown): boolean {
  return (
    error instanceof Error && (error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE'
  );
}

interface ConsumableRow {
  data: string;
  used_at: number | null;
}

/** A code row's columns as `CODE_COLUMNS` lists them (better-sqlite3 `raw()` mode). */
type CodeRow = [
  grantId: string,
  clientId: string,
  redirectUri: string,
  codeChallenge: string | null,
  nonce: string | null,
  scope: string,
  sub: string,
  authTime: number,
  sessionId: string,
  claims: string | null,
  issuedAt: number,
  expiresAt: number,
];

/** The record of a code row: the columns that are NULL are left out, as they were absent. */
function codeRecord(id: string, row: CodeRow): AuthorizationCode {
  const record: AuthorizationCode = {
    id,
    grantId: row[0],
    clientId: row[1],
    redirectUri: row[2],
    scope: row[5],
    sub: row[6],
    authTime: row[7],
    sessionId: row[8],
    issuedAt: row[10],
    expiresAt: row[11],
  };
  if (row[3] !== null) record.codeChallenge = row[3];
  if (row[4] !== null) record.nonce = row[4];
  if (row[9] !== null) record.claims = row[9];
  return record;
}

interface QueuedWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit. A write is queued, and the queue runs once the current turn of the event loop is
 * over (`setImmediate`): all the writes that concurrent requests issued in that turn go into one
 * transaction, so they share one commit (one append to the WAL, one round of file locks) instead
 * of paying for one each. Each write's promise settles only after that commit, so nothing is
 * acknowledged before it is as durable as a write of its own; a write alone in its turn runs as
 * its own statement, exactly as without the queue.
 *
 * Each write is one statement (or a statement and the lookup that explains why it matched
 * nothing). A write that fails is undone alone by SQLite and fails alone; the others commit. If
 * the transaction as a whole fails (SQLite rolled it back, or the commit failed), nothing of it
 * was written, and every write of the group is run again on its own, so each gets its own outcome.
 * If the transaction could not even begin (another connection held the write lock for the whole
 * busy timeout), every write fails with that error, as each would have alone.
 */
function groupCommit(db: Database.Database) {
  let queue: QueuedWrite[] = [];

  let begun = false;
  const runTogether = db.transaction((writes: QueuedWrite[]): Outcome[] => {
    begun = true;
    return writes.map((write) => {
      try {
        return { ok: true, value: write.run() };
      } catch (error) {
        // SQLite ends the whole transaction on some errors (I/O, a full disk): then what the
        // earlier writes did is gone too, and the group must not report them done.
        if (!db.inTransaction) throw error;
        return { ok: false, error };
      }
    });
  });

  function runAlone(write: QueuedWrite): void {
    try {
      write.resolve(write.run());
    } catch (error) {
      write.reject(error);
    }
  }

  function flush(): void {
    const writes = queue;
    queue = [];
    // Nothing queued (close() with an empty queue): no transaction, so no wait for the lock.
    if (writes.length === 0) return;
    if (writes.length === 1) {
      runAlone(writes[0]!);
      return;
    }
    let outcomes: Outcome[];
    begun = false;
    try {
      // IMMEDIATE: the write lock is taken (waiting up to the busy timeout) before any statement
      // runs, as the first statement of a write alone would take it.
      outcomes = runTogether.immediate(writes);
    } catch (error) {
      if (!begun) {
        for (const write of writes) write.reject(error);
        return;
      }
      for (const write of writes) runAlone(write);
      return;
    }
    for (let i = 0; i < writes.length; i++) {
      const outcome = outcomes[i]!;
      if (outcome.ok) writes[i]!.resolve(outcome.value);
      else writes[i]!.reject(outcome.error);
    }
  }

  return {
    /** Queues `run` for the next group; resolves to what it returned once committed. */
    write<T>(run: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        if (queue.push({ run, resolve: resolve as (value: unknown) => void, reject }) === 1) {
          setImmediate(flush);
        }
      });
    },
    /** Runs what is queued now, synchronously (before the database closes). */
    flush,
  };
}

/** Opens (creating and migrating if needed) the SQLite database at `path`. */
export function sqliteStorage(path: string, options: SqliteStorageOptions = {}): Storage {
  const db = retainNativeHandle(new Database(path, { timeout: options.busyTimeoutMs ?? 5000 }));
  // Every statement of this connection is retained (see retainNativeHandle). PRAGMAs go through
  // exec, which makes no Statement object.
  const prepare = ((source: string) => retainNativeHandle(db.prepare(source))) as typeof db.prepare;
  try {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    // Checkpoint every 10 000 WAL pages (~40 MB) instead of SQLite's 1000: each checkpoint
    // writes every page changed since the last one back to the database file and syncs it, so
    // a page that changes on every sign-in is written back a tenth as often. Measured with the
    // code table alone: about a third less CPU per code saved (docs/performance.md).
    db.exec('PRAGMA wal_autocheckpoint = 10000');
    db.exec('PRAGMA foreign_keys = ON');
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }

  const q = {
    clientGet: prepare<[string], string>('SELECT data FROM clients WHERE client_id = ?').pluck(),
    clientList: prepare<[], string>('SELECT data FROM clients ORDER BY rowid').pluck(),
    clientPut: prepare<[string, string]>(
      'INSERT INTO clients (client_id, data) VALUES (?, ?) ON CONFLICT (client_id) DO UPDATE SET data = excluded.data',
    ),
    clientRemove: prepare<[string]>('DELETE FROM clients WHERE client_id = ?'),

    userGet: prepare<[string], string>('SELECT data FROM users WHERE sub = ?').pluck(),
    userByName: prepare<[string], string>('SELECT data FROM users WHERE username = ?').pluck(),
    userList: prepare<[], string>('SELECT data FROM users ORDER BY rowid').pluck(),
    // Upsert on `sub` only: a username held by another sub violates UNIQUE and throws (whereas
    // INSERT OR REPLACE would silently delete the other user).
    userPut: prepare<[string, string, string]>(
      'INSERT INTO users (sub, username, data) VALUES (?, ?, ?) ON CONFLICT (sub) DO UPDATE SET username = excluded.username, data = excluded.data',
    ),
    userRemove: prepare<[string]>('DELETE FROM users WHERE sub = ?'),

    codeSave: prepare<
      [
        string,
        string,
        string,
        string,
        string | null,
        string | null,
        string,
        string,
        number,
        string,
        string | null,
        number,
        number,
      ]
    >(
      `INSERT INTO codes (id, ${CODE_COLUMNS}, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
         ON CONFLICT (id) DO UPDATE SET
           grant_id = excluded.grant_id, client_id = excluded.client_id,
           redirect_uri = excluded.redirect_uri, code_challenge = excluded.code_challenge,
           nonce = excluded.nonce, scope = excluded.scope, sub = excluded.sub,
           auth_time = excluded.auth_time, session_id = excluded.session_id,
           claims = excluded.claims, issued_at = excluded.issued_at,
           expires_at = excluded.expires_at, used_at = NULL`,
    ),
    codeConsume: prepare<{ id: string; now: number }, CodeRow>(CONSUME_CODE_SQL).raw(),
    codeLookup: prepare<[string, number], [...CodeRow, usedAt: number | null]>(
      `SELECT ${CODE_COLUMNS}, used_at FROM codes WHERE id = ? AND expires_at > ?`,
    ).raw(),

    sessionGet: prepare<[string, number], string>(
      'SELECT data FROM sessions WHERE id = ? AND expires_at > ?',
    ).pluck(),
    sessionPut: prepare<[string, string, number]>(
      'INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at',
    ),
    sessionRemove: prepare<[string]>('DELETE FROM sessions WHERE id = ?'),

    interactionGet: prepare<[string, number], string>(
      'SELECT data FROM interactions WHERE id = ? AND expires_at > ?',
    ).pluck(),
    interactionPut: prepare<[string, string, number]>(
      'INSERT INTO interactions (id, data, expires_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at',
    ),
    interactionRemove: prepare<[string]>('DELETE FROM interactions WHERE id = ?'),

    pushedSave: prepare<[string, string, string, number]>(
      'INSERT INTO pushed_requests (id, client_id, data, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, data = excluded.data, expires_at = excluded.expires_at',
    ),
    pushedConsume: prepare<{ id: string; now: number }, string>(CONSUME_PUSHED_REQUEST_SQL).pluck(),

    grantRevoke: prepare<[string, number]>(
      'INSERT INTO revoked_grants (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)',
    ),
    grantRevoked: prepare<[string, number], number>(
      'SELECT 1 FROM revoked_grants WHERE id = ? AND expires_at > ?',
    ).pluck(),
    accessTokenRevoke: prepare<[string, number]>(
      'INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at',
    ),
    accessTokenRevoked: prepare<[string, number], number>(
      'SELECT 1 FROM revoked_access_tokens WHERE jti = ? AND expires_at > ?',
    ).pluck(),

    refreshSave: prepare<[string, string, string, number]>(
      'INSERT INTO refresh_tokens (id, grant_id, data, expires_at, used_at) VALUES (?, ?, ?, ?, NULL) ON CONFLICT (id) DO UPDATE SET grant_id = excluded.grant_id, data = excluded.data, expires_at = excluded.expires_at, used_at = NULL',
    ),
    refreshConsume: prepare<{ id: string; now: number }, string>(CONSUME_REFRESH_TOKEN_SQL).pluck(),
    refreshLookup: prepare<[string, number], ConsumableRow>(
      'SELECT data, used_at FROM refresh_tokens WHERE id = ? AND expires_at > ?',
    ),
    refreshGet: prepare<[string, number], string>(
      'SELECT data FROM refresh_tokens WHERE id = ? AND used_at IS NULL AND expires_at > ?',
    ).pluck(),
    refreshRemove: prepare<[string], string>(
      'DELETE FROM refresh_tokens WHERE id = ? RETURNING data',
    ).pluck(),

    consentGet: prepare<[string, string], string>(
      'SELECT scopes FROM consents WHERE sub = ? AND client_id = ?',
    ).pluck(),
    consentPut: prepare<[string, string, string, number]>(
      'INSERT INTO consents (sub, client_id, scopes, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (sub, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at',
    ),

    keyList: prepare<[], string>('SELECT data FROM keys ORDER BY created_at, rowid').pluck(),
    keyPut: prepare<[string, number, string]>(
      'INSERT INTO keys (kid, created_at, data) VALUES (?, ?, ?) ON CONFLICT (kid) DO UPDATE SET created_at = excluded.created_at, data = excluded.data',
    ),
    keyRemove: prepare<[string]>('DELETE FROM keys WHERE kid = ?'),

    // A fixed window that starts at the first hit: an expired window restarts at 1. The SET
    // expressions all see the row as it was before the update.
    counterHit: prepare<{ key: string; now: number; resetAt: number }, number>(
      `INSERT INTO counters (key, count, reset_at) VALUES (@key, 1, @resetAt)
         ON CONFLICT (key) DO UPDATE SET
           count = CASE WHEN reset_at <= @now THEN 1 ELSE count + 1 END,
           reset_at = CASE WHEN reset_at <= @now THEN excluded.reset_at ELSE reset_at END
         RETURNING count`,
    ).pluck(),
    counterPeek: prepare<[string, number], number>(
      'SELECT count FROM counters WHERE key = ? AND reset_at > ?',
    ).pluck(),
    counterReset: prepare<[string]>('DELETE FROM counters WHERE key = ?'),
    // Inserts, or replaces a key whose time is up; RETURNING yields a row only if either happened.
    once: prepare<{ key: string; expiresAt: number; now: number }, number>(
      `INSERT INTO once_keys (key, expires_at) VALUES (@key, @expiresAt)
         ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
           WHERE once_keys.expires_at <= @now
         RETURNING 1`,
    ).pluck(),

    sweep: [
      // Codes have no index on `expires_at`: rowids grow with every code saved and every code
      // lives the same `ttl.authorizationCode`, so the expired codes are the oldest rows. The
      // scan stops at the first live code and every row before it goes (all rows when none is
      // live). A code that expires before an older one (the TTL was lowered, or the clock
      // stepped back) stays until that older one expires too, at most one code lifetime later;
      // it is refused all along, since reads and consumes check `expires_at`.
      `DELETE FROM codes WHERE rowid < coalesce(
         (SELECT rowid FROM codes WHERE expires_at > ? ORDER BY rowid LIMIT 1),
         (SELECT max(rowid) + 1 FROM codes))`,
      'DELETE FROM refresh_tokens WHERE expires_at <= ?',
      'DELETE FROM sessions WHERE expires_at <= ?',
      'DELETE FROM interactions WHERE expires_at <= ?',
      'DELETE FROM pushed_requests WHERE expires_at <= ?',
      'DELETE FROM revoked_grants WHERE expires_at <= ?',
      'DELETE FROM revoked_access_tokens WHERE expires_at <= ?',
      'DELETE FROM counters WHERE reset_at <= ?',
      'DELETE FROM once_keys WHERE expires_at <= ?',
    ].map((sql) => prepare<[number]>(sql)),
  };

  const { write, flush } = groupCommit(db);

  const sweep = db.transaction((now: number) => {
    for (const statement of q.sweep) statement.run(now);
  });

  function consume<T>(
    update: Database.Statement<{ id: string; now: number }, string>,
    lookup: Database.Statement<[string, number], ConsumableRow>,
    id: string,
    now: number,
  ): ConsumeResult<T> {
    // The UPDATE is the atomic step. When it matches nothing the lookup tells a replay from an
    // unknown or expired record. A row found unused means it was (re)saved in between: retry.
    for (let attempt = 0; attempt < 3; attempt++) {
      const data = update.get({ id, now });
      if (data !== undefined) return { status: 'ok', record: parse<T>(data) };
      const row = lookup.get(id, now);
      if (!row) return { status: 'missing' };
      if (row.used_at !== null) return { status: 'reused', record: parse<T>(row.data) };
    }
    throw new Error('storage: record kept changing during consume');
  }

  return {
    clients: {
      async get(clientId) {
        const data = q.clientGet.get(clientId);
        return data === undefined ? undefined : parse<Client>(data);
      },
      async list() {
        return sortBy(q.clientList.all().map(parse<Client>), (c) => c.client_id);
      },
      put(client) {
        return write(() => {
          q.clientPut.run(client.client_id, JSON.stringify(client));
        });
      },
      remove(clientId) {
        return write(() => q.clientRemove.run(clientId).changes > 0);
      },
    },
    users: {
      async get(sub) {
        const data = q.userGet.get(sub);
        return data === undefined ? undefined : parse<User>(data);
      },
      async findByUsername(username) {
        const data = q.userByName.get(username.toLowerCase());
        return data === undefined ? undefined : parse<User>(data);
      },
      async list() {
        return sortBy(q.userList.all().map(parse<User>), (u) => u.username);
      },
      put(user) {
        return write(() => {
          try {
            q.userPut.run(user.sub, user.username, JSON.stringify(user));
          } catch (error) {
            if (isUniqueViolation(error)) {
              throw new Error(`username ${user.username} is taken`, { cause: error });
            }
            throw error;
          }
        });
      },
      remove(sub) {
        return write(() => q.userRemove.run(sub).changes > 0);
      },
    },
    codes: {
      save(code) {
        return write(() => {
          q.codeSave.run(
            code.id,
            code.grantId,
            code.clientId,
            code.redirectUri,
            code.codeChallenge ?? null,
            code.nonce ?? null,
            code.scope,
            code.sub,
            code.authTime,
            code.sessionId,
            code.claims ?? null,
            code.issuedAt,
            code.expiresAt,
          );
        });
      },
      consume(id, now) {
        // As `consume` below, with the record read from columns instead of JSON.
        return write((): ConsumeResult<AuthorizationCode> => {
          for (let attempt = 0; attempt < 3; attempt++) {
            const row = q.codeConsume.get({ id, now });
            if (row !== undefined) return { status: 'ok', record: codeRecord(id, row) };
            const found = q.codeLookup.get(id, now);
            if (!found) return { status: 'missing' };
            if (found[12] !== null) {
              return { status: 'reused', record: codeRecord(id, found as unknown as CodeRow) };
            }
          }
          throw new Error('storage: record kept changing during consume');
        });
      },
    },
    sessions: {
      async get(id, now) {
        const data = q.sessionGet.get(id, now);
        return data === undefined ? undefined : parse<Session>(data);
      },
      put(session) {
        return write(() => {
          q.sessionPut.run(session.id, JSON.stringify(session), session.expiresAt);
        });
      },
      remove(id) {
        return write(() => {
          q.sessionRemove.run(id);
        });
      },
    },
    interactions: {
      async get(id, now) {
        const data = q.interactionGet.get(id, now);
        return data === undefined ? undefined : parse<Interaction>(data);
      },
      put(interaction) {
        return write(() => {
          q.interactionPut.run(interaction.id, JSON.stringify(interaction), interaction.expiresAt);
        });
      },
      remove(id) {
        return write(() => {
          q.interactionRemove.run(id);
        });
      },
    },
    pushedRequests: {
      save(request) {
        return write(() => {
          q.pushedSave.run(
            request.id,
            request.clientId,
            JSON.stringify(request),
            request.expiresAt,
          );
        });
      },
      consume(id, now) {
        return write(() => {
          const data = q.pushedConsume.get({ id, now });
          return data === undefined ? undefined : parse<PushedRequest>(data);
        });
      },
    },
    grants: {
      revoke(id, _now, expiresAt) {
        return write(() => {
          q.grantRevoke.run(id, expiresAt);
        });
      },
      async isRevoked(id, now) {
        return q.grantRevoked.get(id, now) !== undefined;
      },
      revokeAccessToken(jti, expiresAt) {
        return write(() => {
          q.accessTokenRevoke.run(jti, expiresAt);
        });
      },
      async isAccessTokenRevoked(jti, now) {
        return q.accessTokenRevoked.get(jti, now) !== undefined;
      },
    },
    refreshTokens: {
      save(token) {
        return write(() => {
          q.refreshSave.run(token.id, token.grantId, JSON.stringify(token), token.expiresAt);
        });
      },
      consume(id, now) {
        return write(() => consume<RefreshToken>(q.refreshConsume, q.refreshLookup, id, now));
      },
      async get(id, now) {
        const data = q.refreshGet.get(id, now);
        return data === undefined ? undefined : parse<RefreshToken>(data);
      },
      remove(id) {
        return write(() => {
          const data = q.refreshRemove.get(id);
          return data === undefined ? undefined : parse<RefreshToken>(data);
        });
      },
    },
    consents: {
      async get(sub, clientId) {
        const scopes = q.consentGet.get(sub, clientId);
        return scopes === undefined ? undefined : parse<string[]>(scopes);
      },
      put(sub, clientId, scopes, now) {
        return write(() => {
          q.consentPut.run(sub, clientId, JSON.stringify(scopes), now);
        });
      },
    },
    keys: {
      async list() {
        return q.keyList.all().map(parse<StoredKey>);
      },
      put(key) {
        return write(() => {
          q.keyPut.run(key.kid, key.createdAt, JSON.stringify(key));
        });
      },
      remove(kid) {
        return write(() => q.keyRemove.run(kid).changes > 0);
      },
    },
    counters: {
      hit(key, windowMs, now) {
        return write(() => q.counterHit.get({ key, now, resetAt: now + windowMs })!);
      },
      async peek(key, now) {
        return q.counterPeek.get(key, now) ?? 0;
      },
      reset(key) {
        return write(() => {
          q.counterReset.run(key);
        });
      },
      once(key, expiresAt, now) {
        return write(() => q.once.get({ key, expiresAt, now }) !== undefined);
      },
    },
    async sweep(now) {
      sweep(now);
    },
    async close() {
      if (!db.open) return;
      flush();
      db.close();
    },
  };
}
