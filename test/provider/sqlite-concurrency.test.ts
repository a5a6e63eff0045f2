/**
 * Single use on the real SQLite adapter, through the HTTP engine: two provider instances share one
 * database file (as two processes behind a load balancer would) and race to redeem one code and
 * to rotate one refresh token.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqliteStorage } from '../../packages/provider/src/storage/sqlite.js';
import {
  authorizeUrl,
  Browser,
  basic,
  exchange,
  seededMemoryStorage,
  signIn,
  startTestProvider,
  type TestProvider,
  WEB_SECRET,
} from '../support/harness.js';

let dir: string;
let a: TestProvider;
let b: TestProvider;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-race-'));
  const file = join(dir, 'gatehouse.db');
  // Seed the shared signing keys into the file once, then open it twice.
  const seed = sqliteStorage(file);
  for (const key of await (await seededMemoryStorage()).keys.list()) await seed.keys.put(key);
  await seed.close();
  a = await startTestProvider({ storage: sqliteStorage(file) });
  b = await startTestProvider({ storage: sqliteStorage(file) });
});

afterEach(async () => {
  await a.provider.close();
  await b.provider.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SQLite: two provider instances, one database', () => {
  it('a session and code made on one instance are honoured by the other', async () => {
    const code = (await signIn(new Browser(a), await authorizeUrl(a))).searchParams.get('code')!;
    expect((await exchange(b, code)).status).toBe(200);
  });

  it('20 concurrent redemptions of one code across both instances: exactly one succeeds', async () => {
    const code = (await signIn(new Browser(a), await authorizeUrl(a))).searchParams.get('code')!;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => exchange(i % 2 ? a : b, code)),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const errors = await Promise.all(
      results.filter((r) => r.status !== 200).map((r) => r.json() as Promise<{ error: string }>),
    );
    expect(errors).toHaveLength(19);
    for (const e of errors) expect(e.error).toBe('invalid_grant');
  });

  it('10 concurrent rotations of one refresh token: exactly one succeeds', async () => {
    const code = (await signIn(new Browser(a), await authorizeUrl(a))).searchParams.get('code')!;
    const { refresh_token } = (await (await exchange(a, code)).json()) as { refresh_token: string };
    const refresh = (tp: TestProvider) =>
      tp.fetch(`${tp.issuer}/v1/oauth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic('web-app', WEB_SECRET),
        },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token }),
      });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => refresh(i % 2 ? a : b)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400)).toHaveLength(9);
  });
});
