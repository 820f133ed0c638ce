/**
 * Cryptographically secure random helpers (never Math.random: ids, token keys and secrets come from here).
 */
import { randomFillSync, randomInt as cryptoRandomInt } from 'node:crypto';

/** `[a-zA-Z0-9]`, PocketBase's default alphabet for random strings. */
export const ALPHANUMERIC_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `[a-z0-9]`, the record id alphabet. */
export const LOWER_ALPHANUMERIC_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A uniform integer in `[0, maxExclusive)`; `maxExclusive` must be a positive safe integer below 2^48. */
export function randomInt(maxExclusive: number): number {
  if (!Number.isSafeInteger(maxExclusive) || maxExclusive <= 0) throw new RangeError('randomInt: invalid bound');
  if (maxExclusive === 1) return 0;
  return cryptoRandomInt(0, maxExclusive);
}

/** Alphabets split once (ids are drawn on every write). */
const alphabets = new Map<string, readonly string[]>();

/**
 * Random bytes handed out from a pool refilled 4 KiB at a time (one CSPRNG call per refill instead of one per
 * id, as crypto.randomUUID does); every byte is used once.
 */
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

function nextByte(): number {
  if (poolOffset >= POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  return pool[poolOffset++] as number;
}

/** A random string of `length` characters drawn uniformly from `alphabet` (at most 256 distinct characters). */
export function randomString(length: number, alphabet: string = ALPHANUMERIC_ALPHABET): string {
  let chars = alphabets.get(alphabet);
  if (!chars) {
    chars = [...alphabet];
    if (alphabets.size < 100) alphabets.set(alphabet, chars);
  }
  const n = chars.length;
  if (n === 0 || n > 256) throw new RangeError('randomString: the alphabet must have 1..256 characters');
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError('randomString: invalid length');
  // Rejection sampling: bytes at or above `limit` would make the first characters more likely.
  const limit = 256 - (256 % n);
  let out = '';
  while (out.length < length) {
    const b = nextByte();
    if (b >= limit) continue;
    out += chars[b % n];
  }
  return out;
}
