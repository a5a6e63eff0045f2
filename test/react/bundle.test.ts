/**
 * The browser bundle of examples/react-spa, built with Vite's JS API from the built packages (as
 * an application gets them): no Node module, no server code, no token storage API, and small.
 * Needs `npm run build` (the packages' dist) first, like the other example tests.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = join(ROOT, 'examples/react-spa');

/** Node's built-in modules a browser bundle must never import (with or without `node:`). */
const BUILTINS = [
  'assert',
  'async_hooks',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dns',
  'events',
  'fs',
  'http',
  'http2',
  'https',
  'module',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'stream',
  'tls',
  'url',
  'util',
  'worker_threads',
  'zlib',
];

let outDir: string;
let js: { file: string; code: string }[];
let html: string;

beforeAll(async () => {
  for (const file of ['packages/client/dist/index.js', 'packages/react/dist/index.js']) {
    expect(existsSync(join(ROOT, file)), `${file} is missing: run npm run build`).toBe(true);
  }
  outDir = mkdtempSync(join(tmpdir(), 'gatehouse-spa-'));
  // Vitest sets NODE_ENV=test, which would make Vite build React's development version.
  const nodeEnv = process.env['NODE_ENV'];
  process.env['NODE_ENV'] = 'production';
  try {
    await build({
      root: EXAMPLE,
      configFile: join(EXAMPLE, 'vite.config.ts'),
      mode: 'production',
      logLevel: 'silent',
      build: { outDir, emptyOutDir: true },
    });
  } finally {
    process.env['NODE_ENV'] = nodeEnv;
  }
  const assets = join(outDir, 'assets');
  js = readdirSync(assets)
    .filter((f) => f.endsWith('.js'))
    .map((file) => ({ file, code: readFileSync(join(assets, file), 'utf8') }));
  html = readFileSync(join(outDir, 'index.html'), 'utf8');
}, 60_000);
afterAll(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('the React SPA bundle', () => {
  it('is the app: index.html loads the built script, which holds the adapter', () => {
    expect(js.length).toBeGreaterThan(0);
    expect(html).toMatch(/<script type="module"[^>]* src="\/assets\/[^"]+\.js"/);
    const all = js.map((f) => f.code).join('\n');
    expect(all.includes('gatehouse-refresh:'), 'the adapter is in the bundle').toBe(true);
    expect(all.includes('gatehouse.tx.'), 'the transaction store is in the bundle').toBe(true);
  });

  it('imports no Node module, not even dormant (no `node:` specifier, no builtin import)', () => {
    for (const { file, code } of js) {
      // Booleans and matches only: a failing `toContain` would print the whole bundle.
      // @gatehouse/client's Node fast paths (node-runtime.js) name node:http, node:https and
      // node:crypto; a browser bundle must get the package's browser replacement of that file.
      expect(code.match(/["'`]node:[\w/]+["'`]/g) ?? [], `${file}: Node module specifiers`).toEqual(
        [],
      );
      expect(code.includes('node:http'), `${file} contains node:http`).toBe(false);
      expect(code.includes('__vite-browser-external'), `${file} has a Node stub`).toBe(false);
      for (const name of BUILTINS) {
        const specifier = `["'\`](?:node:)?${name}["'\`]`;
        const imported = new RegExp(
          `(?:\\bfrom\\s*${specifier}|\\bimport\\s*\\(?\\s*${specifier}|\\brequire\\s*\\(\\s*${specifier})`,
        );
        expect(imported.test(code), `${file} imports ${name}`).toBe(false);
      }
    }
  });

  it('contains no server code: no provider, no database driver, no Express', () => {
    for (const { file, code } of js) {
      for (const marker of [
        'createProvider',
        'gatehouse.session',
        'better-sqlite3',
        'ioredis',
        '@gatehouse/provider',
        'express',
        'scrypt',
      ]) {
        expect(code.includes(marker), `${file} contains ${marker}`).toBe(false);
      }
    }
  });

  it('never uses localStorage or IndexedDB (tokens live in memory)', () => {
    for (const { file, code } of js) {
      expect(code.match(/localStorage|indexedDB/g) ?? [], file).toEqual([]);
    }
  });

  it('is small: under 400 kB of JavaScript, 130 kB gzipped (React included)', () => {
    const bytes = js.reduce((n, f) => n + Buffer.byteLength(f.code), 0);
    const gzipped = js.reduce((n, f) => n + gzipSync(f.code).byteLength, 0);
    expect(bytes).toBeLessThan(400_000);
    expect(gzipped).toBeLessThan(130_000);
  });
});
