import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OAuthError } from './errors.js';
import { mergeParams, parseParams, splitSpaceList } from './params.js';

const parse = (q: string) => parseParams(new URLSearchParams(q));

describe('parseParams', () => {
  it('parses and treats empty values as absent (RFC 6749 §3.1)', () => {
    const p = parse('a=1&b=&c=x%20y');
    expect(p.get('a')).toBe('1');
    expect(p.has('b')).toBe(false);
    expect(p.get('c')).toBe('x y');
  });
  it('refuses a repeated parameter, naming it', () => {
    try {
      parse('state=1&state=2');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(OAuthError);
      expect((e as OAuthError).error).toBe('invalid_request');
      expect((e as OAuthError).errorDescription).toContain("'state'");
    }
  });
  it('refuses a repeat even when one copy is empty', () => {
    expect(() => parse('scope=&scope=openid')).toThrow(OAuthError);
  });
  it('refuses oversized values, too many parameters and control characters', () => {
    expect(() => parse(`a=${'x'.repeat(9000)}`)).toThrow(/too long/);
    expect(() => parse(Array.from({ length: 101 }, (_, i) => `p${i}=1`).join('&'))).toThrow(
      /too many/,
    );
    expect(() => parse('a=%00')).toThrow(/control/);
  });
  it('never throws anything but OAuthError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (q) => {
        try {
          parse(q);
        } catch (e) {
          expect(e).toBeInstanceOf(OAuthError);
        }
      }),
    );
  });
  it('keeps error descriptions in the RFC 6749 charset even for hostile names', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (name) => {
        const q = new URLSearchParams();
        q.append(name, '1');
        q.append(name, '2');
        try {
          parseParams(q);
        } catch (e) {
          expect((e as OAuthError).errorDescription).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/);
        }
      }),
    );
  });
});

describe('mergeParams', () => {
  it('refuses a name present in both query and body', () => {
    expect(() => mergeParams(parse('a=1'), parse('a=2'))).toThrow(/repeated/);
    expect([...mergeParams(parse('a=1'), parse('b=2'))]).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
  });
});

describe('splitSpaceList', () => {
  it('splits, drops empties and duplicates', () => {
    expect(splitSpaceList('openid  profile openid')).toEqual(['openid', 'profile']);
    expect(splitSpaceList(undefined)).toEqual([]);
  });
});
