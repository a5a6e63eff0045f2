/**
 * The stylesheet of the built-in pages, served at `{issuer}/assets/gatehouse.css`. The pages carry
 * no inline styles (the Content-Security-Policy allows only `style-src 'self'`), so every rule the
 * markup needs lives here. System fonts only; no external resources.
 *
 * Colours meet WCAG AA: body text is at least 4.5:1 against its background, input borders and
 * focus rings at least 3:1, in both the light and the dark scheme.
 */
export const stylesheet = `
:root {
  color-scheme: light dark;
  --bg: #f3f4f7;
  --surface: #ffffff;
  --border: #d9dde4;
  --control-border: #8a94a6;
  --text: #1a1d23;
  --muted: #515a67;
  --accent: #2f4ac2;
  --accent-hover: #263d9f;
  --accent-text: #ffffff;
  --focus: #2f4ac2;
  --code-bg: #eef0f4;
  --danger-bg: #fdeeee;
  --danger-border: #e0a3a3;
  --danger-text: #8f1d1d;
  --shadow: 0 1px 2px rgb(16 24 40 / 6%), 0 8px 24px rgb(16 24 40 / 8%);
  --radius: 12px;
  --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans",
    sans-serif;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
}

@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e1014;
    --surface: #171a20;
    --border: #2c313a;
    --control-border: #6b7384;
    --text: #e7e9ee;
    --muted: #a4acb9;
    --accent: #8da2ff;
    --accent-hover: #a9b8ff;
    --accent-text: #0b0e1a;
    --focus: #8da2ff;
    --code-bg: #222630;
    --danger-bg: #3b1719;
    --danger-border: #7a2e32;
    --danger-text: #ffc2bf;
    --shadow: 0 1px 2px rgb(0 0 0 / 40%), 0 8px 24px rgb(0 0 0 / 30%);
  }
}

*,
*::before,
*::after {
  box-sizing: border-box;
}

html {
  -webkit-text-size-adjust: 100%;
  text-size-adjust: 100%;
}

body {
  margin: 0;
  min-height: 100vh;
  display: flex;
  flex-direction: column;
  align-items: center;
  padding: 1.5rem 1rem 2.5rem;
  background: var(--bg);
  color: var(--text);
  font-family: var(--font);
  font-size: 1rem;
  line-height: 1.5;
  overflow-wrap: break-word;
}

/* Header: the product mark above the card. */
.brand {
  display: flex;
  align-items: center;
  gap: 0.5rem;
  margin: 0.5rem 0 1.25rem;
  color: var(--text);
  font-weight: 600;
  font-size: 1.0625rem;
  letter-spacing: 0.01em;
}

.brand svg {
  width: 1.75rem;
  height: 1.75rem;
  flex: none;
  color: var(--accent);
}

.brand .mark-line {
  stroke: var(--accent-text);
}

/* The centred card that holds each page. */
main {
  width: 100%;
  max-width: 26rem;
}

main.wide {
  max-width: 48rem;
}

.card {
  background: var(--surface);
  border: 1px solid var(--border);
  border-radius: var(--radius);
  box-shadow: var(--shadow);
  padding: 2rem 1.75rem;
}

.card > :last-child {
  margin-bottom: 0;
}

@media (max-width: 30rem) {
  body {
    padding: 1rem 0.75rem 2rem;
  }

  .card {
    padding: 1.5rem 1.25rem;
  }
}

h1,
h2,
h3 {
  line-height: 1.25;
  margin: 0 0 0.75rem;
}

h1 {
  font-size: 1.5rem;
  font-weight: 650;
  letter-spacing: -0.01em;
}

h2 {
  font-size: 1.125rem;
  font-weight: 600;
}

h3 {
  font-size: 1rem;
  font-weight: 600;
}

p {
  margin: 0 0 1rem;
}

.lede {
  color: var(--muted);
}

.lede b,
.lede strong {
  color: var(--text);
  font-weight: 600;
}

.muted {
  color: var(--muted);
  font-size: 0.9375rem;
}

a {
  color: var(--accent);
  text-underline-offset: 0.15em;
}

a:hover {
  color: var(--accent-hover);
}

code {
  font-family: var(--mono);
  font-size: 0.875em;
  background: var(--code-bg);
  border-radius: 4px;
  padding: 0.1em 0.35em;
  overflow-wrap: anywhere;
}

/* Focus: always visible for keyboard users. */
:focus-visible {
  outline: 3px solid var(--focus);
  outline-offset: 2px;
}

a:focus-visible {
  border-radius: 2px;
}

/* Forms */
form {
  margin: 0;
}

.field {
  margin: 0 0 1.125rem;
}

label {
  display: block;
  font-weight: 600;
  font-size: 0.9375rem;
  margin: 0 0 0.375rem;
}

input[type="text"],
input[type="password"] {
  display: block;
  width: 100%;
  min-height: 2.75rem;
  padding: 0.5rem 0.75rem;
  font: inherit;
  font-size: 1rem;
  color: var(--text);
  background: var(--surface);
  border: 1px solid var(--control-border);
  border-radius: 8px;
  transition: border-color 0.15s ease, box-shadow 0.15s ease;
}

input[type="text"]:focus-visible,
input[type="password"]:focus-visible {
  outline: 3px solid var(--focus);
  outline-offset: 1px;
  border-color: var(--focus);
}

input[aria-invalid="true"] {
  border-color: var(--danger-text);
}

/* Buttons */
.actions {
  display: flex;
  flex-wrap: wrap;
  gap: 0.75rem;
  margin-top: 1.5rem;
}

.actions .button {
  /* Equal widths side by side; stacked when the labels no longer fit on one line. */
  flex: 1 1 0;
  min-width: max-content;
  white-space: nowrap;
}

.button {
  display: inline-flex;
  align-items: center;
  justify-content: center;
  min-height: 2.75rem;
  padding: 0.5rem 1.25rem;
  font: inherit;
  font-weight: 600;
  line-height: 1.25;
  text-align: center;
  text-decoration: none;
  border-radius: 8px;
  border: 1px solid transparent;
  cursor: pointer;
  transition: background-color 0.15s ease, border-color 0.15s ease, color 0.15s ease;
}

.button.block {
  width: 100%;
  margin-top: 0.5rem;
}

.button.primary {
  background: var(--accent);
  color: var(--accent-text);
}

.button.primary:hover {
  background: var(--accent-hover);
  color: var(--accent-text);
}

.button.secondary {
  background: var(--surface);
  color: var(--text);
  border-color: var(--control-border);
}

.button.secondary:hover {
  background: var(--code-bg);
  color: var(--text);
}

.button:focus-visible {
  outline: 3px solid var(--focus);
  outline-offset: 2px;
}

/* Alerts */
.alert {
  margin: 0 0 1.25rem;
  padding: 0.75rem 1rem;
  border: 1px solid var(--danger-border);
  border-left-width: 4px;
  border-radius: 8px;
  background: var(--danger-bg);
  color: var(--danger-text);
  font-size: 0.9375rem;
}

/* Consent: the list of permissions. */
.scopes {
  list-style: none;
  margin: 0 0 0.5rem;
  padding: 0;
  border: 1px solid var(--border);
  border-radius: 8px;
}

.scopes li {
  padding: 0.75rem 1rem;
}

.scopes li + li {
  border-top: 1px solid var(--border);
}

.scope-name {
  display: block;
  font-weight: 600;
}

.scope-description {
  display: block;
  color: var(--muted);
  font-size: 0.9375rem;
}

.account {
  display: flex;
  flex-wrap: wrap;
  align-items: baseline;
  gap: 0 0.5rem;
  margin: 0 0 1.25rem;
  padding: 0.5rem 0.75rem;
  background: var(--code-bg);
  border-radius: 8px;
  font-size: 0.9375rem;
  color: var(--muted);
}

.account b {
  color: var(--text);
  font-weight: 600;
  overflow-wrap: anywhere;
}

/* Key/value lists: error details and the reference entries. */
.details {
  display: grid;
  grid-template-columns: max-content minmax(0, 1fr);
  gap: 0.5rem 1rem;
  margin: 0 0 1.25rem;
  padding: 0.875rem 1rem;
  background: var(--code-bg);
  border-radius: 8px;
  font-size: 0.9375rem;
}

.details dt {
  color: var(--muted);
  font-weight: 600;
}

.details dd {
  margin: 0;
  min-width: 0;
}

.details code {
  background: transparent;
  padding: 0;
}

@media (max-width: 24rem) {
  .details {
    grid-template-columns: minmax(0, 1fr);
    gap: 0.125rem;
  }

  .details dd + dt {
    margin-top: 0.5rem;
  }
}

.help {
  margin-top: 1.5rem;
  padding-top: 1.25rem;
  border-top: 1px solid var(--border);
}

.help > :last-child {
  margin-bottom: 0;
}

.help h2 {
  font-size: 1rem;
  margin-bottom: 0.375rem;
}

/* The /errors reference page. */
.toc {
  columns: 2 14rem;
  column-gap: 2rem;
  margin: 0 0 0.5rem;
  padding-left: 1.25rem;
}

.toc li {
  margin: 0 0 0.25rem;
  break-inside: avoid;
}

.entry {
  margin-top: 1.25rem;
  scroll-margin-top: 1rem;
}

.entry h2 {
  font-size: 1.1875rem;
  margin-bottom: 0.5rem;
}

.entry h2 code {
  font-size: 1em;
  background: transparent;
  padding: 0;
}

.entry .meaning {
  font-size: 1.0625rem;
}

.entry .details {
  grid-template-columns: 8.5rem minmax(0, 1fr);
}

@media (max-width: 30rem) {
  .entry .details {
    grid-template-columns: minmax(0, 1fr);
    gap: 0.125rem;
  }

  .entry .details dd + dt {
    margin-top: 0.5rem;
  }
}

.entry:target {
  border-color: var(--focus);
  box-shadow: 0 0 0 2px var(--focus), var(--shadow);
}

.top-link {
  margin: 0.75rem 0 0;
  font-size: 0.875rem;
}

footer {
  margin-top: 1.5rem;
  color: var(--muted);
  font-size: 0.8125rem;
  text-align: center;
}

@media (prefers-reduced-motion: reduce) {
  *,
  *::before,
  *::after {
    transition: none !important;
    animation: none !important;
    scroll-behavior: auto !important;
  }
}

@media (prefers-reduced-motion: no-preference) {
  html {
    scroll-behavior: smooth;
  }
}
`;
