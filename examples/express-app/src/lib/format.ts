/** How the pages show claim values and times. */

/** Claims whose value is a time (seconds since the epoch), shown as a date too. */
const TIME_CLAIMS = new Set(['exp', 'iat', 'auth_time', 'nbf', 'updated_at']);

/** `2025-01-31 14:05:09 UTC`: the same for every reader, whatever the server's locale. */
export function formatTime(epochMs: number): string {
  return new Date(epochMs)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');
}

/** `in 5 minutes`, `2 hours ago`, `now`. */
export function relativeTime(epochMs: number, now: number): string {
  const seconds = Math.round((epochMs - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return 'now';
  const [amount, unit] =
    abs < 90
      ? [abs, 'second']
      : abs < 90 * 60
        ? [Math.round(abs / 60), 'minute']
        : abs < 36 * 3600
          ? [Math.round(abs / 3600), 'hour']
          : [Math.round(abs / 86_400), 'day'];
  const text = `${amount} ${unit}${amount === 1 ? '' : 's'}`;
  return seconds > 0 ? `in ${text}` : `${text} ago`;
}

export interface ClaimView {
  name: string;
  /** The value as JSON would show it, strings without quotes. */
  value: string;
  /** For a time claim: the date it stands for, and how far from now. */
  time?: string;
}

/** The claims in a stable order: the standard ones about the token first, the rest by name. */
const FIRST = ['iss', 'sub', 'aud', 'azp', 'iat', 'exp', 'auth_time', 'nonce', 'sid', 'at_hash'];

export function claimViews(claims: Record<string, unknown>, now: number): ClaimView[] {
  const names = Object.keys(claims).sort((a, b) => {
    const ia = FIRST.indexOf(a);
    const ib = FIRST.indexOf(b);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? FIRST.length : ia) - (ib < 0 ? FIRST.length : ib);
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return names.map((name) => {
    const raw = claims[name];
    const value = typeof raw === 'string' ? raw : (JSON.stringify(raw) ?? String(raw));
    if (TIME_CLAIMS.has(name) && typeof raw === 'number' && Number.isFinite(raw)) {
      const ms = raw * 1000;
      return { name, value, time: `${formatTime(ms)} (${relativeTime(ms, now)})` };
    }
    return { name, value };
  });
}
