/**
 * oidcc-ensure-request-with-unknown-parameter-succeeds (OP-Req-NotUnderstood) — an authorization
 * request carrying a parameter the provider does not know (`extra=foobar`) must be processed as if
 * it were absent (OIDC Core §3.1.2.1: unknown parameters are ignored).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-ensure-request-with-unknown-parameter-succeeds', () => {
  it('ignores an unknown parameter', async () => {
    const flow = await runCodeFlow(conf, { extra: { extra: 'foobar' } });
    expect(flow.location!.searchParams.has('extra')).toBe(false);
  });
});
