/**
 * oidcc-id-token-hint (OP-Req-id_token_hint) — after a first authorization, a second one from the
 * same browser with prompt=none and id_token_hint set to the first ID token must succeed at once,
 * without interaction, with the same sub and auth_time.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-id-token-hint', () => {
  it('accepts the ID token of the first login as id_token_hint with prompt=none', async () => {
    const first = await runCodeFlow(conf);
    conf.tp.clock.advance(2000);
    const second = await runCodeFlow(conf, {
      browser: first.browser,
      extra: { prompt: 'none', id_token_hint: first.tokens.id_token! },
    });
    expect(second.sawLogin).toBe(false);
    expect(second.first.status).toBe(302);
    expect(second.idToken.sub).toBe(first.idToken.sub);
    expect(second.idToken['auth_time']).toBe(first.idToken['auth_time']);
  });
});
