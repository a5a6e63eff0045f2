/**
 * The contract every adapter's session sealer must meet (AES-256-GCM, `v1.<iv>.<body>`, bound
 * to its purpose, secret and additional data), as one suite that each sealer runs: @gatehouse/web's
 * (`crypto.subtle`) and @gatehouse/express's (node:crypto).
 */
import { describe, expect, it } from 'vitest';

export interface AnySealer {
  seal(plaintext: string, aad: string): string | Promise<string>;
  open(value: string, aad: string): string | undefined | Promise<string | undefined>;
}

const SECRET = 'a-test-secret-0123456789-abcdefghijklmnop';

export function sealerSuite(name: string, sealer: (secret: string, purpose: string) => AnySealer) {
  describe(name, () => {
    const s = sealer(SECRET, 'session cookie');

    it('round-trips, with a fresh IV each time', async () => {
      const a = await s.seal('hello \u00e9', 'gh_session');
      const b = await s.seal('hello \u00e9', 'gh_session');
      expect(a).not.toBe(b);
      expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
      expect(await s.open(a, 'gh_session')).toBe('hello \u00e9');
    });

    it('does not open under another AAD, purpose or secret', async () => {
      const value = await s.seal('x', 'gh_session');
      expect(await s.open(value, 'other')).toBeUndefined();
      expect(await sealer(SECRET, 'other purpose').open(value, 'gh_session')).toBeUndefined();
      expect(
        await sealer(`${SECRET}!`, 'session cookie').open(value, 'gh_session'),
      ).toBeUndefined();
    });

    it('refuses altered and malformed values', async () => {
      const value = await s.seal('some plaintext', 'n');
      const [v, iv, body] = value.split('.') as [string, string, string];
      const flip = (t: string, i: number) =>
        t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1);
      for (const bad of [
        `${v}.${flip(iv, 3)}.${body}`,
        `${v}.${iv}.${flip(body, 2)}`,
        `${v}.${iv}.${flip(body, body.length - 2)}`,
        `${v}.${iv}.${body.slice(0, -4)}`,
        `v2.${iv}.${body}`,
        `${v}.${iv}`,
        `${value}.x`,
        `${v}.${iv}.${body}=`,
        `${v}.AAAA.${body}`,
        `${v}.${iv}.AAAA`,
        '',
      ]) {
        expect(await s.open(bad, 'n'), bad).toBeUndefined();
      }
    });
  });
}
