import { describe, expect, it } from 'vitest';
import { randomId, requestId } from './random.js';

describe('randomId', () => {
  it('gives 256 bits as 43 base64url characters, never the same twice across pool refills', () => {
    const seen = new Set<string>();
    // 4096-byte pool / 32 bytes = 128 ids per refill: cross several refills.
    for (let i = 0; i < 1000; i++) {
      const id = randomId();
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(1000);
  });
  it('takes other sizes, including larger than the pool', () => {
    expect(randomId(16)).toHaveLength(22);
    expect(randomId(5000)).toHaveLength(Math.ceil((5000 * 4) / 3));
  });
});

describe('requestId', () => {
  it('is unique within the process', () => {
    const ids = new Set(Array.from({ length: 1000 }, requestId));
    expect(ids.size).toBe(1000);
  });
});
