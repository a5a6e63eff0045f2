/**
 * oidcc-prompt-none-not-logged-in (OP-prompt-none-NotLoggedIn) — prompt=none from a browser with
 * no session must come straight back (no page) with an error that says a user interface is needed
 * (login_required, interaction_required, account_selection_required or consent_required), passing
 * the generic error checks; a 128-character state must come back intact.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  type Conformance,
  expectAuthorizationError,
  randomValue,
  startConformance,
} from './support.js';

const UI_ERRORS = [
  'login_required',
  'interaction_required',
  'account_selection_required',
  'consent_required',
];

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-prompt-none-not-logged-in', () => {
  it('redirects at once with an error that requires a user interface', async () => {
    const state = randomValue(128);
    const result = await authorize(conf, { state, extra: { prompt: 'none' } });
    expect(result.first.status).toBe(302);
    expect(result.sawLogin).toBe(false);
    const params = expectAuthorizationError(conf, result);
    expect(UI_ERRORS).toContain(params.get('error'));
    expect(params.get('state')).toBe(state);
    expect(params.get('state')).toHaveLength(128);
  });
});
