/**
 * Work an auth endpoint starts but does not wait for (sending mail, recording a login origin), so the
 * response neither waits on SMTP nor takes a different time for known and unknown accounts. Failures are
 * logged, never thrown; `settled()` lets shutdown and tests wait for everything started so far.
 */
import { MailNotConfiguredError } from '../mail/index.js';
import type { Logger } from '../util/logger.js';

/** A tracked set of fire-and-forget tasks. */
export class BackgroundTasks {
  private pending = new Set<Promise<void>>();

  constructor(private readonly logger: Logger) {}

  /** Starts `fn` on the next tick (after the current response is on its way) and tracks it. */
  run(label: string, fn: () => Promise<void>): void {
    const p: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(fn)
      .catch((err: unknown) => {
        // Mail being off is said once at start, not once per request that would have sent one.
        if (err instanceof MailNotConfiguredError) this.logger.debug(`${label}: no mail sent (SMTP is not enabled)`);
        else this.logger.warn({ err }, `${label} failed`);
      })
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Resolves once every task started so far (and any they started) has finished. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}
