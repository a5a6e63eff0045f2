/**
 * A very small HTML template helper. `html` is a tagged template: every interpolated value is
 * escaped unless it is already a `SafeHtml` (the result of `html` or `raw`), so building markup
 * from untrusted text is safe by default and trusting a fragment is always explicit.
 */

/** Markup that is already safe to insert as-is. */
export class SafeHtml {
  readonly #markup: string;

  constructor(markup: string) {
    this.#markup = markup;
  }

  toString(): string {
    return this.#markup;
  }
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for use in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ENTITIES[c] ?? c);
}

/** Marks a trusted fragment as safe. Never pass user input here. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/**
 * Values accepted in a template: text and numbers are escaped; `SafeHtml` is inserted as-is;
 * arrays are joined (each item handled the same way); `null`, `undefined` and `false` render
 * nothing, so `${cond && html`...`}` works.
 */
export type HtmlValue =
  | SafeHtml
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** Tagged template that escapes every interpolated value unless it is `SafeHtml`. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) {
    out += render(values[i]) + (strings[i + 1] ?? '');
  }
  return new SafeHtml(out);
}

/**
 * Returns `url` when it is safe to put in `href` or `action`: a relative reference or an
 * `http:`/`https:` URL. Anything else (`javascript:`, `data:`, …) becomes `#`. The result still
 * goes through escaping when interpolated.
 */
export function safeUrl(url: string): string {
  // Browsers ignore leading control characters and spaces, and tabs and newlines anywhere in a
  // URL; drop every character at or below U+0020 before looking for a scheme, to err on the safe side.
  let probe = '';
  for (const ch of url) if (ch.charCodeAt(0) > 0x20) probe += ch;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(probe);
  if (!scheme) return url.trim();
  const name = (scheme[1] ?? '').toLowerCase();
  return name === 'http' || name === 'https' ? url.trim() : '#';
}
