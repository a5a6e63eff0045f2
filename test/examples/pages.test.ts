/** The example app's pages: everything escaped, times readable, claims in a stable order. */
import { describe, expect, it } from 'vitest';
import { claimViews, formatTime, relativeTime } from '../../examples/express-app/src/lib/format.js';
import { html } from '../../examples/express-app/src/lib/html.js';
import { homePage, profilePage } from '../../examples/express-app/src/lib/pages.js';

const NOW = Date.UTC(2025, 0, 31, 14, 5, 9);
const sec = (ms: number) => Math.floor(ms / 1000);

describe('html', () => {
  it('escapes what it interpolates, not nested html', () => {
    const name = `<script>alert("x")</script> & 'co'`;
    expect(html`<p>${name}</p>`.value).toBe(
      '<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;</p>',
    );
    expect(html`<ul>${['<a>', html`<li>${'b&'}</li>`]}</ul>`.value).toBe(
      '<ul>&lt;a&gt;<li>b&amp;</li></ul>',
    );
    expect(html`${undefined}${null}${false}${0}`.value).toBe('0');
  });
});

describe('format', () => {
  it('shows times in UTC, and how far from now', () => {
    expect(formatTime(NOW)).toBe('2025-01-31 14:05:09 UTC');
    expect(relativeTime(NOW + 2000, NOW)).toBe('now');
    expect(relativeTime(NOW + 30_000, NOW)).toBe('in 30 seconds');
    expect(relativeTime(NOW + 60_000 * 10, NOW)).toBe('in 10 minutes');
    expect(relativeTime(NOW - 3_600_000 * 3, NOW)).toBe('3 hours ago');
    expect(relativeTime(NOW - 86_400_000 * 2, NOW)).toBe('2 days ago');
  });

  it('orders the claims (the token ones first) and reads the time claims', () => {
    const views = claimViews(
      {
        email: 'a@example.com',
        exp: sec(NOW) + 300,
        sub: 'u1',
        iss: 'http://localhost:9000',
        address: { country: 'FR' },
        email_verified: true,
        updated_at: 'not a number',
      },
      NOW,
    );
    expect(views.map((v) => v.name)).toEqual([
      'iss',
      'sub',
      'exp',
      'address',
      'email',
      'email_verified',
      'updated_at',
    ]);
    expect(views[2]).toEqual({
      name: 'exp',
      value: String(sec(NOW) + 300),
      time: '2025-01-31 14:10:09 UTC (in 5 minutes)',
    });
    expect(views[3]!.value).toBe('{"country":"FR"}');
    expect(views[5]!.value).toBe('true');
    expect(views[6]).toEqual({ name: 'updated_at', value: 'not a number' });
  });
});

describe('pages', () => {
  const hostile = {
    iss: 'http://localhost:9000',
    sub: 'u1',
    aud: 'demo-web',
    exp: sec(NOW) + 300,
    iat: sec(NOW),
    name: '<img src=x onerror=alert(1)>',
    email: '"><script>x</script>',
  };

  it('escapes the claims on the home page and the profile', () => {
    const ctx = { isAuthenticated: true, user: hostile, accessTokenExpiresAt: NOW + 600_000 };
    for (const page of [homePage(ctx), profilePage(ctx, NOW)]) {
      expect(page).not.toContain('<img');
      expect(page).not.toContain('<script');
      expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
      expect(page).toContain('&quot;&gt;&lt;script&gt;x&lt;/script&gt;');
    }
    const profile = profilePage(ctx, NOW);
    expect(profile).toContain('Your access token expires at <strong>2025-01-31 14:15:09 UTC');
    expect(profile).toContain('(in 10 minutes)');
  });

  it('says so when the provider gave no expiry, and greets by sub without a name', () => {
    const profile = profilePage({ isAuthenticated: true, user: { sub: 'u1' } }, NOW);
    expect(profile).toContain('Signed in as <strong>u1</strong>');
    expect(profile).toContain('did not say when the access token expires');
  });
});
