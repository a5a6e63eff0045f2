import { describe, expect, it } from 'vitest';
import { Refreshes } from './refreshes.js';

describe('Refreshes', () => {
  it('shares one run per key, remembers a success for the grace period, forgets a failure', async () => {
    let t = 0;
    const now = () => t;
    const r = new Refreshes<number>(1000);
    let runs = 0;
    const run = () => Promise.resolve(++runs);
    const [a, b] = await Promise.all([r.run('k', now, run), r.run('k', now, run)]);
    expect([a, b, runs]).toEqual([1, 1, 1]);
    t = 999;
    expect(await r.run('k', now, run)).toBe(1);
    expect(await r.run('other', now, run)).toBe(2);
    t = 1000;
    expect(await r.run('k', now, run)).toBe(3);

    const failing = r.run('f', now, () => Promise.reject(new Error('no')));
    await expect(failing).rejects.toThrow('no');
    expect(await r.run('f', now, run)).toBe(4);
  });

  it('cools a key down for the retry delay', () => {
    const r = new Refreshes<number>(1000, 500);
    expect(r.coolingDown('k', 0)).toBe(false);
    r.coolDown('k', 0);
    expect(r.coolingDown('k', 0)).toBe(true);
    expect(r.coolingDown('other', 0)).toBe(false);
    expect(r.coolingDown('k', 499)).toBe(true);
    expect(r.coolingDown('k', 500)).toBe(false);
  });

  it('remembers a refused key until the given time', () => {
    const r = new Refreshes<number>();
    r.refuse('k', 100, 0);
    expect(r.isRefused('k', 99)).toBe(true);
    expect(r.isRefused('other', 99)).toBe(false);
    expect(r.isRefused('k', 100)).toBe(false);
  });
});
