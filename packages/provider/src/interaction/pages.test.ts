import { ERRORS, type ErrorInfo } from '@gatehouse/oauth';
import { describe, expect, it } from 'vitest';
import { escapeHtml, html, raw, safeUrl } from './html.js';
import { createPages, defaultPages } from './pages.js';
import { stylesheet } from './styles.js';

const CSS = 'https://id.example.com/tenant/assets/gatehouse.css';
const XSS = '<script>alert(1)</script>';
const ATTR = `"'><img src=x onerror=alert(1)>`;
const HOSTILE = [XSS, ATTR];

interface Tag {
  name: string;
  attrs: Map<string, string>;
}

/** Start tags with their attributes. The pages always double-quote attribute values. */
function tags(doc: string): Tag[] {
  const out: Tag[] = [];
  for (const m of doc.matchAll(
    /<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=>/]+(?:="[^"]*")?)*)\s*\/?>/g,
  )) {
    const attrs = new Map<string, string>();
    for (const a of (m[2] ?? '').matchAll(/([^\s=]+)(?:="([^"]*)")?/g)) {
      attrs.set((a[1] ?? '').toLowerCase(), a[2] ?? '');
    }
    out.push({ name: (m[1] ?? '').toLowerCase(), attrs });
  }
  return out;
}

const byName = (doc: string, name: string) => tags(doc).filter((t) => t.name === name);
const inputNamed = (doc: string, name: string) =>
  byName(doc, 'input').find((t) => t.attrs.get('name') === name);
const buttons = (doc: string) => byName(doc, 'button');

/** The structural checks every page must pass. */
function expectWellFormed(doc: string, title: string | RegExp): void {
  expect(doc.startsWith('<!doctype html>')).toBe(true);
  expect(doc).toContain('<html lang="en">');
  expect(doc).toContain('<meta charset="utf-8">');
  expect(doc).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
  const titleText = /<title>([^<]*)<\/title>/.exec(doc)?.[1];
  expect(titleText).toBeDefined();
  expect(titleText).toMatch(title);
  expect(titleText).toContain('Gatehouse');
  const links = byName(doc, 'link').filter((l) => l.attrs.get('rel') === 'stylesheet');
  expect(links).toHaveLength(1);
  expect(links[0]?.attrs.get('href')).toBe(CSS);
  expect(doc).toContain('</html>');
  // Nothing the CSP would block.
  expect(doc).not.toMatch(/<script/i);
  expect(doc).not.toMatch(/<style/i);
  expect(doc).not.toMatch(/\sstyle=/i);
  expect(doc).not.toMatch(/<img/i);
  expect(doc).not.toMatch(/<iframe|<object|<embed/i);
  expect(doc).not.toMatch(/(href|src|action)="\s*javascript:/i);
  // One main landmark, headings in order, ids unique, every visible input labelled.
  expect(byName(doc, 'main')).toHaveLength(1);
  const levels = [...doc.matchAll(/<h([1-6])[\s>]/g)].map((m) => Number(m[1]));
  expect(levels[0]).toBe(1);
  expect(levels.filter((l) => l === 1)).toHaveLength(1);
  for (let i = 1; i < levels.length; i++) {
    expect(levels[i]).toBeLessThanOrEqual((levels[i - 1] ?? 1) + 1);
  }
  const ids = tags(doc)
    .map((t) => t.attrs.get('id'))
    .filter((id): id is string => id !== undefined);
  expect(new Set(ids).size).toBe(ids.length);
  const labelled = new Set(byName(doc, 'label').map((l) => l.attrs.get('for')));
  for (const input of byName(doc, 'input')) {
    if (input.attrs.get('type') === 'hidden') continue;
    expect(labelled.has(input.attrs.get('id'))).toBe(true);
  }
  for (const b of buttons(doc)) expect(b.attrs.get('type')).toBe('submit');
}

/** Nothing hostile survived as markup: no injected elements, no event-handler attributes. */
function expectInert(doc: string): void {
  expect(doc).not.toContain(XSS);
  expect(doc).not.toContain(`"'>`);
  expect(doc).not.toMatch(/<img|<script/i);
  for (const t of tags(doc)) {
    expect(['script', 'img', 'iframe', 'style']).not.toContain(t.name);
    for (const name of t.attrs.keys()) expect(name.startsWith('on')).toBe(false);
  }
  expect(doc).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
}

const loginView = {
  stylesheetHref: CSS,
  action: 'https://id.example.com/tenant/interaction/abc/login',
  csrf: 'csrf-token-1',
  clientName: 'Acme Dashboard',
};

const consentView = {
  stylesheetHref: CSS,
  action: 'https://id.example.com/tenant/interaction/abc',
  csrf: 'csrf-token-2',
  clientName: 'Acme Dashboard',
  username: 'alice@example.com',
  scopes: [
    { name: 'openid', description: 'Confirm who you are' },
    { name: 'email', description: 'See your email address' },
  ],
};

const logoutView = {
  stylesheetHref: CSS,
  action: 'https://id.example.com/tenant/v1/oauth/logout',
  csrf: 'csrf-token-3',
  clientName: 'Acme Dashboard',
};

const errorView = {
  stylesheetHref: CSS,
  error: 'invalid_request',
  description: 'redirect_uri is not registered for this client',
  errorUri: 'https://id.example.com/tenant/errors#invalid_request',
  requestId: 'req_8f3a2c91',
};

const entries: readonly ErrorInfo[] = [...ERRORS.values()];

describe('html helper', () => {
  it('escapes interpolated text and attribute values', () => {
    expect(html`<p title="${ATTR}">${XSS}</p>`.toString()).toBe(
      '<p title="&quot;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;">&lt;script&gt;alert(1)&lt;/script&gt;</p>',
    );
    expect(escapeHtml('a & b ` c')).toBe('a &amp; b &#96; c');
  });

  it('inserts SafeHtml, arrays and numbers; drops null, undefined and false', () => {
    const items = ['<a>', 'b'].map((x) => html`<li>${x}</li>`);
    expect(html`<ul>${items}</ul>`.toString()).toBe('<ul><li>&lt;a&gt;</li><li>b</li></ul>');
    expect(html`${raw('<b>ok</b>')}${null}${undefined}${false}${0}`.toString()).toBe('<b>ok</b>0');
    expect(html`${html`<i>${'<x>'}</i>`}`.toString()).toBe('<i>&lt;x&gt;</i>');
  });

  it('lets only relative and http(s) URLs through safeUrl', () => {
    expect(safeUrl('https://id.example.com/a?b=c#d')).toBe('https://id.example.com/a?b=c#d');
    expect(safeUrl('/interaction/abc')).toBe('/interaction/abc');
    expect(safeUrl('gatehouse.css')).toBe('gatehouse.css');
    expect(safeUrl('javascript:alert(1)')).toBe('#');
    expect(safeUrl(' JavaScript:alert(1)')).toBe('#');
    expect(safeUrl('\u0001java\tscript:alert(1)')).toBe('#');
    expect(safeUrl('data:text/html,<b>')).toBe('#');
  });
});

describe('login page', () => {
  it('is a well-formed document with the sign-in form', () => {
    const doc = defaultPages.login(loginView);
    expectWellFormed(doc, /Sign in/);
    const form = byName(doc, 'form')[0];
    expect(form?.attrs.get('method')).toBe('post');
    expect(form?.attrs.get('action')).toBe(loginView.action);

    const username = inputNamed(doc, 'username');
    expect(username?.attrs.get('type')).toBe('text');
    expect(username?.attrs.get('autocomplete')).toBe('username');
    expect(username?.attrs.get('autocapitalize')).toBe('none');
    expect(username?.attrs.get('spellcheck')).toBe('false');
    expect(username?.attrs.has('required')).toBe(true);
    expect(username?.attrs.has('autofocus')).toBe(true);
    expect(username?.attrs.get('value')).toBe('');

    const password = inputNamed(doc, 'password');
    expect(password?.attrs.get('type')).toBe('password');
    expect(password?.attrs.get('autocomplete')).toBe('current-password');
    expect(password?.attrs.has('required')).toBe(true);
    expect(password?.attrs.has('value')).toBe(false);

    const csrf = inputNamed(doc, 'csrf');
    expect(csrf?.attrs.get('type')).toBe('hidden');
    expect(csrf?.attrs.get('value')).toBe('csrf-token-1');

    expect(buttons(doc)).toHaveLength(1);
    expect(doc).toContain('Sign in to continue to <b>Acme Dashboard</b>');
    expect(doc).not.toContain('role="alert"');
    expect(doc).not.toContain('aria-invalid');
  });

  it('pre-fills the username', () => {
    const doc = defaultPages.login({ ...loginView, username: 'alice' });
    expect(inputNamed(doc, 'username')?.attrs.get('value')).toBe('alice');
  });

  it('shows the error in role=alert, linked to invalid inputs', () => {
    const doc = defaultPages.login({
      ...loginView,
      username: 'alice',
      error: 'Wrong username or password.',
    });
    expectWellFormed(doc, /Sign in/);
    const alert = tags(doc).find((t) => t.attrs.get('role') === 'alert');
    expect(alert).toBeDefined();
    const alertId = alert?.attrs.get('id') ?? '';
    expect(alertId).not.toBe('');
    expect(doc).toMatch(/role="alert">Wrong username or password\.</);
    for (const name of ['username', 'password']) {
      const input = inputNamed(doc, name);
      expect(input?.attrs.get('aria-invalid')).toBe('true');
      expect(input?.attrs.get('aria-describedby')?.split(/\s+/)).toContain(alertId);
    }
  });

  it('escapes every interpolated value', () => {
    for (const bad of HOSTILE) {
      const doc = defaultPages.login({
        stylesheetHref: CSS,
        action: `/login?x=${bad}`,
        csrf: bad,
        clientName: XSS,
        username: bad,
        error: XSS,
      });
      expectInert(doc);
      expect(inputNamed(doc, 'csrf')?.attrs.get('value')).toBe(escapeHtml(bad));
      expect(inputNamed(doc, 'username')?.attrs.get('value')).toBe(escapeHtml(bad));
    }
  });

  it('refuses a javascript: action', () => {
    const doc = defaultPages.login({ ...loginView, action: 'javascript:alert(1)' });
    expect(byName(doc, 'form')[0]?.attrs.get('action')).toBe('#');
  });
});

describe('consent page', () => {
  it('is a well-formed document with allow and deny buttons', () => {
    const doc = defaultPages.consent(consentView);
    expectWellFormed(doc, /access/i);
    const form = byName(doc, 'form')[0];
    expect(form?.attrs.get('method')).toBe('post');
    expect(form?.attrs.get('action')).toBe(consentView.action);
    expect(inputNamed(doc, 'csrf')?.attrs.get('value')).toBe('csrf-token-2');
    expect(inputNamed(doc, 'csrf')?.attrs.get('type')).toBe('hidden');
    const decisions = buttons(doc).map((b) => [b.attrs.get('name'), b.attrs.get('value')]);
    expect(decisions).toEqual([
      ['decision', 'allow'],
      ['decision', 'deny'],
    ]);
    expect(doc).toContain('Signed in as <b>alice@example.com</b>');
    expect(doc).toContain('<b>Acme Dashboard</b>');
  });

  it('lists every scope with its description', () => {
    const doc = defaultPages.consent(consentView);
    const list = /<ul class="scopes">([\s\S]*?)<\/ul>/.exec(doc)?.[1] ?? '';
    const items = list.match(/<li>/g) ?? [];
    expect(items).toHaveLength(2);
    for (const s of consentView.scopes) {
      expect(list).toContain(s.name);
      expect(list).toContain(s.description);
    }
  });

  it('renders no empty list when there are no scopes to show', () => {
    const doc = defaultPages.consent({ ...consentView, scopes: [] });
    expectWellFormed(doc, /access/i);
    expect(doc).not.toContain('<ul');
  });

  it('escapes every interpolated value', () => {
    for (const bad of HOSTILE) {
      const doc = defaultPages.consent({
        stylesheetHref: CSS,
        action: `/consent?x=${bad}`,
        csrf: bad,
        clientName: XSS,
        username: bad,
        scopes: [{ name: bad, description: XSS }],
      });
      expectInert(doc);
      expect(inputNamed(doc, 'csrf')?.attrs.get('value')).toBe(escapeHtml(bad));
    }
  });
});

describe('logout confirmation page', () => {
  it('is a well-formed document with logout and stay buttons', () => {
    const doc = defaultPages.logoutConfirm(logoutView);
    expectWellFormed(doc, /Sign out/);
    const form = byName(doc, 'form')[0];
    expect(form?.attrs.get('method')).toBe('post');
    expect(form?.attrs.get('action')).toBe(logoutView.action);
    expect(inputNamed(doc, 'csrf')?.attrs.get('value')).toBe('csrf-token-3');
    expect(inputNamed(doc, 'csrf')?.attrs.get('type')).toBe('hidden');
    const decisions = buttons(doc).map((b) => [b.attrs.get('name'), b.attrs.get('value')]);
    expect(decisions).toEqual([
      ['decision', 'logout'],
      ['decision', 'stay'],
    ]);
    expect(doc).toContain('<b>Acme Dashboard</b>');
  });

  it('works without a client name', () => {
    const { clientName: _, ...view } = logoutView;
    const doc = defaultPages.logoutConfirm(view);
    expectWellFormed(doc, /Sign out/);
    expect(doc).not.toContain('Acme');
  });

  it('escapes every interpolated value', () => {
    for (const bad of HOSTILE) {
      const doc = defaultPages.logoutConfirm({
        stylesheetHref: CSS,
        action: `/logout?x=${bad}`,
        csrf: bad,
        clientName: XSS,
      });
      expectInert(doc);
      expect(inputNamed(doc, 'csrf')?.attrs.get('value')).toBe(escapeHtml(bad));
    }
  });
});

describe('signed-out page', () => {
  it('says the user is signed out', () => {
    const doc = defaultPages.loggedOut({
      stylesheetHref: CSS,
      signedOut: true,
      clientName: 'Acme',
    });
    expectWellFormed(doc, /You are signed out/);
    expect(doc).toContain('<h1>You are signed out</h1>');
    expect(doc).not.toContain('still signed in');
    expect(byName(doc, 'form')).toHaveLength(0);
  });

  it('says the user is still signed in when they chose to stay', () => {
    const doc = defaultPages.loggedOut({ stylesheetHref: CSS, signedOut: false });
    expectWellFormed(doc, /You are still signed in/);
    expect(doc).toContain('<h1>You are still signed in</h1>');
    expect(doc).not.toContain('You are signed out');
  });

  it('escapes the client name', () => {
    for (const signedOut of [true, false]) {
      for (const bad of HOSTILE) {
        const doc = defaultPages.loggedOut({
          stylesheetHref: CSS,
          signedOut,
          clientName: `${XSS}${bad}`,
        });
        expectInert(doc);
      }
    }
  });
});

describe('error page', () => {
  it('shows the code, description, reference link, request id and what to do', () => {
    const doc = defaultPages.error(errorView);
    expectWellFormed(doc, /invalid_request/);
    expect(doc).toContain('<code>invalid_request</code>');
    expect(doc).toContain('redirect_uri is not registered for this client');
    expect(doc).toContain('<code>req_8f3a2c91</code>');
    expect(doc).toContain(`<a href="${errorView.errorUri}">What this error means</a>`);
    expect(doc).toMatch(/go back to the application/i);
    expect(doc).toMatch(/try again/i);
    expect(byName(doc, 'form')).toHaveLength(0);
  });

  it('falls back to the registry meaning when there is no description', () => {
    const doc = defaultPages.error({ ...errorView, error: 'server_error', description: '' });
    expect(doc).toContain(escapeHtml(ERRORS.get('server_error')?.meaning ?? '?'));
  });

  it('escapes every interpolated value', () => {
    for (const bad of HOSTILE) {
      const doc = defaultPages.error({
        stylesheetHref: CSS,
        error: bad,
        description: XSS,
        errorUri: `https://id.example.com/errors#${bad}`,
        requestId: bad,
      });
      expectInert(doc);
    }
    const doc = defaultPages.error({ ...errorView, errorUri: 'javascript:alert(1)' });
    expect(doc).toContain('<a href="#">What this error means</a>');
  });
});

describe('errors reference page', () => {
  const doc = defaultPages.errorsReference({
    stylesheetHref: CSS,
    issuer: 'https://id.example.com/tenant',
    entries,
  });

  it('is a well-formed document with a heading and an intro', () => {
    expectWellFormed(doc, /Error reference/);
    expect(doc).toMatch(/<h1[^>]*>Error reference<\/h1>/);
    for (const word of ['redirect_uri', 'error_description', 'error_uri', 'state', 'iss']) {
      expect(doc).toContain(`<code>${word}</code>`);
    }
    expect(doc).toContain('error page');
    expect(doc).toContain('RFC 6749 §5.2');
    expect(doc).toContain('https://id.example.com/tenant');
  });

  it('has a section, anchored by its code, and a contents link for every error', () => {
    expect(entries.length).toBeGreaterThan(0);
    const sections = byName(doc, 'section').map((s) => s.attrs.get('id'));
    expect(sections).toEqual(entries.map((e) => e.code));
    const nav = /<nav[\s\S]*?<\/nav>/.exec(doc)?.[0] ?? '';
    for (const e of ERRORS.values()) {
      expect(nav).toContain(`href="#${e.code}"`);
      const section =
        new RegExp(`<section id="${e.code}"[\\s\\S]*?</section>`).exec(doc)?.[0] ?? '';
      expect(section).toContain(`<code>${e.code}</code>`);
      expect(section).toContain(escapeHtml(e.meaning));
      expect(section).toContain(escapeHtml(e.cause));
      expect(section).toContain(escapeHtml(e.fix));
      expect(section).toContain(escapeHtml(e.reference));
      expect(section).toContain(`<dd>${e.status}</dd>`);
      expect(section).toMatch(e.retryable ? /<dd>Yes/ : /<dd>No/);
      expect(section).toMatch(/HTTP status/);
      expect(section).toMatch(/Endpoints/);
    }
  });

  it('escapes entries and the issuer', () => {
    const hostile: ErrorInfo = {
      code: 'invalid_request',
      status: 400,
      endpoints: ['token'],
      retryable: false,
      reference: XSS,
      meaning: ATTR,
      cause: XSS,
      fix: ATTR,
    };
    const bad = defaultPages.errorsReference({
      stylesheetHref: CSS,
      issuer: XSS,
      entries: [hostile],
    });
    expectInert(bad);
  });
});

describe('stylesheet', () => {
  it('is exposed on the pages and self-contained', () => {
    expect(defaultPages.stylesheet).toBe(stylesheet);
    expect(stylesheet).toContain('prefers-color-scheme: dark');
    expect(stylesheet).toContain('prefers-reduced-motion: reduce');
    expect(stylesheet).toContain(':focus-visible');
    expect(stylesheet).not.toMatch(/@import|url\(/);
  });

  it('defines every class the pages use', () => {
    const docs = [
      defaultPages.login({ ...loginView, error: 'x' }),
      defaultPages.consent(consentView),
      defaultPages.consent({ ...consentView, scopes: [] }),
      defaultPages.logoutConfirm(logoutView),
      defaultPages.loggedOut({ stylesheetHref: CSS, signedOut: true }),
      defaultPages.error(errorView),
      defaultPages.errorsReference({ stylesheetHref: CSS, issuer: 'https://x', entries }),
    ];
    const classes = new Set(
      docs.flatMap((d) => tags(d).flatMap((t) => (t.attrs.get('class') ?? '').split(/\s+/))),
    );
    classes.delete('');
    for (const c of classes) expect(stylesheet, c).toContain(`.${c}`);
  });
});

describe('createPages', () => {
  it('uses the product name given', () => {
    const pages = createPages({ productName: 'Acme ID <beta>' });
    const doc = pages.loggedOut({ stylesheetHref: CSS, signedOut: true });
    expect(doc).toContain('Acme ID &lt;beta&gt;');
    expect(doc).not.toContain('Gatehouse');
  });
});
