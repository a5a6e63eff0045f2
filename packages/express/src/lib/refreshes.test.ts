import { describe, expect, it, vi } from 'vitest';
import { Refreshes } from './refreshes.js';

describe('Refreshes', () => {
  it('shares one run per key, remembers a success for the grace period, forgets a failure', async () => {
    vi.useFakeTimers();
    try {
      const r = new Refreshes<number>(Date.now, 1000);
      let runs = 0;
      const run = () => Promise.resolve(++runs);
      const [a, b] = await Promise.all([r.run('k', run), r.run('k', run)]);
      expect([a, b, runs]).toEqual([1, 1, 1]);
      expect(await r.run('k', run)).toBe(1);
      expect(await r.run('other', run)).toBe(2);
      await vi.advanceTimersByTimeAsync(1001);
      expect(r.size).toBe(0);
      expect(await r.run('k', run)).toBe(3);

      const failing = r.run('f', () => Promise.reject(new Error('no')));
      await expect(failing).rejects.toThrow('no');
      expect(await r.run('f', run)).toBe(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it('cools a key down for the retry delay', () => {
    let t = 0;
    const r = new Refreshes<number>(() => t, 1000, 500);
    expect(r.coolingDown('k')).toBe(false);
    r.coolDown('k');
    expect(r.coolingDown('k')).toBe(true);
    expect(r.coolingDown('other')).toBe(false);
    t = 499;
    expect(r.coolingDown('k')).toBe(true);
    t = 500;
    expect(r.coolingDown('k')).toBe(false);
  });
});
