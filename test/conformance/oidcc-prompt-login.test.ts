/**
 * oidcc-prompt-login (OP-prompt-login) — two authorizations in the same browser; the second sends
 * prompt=login, so the provider must show the login page again although the user has a session
 * (ExpectSecondLoginPage), and the second ID token's auth_time differs from the first's
 * (CheckIdTokenAuthTimeClaimsDifferIfPresent); same sub.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-prompt-login', () => {
  it('asks the signed-in user to log in again and issues a later auth_time', async () => {
    const first = await runCodeFlow(conf);
    expect(first.sawLogin).toBe(true);
    conf.tp.clock.advance(2000);

    const second = await runCodeFlow(conf, { browser: first.browser, extra: { prompt: 'login' } });
    expect(second.sawLogin).toBe(true);
    // The first answer sends the browser to the provider's own pages, not back to the client.
    expect(second.first.headers.get('location')?.startsWith(conf.tp.issuer)).toBe(true);
    expect(second.idToken.sub).toBe(first.idToken.sub);
    expect(typeof first.idToken['auth_time']).toBe('number');
    expect(typeof second.idToken['auth_time']).toBe('number');
    expect(second.idToken['auth_time']).not.toBe(first.idToken['auth_time']);
    expect(second.idToken['auth_time'] as number).toBeGreaterThan(
      first.idToken['auth_time'] as number,
    );
  });

  it('without prompt=login, the same browser is not asked again (the session is real)', async () => {
    const first = await runCodeFlow(conf);
    const second = await runCodeFlow(conf, { browser: first.browser });
    expect(second.sawLogin).toBe(false);
  });
});
