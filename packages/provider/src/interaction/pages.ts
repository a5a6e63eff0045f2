/**
 * The built-in interaction pages: sign-in, consent, sign-out confirmation, signed-out, error and
 * the `/errors` reference. Every page is a complete HTML5 document with no script and no inline
 * style, so it works under the provider's strict Content-Security-Policy. Every value from a view
 * goes through the escaping `html` template.
 */
import { type ErrorEndpoint, type ErrorInfo, errorInfo } from '@gatehouse/oauth';
import { type HtmlValue, html, type SafeHtml, safeUrl } from './html.js';
import { stylesheet } from './styles.js';
import type { Pages } from './types.js';

export interface PagesOptions {
  /** The name shown in the header and in page titles. Default: "Gatehouse". */
  productName?: string;
}

/** The product mark: a simple gate arch, drawn inline so no image request is needed. */
const LOGO = html`<svg viewBox="0 0 32 32" aria-hidden="true" focusable="false"><rect x="1" y="1" width="30" height="30" rx="8" fill="currentColor"/><path class="mark-line" d="M9 24V15a7 7 0 0 1 14 0v9M9 24h14M16 24v-7" fill="none" stroke="#fff" stroke-width="2.25" stroke-linecap="round" stroke-linejoin="round"/></svg>`;

const ENDPOINT_NAMES: Record<ErrorEndpoint, string> = {
  authorization: 'Authorization',
  token: 'Token',
  resource: 'UserInfo (resource)',
  revocation: 'Revocation',
};

/** Creates the pages, optionally under another product name. */
export function createPages(options: PagesOptions = {}): Pages {
  const product = options.productName ?? 'Gatehouse';

  function documentOf(view: {
    title: string;
    stylesheetHref: string;
    body: SafeHtml;
    wide?: boolean;
  }): string {
    return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="robots" content="noindex, nofollow">
<title>${view.title} · ${product}</title>
<link rel="stylesheet" href="${safeUrl(view.stylesheetHref)}">
</head>
<body>
<header class="brand">${LOGO}<span>${product}</span></header>
<main${view.wide ? html` class="wide"` : ''}>
${view.body}
</main>
</body>
</html>
`.toString();
  }

  const csrfInput = (csrf: string) => html`<input type="hidden" name="csrf" value="${csrf}">`;

  const pages: Pages = {
    login(view) {
      const invalid = view.error !== undefined && view.error !== '';
      const errorAttrs = invalid ? html` aria-invalid="true" aria-describedby="login-error"` : '';
      const body = html`<div class="card">
<h1>Sign in</h1>
<p class="lede">Sign in to continue to <b>${view.clientName}</b></p>
${invalid && html`<div id="login-error" class="alert" role="alert">${view.error}</div>`}
<form method="post" action="${safeUrl(view.action)}">
${csrfInput(view.csrf)}
<div class="field">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus value="${view.username ?? ''}"${errorAttrs}>
</div>
<div class="field">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${errorAttrs}>
</div>
<button type="submit" class="button primary block">Sign in</button>
</form>
</div>`;
      return documentOf({ title: 'Sign in', stylesheetHref: view.stylesheetHref, body });
    },

    consent(view) {
      const scopes: HtmlValue =
        view.scopes.length > 0
          ? html`<ul class="scopes">
${view.scopes.map(
  (s) =>
    html`<li><span class="scope-name">${s.name}</span><span class="scope-description">${s.description}</span></li>
`,
)}</ul>`
          : html`<p class="muted">It asks only to confirm who you are.</p>`;
      const body = html`<div class="card">
<h1>Allow access?</h1>
<p class="account">Signed in as <b>${view.username}</b></p>
<p class="lede"><b>${view.clientName}</b> would like to:</p>
${scopes}
<form method="post" action="${safeUrl(view.action)}">
${csrfInput(view.csrf)}
<div class="actions">
<button type="submit" name="decision" value="allow" class="button primary">Allow</button>
<button type="submit" name="decision" value="deny" class="button secondary">Deny</button>
</div>
</form>
<p class="muted help">If you deny, you go back to ${view.clientName} and nothing is shared.</p>
</div>`;
      return documentOf({ title: 'Allow access', stylesheetHref: view.stylesheetHref, body });
    },

    logoutConfirm(view) {
      const where = view.clientName
        ? html`of <b>${product}</b> and <b>${view.clientName}</b>`
        : html`of <b>${product}</b>`;
      const body = html`<div class="card">
<h1>Sign out?</h1>
<p class="lede">Do you want to sign out ${where}?</p>
<form method="post" action="${safeUrl(view.action)}">
${csrfInput(view.csrf)}
<div class="actions">
<button type="submit" name="decision" value="logout" class="button primary">Sign out</button>
<button type="submit" name="decision" value="stay" class="button secondary">Stay signed in</button>
</div>
</form>
</div>`;
      return documentOf({ title: 'Sign out', stylesheetHref: view.stylesheetHref, body });
    },

    loggedOut(view) {
      const title = view.signedOut ? 'You are signed out' : 'You are still signed in';
      const message = view.signedOut
        ? view.clientName
          ? html`You have signed out of <b>${product}</b> and <b>${view.clientName}</b>.`
          : html`You have signed out of <b>${product}</b>.`
        : view.clientName
          ? html`You chose to stay signed in to <b>${product}</b>. You can go back to <b>${view.clientName}</b>.`
          : html`You chose to stay signed in to <b>${product}</b>.`;
      const body = html`<div class="card">
<h1>${title}</h1>
<p class="lede">${message}</p>
<p class="muted">You can close this window.</p>
</div>`;
      return documentOf({ title, stylesheetHref: view.stylesheetHref, body });
    },

    error(view) {
      const description =
        view.description || errorInfo(view.error)?.meaning || 'The request could not be completed.';
      const body = html`<div class="card">
<h1>Something went wrong</h1>
<p class="lede">${description}</p>
<dl class="details">
<dt>Error</dt><dd><code>${view.error}</code></dd>
<dt>Request ID</dt><dd><code>${view.requestId}</code></dd>
</dl>
<p><a href="${safeUrl(view.errorUri)}">What this error means</a></p>
<div class="help">
<h2>What you can do</h2>
<p class="muted">Go back to the application you came from and try again. If it keeps happening, contact its support and quote the request ID above.</p>
</div>
</div>`;
      return documentOf({
        title: `Error: ${view.error}`,
        stylesheetHref: view.stylesheetHref,
        body,
      });
    },

    errorsReference(view) {
      const entry = (
        e: ErrorInfo,
      ) => html`<section id="${e.code}" class="card entry" aria-labelledby="${e.code}-title">
<h2 id="${e.code}-title"><a href="#${e.code}"><code>${e.code}</code></a></h2>
<p class="meaning">${e.meaning}</p>
<dl class="details">
<dt>HTTP status</dt><dd>${e.status}</dd>
<dt>Endpoints</dt><dd>${e.endpoints.map((p) => ENDPOINT_NAMES[p] ?? p).join(', ')}</dd>
<dt>Retrying helps</dt><dd>${e.retryable ? 'Yes, later or after the user acts' : 'No, the request must change'}</dd>
<dt>Usual cause</dt><dd>${e.cause}</dd>
<dt>How to fix</dt><dd>${e.fix}</dd>
<dt>Reference</dt><dd>${e.reference}</dd>
</dl>
<p class="top-link"><a href="#top">Back to contents</a></p>
</section>
`;
      const body = html`<div class="card">
<h1 id="top">Error reference</h1>
<p>This page explains every error that <code>${view.issuer}</code> can return, why it happens and how to fix it. The <code>error_uri</code> sent with an error links to its section here.</p>
<p>Errors at the authorization endpoint reach the client by a redirect to its <code>redirect_uri</code>, with the query parameters <code>error</code>, <code>error_description</code>, <code>error_uri</code>, <code>state</code> and <code>iss</code>. The exception is when the client or its redirect URI cannot be verified: then the provider never redirects, and shows the user an error page instead.</p>
<p>The token, revocation and introspection endpoints answer with a JSON body holding <code>error</code>, <code>error_description</code> and <code>error_uri</code>, as RFC 6749 §5.2 describes. The UserInfo endpoint reports token problems in the <code>WWW-Authenticate</code> header (RFC 6750 §3).</p>
<nav aria-labelledby="contents-title">
<h2 id="contents-title">Contents</h2>
<ul class="toc">
${view.entries.map((e) => html`<li><a href="#${e.code}"><code>${e.code}</code></a></li>\n`)}</ul>
</nav>
</div>
${view.entries.map(entry)}`;
      return documentOf({
        title: 'Error reference',
        stylesheetHref: view.stylesheetHref,
        body,
        wide: true,
      });
    },

    stylesheet,
  };
  return pages;
}

/** The pages the provider uses unless it is given others. */
export const defaultPages: Pages = createPages();
