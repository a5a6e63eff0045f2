/**
 * oidcc-config (oidcc-config-certification-test-plan: oidcc-discovery-endpoint-verification) — the
 * discovery document answers 200 with JSON; `issuer` is the URL it was fetched under, a valid https
 * URL without query or fragment; every endpoint is https; the required metadata are present and
 * well-formed (response_types_supported with `code`, subject_types_supported,
 * id_token_signing_alg_values_supported with RS256, scopes_supported with `openid`, claims_supported,
 * grant_types_supported, locales); code_challenge_methods_supported is an array; the JWKS is valid,
 * public-only, and each key has a unique kid.
 */
import { importJWK, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, ISSUER, startConformance } from './support.js';

let conf: Conformance;
let doc: Record<string, unknown>;
beforeAll(async () => {
  conf = await startConformance();
  doc = conf.discovery;
});

const isHttpsUrl = (v: unknown) => {
  if (typeof v !== 'string') return false;
  try {
    return new URL(v).protocol === 'https:';
  } catch {
    return false;
  }
};

const stringArray = (v: unknown): string[] => {
  expect(Array.isArray(v), `expected an array, got ${JSON.stringify(v)}`).toBe(true);
  for (const x of v as unknown[]) expect(typeof x).toBe('string');
  return v as string[];
};

describe('oidcc-config', () => {
  it('serves the discovery document as JSON with HTTP 200', async () => {
    const res = await conf.tp.fetch(`${ISSUER}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
    expect(typeof (await res.json())).toBe('object');
  });

  it('has an issuer equal to the URL the document was fetched under, https, no query or fragment', () => {
    expect(doc['issuer']).toBe(ISSUER);
    expect(`${doc['issuer']}/.well-known/openid-configuration`).toBe(
      `${ISSUER}/.well-known/openid-configuration`,
    );
    const url = new URL(String(doc['issuer']));
    expect(url.protocol).toBe('https:');
    expect(url.search).toBe('');
    expect(url.hash).toBe('');
    expect(String(doc['issuer']).endsWith('/')).toBe(false);
  });

  it('publishes the required endpoints, all https', () => {
    for (const key of [
      'authorization_endpoint',
      'token_endpoint',
      'jwks_uri',
      'userinfo_endpoint',
    ]) {
      expect(isHttpsUrl(doc[key]), key).toBe(true);
    }
    // CheckDiscEndpointAllEndpointsAreHttps
    for (const [key, value] of Object.entries(doc)) {
      if (key.endsWith('_endpoint') || key.endsWith('_uri'))
        expect(isHttpsUrl(value), key).toBe(true);
    }
  });

  it('lists the required metadata with valid values', () => {
    expect(stringArray(doc['response_types_supported'])).toContain('code');
    const subjects = stringArray(doc['subject_types_supported']);
    expect(subjects.length).toBeGreaterThan(0);
    for (const s of subjects) expect(['public', 'pairwise']).toContain(s);
    expect(stringArray(doc['id_token_signing_alg_values_supported'])).toContain('RS256');
    if (doc['userinfo_signing_alg_values_supported'] !== undefined) {
      stringArray(doc['userinfo_signing_alg_values_supported']);
    }
    if (doc['grant_types_supported'] !== undefined) {
      const grants = stringArray(doc['grant_types_supported']);
      expect(grants.length).toBeGreaterThan(0);
      expect(grants).toContain('authorization_code');
    }
    // OIDCCCheckDiscEndpointClaimsSupported (recommended)
    expect(stringArray(doc['claims_supported'])).toContain('sub');
    for (const key of [
      'request_parameter_supported',
      'request_uri_parameter_supported',
      'claims_parameter_supported',
    ]) {
      if (doc[key] !== undefined) expect(typeof doc[key], key).toBe('boolean');
    }
  });

  it('lists openid among scopes_supported, each a valid scope token', () => {
    const scopes = stringArray(doc['scopes_supported']);
    expect(scopes).toContain('openid');
    for (const s of scopes) expect(s).toMatch(/^[\x21\x23-\x5b\x5d-\x7e]+$/);
  });

  it('uses valid BCP 47 language tags in the locale lists', () => {
    for (const key of ['ui_locales_supported', 'claims_locales_supported']) {
      if (doc[key] === undefined) continue;
      for (const tag of stringArray(doc[key])) {
        expect(tag).toMatch(/^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8})*$/);
        expect(Intl.getCanonicalLocales(tag)).toEqual([tag]);
      }
    }
  });

  it('publishes code_challenge_methods_supported as an array with S256 and without plain', () => {
    const methods = stringArray(doc['code_challenge_methods_supported']);
    expect(methods).toContain('S256');
    expect(methods).not.toContain('plain');
  });

  it('advertises the RFC 9207 iss parameter it sends', () => {
    expect(doc['authorization_response_iss_parameter_supported']).toBe(true);
  });

  it('serves a valid, public-only JWKS in which every key has a unique kid', async () => {
    const res = await conf.tp.fetch(String(doc['jwks_uri']));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type') ?? '').toMatch(/^application\/(jwk-set\+)?json/);
    const jwks = (await res.json()) as { keys: JWK[] };
    expect(Array.isArray(jwks.keys)).toBe(true);
    expect(jwks.keys.length).toBeGreaterThan(0);
    const kids = new Set<string>();
    for (const key of jwks.keys) {
      expect(typeof key.kty).toBe('string');
      // EnsureServerJwksDoesNotContainPrivateOrSymmetricKeys
      expect(key.kty).not.toBe('oct');
      for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) {
        expect((key as Record<string, unknown>)[priv], `${key.kid}.${priv}`).toBeUndefined();
      }
      // CheckForKeyIdInServerJWKs: every key has a kid, and no two share one.
      expect(typeof key.kid).toBe('string');
      expect(kids.has(key.kid!)).toBe(false);
      kids.add(key.kid!);
      if (key.use !== undefined) expect(key.use).toBe('sig');
      expect(typeof key.alg).toBe('string');
      await expect(importJWK(key, key.alg)).resolves.toBeDefined();
    }
    // An RS256 key is there for the suite's default algorithm.
    expect(
      jwks.keys.some((k) => k.kty === 'RSA' && (k.alg === undefined || k.alg === 'RS256')),
    ).toBe(true);
  });
});
