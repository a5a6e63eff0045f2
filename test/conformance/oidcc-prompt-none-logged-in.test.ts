/**
 * oidcc-prompt-none-logged-in (OP-prompt-none-LoggedIn) — after a first authorization, a second one
 * from the same browser with prompt=none must succeed without any page (the code comes in the
 * first response), with the same sub and the same auth_time as the first ID token
 * (CheckIdTokenAuthTimeClaimsSameIfPresent, CheckIdTokenSubConsistentForSecondAuthorization).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-prompt-none-logged-in', () => {
  it('issues a code silently to the signed-in user', async () => {
    const first = await runCodeFlow(conf);
    conf.tp.clock.advance(2000);
    const second = await runCodeFlow(conf, { browser: first.browser, extra: { prompt: 'none' } });
    expect(second.sawLogin).toBe(false);
    expect(second.sawConsent).toBe(false);
    expect(second.first.status).toBe(302);
    expect(second.first.headers.get('location')).toBe(second.location!.href);
    expect(second.idToken.sub).toBe(first.idToken.sub);
    expect(second.idToken['auth_time']).toBe(first.idToken['auth_time']);
  });
});
