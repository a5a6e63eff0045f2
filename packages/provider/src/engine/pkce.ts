/**
 * PKCE S256 verification (RFC 7636 §4.6) on synchronous `node:crypto`: the token endpoint's hot
 * path, where WebCrypto's `digest` would cost a round trip through libuv's thread pool.
 */
import { hash } from 'node:crypto';
import { isValidCodeVerifier, timingSafeEqual } from '@gatehouse/oauth';

/**
 * Whether `verifier` is a well-formed code_verifier whose BASE64URL(SHA256(ASCII(verifier)))
 * equals `challenge`, compared in constant time. Same result as `verifyS256` from
 * `@gatehouse/oauth`, without the await.
 */
export function verifyS256Sync(verifier: string, challenge: string): boolean {
  if (!isValidCodeVerifier(verifier)) return false;
  // The verifier is ASCII (checked above), so its UTF-8 bytes are its ASCII bytes.
  // `hash` is the one-shot digest: no Hash object, half the cost of createHash().digest().
  return timingSafeEqual(hash('sha256', verifier, 'base64url'), challenge);
}
