/**
 * Password hashing: argon2id at OWASP's recommended cost (m=19 MiB, t=2, p=1), with a bounded number of
 * hashes at once so a login flood cannot take every core or unbounded memory. PocketBase's bcrypt hashes
 * still verify (imported users), and callers re-hash them on the next successful login.
 */

import { randomString } from '../util/random.js';

/** Loaded on first use: the native module costs ~14 MB of RSS an idle server does not need. */
let argon: Promise<typeof import('@node-rs/argon2')> | null = null;
function loadArgon() {
  argon ??= import('@node-rs/argon2');
  return argon;
}

/** `algorithm: 2` is Argon2id (the package's const enum cannot be imported under verbatimModuleSyntax). */
const ARGON_OPTIONS = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
/** Passwords longer than this are refused before hashing (DoS guard; still far above any real password). */
export const MAX_PASSWORD_BYTES = 4096;
const MAX_CONCURRENT_HASHES = 4;

let running = 0;
const waiting: Array<() => void> = [];

async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_HASHES) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/**
 * How new password hashes are made: argon2id (Plinth's default), or bcrypt as PocketBase makes them, so
 * a data directory that came from PocketBase stays usable by PocketBase (App picks it: see
 * docs/migrating-from-pocketbase.md).
 */
export type PasswordAlgorithm = 'argon2id' | 'bcrypt';

/** PocketBase's bcrypt cost when a password field sets none (Go's bcrypt.DefaultCost). */
export const BCRYPT_DEFAULT_COST = 10;

/** An argon2id PHC string (or a bcrypt hash, with `algorithm: 'bcrypt'`) for `password`; waits for a free hashing slot. */
export async function hashPassword(password: string, algorithm: PasswordAlgorithm = 'argon2id', bcryptCost = BCRYPT_DEFAULT_COST): Promise<string> {
  if (algorithm === 'bcrypt') {
    const { hash } = await loadBcrypt();
    const cost = Number.isInteger(bcryptCost) && bcryptCost >= 4 && bcryptCost <= 31 ? bcryptCost : BCRYPT_DEFAULT_COST;
    return withSlot(() => hash(password, cost));
  }
  const { hash } = await loadArgon();
  return withSlot(() => hash(password, ARGON_OPTIONS));
}

/** Loaded on first use: only imported PocketBase users (bcrypt hashes) ever need it, once each. */
let bcrypt: Promise<typeof import('bcryptjs')> | null = null;
function loadBcrypt() {
  bcrypt ??= import('bcryptjs');
  return bcrypt;
}

/** PocketBase stores bcrypt (`$2a$`/`$2b$`/`$2y$`); anything else with that prefix shape is not a hash we trust. */
const BCRYPT_RE = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

/** Constant-shape verification: unknown formats and oversized input are simply "no". */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  if (typeof hash !== 'string' || typeof password !== 'string' || Buffer.byteLength(password) > MAX_PASSWORD_BYTES) return false;
  if (hash.startsWith('$argon2')) {
    const { verify } = await loadArgon();
    return withSlot(() => verify(hash, password).catch(() => false));
  }
  if (BCRYPT_RE.test(hash)) {
    // bcrypt reads at most 72 bytes; Go's bcrypt (PocketBase) refuses longer passwords, so do we.
    if (Buffer.byteLength(password) > 72) return false;
    const { compare } = await loadBcrypt();
    return withSlot(() => compare(password, hash).catch(() => false));
  }
  return false;
}

let dummyHash: Promise<string> | null = null;
/** A hash of a random password, verified against when the account does not exist (same timing). */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomString(32));
  return dummyHash;
}

/** Whether a stored hash should be replaced at the next login (older algorithm or weaker parameters). */
export function needsRehash(hash: string, algorithm: PasswordAlgorithm = 'argon2id'): boolean {
  // PocketBase-compatible mode keeps bcrypt hashes (PocketBase verifies only those) and turns others into bcrypt.
  if (algorithm === 'bcrypt') return !BCRYPT_RE.test(hash);
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(hash);
  // Stronger-than-default parameters are kept: re-hashing them down would weaken the stored hash.
  return !m || Number(m[1]) < ARGON_OPTIONS.memoryCost || Number(m[2]) < ARGON_OPTIONS.timeCost;
}
