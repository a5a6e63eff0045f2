/**
 * oidcc-idtoken-unsigned (OP-IDToken-none) — the suite runs this module only when discovery lists
 * `none` in id_token_signing_alg_values_supported. Gatehouse never issues unsigned ID tokens: `none`
 * is not advertised (so the suite skips the module), a client cannot register it, and the ID token
 * of every signing algorithm a client can choose is signed and verifies against the JWKS.
 */
import { decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../packages/provider/src/config/schema.js';
import { startTestProvider } from '../support/harness.js';
import {
  CLIENT,
  type Conformance,
  conformanceConfig,
  REDIRECT_URI,
  runCodeFlow,
  type SuiteClient,
  startConformance,
} from './support.js';

const ALGS = ['RS256', 'ES256', 'EdDSA'] as const;
const clientFor = (alg: string): SuiteClient => ({
  ...CLIENT,
  id: `alg-${alg.toLowerCase()}`,
  idTokenAlg: alg,
});

let conf: Conformance;
beforeAll(async () => {
  const config = conformanceConfig();
  for (const alg of ALGS) {
    const c = clientFor(alg);
    config.clients!.push({
      client_id: c.id,
      type: 'web',
      client_secret: c.secret,
      redirect_uris: [REDIRECT_URI],
      require_pkce: false,
      require_signed_request_object: false,
      id_token_signed_response_alg: alg,
    });
  }
  conf = await startConformance(config);
});

describe('oidcc-idtoken-unsigned', () => {
  it("does not advertise 'none' as an ID token signing algorithm (the suite skips the module)", () => {
    const algs = conf.discovery['id_token_signing_alg_values_supported'] as string[];
    expect(Array.isArray(algs)).toBe(true);
    expect(algs).not.toContain('none');
    expect(algs.map((a) => a.toLowerCase())).not.toContain('none');
  });

  it("refuses a client that registers id_token_signed_response_alg 'none'", async () => {
    const config = conformanceConfig();
    config.clients![0] = {
      ...config.clients![0]!,
      id_token_signed_response_alg: 'none',
    } as unknown as NonNullable<ConfigInput['clients']>[number];
    await expect(startTestProvider({ config })).rejects.toThrow(/id_token_signed_response_alg/);
  });

  for (const alg of ALGS) {
    it(`signs the ID token of a client registered for ${alg}`, async () => {
      const flow = await runCodeFlow(conf, { client: clientFor(alg) });
      const idToken = flow.tokens.id_token!;
      expect(decodeProtectedHeader(idToken).alg).toBe(alg);
      expect(idToken.split('.')[2]!.length).toBeGreaterThan(0);
      // runCodeFlow already verified the signature against the JWKS; check the algorithm once more.
    });
  }
});
