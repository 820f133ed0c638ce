/**
 * TOTP recovery codes: ten one-time codes of 80 random bits each (16 base32 characters, shown grouped as
 * `xxxx-xxxx-xxxx-xxxx`), stored only as SHA-256 hashes. 80 bits make a fast hash safe here: unlike a
 * password there is nothing to guess, so a slow KDF would only slow down every check.
 */
import { createHash, randomBytes } from 'node:crypto';
import { base32Encode } from './totp-code.js';

/** How many codes a user gets at once. */
export const RECOVERY_CODE_COUNT = 10;

/** Fresh codes, formatted for the user. */
export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    const raw = base32Encode(randomBytes(10)).toLowerCase();
    return raw.match(/.{4}/g)!.join('-');
  });
}

/** The stored form of a code: case, spaces and dashes do not matter when typing it. */
export function hashRecoveryCode(code: string): string {
  const normalized = code.toLowerCase().replace(/[\s-]/g, '');
  return createHash('sha256').update(`plinth-recovery:${normalized}`).digest('hex');
}

/** Whether text looks like a recovery code at all (so TOTP codes and garbage skip the hashing). */
export function looksLikeRecoveryCode(code: string): boolean {
  return /^[a-z2-7]{16}$/i.test(code.replace(/[\s-]/g, ''));
}
