import { describe, expect, it } from 'vitest';
import { MAX_RETURN_TO, safeReturnTo } from './return-to.js';

const ORIGIN = 'https://app.example';

describe('safeReturnTo', () => {
  it.each([
    ['/', '/'],
    ['/profile', '/profile'],
    ['/a/b?x=1&y=%2F#frag', '/a/b?x=1&y=%2F#frag'],
    ['/a/./b/../c', '/a/c'],
    ['/caf\u00e9', '/caf%C3%A9'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
  ])('keeps the same-origin path %j as %j', (input, expected) => {
    expect(safeReturnTo(input, ORIGIN)).toBe(expected);
  });

  it.each([
    '//evil.example',
    '///evil.example',
    '/\\evil.example',
    '/\\/evil.example',
    '\\\\evil.example',
    '/a\\b',
    'https://evil.example',
    'https://app.example/profile',
    'javascript:alert(1)',
    'data:text/html,x',
    'evil.example',
    '',
    '/\t/evil.example',
    '/\r\n/evil.example',
    '/\u0000',
    '/\u007f',
    '/a/../..//evil.example',
    '/..//evil.example',
    '/' + 'a'.repeat(MAX_RETURN_TO),
  ])('refuses %j', (input) => {
    expect(safeReturnTo(input, ORIGIN)).toBeUndefined();
  });

  it('refuses what is not a string', () => {
    for (const value of [undefined, null, 1, ['/a'], { toString: () => '/a' }]) {
      expect(safeReturnTo(value, ORIGIN)).toBeUndefined();
    }
  });
});
