import { createHash } from 'node:crypto';
import {
  AuthorizationResponseError,
  ClientError,
  type ClientErrorCode,
  TokenEndpointError,
} from '@gatehouse/client';
import { describe, expect, it } from 'vitest';
import {
  describeError,
  errorPageCsp,
  errorPageResponse,
  escapeHtml,
  renderErrorPage,
} from './error-page.js';

const links = { login: '/login', home: '/' };

describe('describeError', () => {
  it.each<[ClientErrorCode, number]>([
    ['state_missing', 400],
    ['transaction_not_found', 400],
    ['state_mismatch', 400],
    ['callback_duplicate_parameter', 400],
    ['callback_code_and_error', 400],
    ['code_missing', 400],
    ['code_malformed', 400],
    ['issuer_mismatch', 400],
    ['issuer_missing', 400],
    ['network_timeout', 502],
    ['network_error', 502],
    ['token_response_invalid', 502],
    ['id_token_invalid', 502],
    ['discovery_failed', 502],
    ['jwks_failed', 502],
    ['par_failed', 502],
    ['config_invalid', 500],
  ])('%s → %i', (code, status) => {
    const content = describeError(new ClientError(code, 'm'));
    expect(content.status).toBe(status);
    expect(content.code).toBe(code);
    expect(content.title.length).toBeGreaterThan(5);
  });

  it('names the provider’s error and picks the status by who is at fault', () => {
    expect(describeError(new AuthorizationResponseError('access_denied'))).toMatchObject({
      status: 400,
      code: 'provider_error (access_denied)',
      retry: true,
    });
    expect(describeError(new AuthorizationResponseError('temporarily_unavailable')).status).toBe(
      502,
    );
    expect(describeError(new AuthorizationResponseError('invalid_request'))).toMatchObject({
      status: 400,
      retry: false,
    });
    expect(describeError(new TokenEndpointError(400, { error: 'invalid_grant' }))).toMatchObject({
      status: 400,
      code: 'token_endpoint_error (invalid_grant)',
      retry: true,
    });
    expect(describeError(new TokenEndpointError(401, { error: 'invalid_client' }))).toMatchObject({
      status: 502,
      retry: false,
    });
  });

  it('says nothing of an unexpected error but that it happened', () => {
    const content = describeError(new Error('database password is hunter2'));
    expect(content).toMatchObject({ status: 500, code: 'unexpected' });
    expect(JSON.stringify(content)).not.toContain('hunter2');
  });
});

describe('renderErrorPage', () => {
  it('escapes everything and has no script', () => {
    const html = renderErrorPage(
      {
        status: 400,
        title: '<b>t</b>',
        message: '"><script>alert(1)</script>',
        hint: "it's <i>",
        advice: 'a & b',
        retry: true,
        code: 'c<d',
      },
      { login: '/login?x="y"', home: '/' },
    );
    expect(html).not.toMatch(/<script|<b>|<i>/);
    expect(html).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('it&#39;s &lt;i&gt;');
    expect(html).toContain('href="/login?x=&quot;y&quot;"');
    expect(html).toContain('<code>c&lt;d</code>');
  });

  it('offers to sign in again only when it can help', () => {
    const page = (err: unknown) => renderErrorPage(describeError(err), links);
    expect(page(new ClientError('transaction_not_found', 'm'))).toContain('Try signing in again');
    expect(page(new ClientError('config_invalid', 'm'))).not.toContain('Try signing in again');
  });

  it('escapeHtml', () => {
    expect(escapeHtml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&#39;');
  });
});

describe('errorPageResponse', () => {
  it('answers with the status, no-store, and a CSP that allows only the page’s stylesheet', async () => {
    const res = await errorPageResponse(new ClientError('state_missing', 'm'), links);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    const style = /<style>([^<]*)<\/style>/.exec(html)![1]!;
    const hash = createHash('sha256').update(style).digest('base64');
    expect(res.headers.get('content-security-policy')).toBe(await errorPageCsp());
    expect(await errorPageCsp()).toBe(
      `default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
  });
});
