/** Date macros (`@now`, `@todayStart`, `@year` …), computed in JS from the compile's clock, always UTC. */
import type { SqlValue } from '../db/sql.js';

/** PocketBase's datetime text: `YYYY-MM-DD HH:MM:SS.sssZ`. */
export function formatDateTime(d: Date): string {
  return d.toISOString().replace('T', ' ');
}

const utc = (y: number, m: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => new Date(Date.UTC(y, m, d, h, mi, s, ms));

const MACROS: Readonly<Record<string, (now: Date) => SqlValue>> = {
  '@now': (now) => formatDateTime(now),
  '@yesterday': (now) => formatDateTime(new Date(now.getTime() - 86_400_000)),
  '@tomorrow': (now) => formatDateTime(new Date(now.getTime() + 86_400_000)),
  '@todayStart': (now) => formatDateTime(utc(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())),
  '@todayEnd': (now) => formatDateTime(utc(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 23, 59, 59, 999)),
  '@monthStart': (now) => formatDateTime(utc(now.getUTCFullYear(), now.getUTCMonth(), 1)),
  // day 0 of the next month = the last day of this one
  '@monthEnd': (now) => formatDateTime(utc(now.getUTCFullYear(), now.getUTCMonth() + 1, 0, 23, 59, 59, 999)),
  '@yearStart': (now) => formatDateTime(utc(now.getUTCFullYear(), 0, 1)),
  '@yearEnd': (now) => formatDateTime(utc(now.getUTCFullYear(), 11, 31, 23, 59, 59, 999)),
  '@second': (now) => now.getUTCSeconds(),
  '@minute': (now) => now.getUTCMinutes(),
  '@hour': (now) => now.getUTCHours(),
  '@day': (now) => now.getUTCDate(),
  '@month': (now) => now.getUTCMonth() + 1,
  '@weekday': (now) => now.getUTCDay(),
  '@year': (now) => now.getUTCFullYear(),
};

/** The macro's value at `now`, or undefined when `name` is not a macro. */
export function macroValue(name: string, now: Date): SqlValue | undefined {
  return Object.hasOwn(MACROS, name) ? (MACROS[name] as (now: Date) => SqlValue)(now) : undefined;
}

/** Every macro name (for docs and autocomplete). */
export const MACRO_NAMES: readonly string[] = Object.keys(MACROS);
