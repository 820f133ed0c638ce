/**
 * PocketBase's guard against using a filter as an oracle on a rule-protected list: when one client keeps
 * getting nothing back from client-filtered requests on a collection with a non-empty list rule (more than 3
 * times in 3 s), its empty answers are delayed by a random 0-500 ms, so response timing stops telling rule
 * misses apart.
 *
 * As in PocketBase (a rate limiter keyed by the client's real IP), the budget is per client and collection:
 * a prober is slowed down, other clients of the same collection are not.
 */
import { randomInt } from 'node:crypto';

const WINDOW_MS = 3000;
const FREE_MISSES = 3;
const MAX_DELAY_MS = 500;
/** Tracked (collection, client) pairs; beyond this the least recently missed ones are forgotten. */
export const MAX_TRACKED = 10_000;

export class TimingGuard {
  /** Key → recent miss times; Map order is least recently missed first. */
  private misses = new Map<string, number[]>();

  constructor(
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    private readonly maxTracked = MAX_TRACKED,
  ) {}

  /** How many (collection, client) pairs are tracked (tests). */
  get size(): number {
    return this.misses.size;
  }

  /**
   * Records an empty filtered answer for `client` (its IP) on `collectionId` and waits if that client had
   * too many recently.
   */
  async emptyResult(collectionId: string, client: string, now = Date.now()): Promise<void> {
    const key = `${collectionId}\u0000${client}`;
    const previous = this.misses.get(key);
    const recent = previous ? previous.filter((t) => now - t < WINDOW_MS) : [];
    recent.push(now);
    if (previous)
      this.misses.delete(key); // re-inserted below: most recent last
    else if (this.misses.size >= this.maxTracked) this.evict(now);
    this.misses.set(key, recent);
    if (recent.length > FREE_MISSES) await this.sleep(randomInt(MAX_DELAY_MS + 1));
  }

  /** Makes room for one more key: expired entries first, else the least recently missed one. */
  private evict(now: number): void {
    for (const [key, times] of this.misses) {
      if (now - (times[times.length - 1] ?? 0) >= WINDOW_MS) this.misses.delete(key);
    }
    if (this.misses.size >= this.maxTracked) {
      const oldest = this.misses.keys().next();
      if (!oldest.done) this.misses.delete(oldest.value);
    }
  }
}
