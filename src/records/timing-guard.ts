/**
 * PocketBase's guard against using a filter as an oracle on a rule-protected list: when a collection with a
 * non-empty list rule keeps answering client-filtered requests with nothing (more than 3 times in 3 s),
 * those answers are delayed by a random 0-500 ms, so response timing stops telling rule misses apart.
 */
import { randomInt } from 'node:crypto';

const WINDOW_MS = 3000;
const FREE_MISSES = 3;
const MAX_DELAY_MS = 500;
const MAX_TRACKED = 10_000;

export class TimingGuard {
  private misses = new Map<string, number[]>();

  constructor(private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))) {}

  /** Records an empty filtered answer for `key` and waits if there were too many recently. */
  async emptyResult(key: string, now = Date.now()): Promise<void> {
    const recent = (this.misses.get(key) ?? []).filter((t) => now - t < WINDOW_MS);
    recent.push(now);
    if (this.misses.size >= MAX_TRACKED && !this.misses.has(key)) this.misses.clear();
    this.misses.set(key, recent);
    if (recent.length > FREE_MISSES) await this.sleep(randomInt(MAX_DELAY_MS + 1));
  }
}
