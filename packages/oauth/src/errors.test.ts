import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERRORS, GatehouseError, OAuthError, sanitizeDescription } from './errors.js';

const LEGAL = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

describe('error registry', () => {
  it('covers every code SYSTEM.md lists for the authorization response', () => {
    for (const code of [
      'invalid_request',
      'unauthorized_client',
      'access_denied',
      'unsupported_response_type',
      'invalid_scope',
      'server_error',
      'temporarily_unavailable',
      'invalid_request_object',
      'request_not_supported',
      'request_uri_not_supported',
      'login_required',
      'consent_required',
      'interaction_required',
      'account_selection_required',
    ]) {
      const info = ERRORS.get(code as never);
      expect(info, code).toBeDefined();
      expect(info!.endpoints).toContain('authorization');
    }
  });
  it('has meaning, cause and fix for each code, in the legal charset once sanitised', () => {
    for (const info of ERRORS.values()) {
      expect(info.meaning.length).toBeGreaterThan(10);
      expect(info.cause.length).toBeGreaterThan(10);
      expect(info.fix.length).toBeGreaterThan(10);
      expect(sanitizeDescription(info.meaning)).toMatch(LEGAL);
    }
  });
});

describe('OAuthError', () => {
  it('takes status and retryability from the registry', () => {
    const e = new OAuthError('invalid_client', 'nope');
    expect(e).toBeInstanceOf(GatehouseError);
    expect(e.status).toBe(401);
    expect(e.retryable).toBe(false);
    expect(new OAuthError('temporarily_unavailable', 'x').retryable).toBe(true);
  });
  it('is not redirectable unless said so, and keeps detail out of JSON', () => {
    const e = new OAuthError('invalid_request', 'bad', { detail: 'secret internals' });
    expect(e.redirectable).toBe(false);
    expect(e.asRedirectable().redirectable).toBe(true);
    expect(JSON.stringify(e.toJSON('https://x/errors#invalid_request'))).not.toContain(
      'secret internals',
    );
    expect(e.toJSON('https://x/errors#invalid_request')).toEqual({
      error: 'invalid_request',
      error_description: 'bad',
      error_uri: 'https://x/errors#invalid_request',
    });
  });
  it('always produces descriptions in the RFC 6749 charset', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(new OAuthError('invalid_request', s).errorDescription).toMatch(LEGAL);
      }),
    );
    expect(sanitizeDescription('“quoted” \\ path\nnext')).toBe("'quoted' / path next");
  });
});
