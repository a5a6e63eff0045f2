/**
 * oidcc-display-popup (OP-display-popup) — a request with display=popup must not fail (OIDC Core
 * §3.1.2.1, §15.1): the user signs in as usual and the flow completes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-display-popup', () => {
  it('completes the code flow with display=popup', async () => {
    const flow = await runCodeFlow(conf, { extra: { display: 'popup' } });
    expect(flow.sawLogin).toBe(true);
    expect(flow.location!.searchParams.has('error')).toBe(false);
  });
});
