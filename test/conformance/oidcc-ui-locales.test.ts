/**
 * oidcc-ui-locales (OP-Req-ui_locales) — a request with ui_locales must not fail (OIDC Core §15.1),
 * whether or not the provider has the requested language.
 */
import { beforeAll, describe, it } from 'vitest';
import { type Conformance, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-ui-locales', () => {
  it('completes the code flow with ui_locales=se', async () => {
    await runCodeFlow(conf, { extra: { ui_locales: 'se' } });
  });

  it('completes the code flow with several ui_locales', async () => {
    await runCodeFlow(conf, { extra: { ui_locales: 'fr-CA fr en' } });
  });
});
