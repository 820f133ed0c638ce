/**
 * Fixed-window counters every node shares, for rate limits across a cluster: one atomic upsert per hit
 * in `_rateLimits` (a new window restarts the count), so N nodes enforce one limit, not N. PostgreSQL
 * rather than Redis: the counters only exist on requests a rate-limit rule matches, one round trip is
 * well under a millisecond on a local network, and a cluster then needs no second service to run.
 */
import type { Database } from '../db/dialect.js';
import { sql } from '../db/sql.js';

export interface SharedCounters {
  /** Creates the counters table. */
  init(): Promise<void>;
  /** Counts one hit on `key` in its current window of `windowMs`; resolves to the count so far in that window. */
  hit(key: string, windowMs: number): Promise<number>;
  /** Deletes expired windows. */
  prune(): Promise<void>;
}

export class DatabaseCounters implements SharedCounters {
  constructor(private readonly db: Database) {}

  async init(): Promise<void> {
    await this.db.run(sql`CREATE TABLE IF NOT EXISTS "_rateLimits" (key TEXT PRIMARY KEY NOT NULL, count BIGINT NOT NULL, "resetAt" BIGINT NOT NULL)`);
  }

  async hit(key: string, windowMs: number): Promise<number> {
    const now = Date.now();
    const row = await this.db.get<{ count: number }>(
      sql`INSERT INTO "_rateLimits" (key, count, "resetAt") VALUES (${key}, 1, ${now + windowMs})
          ON CONFLICT (key) DO UPDATE SET
            count = CASE WHEN "_rateLimits"."resetAt" <= ${now} THEN 1 ELSE "_rateLimits".count + 1 END,
            "resetAt" = CASE WHEN "_rateLimits"."resetAt" <= ${now} THEN ${now + windowMs} ELSE "_rateLimits"."resetAt" END
          RETURNING count`,
    );
    return Number(row?.count ?? 1);
  }

  async prune(): Promise<void> {
    await this.db.run(sql`DELETE FROM "_rateLimits" WHERE "resetAt" <= ${Date.now()}`);
  }
}
