import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  base64url,
  base64urlDecode,
  isBase64url,
  randomToken,
  sha256,
  timingSafeEqual,
} from './encoding.js';

describe('base64url', () => {
  it('round-trips every byte value without padding', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = base64url(bytes);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(base64urlDecode(text)).toEqual(bytes);
  });
  it('matches RFC 4648 test vectors', () => {
    const enc = (s: string) => base64url(new TextEncoder().encode(s));
    expect(enc('')).toBe('');
    expect(enc('f')).toBe('Zg');
    expect(enc('fo')).toBe('Zm8');
    expect(enc('foo')).toBe('Zm9v');
    expect(enc('foob')).toBe('Zm9vYg');
    expect(base64url(Uint8Array.of(0xfb, 0xff))).toBe('-_8');
  });
  it('refuses padding, standard alphabet and impossible lengths', () => {
    expect(() => base64urlDecode('Zg==')).toThrow(TypeError);
    expect(() => base64urlDecode('+/8')).toThrow(TypeError);
    expect(() => base64urlDecode('Zm9vY')).toThrow(TypeError);
    expect(isBase64url('')).toBe(false);
    expect(isBase64url('abc-_')).toBe(true);
  });
  it('decodes every length of every byte string as Node does, and refuses any foreign character', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(), fc.string(), (bytes, at, junk) => {
        const text = Buffer.from(bytes).toString('base64url');
        expect(base64urlDecode(text)).toEqual(new Uint8Array(bytes));
        // One character that is not in the base64url alphabet, anywhere, makes it throw.
        const foreign = [...junk].find((ch) => !/[A-Za-z0-9_-]/.test(ch)) ?? '=';
        const i = text.length === 0 ? 0 : at % text.length;
        const spoiled = text.slice(0, i) + foreign + text.slice(i + 1);
        if (spoiled.length % 4 !== 1) expect(() => base64urlDecode(spoiled)).toThrow(TypeError);
      }),
      { numRuns: 500 },
    );
    expect(() => base64urlDecode('Zm9\u00e9')).toThrow(TypeError);
    expect(() => base64urlDecode('Zm9v\u0100AAA')).toThrow(TypeError);
  });
});

describe('randomToken', () => {
  it('encodes 256 bits as 43 base64url characters by default, different every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const t = randomToken();
      expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
      seen.add(t);
    }
    expect(seen.size).toBe(1000);
    expect(randomToken(16)).toHaveLength(22);
  });
});

describe('sha256', () => {
  it('hashes UTF-8', async () => {
    expect(base64url(await sha256('abc'))).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });
});

describe('timingSafeEqual', () => {
  it('compares content and length', () => {
    expect(timingSafeEqual('abc', 'abc')).toBe(true);
    expect(timingSafeEqual('abc', 'abd')).toBe(false);
    expect(timingSafeEqual('abc', 'abcd')).toBe(false);
    expect(timingSafeEqual('', '')).toBe(true);
    expect(timingSafeEqual('a', '')).toBe(false);
  });
});
