/**
 * The request timeout for user code: a request hook chain or a custom route handler that runs longer than
 * the budget is answered 504 (`timeout`) at once; whatever it does later is discarded (its promise is left to
 * settle on its own, a rejection is swallowed), and a late `next()` no longer runs the action. Only time
 * spent in user code counts: while the built-in action (`next()`'s work: the database query, the write) runs,
 * the clock is paused, so a slow database never turns into a 504 of a hook that did nothing wrong.
 *
 * Inside a transaction (a /api/batch sub-request) the 504 rejects the transaction's callback, so the batch
 * rolls back instead of holding the writer while the hung handler waits.
 */
import { AppError } from '../errors/index.js';
import type { Hook } from './hook.js';

/** Default budget (ms) for user code per request hook chain / route handler. */
export const DEFAULT_REQUEST_TIMEOUT = 30_000;

/** A pausable countdown; `onExpire` runs once if it reaches zero before `stop()`. */
export class Countdown {
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private remaining: number;
  private stopped = false;

  constructor(
    ms: number,
    private readonly onExpire: () => void,
  ) {
    this.remaining = ms;
    this.resume();
  }

  /** Stops counting (the built-in action runs). */
  pause(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.remaining -= performance.now() - this.startedAt;
  }

  resume(): void {
    if (this.stopped || this.timer) return;
    this.startedAt = performance.now();
    this.timer = setTimeout(
      () => {
        this.stopped = true;
        this.timer = null;
        this.onExpire();
      },
      Math.max(0, this.remaining),
    );
  }

  /** Ends the countdown for good. */
  stop(): void {
    this.pause();
    this.stopped = true;
  }
}

export function timeoutError(what: string): AppError {
  return new AppError('timeout', undefined, undefined, { cause: new Error(`${what} ran past the request timeout`) });
}

/**
 * `hook.trigger(event, final)` within `ms` of user-code time (0 or less: no limit). The clock is paused while
 * `final` runs. Rejects with a 504 AppError when the budget runs out.
 */
export function triggerWithin<E extends { tags?: readonly string[] }>(
  hook: Hook<E>,
  event: E,
  final: (event: E) => Promise<void> | void,
  ms: number,
  what = 'a request hook',
): Promise<void> {
  if (!(ms > 0) || !Number.isFinite(ms)) return hook.trigger(event, final);
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const clock = new Countdown(ms, () => {
      settled = true;
      reject(timeoutError(what));
    });
    hook
      .trigger(event, async (e) => {
        // A handler that calls next() after the 504 was sent must not run the action any more.
        if (settled) throw timeoutError(what);
        clock.pause();
        try {
          await final(e);
        } finally {
          clock.resume();
        }
      })
      .then(
        () => {
          if (settled) return;
          settled = true;
          clock.stop();
          resolve();
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          clock.stop();
          reject(err);
        },
      );
  });
}
