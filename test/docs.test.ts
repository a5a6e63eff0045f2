/** Keeps the docs honest: the error reference matches the registry, and README links resolve. */
import { existsSync, readFileSync } from 'node:fs';
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
});
