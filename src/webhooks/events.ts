/**
 * Event type names (docs/webhooks.md):
 * - record events: `<collection name>.create`, `<collection name>.update`, `<collection name>.delete`;
 * - custom events emitted by code (`app.webhooks.emit`): any dotted name of 2-8 segments of letters, digits,
 *   `_` and `-` whose last segment is not `create`/`update`/`delete` when it has exactly 2 segments (those
 *   belong to records), e.g. `users.auth.signup`, `billing.invoice_paid`;
 * - `webhook.test`: the event `POST /api/webhooks/{id}/test` sends (to that endpoint only).
 * An endpoint subscribes with patterns: an exact name, `*` (everything), or `*` in place of one segment
 * (`posts.*`, `*.create`, `users.auth.*`).
 */
export const RECORD_ACTIONS = ['create', 'update', 'delete'] as const;
export type RecordAction = (typeof RECORD_ACTIONS)[number];
export const TEST_EVENT = 'webhook.test';

const SEGMENT = /^[A-Za-z0-9_-]{1,100}$/;
const MAX_SEGMENTS = 8;

export function isRecordAction(s: string): s is RecordAction {
  return (RECORD_ACTIONS as readonly string[]).includes(s);
}

/** Why `type` cannot be emitted by code, or null. */
export function customTypeError(type: unknown): string | null {
  if (typeof type !== 'string') return 'the event type must be a string';
  const parts = type.split('.');
  if (parts.length < 2 || parts.length > MAX_SEGMENTS || !parts.every((p) => SEGMENT.test(p))) {
    return `"${type.slice(0, 100)}" is not a valid event type (2-${MAX_SEGMENTS} dot-separated segments of letters, digits, "_" or "-")`;
  }
  if (parts.length === 2 && isRecordAction(parts[1] as string))
    return `"${type.slice(0, 100)}" is a record event type; record events are sent by Plinth itself`;
  if (type === TEST_EVENT) return `"${TEST_EVENT}" is reserved`;
  return null;
}

/** Why `pattern` is not a valid subscription pattern, or null. `collectionExists` checks record patterns. */
export function patternError(pattern: unknown, collectionExists: (name: string) => boolean): string | null {
  if (typeof pattern !== 'string') return 'every event must be a string';
  if (pattern === '*') return null;
  const parts = pattern.split('.');
  if (parts.length < 2 || parts.length > MAX_SEGMENTS || !parts.every((p) => p === '*' || SEGMENT.test(p))) {
    return `"${pattern.slice(0, 100)}" is not a valid event pattern (e.g. "posts.create", "posts.*", "*.delete", "users.auth.signup" or "*")`;
  }
  if (parts.length === 2 && (isRecordAction(parts[1] as string) || parts[1] === '*') && parts[0] !== '*' && !collectionExists(parts[0] as string)) {
    // `name.*` may also mean custom events `name.something`: only an explicit action must name a collection.
    if (parts[1] !== '*') return `"${pattern.slice(0, 100)}": there is no collection "${(parts[0] as string).slice(0, 100)}"`;
  }
  return null;
}

/**
 * Whether `pattern` matches the event `type`. Events of system collections (`_superusers`, `_otps`, …: names
 * starting with `_`) are matched only by patterns that name the collection, never by a `*` in its place.
 */
export function matches(pattern: string, type: string): boolean {
  if (pattern === type) return true;
  if (type.startsWith('_') && (pattern === '*' || pattern.startsWith('*.'))) return false;
  if (pattern === '*') return true;
  if (!pattern.includes('*')) return false;
  const p = pattern.split('.');
  const t = type.split('.');
  if (p.length !== t.length) return false;
  for (let i = 0; i < p.length; i++) if (p[i] !== '*' && p[i] !== t[i]) return false;
  return true;
}

/** The collection names a pattern list can only match record events of, or null if some pattern is wider. */
export function recordCollectionsOf(patterns: readonly string[]): string[] | null {
  const names = new Set<string>();
  for (const p of patterns) {
    const parts = p.split('.');
    if (parts.length !== 2 || parts[0] === '*' || !(isRecordAction(parts[1] as string) || parts[1] === '*')) return null;
    names.add(parts[0] as string);
  }
  return [...names];
}

/** Whether any pattern could match a record event (so the record hooks are needed). */
export function mayMatchRecords(patterns: readonly string[]): boolean {
  return patterns.some((p) => {
    if (p === '*') return true;
    const parts = p.split('.');
    return parts.length === 2 && (parts[1] === '*' || isRecordAction(parts[1] as string));
  });
}
