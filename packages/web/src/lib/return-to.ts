/**
 * `returnTo`: where the browser goes after the login. Only a path on the application's own
 * origin is accepted — anything else would make the login an open redirector (RFC 9700 §4.11).
 * One rule for every adapter (@gatehouse/express imports it from `@gatehouse/web/kit`).
 */

/** Longest returnTo kept: it travels in the transaction cookie, which must stay under 4 KB. */
export const MAX_RETURN_TO = 2048;

/**
 * The path to return to, normalised, or undefined when `value` is not a same-origin path:
 * it must start with one "/" (not "//" nor "/\", which browsers read as another host), and
 * hold no backslash and no control character (browsers drop tabs and newlines, so "/\t/evil"
 * would become "//evil"). The value is resolved against `origin`, must stay on it, and its
 * normalised form is checked again ("/a/../..//evil" normalises to "//evil").
 */
export function safeReturnTo(value: unknown, origin: string): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RETURN_TO) {
    return undefined;
  }
  if (!isLocalPath(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value, origin);
  } catch {
    return undefined;
  }
  if (url.origin !== origin || url.username || url.password) return undefined;
  const path = url.pathname + url.search + url.hash;
  return isLocalPath(path) ? path : undefined;
}

function isLocalPath(value: string): boolean {
  return (
    value.startsWith('/') &&
    !value.startsWith('//') &&
    !value.includes('\\') &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
    !/[\x00-\x1f\x7f]/.test(value)
  );
}
