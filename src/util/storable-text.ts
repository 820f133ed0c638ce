/**
 * Text that both databases can store losslessly. PostgreSQL's `text` cannot hold U+0000 at all (error 22021)
 * and neither database can keep an unpaired UTF-16 surrogate (SQLite turns it into U+FFFD on the way to
 * UTF-8, PostgreSQL refuses or replaces it), so Plinth refuses both in every request value on both dialects:
 * one answer everywhere instead of a 500 on one database and a silently altered value on the other.
 */

declare global {
  interface String {
    /** ES2024 (Node 20+): false when the string holds an unpaired UTF-16 surrogate. */
    isWellFormed(): boolean;
  }
}

/** Why a string cannot be stored: `nul` (contains U+0000), `surrogate` (an unpaired UTF-16 surrogate), or null when fine. */
export type UnstorableReason = 'nul' | 'surrogate';

/** The reason `s` cannot be stored, or null. Two native scans; no allocation. */
export function unstorableReason(s: string): UnstorableReason | null {
  if (s.includes('\u0000')) return 'nul';
  if (!s.isWellFormed()) return 'surrogate';
  return null;
}

/** The field error code for each reason (documented in docs/errors.md). */
export const UNSTORABLE_CODES = {
  nul: 'validation_invalid_nul',
  surrogate: 'validation_invalid_surrogate',
} as const satisfies Record<UnstorableReason, `validation_${string}`>;

/** A short public sentence for each reason. */
export const UNSTORABLE_MESSAGES: Record<UnstorableReason, string> = {
  nul: 'NUL characters (U+0000) are not allowed.',
  surrogate: 'Unpaired UTF-16 surrogates are not allowed (the text is not valid Unicode).',
};

/** Where an unstorable string was found in a value: the path of keys (a key itself may be the culprit). */
export interface UnstorableHit {
  path: string[];
  reason: UnstorableReason;
}

/**
 * Searches `value` (strings, arrays, plain objects: keys and values) for an unstorable string and returns the
 * first hit with its key path, or null. Depth is bounded by the caller's own limits (bodies are depth-checked
 * before this runs); `maxDepth` is a backstop.
 */
export function findUnstorable(value: unknown, path: string[] = [], maxDepth = 128): UnstorableHit | null {
  if (typeof value === 'string') {
    const reason = unstorableReason(value);
    return reason ? { path, reason } : null;
  }
  if (typeof value !== 'object' || value === null || maxDepth <= 0) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findUnstorable(value[i], [...path, String(i)], maxDepth - 1);
      if (hit) return hit;
    }
    return null;
  }
  if (value instanceof Uint8Array) return null;
  for (const key of Object.keys(value)) {
    const keyReason = unstorableReason(key);
    if (keyReason) return { path: [...path, key], reason: keyReason };
    const hit = findUnstorable((value as Record<string, unknown>)[key], [...path, key], maxDepth - 1);
    if (hit) return hit;
  }
  return null;
}

/** A printable form of a name that may itself hold NUL or surrogates (for messages). */
export function printableName(name: string): string {
  return JSON.stringify(name).slice(1, -1).slice(0, 100);
}
