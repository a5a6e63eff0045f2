/**
 * The engine's request and response shapes. `HttpRequest` is the part of a Web `Request` the
 * engine reads (a `Request` satisfies it), and `Reply` is a plain status, header list and string
 * body. The public `handle()` turns a Reply into a Web `Response`; the Node adapter writes it to
 * the socket directly, so the hot path never builds Web Request/Response objects.
 */

/** What the engine reads of a request. A Web `Request` is one. */
export interface HttpRequest {
  readonly method: string;
  /** The absolute request URL (its origin is the issuer's). */
  readonly url: string;
  readonly headers: { get(name: string): string | null; has(name: string): boolean };
  /** A streamed body (Web `Request`); when absent, `text()` gives the whole body. */
  readonly body?: ReadableStream<Uint8Array> | null;
  /** The body as UTF-8 text; an adapter that provides it bounds its size. */
  text(): Promise<string>;
}

/** An ordered header list; names are stored lower-case. */
export class ReplyHeaders implements Iterable<[string, string]> {
  private readonly list: [string, string][] = [];

  constructor(init?: Record<string, string> | Iterable<[string, string]>) {
    if (!init) return;
    const entries = Symbol.iterator in init ? init : Object.entries(init);
    for (const [name, value] of entries as Iterable<[string, string]>) this.append(name, value);
  }

  append(name: string, value: string): void {
    this.list.push([name.toLowerCase(), value]);
  }

  set(name: string, value: string): void {
    this.delete(name);
    this.append(name, value);
  }

  delete(name: string): void {
    const lower = name.toLowerCase();
    for (let i = this.list.length - 1; i >= 0; i--)
      if (this.list[i]![0] === lower) this.list.splice(i, 1);
  }

  get(name: string): string | null {
    const lower = name.toLowerCase();
    const values = this.list.filter(([n]) => n === lower).map(([, v]) => v);
    return values.length === 0 ? null : values.join(', ');
  }

  getSetCookie(): string[] {
    return this.list.filter(([n]) => n === 'set-cookie').map(([, v]) => v);
  }

  [Symbol.iterator](): Iterator<[string, string]> {
    return this.list[Symbol.iterator]();
  }
}

export class Reply {
  readonly headers: ReplyHeaders;

  constructor(
    readonly status: number,
    headers: ReplyHeaders | Record<string, string> = {},
    readonly body: string | null = null,
  ) {
    this.headers = headers instanceof ReplyHeaders ? headers : new ReplyHeaders(headers);
  }

  /** The same answer as a Web `Response`. */
  toResponse(): Response {
    const headers = new Headers();
    for (const [name, value] of this.headers) headers.append(name, value);
    return new Response(this.body, { status: this.status, headers });
  }
}
