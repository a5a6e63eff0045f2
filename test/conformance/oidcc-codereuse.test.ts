/**
 * oidcc-codereuse (OP-OAuth-2nd) — after the code flow, redeeming the same code a second time must
 * fail with HTTP 400, a JSON body, error `invalid_grant` (RFC 6749 §5.2), and a well-formed
 * error_description (no CR/LF/TAB, RFC 6749 charset) and error_uri.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Conformance,
  exchangeCode,
  expectTokenError,
  runCodeFlow,
  startConformance,
} from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-codereuse', () => {
  it('refuses a second redemption of the code with invalid_grant', async () => {
    const flow = await runCodeFlow(conf);
    const res = await exchangeCode(conf, flow.request, flow.code);
    const body = await expectTokenError(res, 'invalid_grant');
    expect(res.headers.get('cache-control') ?? '').toMatch(/no-store/);
    expect(typeof body['error_description']).toBe('string');
  });
});
