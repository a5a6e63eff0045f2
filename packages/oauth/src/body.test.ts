import { describe, expect, it } from 'vitest';
import { readBodyCapped } from './body.js';

/** A response whose body arrives in `chunks` of `size` bytes, without a Content-Length. */
function streamed(chunks: number, size: number, onCancel?: () => void): Response {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < chunks) controller.enqueue(new Uint8Array(size).fill(65));
      else controller.close();
    },
    cancel: () => onCancel?.(),
  });
  return new Response(body);
}

describe('readBodyCapped', () => {
  it('returns the whole body when it fits, whatever the chunking', async () => {
    expect(new TextDecoder().decode(await readBodyCapped(new Response('hello'), 5))).toBe('hello');
    expect((await readBodyCapped(streamed(4, 256, undefined), 1024))?.byteLength).toBe(1024);
    expect((await readBodyCapped(new Response(null), 10))?.byteLength).toBe(0);
  });
  it('refuses a declared Content-Length over the cap without reading', async () => {
    const res = new Response('x'.repeat(100), { headers: { 'content-length': '100' } });
    expect(await readBodyCapped(res, 99)).toBeUndefined();
  });
  it('stops reading a body that grows past the cap, and cancels the stream', async () => {
    let cancelled = false;
    const endless = streamed(Number.POSITIVE_INFINITY, 1000, () => {
      cancelled = true;
    });
    expect(await readBodyCapped(endless, 10_000)).toBeUndefined();
    expect(cancelled).toBe(true);
  });
});
