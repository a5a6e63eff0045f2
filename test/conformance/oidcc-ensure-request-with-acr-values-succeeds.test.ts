/**
 * oidcc-ensure-request-with-acr-values-succeeds (OP-Req-acr_values) — a request with acr_values
 * (the advertised acr_values_supported, or `1 2` when none are advertised) must succeed (OIDC Core
 * §15.1: the minimum support is not to fail); warning: the ID token SHOULD carry an `acr` that is
 * one of the requested values (ValidateIdTokenACRClaimAgainstAcrValuesRequest).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
let acrValues: string;
beforeAll(async () => {
  conf = await startConformance();
  const advertised = conf.discovery['acr_values_supported'];
  acrValues = Array.isArray(advertised) && advertised.length > 0 ? advertised.join(' ') : '1 2';
});

describe('oidcc-ensure-request-with-acr-values-succeeds', () => {
  it('completes the code flow with acr_values', async () => {
    const flow = await runCodeFlow(conf, { extra: { acr_values: acrValues } });
    expect(flow.location!.searchParams.has('error')).toBe(false);
  });

  // The suite only warns when the ID token lacks one of the requested acr values. Gatehouse
  // advertises no acr_values_supported and does not claim an assurance level it cannot back, so
  // the documented behaviour is: the request succeeds and the ID token carries no acr.
  it('[suite warning, by design] the ID token carries no acr (none is advertised)', async () => {
    const flow = await runCodeFlow(conf, { extra: { acr_values: acrValues } });
    expect(conf.discovery['acr_values_supported']).toBeUndefined();
    expect(flow.idToken['acr']).toBeUndefined();
  });
});
