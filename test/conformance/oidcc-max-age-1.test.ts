/**
 * oidcc-max-age-1 (OP-Req-max_age=1) — after a first authorization, the suite waits and sends a
 * second one with max_age=1 from the same browser: the provider must ask the user to log in again
 * (ExpectSecondLoginPage), and the second ID token must carry auth_time
 * (CheckIdTokenAuthTimeClaimPresentDueToMaxAge), later than the first
 * (CheckSecondIdTokenAuthTimeIsLaterIfPresent) and recent (CheckIdTokenAuthTimeIsRecentIfPresent).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, nowSeconds, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-max-age-1', () => {
  it('forces a new login once more than max_age seconds have passed, and returns auth_time', async () => {
    const first = await runCodeFlow(conf);
    // The suite's WaitFor2Seconds, on the provider's clock.
    conf.tp.clock.advance(2000);
    const second = await runCodeFlow(conf, { browser: first.browser, extra: { max_age: '1' } });
    expect(second.sawLogin).toBe(true);
    const authTime = second.idToken['auth_time'];
    expect(typeof authTime).toBe('number');
    expect(authTime as number).toBeGreaterThan(first.idToken['auth_time'] as number);
    expect(authTime as number).toBeGreaterThanOrEqual(nowSeconds(conf) - 60);
    expect(second.idToken.sub).toBe(first.idToken.sub);
  });
});
