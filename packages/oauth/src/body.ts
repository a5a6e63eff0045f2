/**
 * Reading an HTTP response body from a peer without trusting its size: a declared
 * `Content-Length` over the cap is refused before reading, and the bytes are counted as they
 * arrive, so a body that never ends is cut off at the cap.
 */

/**
 * The response body, at most `maxBytes` long; `undefined` when it is larger (the rest is not
 * read and the stream is cancelled).
 */
export async function readBodyCapped(
  response: Response,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  if (Number(response.headers.get('content-length')) > maxBytes) {
    response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
