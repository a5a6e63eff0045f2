/**
 * Refreshes, coordinated per refresh token:
 *
 * - One at a time. Requests that arrive while a refresh is under way wait for it; requests that
 *   still carry the old cookie shortly after (the browser had not received the new one yet) get
 *   its result too. Otherwise the second request would present a rotated refresh token — and
 *   the provider, seeing a reuse, would revoke the whole grant (RFC 9700 §4.14.2).
 * - Not in a loop. After a failure that may pass (network, provider 5xx) no new attempt is made
 *   for a while: with the provider down, every request would otherwise wait for a timeout. After
 *   a refusal (`invalid_grant`) the refresh token is known dead: a request that still carries it
 *   (the adapter cannot always clear the cookie — `session()` leaves the response to the caller)
 *   is signed out without asking the provider again.
 *
 * No timers: expiry is checked lazily against the caller's clock, so this works where timers do
 * not outlive a request (workers, edge functions). Every map is bounded.
 */

/** How long a finished refresh is remembered for late requests. */
export const REFRESH_GRACE_MS = 30_000;
/** How long to wait after a failure that may pass before trying again. */
export const RETRY_AFTER_MS = 30_000;
/** Keys remembered at most per kind (the oldest goes first). */
const MAX_ENTRIES = 10_000;

interface Running<T> {
  promise: Promise<T>;
  /** When it succeeded (the caller's clock); undefined while it runs. */
  settledAt?: number;
  now: () => number;
}

export class Refreshes<T> {
  private readonly running = new Map<string, Running<T>>();
  /** Key → until when no attempt is made (epoch ms). */
  private readonly cooling = new Map<string, number>();
  /** Key → until when the refresh token is known refused (epoch ms). */
  private readonly refused = new Map<string, number>();

  constructor(
    private readonly graceMs = REFRESH_GRACE_MS,
    private readonly retryAfterMs = RETRY_AFTER_MS,
  ) {}

  /** The refresh for `key`: the one under way or just finished, or a new run of `refresh`. */
  run(key: string, now: () => number, refresh: () => Promise<T>): Promise<T> {
    const current = this.running.get(key);
    if (current && (current.settledAt === undefined || now() - current.settledAt < this.graceMs)) {
      return current.promise;
    }
    this.running.delete(key);
    const at = now();
    this.makeRoom(
      this.running,
      (e) => e.settledAt !== undefined && at - e.settledAt >= this.graceMs,
    );
    const entry: Running<T> = { promise: refresh(), now };
    this.running.set(key, entry);
    entry.promise.then(
      () => {
        entry.settledAt = entry.now();
      },
      // A failure is not kept: the caller decides whether to cool down or refuse.
      () => {
        if (this.running.get(key) === entry) this.running.delete(key);
      },
    );
    return entry.promise;
  }

  /** Records a failure that may pass: no new attempt for `key` during the retry delay. */
  coolDown(key: string, now: number): void {
    this.remember(this.cooling, key, now + this.retryAfterMs, now);
  }

  /** Records a refusal: `key`'s refresh token is dead until `until` (the session's end). */
  refuse(key: string, until: number, now: number): void {
    this.remember(this.refused, key, until, now);
  }

  /** Whether `key` failed in a way that may pass, less than the retry delay ago. */
  coolingDown(key: string, now: number): boolean {
    return this.active(this.cooling, key, now);
  }

  /** Whether `key`'s refresh token was refused. */
  isRefused(key: string, now: number): boolean {
    return this.active(this.refused, key, now);
  }

  /** Refreshes remembered (running, or finished), for tests and metrics. */
  get size(): number {
    return this.running.size;
  }

  private active(map: Map<string, number>, key: string, now: number): boolean {
    const until = map.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    map.delete(key);
    return false;
  }

  private remember(map: Map<string, number>, key: string, until: number, now: number): void {
    map.delete(key);
    this.makeRoom(map, (expiry) => expiry <= now);
    map.set(key, until);
  }

  /** Below the bound: expired entries go first, then the oldest. */
  private makeRoom<V>(map: Map<string, V>, expired: (value: V) => boolean): void {
    if (map.size < MAX_ENTRIES) return;
    for (const [key, value] of map) {
      if (expired(value)) map.delete(key);
    }
    for (const key of map.keys()) {
      if (map.size < MAX_ENTRIES) break;
      map.delete(key);
    }
  }
}
