/**
 * Refreshes, coordinated per refresh token in this process:
 *
 * - One at a time. Requests that arrive while a refresh is under way wait for it; requests that
 *   still carry the old cookie shortly after (the browser had not received the new one yet) get
 *   its result too. Otherwise the second request would present a rotated refresh token — and
 *   the provider, seeing a reuse, would revoke the whole grant (RFC 9700 §4.14.2).
 * - Not in a loop. After a failure that may pass (network, provider 5xx) no new attempt is made
 *   for a while: with the provider down, every request would otherwise wait for a timeout.
 */

/** How long a finished refresh is remembered for late requests. */
export const REFRESH_GRACE_MS = 30_000;
/** How long to wait after a failure that may pass before trying again. */
export const RETRY_AFTER_MS = 30_000;
/** Keys remembered at most for the retry delay (the oldest goes first). */
const MAX_COOLING = 10_000;

export class Refreshes<T> {
  private readonly entries = new Map<string, Promise<T>>();
  private readonly cooling = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly graceMs = REFRESH_GRACE_MS,
    private readonly retryAfterMs = RETRY_AFTER_MS,
  ) {}

  run(key: string, refresh: () => Promise<T>): Promise<T> {
    const running = this.entries.get(key);
    if (running) return running;
    const promise = refresh();
    this.entries.set(key, promise);
    const forget = () => {
      if (this.entries.get(key) === promise) this.entries.delete(key);
    };
    promise.then(
      () => setTimeout(forget, this.graceMs).unref(),
      // A failure is not kept: the caller decides whether to cool down.
      forget,
    );
    return promise;
  }

  /** Records a failure that may pass: no new attempt for `key` during the retry delay. */
  coolDown(key: string): void {
    this.cooling.delete(key);
    if (this.cooling.size >= MAX_COOLING) {
      for (const oldest of this.cooling.keys()) {
        this.cooling.delete(oldest);
        break;
      }
    }
    this.cooling.set(key, this.now() + this.retryAfterMs);
  }

  /** Whether `key` failed less than the retry delay ago. */
  coolingDown(key: string): boolean {
    const until = this.cooling.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.cooling.delete(key);
    return false;
  }

  /** Refreshes remembered (running, or finished within the grace period). */
  get size(): number {
    return this.entries.size;
  }
}
