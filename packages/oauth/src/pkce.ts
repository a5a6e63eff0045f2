/** PKCE (RFC 7636) with the S256 method only; `plain` is refused (RFC 9700 §2.1.1). */
import { base64url, sha256, timingSafeEqual } from './encoding.js';

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** Whether a code_verifier has the RFC 7636 §4.1 form: 43–128 unreserved characters. */
export function isValidCodeVerifier(verifier: string): boolean {
  return VERIFIER.test(verifier);
}

/** Whether a code_challenge has the form of a base64url SHA-256 digest (43 characters). */
export function isValidS256Challenge(challenge: string): boolean {
  return S256_CHALLENGE.test(challenge);
}

/** The S256 code_challenge for a verifier: BASE64URL(SHA256(ASCII(verifier))). */
export async function s256Challenge(verifier: string): Promise<string> {
  return base64url(await sha256(verifier));
}

/** Checks a verifier against a stored S256 challenge, in constant time. */
export async function verifyS256(verifier: string, challenge: string): Promise<boolean> {
  if (!isValidCodeVerifier(verifier)) return false;
  return timingSafeEqual(await s256Challenge(verifier), challenge);
}
