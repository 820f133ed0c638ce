/**
 * Ids of webhook messages (the `webhook-id`) and attempts: a prefix, the time in 8 sortable base62 digits, 16
 * random alphanumerics (95 bits). Time first so that ids written together land side by side in their primary-key
 * index: a batch of them costs the database one index page, not one page each (random ids would).
 */
import { ALPHANUMERIC_ALPHABET, randomString } from '../util/random.js';

/** Base62 digits in ASCII order, so that fixed-width numbers written with them sort as text. */
const SORTABLE_DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function timeOrdered(prefix: string, now: number): string {
  let time = '';
  let n = Math.max(0, Math.floor(now));
  for (let i = 0; i < 8; i++) {
    time = (SORTABLE_DIGITS[n % 62] as string) + time;
    n = Math.floor(n / 62);
  }
  return `${prefix}${time}${randomString(16, ALPHANUMERIC_ALPHABET)}`;
}

/** A message id: `msg_` and 24 alphanumerics, sorting by capture time. */
export function messageId(now: number): string {
  return timeOrdered('msg_', now);
}

/** An attempt id: `atm_` and 24 alphanumerics, sorting by the time the outcome was recorded. */
export function attemptId(now: number): string {
  return timeOrdered('atm_', now);
}
