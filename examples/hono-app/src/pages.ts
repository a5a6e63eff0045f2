/**
 * The app's pages: server-rendered with Hono's `html` tag (every interpolated value is escaped
 * unless it is itself `html`), no script, the app's own stylesheet. Each page has the same
 * landmarks (a skip link, a header with the site navigation, main, footer) and one h1.
 */
import type { GatehouseSession } from '@gatehouse/web';
import { html } from 'hono/html';

type Html = ReturnType<typeof html>;

const SITE = 'Gatehouse example (Hono)';
export const STYLESHEET_PATH = '/app.css';

/** The name to greet a user by: `name`, else `preferred_username`, else `email`, else `sub`. */
export function displayName(user: Record<string, unknown>): string {
  for (const claim of ['name', 'preferred_username', 'email', 'sub']) {
    const value = user[claim];
    if (typeof value === 'string' && value !== '') return value;
  }
  return 'you';
}

/** `2025-01-31 14:05:09 UTC`: the same for every reader, whatever the server's locale. */
export function formatTime(epochMs: number): string {
  return new Date(epochMs)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');
}

/** Claims whose value is a time (seconds since the epoch), shown as a date too. */
const TIME_CLAIMS = new Set(['exp', 'iat', 'auth_time', 'nbf', 'updated_at']);

function layout(title: string, session: GatehouseSession | undefined, body: Html): Html {
  const nav = session
    ? html`<ul>
<li><a href="/profile">Profile</a></li>
<li><form method="post" action="/logout"><button type="submit">Sign out</button></form></li>
</ul>`
    : html`<ul><li><a class="button" href="/login">Sign in</a></li></ul>`;
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
<p>A Hono application on Node.js, signed in through Gatehouse with <code>@gatehouse/web</code>.</p>
</footer>
</body>
</html>
`;
}

export function homePage(session: GatehouseSession | undefined): Html {
  if (!session) {
    return layout(
      'Home',
      session,
      html`<h1>Welcome</h1>
<p>You are not signed in.</p>
<p><a class="button" href="/login">Sign in</a></p>
<p>Signing in takes you to the Gatehouse provider and back. Then
<a href="/profile">your profile</a> shows what your ID token says about you.</p>`,
    );
  }
  const email = typeof session.user['email'] === 'string' ? session.user['email'] : undefined;
  return layout(
    'Home',
    session,
    html`<h1>Hello, ${displayName(session.user)}</h1>
<p>You are signed in${email ? html` as <strong>${email}</strong>` : ''}.</p>
<p><a href="/profile">See your profile</a>: the claims of your ID token.</p>`,
  );
}

export function profilePage(session: GatehouseSession): Html {
  const rows = Object.entries(session.user).map(([name, raw]) => {
    const value = typeof raw === 'string' ? raw : (JSON.stringify(raw) ?? String(raw));
    const time =
      TIME_CLAIMS.has(name) && typeof raw === 'number' && Number.isFinite(raw)
        ? html`<span class="time">${formatTime(raw * 1000)}</span>`
        : '';
    return html`<tr><th scope="row"><code>${name}</code></th><td><code>${value}</code>${time}</td></tr>
`;
  });
  const expiresAt = session.accessTokenExpiresAt;
  return layout(
    'Profile',
    session,
    html`<h1>Your profile</h1>
<p>Signed in as <strong>${displayName(session.user)}</strong>. These are the claims of your ID
token, verified by the app (signature, issuer, audience, expiry, nonce).</p>
<table>
<caption>ID token claims</caption>
<thead><tr><th scope="col">Claim</th><th scope="col">Value</th></tr></thead>
<tbody>
${rows}</tbody>
</table>
<h2>Access token</h2>
${
  expiresAt === undefined
    ? html`<p>The provider did not say when the access token expires.</p>`
    : html`<p>Your access token expires at <strong>${formatTime(expiresAt)}</strong>; the app
refreshes it shortly before then, as long as your session lasts.</p>`
}`,
  );
}

export function notFoundPage(session: GatehouseSession | undefined): Html {
  return layout(
    'Not found',
    session,
    html`<h1>Page not found</h1>
<p>There is nothing at this address. <a href="/">Go to the home page</a>.</p>`,
  );
}

export const STYLESHEET = `:root {
  color-scheme: light dark;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  line-height: 1.5;
}
body { margin: 0; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; padding: 0.5rem; background: Canvas; }
header { border-bottom: 1px solid #8884; }
header nav, main, footer { max-width: 48rem; margin: 0 auto; padding: 0 1rem; }
header nav { display: flex; align-items: center; gap: 1rem; min-height: 3.5rem; flex-wrap: wrap; }
header nav .brand { font-weight: 600; margin-right: auto; }
header nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; align-items: center; }
header form { margin: 0; }
button, .button { font: inherit; cursor: pointer; border-radius: 6px; padding: 0.35rem 0.9rem;
  border: 1px solid #8886; text-decoration: none; display: inline-block; }
a:focus-visible, button:focus-visible { outline: 3px solid Highlight; outline-offset: 2px; }
main { padding-top: 1.5rem; padding-bottom: 2rem; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; padding-bottom: 0.5rem; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem 0.6rem; border-bottom: 1px solid #8884; }
td code, th code { word-break: break-all; }
.time { display: block; opacity: 0.75; font-size: 0.9em; }
footer { border-top: 1px solid #8884; padding-top: 1rem; padding-bottom: 2rem; font-size: 0.9em; }
`;
