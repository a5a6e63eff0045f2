/**
 * The app's stylesheet, served from its own origin at `STYLESHEET_PATH` (the pages' CSP allows
 * styles from 'self' only: no inline style, no third-party CSS).
 */

export const STYLESHEET_PATH = '/app.css';

export const STYLESHEET = `:root {
  color-scheme: light dark;
  --fg: #1b1f24;
  --muted: #57606a;
  --bg: #ffffff;
  --panel: #f6f8fa;
  --line: #d0d7de;
  --accent: #0b5cad;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  line-height: 1.5;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6edf3;
    --muted: #9da7b3;
    --bg: #0d1117;
    --panel: #161b22;
    --line: #30363d;
    --accent: #58a6ff;
  }
}
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: 0.5rem; }
header { border-bottom: 1px solid var(--line); background: var(--panel); }
header nav, main, footer { max-width: 48rem; margin: 0 auto; padding: 0 1rem; }
header nav { display: flex; align-items: center; gap: 1rem; min-height: 3.5rem; flex-wrap: wrap; }
header nav .brand { font-weight: 600; margin-right: auto; color: var(--fg); text-decoration: none; }
header nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; align-items: center; }
header form { margin: 0; }
button, .button {
  font: inherit; cursor: pointer; border-radius: 6px; padding: 0.35rem 0.9rem;
  border: 1px solid var(--line); background: var(--bg); color: var(--fg); text-decoration: none;
  display: inline-block;
}
.button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
main { padding-top: 1.5rem; padding-bottom: 2rem; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 0.5rem; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; }
caption { text-align: left; color: var(--muted); padding-bottom: 0.5rem; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem 0.6rem; border-bottom: 1px solid var(--line); }
thead th { border-bottom-width: 2px; }
td code, th code { word-break: break-all; }
.time { display: block; color: var(--muted); font-size: 0.9em; }
.muted, footer { color: var(--muted); }
footer { border-top: 1px solid var(--line); padding-top: 1rem; padding-bottom: 2rem; font-size: 0.9em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
`;
