/** Keeps the docs honest: the error reference matches the registry, and README links resolve. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { CLIENT_ERROR_CODES } from '@gatehouse/client';
import { ERRORS } from '@gatehouse/oauth';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');

describe('docs', () => {
  it('docs/errors.md has a section for every error code (regenerate: node scripts/gen-errors-doc.mjs)', () => {
    const doc = read('docs/errors.md');
    for (const info of ERRORS.values()) {
      expect(doc).toContain(`## ${info.code}\n\n${info.meaning}`);
      expect(doc).toContain(`- **Fix**: ${info.fix}`);
    }
  });
  it('README shows the two commands and links only to files that exist', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
    for (const [, target] of readme.matchAll(/\]\(((?:docs|bench)\/[^)#]+)\)/g)) {
      expect(existsSync(new URL(target!, root)), target).toBe(true);
    }
  });
  it('docs/client.md explains every client error code', () => {
    const doc = read('docs/client.md');
    for (const code of CLIENT_ERROR_CODES) expect(doc, code).toContain(`\`${code}\``);
  });
  it('links between the docs resolve', () => {
    for (const file of readdirSync(new URL('docs/', root))) {
      if (!file.endsWith('.md')) continue;
      for (const [, target] of read(`docs/${file}`).matchAll(/\]\(([\w./-]+\.md)(?:#[\w-]*)?\)/g)) {
        expect(existsSync(new URL(`docs/${target}`, root)), `${file} → ${target}`).toBe(true);
      }
    }
  });
});
