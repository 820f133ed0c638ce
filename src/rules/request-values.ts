/** Plain-data helpers for `@request.*`: nested lookups and JS → bindable values. No SQL here. */
import type { SqlValue } from '../db/sql.js';

/** Looks up `keys` in nested objects/arrays (own keys only, so `__proto__` & co. are just missing). */
export function lookupPath(root: unknown, keys: readonly string[]): { found: boolean; value: unknown } {
  let cur: unknown = root;
  for (const key of keys) {
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(key) || Number(key) >= cur.length) return { found: false, value: undefined };
      cur = cur[Number(key)];
    } else if (cur !== null && typeof cur === 'object' && !(cur instanceof Uint8Array)) {
      if (!Object.hasOwn(cur, key)) return { found: false, value: undefined };
      cur = (cur as Record<string, unknown>)[key];
    } else {
      return { found: false, value: undefined };
    }
  }
  return { found: true, value: cur };
}

/** A request value as a bound parameter: scalars as-is, lists and objects as JSON text (as PocketBase). */
export function toSqlValue(v: unknown): SqlValue {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString().replace('T', ' ');
  if (v instanceof Uint8Array) return null;
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? null;
  } catch {
    return null;
  }
}

const NUMERIC_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Form data sends numbers as text; a number field's value is compared as a number when it parses as one. */
export function asNumberIfNumeric(v: SqlValue): SqlValue {
  return typeof v === 'string' && NUMERIC_RE.test(v) ? Number(v) : v;
}

/** A multi value as a list: arrays as-is, stored JSON array text parsed, empty as [], anything else wrapped. */
export function toList(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v === undefined || v === null || v === '') return [];
  if (typeof v === 'string' && v.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(v);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // not JSON: a plain value
    }
  }
  return [v];
}

/** Relation ids from a list value: unique non-empty strings. */
export function toIdList(v: unknown): string[] {
  const out = new Set<string>();
  for (const item of toList(v)) if (typeof item === 'string' && item !== '') out.add(item);
  return [...out];
}

/** JSON text of a list, for `jsonEach` over request data (non-serialisable items become null). */
export function listJson(items: readonly unknown[]): string {
  try {
    return JSON.stringify(items, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x === undefined ? null : x));
  } catch {
    return '[]'; // cyclic data cannot come from a parsed body; be safe anyway
  }
}
