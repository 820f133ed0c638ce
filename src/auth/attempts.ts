/**
 * Counting failed attempts against one secret (an OTP, an MFA session) or one account within a window,
 * in memory. This is not the HTTP rate limiter (that counts per IP, from settings.rateLimits): these
 * counters follow the secret itself, so rotating IPs does not buy an attacker more guesses.
 */

interface Entry {
  count: number;
  resetAt: number;
}

/** Entries beyond this are swept (expired first), bounding memory under a flood of distinct keys. */
const MAX_ENTRIES = 50_000;

/** Fixed-window counters keyed by a string. */
export class AttemptCounter {
  private entries = new Map<string, Entry>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records one attempt; true while the key is still within its allowance (this attempt included). */
  hit(key: string): boolean {
    const now = this.now();
    let e = this.entries.get(key);
    if (!e || e.resetAt <= now) {
      if (!e && this.entries.size >= MAX_ENTRIES) this.sweep(now);
      e = { count: 0, resetAt: now + this.windowMs };
      this.entries.set(key, e);
    }
    e.count++;
    return e.count <= this.max;
  }

  /** Whether the key has used up its allowance (without counting an attempt). */
  exhausted(key: string): boolean {
    const e = this.entries.get(key);
    return Boolean(e && e.resetAt > this.now() && e.count >= this.max);
  }

  /** Forgets a key (after the secret was consumed or replaced). */
  clear(key: string): void {
    this.entries.delete(key);
  }

  private sweep(now: number): void {
    for (const [k, e] of this.entries) if (e.resetAt <= now) this.entries.delete(k);
    // Still full: drop the oldest half rather than grow without bound.
    if (this.entries.size >= MAX_ENTRIES) {
      let n = Math.floor(this.entries.size / 2);
      for (const k of this.entries.keys()) {
        if (n-- <= 0) break;
        this.entries.delete(k);
      }
    }
  }
}
