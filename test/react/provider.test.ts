/**
 * <AuthProvider> and useAuth() rendered on the server (no DOM here; the browser end-to-end test
 * drives the real thing): the first render is "loading" and touches no browser API; misuse fails
 * with config_invalid.
 */
import { AuthProvider, useAuth } from '@gatehouse/react';
import { createElement, StrictMode } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

function Probe() {
  const auth = useAuth();
  return createElement(
    'p',
    null,
    JSON.stringify({
      isLoading: auth.isLoading,
      isAuthenticated: auth.isAuthenticated,
      user: auth.user ?? null,
      error: auth.error ?? null,
      functions: [typeof auth.login, typeof auth.logout, typeof auth.getAccessToken],
    }),
  );
}

const render = (props: Record<string, unknown>) =>
  renderToString(
    createElement(
      StrictMode,
      null,
      createElement(AuthProvider, props as never, createElement(Probe)),
    ),
  );

describe('<AuthProvider> and useAuth()', () => {
  it('render loading first, without touching the browser (server rendering works)', () => {
    const html = render({ issuer: 'https://id.example', clientId: 'spa' });
    const shown = JSON.parse(html.replace(/^<p>|<\/p>$/g, '').replace(/&quot;/g, '"'));
    expect(shown).toEqual({
      isLoading: true,
      isAuthenticated: false,
      user: null,
      error: null,
      functions: ['function', 'function', 'function'],
    });
  });

  it('useAuth() outside <AuthProvider>: config_invalid', () => {
    expect(() => renderToString(createElement(Probe))).toThrow(
      expect.objectContaining({
        code: 'config_invalid',
        message: expect.stringMatching(/inside <AuthProvider>/),
      }),
    );
  });

  it('a provider without issuer or clientId: config_invalid naming the option', () => {
    expect(() => render({ clientId: 'spa' })).toThrow(/`issuer` is required/);
    expect(() => render({ issuer: 'https://id.example' })).toThrow(/`clientId` is required/);
    expect(() =>
      render({ issuer: 'https://id.example', clientId: 'spa', refreshSkewSeconds: -1 }),
    ).toThrow(/refreshSkewSeconds/);
  });
});
