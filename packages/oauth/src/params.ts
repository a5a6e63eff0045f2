/**
 * Strict parsing of OAuth request parameters (RFC 6749 §3.1): a parameter sent without a value is
 * treated as absent; any parameter sent twice is refused; sizes are bounded.
 */
import { OAuthError } from './errors.js';

export interface ParamLimits {
  /** Most parameters accepted in one request. Default 100. */
  maxParams?: number;
  /** Longest value accepted, in characters. Default 8192. */
  maxValueLength?: number;
}

/** Parsed parameters: each name at most once, never an empty value. */
export type Params = ReadonlyMap<string, string>;

// Control characters are never legitimate in an OAuth parameter value.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point of this pattern
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * Turns URL-encoded parameters into a map, refusing repeats, oversized values and control
 * characters with `invalid_request`.
 */
export function parseParams(
  source: URLSearchParams,
  limits: ParamLimits = {},
): Map<string, string> {
  const maxParams = limits.maxParams ?? 100;
  const maxValueLength = limits.maxValueLength ?? 8192;
  const out = new Map<string, string>();
  const seen = new Set<string>();
  let count = 0;
  for (const [name, value] of source) {
    if (++count > maxParams) throw new OAuthError('invalid_request', 'too many parameters');
    if (seen.has(name)) {
      throw new OAuthError('invalid_request', `parameter '${safeName(name)}' is repeated`);
    }
    seen.add(name);
    if (value.length > maxValueLength) {
      throw new OAuthError('invalid_request', `parameter '${safeName(name)}' is too long`);
    }
    if (CONTROL.test(value)) {
      throw new OAuthError(
        'invalid_request',
        `parameter '${safeName(name)}' contains control characters`,
      );
    }
    if (value !== '') out.set(name, value);
  }
  return out;
}

/** Merges two parameter sets (e.g. query and body), refusing names present in both. */
export function mergeParams(a: Map<string, string>, b: Map<string, string>): Map<string, string> {
  const out = new Map(a);
  for (const [name, value] of b) {
    if (out.has(name)) {
      throw new OAuthError('invalid_request', `parameter '${safeName(name)}' is repeated`);
    }
    out.set(name, value);
  }
  return out;
}

/** Splits a space-delimited list (scope, prompt, response_type) into distinct values. */
export function splitSpaceList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return [...new Set(value.split(' ').filter((v) => v !== ''))];
}

function safeName(name: string): string {
  return name
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/["\\]/g, '?')
    .slice(0, 64);
}
