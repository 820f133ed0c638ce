/**
 * Password hashing: argon2id at OWASP's recommended cost (m=19 MiB, t=2, p=1), with a bounded number of
 * hashes at once so a login flood cannot take every core or unbounded memory. PocketBase's bcrypt hashes
 * still verify (imported users), and callers re-hash them on the next successful login.
 */

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

export async function hashPassword(password: string): Promise<string> {
  const { hash } = await loadArgon();
  return withSlot(() => hash(password, ARGON_OPTIONS));
}

/** Constant-shape verification: unknown formats and oversized input are simply "no". */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  if (typeof hash !== 'string' || typeof password !== 'string' || Buffer.byteLength(password) > MAX_PASSWORD_BYTES) return false;
  if (hash.startsWith('$argon2')) {
    const { verify } = await loadArgon();
    return withSlot(() => verify(hash, password).catch(() => false));
  }
  return false;
}

/** A hash of a random password, verified against when the account does not exist (same timing). */
let dummyHash: Promise<string> | null = null;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(`dummy-${Math.random()}`);
  return dummyHash;
}

/** Whether a stored hash should be replaced at the next login (older algorithm or weaker parameters). */
export function needsRehash(hash: string): boolean {
  return !hash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$');
}
