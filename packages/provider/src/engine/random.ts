/**
 * Random values on the provider's hot path, from Node's CSPRNG without the Web-API detour
 * (`getRandomValues` + `btoa` costs several times more per token). Bytes are drawn from a pooled
 * buffer that is refilled from `randomFillSync`; each byte is used once.
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

/** `bytes` random bytes (default 32, 256 bits) as unpadded base64url. */
export function randomId(bytes = 32): string {
  if (bytes > POOL_SIZE) return randomFillSync(Buffer.allocUnsafe(bytes)).toString('base64url');
  if (offset + bytes > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + bytes);
  offset += bytes;
  return id;
}

const processPrefix = randomId(6);
let counter = 0;

/** A short id for a request, unique within this process and across processes (for logs only). */
export function requestId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${processPrefix}${counter.toString(36)}`;
}
