/**
 * oidcc-display-page (OP-display-page) — a request with display=page must not fail (OIDC Core
 * §3.1.2.1, §15.1): the user signs in as usual and the flow completes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-display-page', () => {
  it('completes the code flow with display=page', async () => {
    const flow = await runCodeFlow(conf, { extra: { display: 'page' } });
    expect(flow.sawLogin).toBe(true);
    expect(flow.location!.searchParams.has('error')).toBe(false);
  });
});
