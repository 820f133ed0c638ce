/**
 * One subscription string as PocketBase's clients send it: `<topic>[?options=<urlencoded JSON>]`, where the
 * JSON is `{query, headers}`. The whole string, unchanged, is the SSE event name the client listens on.
 */

/** A parsed subscription: what fan-out needs to check rules and shape the record for it. */
export interface ParsedSubscription {
  /** The string exactly as submitted: the SSE event name (the SDK listens on this exact key). */
  readonly name: string;
  /** The part before the first `?`: `posts/*`, `posts/<id>`, `posts` (deprecated `/*` alias) or a custom topic. */
  readonly topic: string;
  /** `@request.query.*` for rules, plus `expand`, `fields` and `filter`; values stringified. */
  readonly query: Record<string, string>;
  /** `@request.headers.*`: names snake_cased, values stringified. */
  readonly headers: Record<string, string>;
  /** Equal for subscriptions whose options are equal: fan-out checks and serialises once per key. */
  readonly optionsKey: string;
}

/** A subscription string that cannot be used; the message says why (it becomes a 400 field error). */
export class InvalidSubscription extends Error {}

const NO_OPTIONS = '[{},{}]';
// CR/LF would end the SSE `event:` line early and let a subscription forge frames on its own stream.
const CONTROL_CHARS = /[\r\n\0]/;

/** Parses a subscription; throws InvalidSubscription for control characters or `options` that are not a JSON object. */
export function parseSubscription(name: string): ParsedSubscription {
  if (CONTROL_CHARS.test(name)) throw new InvalidSubscription('The subscription must not contain line breaks or NUL characters.');
  const q = name.indexOf('?');
  const topic = q < 0 ? name : name.slice(0, q);
  const raw = q < 0 ? null : new URLSearchParams(name.slice(q + 1)).get('options');
  if (raw === null || raw === '') return { name, topic, query: emptyMap(), headers: emptyMap(), optionsKey: NO_OPTIONS };

  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidSubscription('The subscription "options" must be valid JSON.');
  }
  if (!isPlainObject(parsed)) throw new InvalidSubscription('The subscription "options" must be a JSON object.');
  const query = stringMap(parsed.query, 'query', (k) => k);
  const headers = stringMap(parsed.headers, 'headers', snakeCase);
  return { name, topic, query, headers, optionsKey: JSON.stringify([query, headers]) };
}

/** PocketBase's inflector.Snakecase: split on non-word runs, `_` before an upper-case letter that follows a non-upper one, lower-cased. */
export function snakeCase(value: string): string {
  const words = value.split(/[\W_]+/).filter((w) => w !== '');
  return words
    .map((word) => {
      let out = '';
      for (let i = 0; i < word.length; i++) {
        const c = word[i] as string;
        if (i > 0 && isUpper(c) && !isUpper(word[i - 1] as string)) out += '_';
        out += c;
      }
      return out;
    })
    .join('_')
    .toLowerCase();
}

/** PocketBase's cast.ToString for JSON values: scalars as text, null and containers as ''. */
export function stringifyOptionValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}

function stringMap(value: unknown, what: string, key: (k: string) => string): Record<string, string> {
  const out = emptyMap();
  if (value === undefined || value === null) return out;
  if (!isPlainObject(value)) throw new InvalidSubscription(`The subscription "options.${what}" must be a JSON object.`);
  for (const [k, v] of Object.entries(value)) out[key(k)] = stringifyOptionValue(v);
  return out;
}

/** A prototype-less map, so a `__proto__` key from client JSON is just a key. */
function emptyMap(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isUpper(c: string): boolean {
  return c >= 'A' && c <= 'Z';
}
