/** Encoding and randomness helpers over Web-standard APIs (no Node imports). */

const encoder = new TextEncoder();

/** Base64url without padding (RFC 4648 §5). */
export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Value of each base64url character by char code (< 128); -1 for every other character. */
const SEXTETS = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/** The 6-bit value of the character at `i`, or -1 when it is not a base64url character. */
function sextet(text: string, i: number): number {
  const code = text.charCodeAt(i);
  return code < 128 ? SEXTETS[code]! : -1;
}

/**
 * Decodes unpadded base64url; throws TypeError on anything else (padding, `+`, `/`, whitespace, a
 * length of 4n + 1). Like `atob`, it does not insist that the unused low bits of the last
 * character are zero.
 */
export function base64urlDecode(text: string): Uint8Array<ArrayBuffer> {
  const length = text.length;
  const tail = length % 4;
  if (tail === 1) throw new TypeError('not base64url');
  const out = new Uint8Array(((length - tail) / 4) * 3 + (tail === 0 ? 0 : tail - 1));
  let o = 0;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = sextet(text, i + 2);
    const d = sextet(text, i + 3);
    if ((a | b | c | d) < 0) throw new TypeError('not base64url');
    const bits = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = bits >> 16;
    out[o++] = (bits >> 8) & 0xff;
    out[o++] = bits & 0xff;
  }
  if (tail > 0) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = tail === 3 ? sextet(text, i + 2) : 0;
    if ((a | b | c) < 0) throw new TypeError('not base64url');
    const bits = (a << 18) | (b << 12) | (c << 6);
    out[o++] = bits >> 16;
    if (tail === 3) out[o++] = (bits >> 8) & 0xff;
  }
  return out;
}

/** Whether `text` is non-empty unpadded base64url. */
export function isBase64url(text: string): boolean {
  return text.length > 0 && BASE64URL.test(text);
}

/**
 * A random, URL-safe token from a CSPRNG. 32 bytes (256 bits) by default, which encodes to 43
 * base64url characters.
 */
export function randomToken(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** SHA-256 of a UTF-8 string. */
export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/**
 * Compares two strings in time that depends only on their lengths, not on where they differ.
 * Use for secrets, hashes and PKCE values.
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const length = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < length; i++) {
    diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  }
  return diff === 0;
}
