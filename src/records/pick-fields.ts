/**
 * PocketBase's `?fields=` response picker (`tools/picker`): keeps only the listed keys of any 2xx JSON response,
 * with dotted paths for nested keys, `*` for "every key at this level", and `:excerpt(max, withEllipsis?)` to turn
 * an HTML string into a plain-text excerpt.
 */
import { AppError } from '../errors/index.js';
import { excerpt } from './excerpt.js';

/** A value transformation attached to a field with `field:modifier(args)`. */
export type Modifier = (value: unknown) => unknown;

/** Parsed `fields` expression: path → modifier (null = keep the value as is). Insertion-ordered, last one wins. */
export type FieldMap = Map<string, Modifier | null>;

/** Keys that mark PocketBase's list envelope (`search.Result`); its `items` are picked, the envelope kept. */
const LIST_KEYS = ['items', 'page', 'perPage', 'totalItems', 'totalPages'] as const;

/** Longest `fields` expression accepted; a URL is bounded anyway, this keeps parsing cost trivially small. */
const MAX_FIELDS_LENGTH = 4096;

/**
 * Returns a copy of `value` keeping only the fields listed in `fields` (a comma list such as
 * `id,title:excerpt(100,true),expand.author.name` or `*,expand.author.name`). A list envelope
 * (`{items, page, perPage, totalItems, totalPages}`) keeps its envelope keys and picks from each item; arrays pick
 * from each object element. The value is normalised through JSON first (as PocketBase does), so `toJSON()` is
 * honoured and the input is never mutated. Throws only `AppError` (`invalid_query_param`, 400) for a malformed
 * expression or modifier.
 */
export function pickFields(value: unknown, fields: string): unknown {
  const parsed = parseFields(fields);
  if (parsed.size === 0) return value;
  let copy: unknown;
  try {
    const json = JSON.stringify(value) as string | undefined;
    // undefined, functions, symbols: nothing JSON to pick from.
    if (json === undefined) return value;
    copy = JSON.parse(json);
  } catch {
    // Cycles or BigInt: the serializer will report it; picking cannot improve on that.
    return value;
  }
  if (isListEnvelope(copy)) pickIn(copy.items, parsed);
  else pickIn(copy, parsed);
  return copy;
}

/**
 * Parses a `fields` expression into path → modifier. Tokens are separated by `,` or whitespace outside
 * parentheses and quotes, like PocketBase's tokenizer; unbalanced parentheses/quotes and unknown or invalid
 * modifiers are a 400.
 */
export function parseFields(raw: string): FieldMap {
  if (raw.length > MAX_FIELDS_LENGTH) {
    throw new AppError('invalid_query_param', `The "fields" parameter is too long (max ${MAX_FIELDS_LENGTH} characters).`);
  }
  const result: FieldMap = new Map();
  for (const token of tokenize(raw, new Set([',', ' ', '\t', '\n']))) {
    const colon = token.indexOf(':');
    if (colon < 0) {
      result.set(token, null);
      continue;
    }
    result.set(token.slice(0, colon), parseModifier(token.slice(colon + 1)));
  }
  return result;
}

/** Factories of the supported modifiers, by name. */
const MODIFIERS: Record<string, (args: string[]) => Modifier> = {
  excerpt(args) {
    if (args.length === 0) throw badModifier('excerpt', 'the max argument is required - expected (max, withEllipsis?)');
    if (args.length > 2) throw badModifier('excerpt', 'too many arguments - expected (max, withEllipsis?)');
    const max = parseIntArg(args[0] as string);
    if (max === null || max <= 0) throw badModifier('excerpt', 'the max argument must be an integer > 0');
    // Go's strconv.ParseBool truthy spellings; anything else is false (PocketBase ignores the error).
    const withEllipsis = args.length > 1 && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(args[1] as string);
    // Non-string values (numbers, a missing expand) pass through untouched, as in PocketBase.
    return (v) => (typeof v === 'string' ? excerpt(v, max, withEllipsis) : v);
  },
};

function parseModifier(raw: string): Modifier {
  const parts = tokenize(raw, new Set(['(', ')', ',', ' ']), true);
  const name = parts[0];
  if (name === undefined) throw new AppError('invalid_query_param', `Invalid or empty "fields" modifier "${raw}".`);
  const factory = Object.hasOwn(MODIFIERS, name) ? MODIFIERS[name] : undefined;
  if (!factory) throw new AppError('invalid_query_param', `Missing or invalid "fields" modifier "${name}".`);
  return factory(parts.slice(1));
}

function badModifier(name: string, why: string): AppError {
  return new AppError('invalid_query_param', `Invalid "fields" modifier ${name}: ${why}.`);
}

/** Base-10 integer (optional sign, optional `.0…` decimals as Go's cast trims them), else null. */
function parseIntArg(s: string): number | null {
  const m = /^([+-]?\d{1,15})(?:\.0*)?$/.exec(s.trim());
  return m ? Number(m[1]) : null;
}

/**
 * PocketBase's tokenizer: splits on `separators` outside quotes (and outside parentheses unless
 * `splitInParens`), drops empty tokens, trims whitespace, keeps quotes in the token text.
 */
function tokenize(raw: string, separators: ReadonlySet<string>, splitInParens = false): string[] {
  const tokens: string[] = [];
  let buf = '';
  let depth = 0;
  let quote = '';
  let prev = '';
  for (const ch of raw) {
    if (prev !== '\\') {
      if (quote === '' && ch === '(') depth++;
      else if (quote === '' && ch === ')' && depth > 0) depth--;
      else if (ch === '"' || ch === "'" || ch === '`') {
        if (quote === ch) quote = '';
        else if (quote === '') quote = ch;
      }
    }
    if (separators.has(ch) && quote === '' && (depth === 0 || splitInParens)) {
      if (buf.trim() !== '') tokens.push(buf.trim());
      buf = '';
    } else {
      buf += ch;
    }
    prev = ch;
  }
  if ((depth > 0 && !splitInParens) || quote !== '') {
    throw new AppError('invalid_query_param', `Unbalanced parenthesis or quoted expression in "fields": ${JSON.stringify(buf)}.`);
  }
  if (buf.trim() !== '') tokens.push(buf.trim());
  return tokens;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isListEnvelope(v: unknown): v is Record<string, unknown> & { items: unknown[] } {
  return isPlainObject(v) && Array.isArray(v.items) && LIST_KEYS.every((k) => Object.hasOwn(v, k));
}

/** Picks in an object, or in every object element of an array; other values are left alone (PocketBase does too). */
function pickIn(data: unknown, fields: FieldMap): void {
  if (Array.isArray(data)) {
    for (const item of data) if (isPlainObject(item)) pickObject(item, fields);
  } else if (isPlainObject(data)) {
    pickObject(data, fields);
  }
}

/** Mutates `data` (a private JSON copy) in place, like PocketBase's pickMapFields but deterministic. */
function pickObject(data: Record<string, unknown>, fields: FieldMap): void {
  const star = fields.has('*') ? (fields.get('*') ?? null) : undefined;
  for (const key of Object.keys(data)) {
    const prefix = `${key}.`;
    let exact: Modifier | null | undefined;
    let nested: FieldMap | undefined;
    for (const [path, mod] of fields) {
      // PocketBase's matching: `path.` must start with `key.`; the rest minus one trailing dot is the sub-path
      // (so `a.` means `a`, and a key that itself contains dots can be selected whole).
      const dotted = `${path}.`;
      if (!dotted.startsWith(prefix)) continue;
      const rest = dotted.slice(prefix.length).replace(/\.$/, '');
      if (rest === '') exact = mod;
      else (nested ??= new Map()).set(rest, mod);
    }
    // `*` covers every key that no explicit path mentions, with the modifier given to `*`.
    if (exact === undefined && nested === undefined && star !== undefined) exact = star;
    if (exact !== undefined) {
      // An exact match keeps the whole value (a longer path for the same key adds nothing).
      if (exact !== null) setOwn(data, key, exact(data[key]));
    } else if (nested !== undefined) {
      pickIn(data[key], nested);
    } else {
      delete data[key];
    }
  }
}

/** Assigns an own data property even for a key like `__proto__` (JSON.parse creates those as own keys). */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}
