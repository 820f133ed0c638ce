/**
 * PocketBase's datetime convention: always UTC, written `YYYY-MM-DD HH:MM:SS.sssZ`, `''` when empty.
 * Parsing is strict (no `Date.parse` heuristics): the canonical form, RFC 3339 / ISO 8601 with `T` or a
 * space, and a plain date are accepted; anything else is rejected.
 */

const MAX_INPUT_LENGTH = 64;

// Bounded input and no nested quantifiers, so the match is linear.
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?: ?(Z|z|UTC|[+-]\d{2}(?::?\d{2})?))?)?$/;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Formats a Date as `YYYY-MM-DD HH:MM:SS.sssZ` (UTC). */
export function formatDateTime(date: Date): string {
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)} ` +
    `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}.` +
    `${pad(date.getUTCMilliseconds(), 3)}Z`
  );
}

/** The current time in the canonical format. */
export function nowDateTime(now: Date = new Date()): string {
  return formatDateTime(now);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Parses an accepted datetime string into a Date (years 0000–9999 after UTC conversion), or null. */
export function parseDateTime(input: string): Date | null {
  if (input.length > MAX_INPUT_LENGTH) return null;
  const m = DATETIME_RE.exec(input.trim());
  if (!m) return null;
  const [, ys, mos, ds, hs, mis, ss, frac, zone] = m;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  const hour = hs === undefined ? 0 : Number(hs);
  const minute = mis === undefined ? 0 : Number(mis);
  const second = ss === undefined ? 0 : Number(ss);
  // Fractions are truncated to milliseconds, as Go's `.000` layout does.
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;

  let offsetMinutes = 0;
  if (zone !== undefined && zone !== 'Z' && zone !== 'z' && zone !== 'UTC') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    offsetMinutes = sign * (oh * 60 + om);
  }

  // setUTCFullYear avoids Date.UTC's 0–99 → 1900+ mapping.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  const time = date.getTime() - offsetMinutes * 60_000;
  const result = new Date(time);
  const y = result.getUTCFullYear();
  if (Number.isNaN(time) || y < 0 || y > 9999) return null;
  return result;
}

/**
 * Normalises a date value to the canonical string: `''` for empty/null, the formatted UTC time for a valid
 * Date or accepted string, and null when the value is not a date.
 */
export function normalizeDateTime(value: unknown): string | null {
  if (value === undefined || value === null || value === '') return '';
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return null;
    const y = value.getUTCFullYear();
    return y < 0 || y > 9999 ? null : formatDateTime(value);
  }
  if (typeof value !== 'string') return null;
  if (value.trim() === '') return '';
  const parsed = parseDateTime(value);
  return parsed ? formatDateTime(parsed) : null;
}
