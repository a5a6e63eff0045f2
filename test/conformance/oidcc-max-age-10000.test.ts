/**
 * oidcc-max-age-10000 (OP-Req-max_age=10000) — a second authorization with max_age=10000 soon after
 * the first must not ask the user to log in again; the ID token carries auth_time (max_age was
 * requested, OIDC Core §2), the same as the first, and the same sub.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-max-age-10000', () => {
  it('reuses the session without a new login and returns the original auth_time', async () => {
    const first = await runCodeFlow(conf);
    conf.tp.clock.advance(2000);
    const second = await runCodeFlow(conf, { browser: first.browser, extra: { max_age: '10000' } });
    expect(second.sawLogin).toBe(false);
    expect(typeof second.idToken['auth_time']).toBe('number');
    expect(second.idToken['auth_time']).toBe(first.idToken['auth_time']);
    expect(second.idToken.sub).toBe(first.idToken.sub);
  });
});
