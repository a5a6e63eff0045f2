/**
 * The app's pages: server-rendered, escaped by `html`, no script. Each page has the same
 * landmarks (a skip link, a header with the site navigation, main, footer) and one h1.
 */
import type { GatehouseContext } from '@gatehouse/express';
import { claimViews, formatTime, relativeTime } from './format.js';
import { html, type SafeHtml } from './html.js';
import { STYLESHEET_PATH } from './style.js';

const SITE = 'Gatehouse example';

/** The name to greet a user by: `name`, else `preferred_username`, else `email`, else `sub`. */
export function displayName(user: Record<string, unknown>): string {
  for (const claim of ['name', 'preferred_username', 'email', 'sub']) {
    const value = user[claim];
    if (typeof value === 'string' && value !== '') return value;
  }
  return 'you';
}

function layout(title: string, ctx: GatehouseContext | undefined, body: SafeHtml): string {
  const signedIn = ctx?.isAuthenticated === true;
  const nav = signedIn
    ? html`<ul>
<li><a href="/profile">Profile</a></li>
<li><form method="post" action="/logout"><button type="submit">Sign out</button></form></li>
</ul>`
    : html`<ul><li><a class="button primary" href="/login">Sign in</a></li></ul>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${SITE}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<nav aria-label="Site">
<a class="brand" href="/">${SITE}</a>
${nav}
</nav>
</header>
<main id="main">
${body}
</main>
<footer>
<p>An Express application signed in through Gatehouse with <code>@gatehouse/express</code>.</p>
</footer>
</body>
</html>
`.value;
}

export function homePage(ctx: GatehouseContext | undefined): string {
  const user = ctx?.isAuthenticated ? ctx.user : undefined;
  if (!user) {
    return layout(
      'Home',
      ctx,
      html`<h1>Welcome</h1>
<p>You are not signed in.</p>
<p><a class="button primary" href="/login">Sign in</a></p>
<p class="muted">Signing in takes you to the Gatehouse provider and back. Then
<a href="/profile">your profile</a> shows what your ID token says about you.</p>`,
    );
  }
  const email = typeof user['email'] === 'string' ? user['email'] : undefined;
  return layout(
    'Home',
    ctx,
    html`<h1>Hello, ${displayName(user)}</h1>
<p>You are signed in${email ? html` as <strong>${email}</strong>` : ''}.</p>
<ul>
<li><a href="/profile">See your profile</a>: the claims of your ID token.</li>
</ul>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>`,
  );
}

export function profilePage(ctx: GatehouseContext, now: number): string {
  const user = ctx.user ?? {};
  const rows = claimViews(user, now).map(
    (c) =>
      html`<tr><th scope="row"><code>${c.name}</code></th><td><code>${c.value}</code>${
        c.time ? html`<span class="time">${c.time}</span>` : ''
      }</td></tr>
`,
  );
  const expiresAt = ctx.accessTokenExpiresAt;
  const expiry =
    expiresAt === undefined
      ? html`<p>The provider did not say when the access token expires.</p>`
      : html`<p>Your access token expires at <strong>${formatTime(expiresAt)}</strong>
(${relativeTime(expiresAt, now)}). The app refreshes it shortly before then, as long as your
session lasts.</p>`;
  return layout(
    'Profile',
    ctx,
    html`<h1>Your profile</h1>
<p>Signed in as <strong>${displayName(user)}</strong>. These are the claims of your ID token,
verified by the app (signature, issuer, audience, expiry, nonce).</p>
<table>
<caption>ID token claims</caption>
<thead><tr><th scope="col">Claim</th><th scope="col">Value</th></tr></thead>
<tbody>
${rows}</tbody>
</table>
<h2>Access token</h2>
${expiry}`,
  );
}

export function notFoundPage(ctx: GatehouseContext | undefined): string {
  return layout(
    'Not found',
    ctx,
    html`<h1>Page not found</h1>
<p>There is nothing at this address. <a href="/">Go to the home page</a>.</p>`,
  );
}

export function serverErrorPage(): string {
  return layout(
    'Error',
    undefined,
    html`<h1>Something went wrong</h1>
<p>The app could not answer this request. <a href="/">Go to the home page</a>.</p>`,
  );
}
