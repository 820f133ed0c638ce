/**
 * Record field paths → refs, resolved ONLY against the schema: fields, relation hops (`author.name`),
 * back-relations (`comments_via_post.message`), JSON paths (`meta.a.b`), geoPoint `.lon/.lat`, and the
 * `:each` `:length` `:lower` modifiers. A name that fails lookup never reaches `ident()`; in restricted
 * (client) mode hidden fields and relations into locked collections fail exactly like unknown names.
 */
import { findField, isMultiValued, type Collection, type Field } from '../collections/model.js';
import { ident, isSafeIdentifier, sql, type Sql } from '../db/sql.js';
import type { CompileContext } from './context.js';
import { filterError, unknownField } from './errors.js';
import { hasSingleColumnUniqueIndex } from './indexes.js';
import { MAX_RELATION_HOPS } from './limits.js';
import { staticOperand, type ValueKind } from './operand.js';
import { pathRef, type Ref, type Step } from './refs.js';

/** Field modifiers (`:each` …); '' for none. */
export type Modifier = '' | 'each' | 'length' | 'lower' | 'isset' | 'changed';

const MODIFIERS: ReadonlySet<string> = new Set(['each', 'length', 'lower', 'isset', 'changed']);

/** `name:modifier` → parts. More than one `:` leaves the segment whole (it then fails lookup). */
export function splitModifier(segment: string): { name: string; modifier: Modifier } {
  const parts = segment.split(':');
  if (parts.length !== 2) return { name: segment, modifier: '' };
  const modifier = parts[1] as string;
  if (!MODIFIERS.has(modifier)) throw filterError(`unknown modifier ":${modifier}" in ${JSON.stringify(segment)}`);
  return { name: parts[0] as string, modifier: modifier as Modifier };
}

/** The `id` column every record has, for schemas that do not list it. */
const ID_FIELD = { id: 'id', name: 'id', type: 'text', system: true, hidden: false, presentable: false } as Field;

/** Fields no client may filter on, whatever their `hidden` flag says (password hashes, token keys). */
function isHidden(field: Field, collection: Collection): boolean {
  return field.hidden || field.type === 'password' || (collection.type === 'auth' && field.name === 'tokenKey');
}

function lookupField(collection: Collection, name: string): Field | undefined {
  const f = findField(collection, name) ?? (name === 'id' ? ID_FIELD : undefined);
  return f && isSafeIdentifier(f.name) ? f : undefined;
}

/** select, relation and file fields hold lists (when maxSelect > 1) and take `:each` / `:length`. */
export const isListType = (f: Field) => f.type === 'select' || f.type === 'relation' || f.type === 'file';
const isTextual = (f: Field) => f.type !== 'number' && f.type !== 'bool';

/** Where a path walk starts and how missing names behave. */
export interface WalkInput {
  collection: Collection;
  segments: readonly string[];
  /** Steps leading to `collection` (empty for the root). */
  steps: readonly Step[];
  /** Path key of `collection`'s row, the prefix for the keys of further steps. */
  key: string;
  /** The identifier as written, for error messages. */
  fullName: string;
  /** `@request.*` paths: a missing field is NULL rather than an error (PocketBase's behaviour). */
  nullifyMissing: boolean;
  /** ORDER BY: a bare multi-valued field is its stored JSON text, not a list. */
  forSort: boolean;
}

/** A JSON list column as a join yielding one row per item (column `value`). */
function eachStep(ctx: CompileContext, key: string, column: string): Step {
  return {
    key: `${key}/${column}#each`,
    source: (prev) => ctx.dialect.fn.jsonEach(sql`${ident(prev, column)}`),
    on: () => sql`1=1`,
    multi: true,
  };
}

/** The join condition of a hop, plus the target's listRule when a client hops into it. */
function withListRule(ctx: CompileContext, target: Collection, condition: Sql, self: string): Sql {
  if (!ctx.restricted || target.listRule === null || target.listRule.trim() === '') return condition;
  return sql`${condition} AND ${ctx.ruleOn(target, target.listRule, self)}`;
}

/** Walks `segments` from `collection` to a value. */
export function walkPath(ctx: CompileContext, input: WalkInput): Ref {
  const { segments, fullName } = input;
  const allowHidden = !ctx.restricted;
  const miss = (): Ref => {
    if (input.nullifyMissing) return { kind: 'static', operand: staticOperand(null) };
    throw unknownField(fullName, ctx.restricted);
  };
  if (segments.length === 0 || segments.some((s) => s === '')) return miss();

  let collection = input.collection;
  const steps = [...input.steps];
  let key = input.key;
  let hops = 0;

  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as string;
    if (i === segments.length - 1) return lastProp(ctx, collection, seg, steps, key, input, miss);

    const field = lookupField(collection, seg);
    if (field && isHidden(field, collection) && !allowHidden) return miss();

    if (field && (field.type === 'json' || field.type === 'geoPoint')) {
      return jsonPath(ctx, field, segments.slice(i + 1), steps, input, miss);
    }

    if (++hops > MAX_RELATION_HOPS) throw filterError(`too many relation hops in ${JSON.stringify(fullName)} (max ${MAX_RELATION_HOPS})`);

    if (!field) {
      const back = backRelation(ctx, collection, seg, key);
      if (!back) return miss();
      steps.push(back.step);
      collection = back.target;
      key = back.step.key;
      continue;
    }
    if (field.type !== 'relation') return miss();
    const target = ctx.schema.find(field.collectionId);
    if (!target || !isSafeIdentifier(target.name)) return miss();
    if (ctx.restricted && target.listRule === null) return miss();

    // `rel.id` on a single relation is the stored id itself: no join needed.
    const column = field.name;
    if (!isMultiValued(field) && i === segments.length - 2 && segments[i + 1] === 'id') {
      return pathRef(steps, (a) => sql`${ident(a, column)}`, { textual: true, notNull: steps.length === 0 && collection.type !== 'view' });
    }
    const hopKey = `${key}/${column}`;
    if (isMultiValued(field)) {
      const each = eachStep(ctx, key, column);
      steps.push(each, {
        key: hopKey,
        source: () => sql`${ident(target.name)}`,
        on: (self, prev) => withListRule(ctx, target, sql`${ident(self, 'id')} = ${ident(prev, 'value')}`, self),
        multi: true,
      });
    } else {
      steps.push({
        key: hopKey,
        source: () => sql`${ident(target.name)}`,
        on: (self, prev) => withListRule(ctx, target, sql`${ident(self, 'id')} = ${ident(prev, column)}`, self),
        multi: false,
      });
    }
    collection = target;
    key = hopKey;
  }
  return miss();
}

/** `<collection>_via_<relationField>`: records of another collection pointing at this one. */
function backRelation(ctx: CompileContext, current: Collection, seg: string, key: string): { step: Step; target: Collection } | null {
  const m = /^(\w+)_via_(\w+)$/.exec(seg);
  if (!m) return null;
  const target = ctx.schema.find(m[1] as string);
  if (!target || !isSafeIdentifier(target.name)) return null;
  const backField = lookupField(target, m[2] as string);
  if (!backField || backField.type !== 'relation' || backField.collectionId !== current.id) return null;
  if (ctx.restricted && (isHidden(backField, target) || target.listRule === null)) return null;
  const column = backField.name;
  const multiField = isMultiValued(backField);
  const single = !multiField && hasSingleColumnUniqueIndex(target.indexes, column);
  const step: Step = {
    key: `${key}/${seg}`,
    source: () => sql`${ident(target.name)}`,
    on: (self, prev) => {
      if (!multiField) return withListRule(ctx, target, sql`${ident(self, column)} = ${ident(prev, 'id')}`, self);
      const je = ctx.aliases.next();
      const contains = sql`${ident(prev, 'id')} IN (SELECT ${ident(je, 'value')} FROM ${ctx.dialect.fn.jsonEach(sql`${ident(self, column)}`)} AS ${ident(je)})`;
      return withListRule(ctx, target, contains, self);
    },
    multi: !single,
  };
  return { step, target };
}

/** The rest of the path inside a JSON (or geoPoint) column. */
function jsonPath(ctx: CompileContext, field: Field, rest: readonly string[], steps: readonly Step[], input: WalkInput, miss: () => Ref): Ref {
  const last = splitModifier(rest[rest.length - 1] as string);
  if (last.modifier !== '' && last.modifier !== 'lower') {
    throw filterError(`modifier ":${last.modifier}" is not supported on JSON paths (${JSON.stringify(input.fullName)})`);
  }
  const keys = [...rest.slice(0, -1), last.name];
  if (field.type === 'geoPoint' && (keys.length !== 1 || (keys[0] !== 'lon' && keys[0] !== 'lat'))) return miss();
  // Numeric segments index arrays (`meta.list.0`); every key is bound by the dialect, never spliced in.
  const path = keys.map((k) => (/^\d{1,9}$/.test(k) ? Number(k) : k));
  const column = field.name;
  const lower = last.modifier === 'lower';
  return pathRef(
    steps,
    (a) => {
      const v = ctx.dialect.fn.jsonExtract(sql`${ident(a, column)}`, path);
      return lower ? ctx.dialect.fn.lower(v) : v;
    },
    lower
      ? { textual: true, strict: true, valueKind: 'text' }
      : { textual: true, strict: true, valueKind: 'json', typed: (a) => ctx.dialect.fn.jsonValue(sql`${ident(a, column)}`, path) },
  );
}

/** The last segment: a field of `collection`, with an optional modifier. */
function lastProp(ctx: CompileContext, collection: Collection, seg: string, stepsIn: readonly Step[], key: string, input: WalkInput, miss: () => Ref): Ref {
  const { name, modifier } = splitModifier(seg);
  const field = lookupField(collection, name);
  if (!field) return miss();
  if (isHidden(field, collection) && ctx.restricted) return miss();
  if (modifier === 'isset' || modifier === 'changed') {
    throw filterError(`modifier ":${modifier}" is only supported on @request fields (${JSON.stringify(input.fullName)})`);
  }
  if ((modifier === 'each' || modifier === 'length') && !isListType(field)) {
    throw filterError(`modifier ":${modifier}" needs a select, relation or file field (${JSON.stringify(input.fullName)})`);
  }
  const column = field.name;
  const col = (a: string) => sql`${ident(a, column)}`;
  const steps = [...stepsIn];
  const fn = ctx.dialect.fn;

  // Clients may only match an auth record's email where its owner made it visible (as PocketBase).
  const guards =
    ctx.restricted && collection.type === 'auth' && column === 'email' ? (a: string) => [sql`${ident(a, 'emailVisibility')} = ${true}`] : undefined;

  if (modifier === 'length') {
    if (isMultiValued(field)) return pathRef(steps, (a) => fn.jsonArrayLength(col(a)), { textual: false, notNull: true, valueKind: 'number' });
    return pathRef(steps, (a) => sql`(CASE WHEN ${col(a)} = '' OR ${col(a)} IS NULL THEN 0 ELSE 1 END)`, {
      textual: false,
      notNull: true,
      valueKind: 'number',
    });
  }

  let value: (a: string) => Sql = col;
  let textual = isTextual(field);
  let strict = false;
  let valueKind: ValueKind = field.type === 'number' ? 'number' : field.type === 'bool' ? 'bool' : 'text';
  let typed: ((a: string) => Sql) | undefined;
  if (isMultiValued(field) && (modifier === 'each' || !input.forSort)) {
    // a multi select/relation/file compares item by item (match-all, or any with `?op`)
    steps.push(eachStep(ctx, key, column));
    value = (a) => sql`${ident(a, 'value')}`;
    textual = true;
    valueKind = 'text';
  } else if (field.type === 'json' && modifier !== 'each') {
    // json_extract so top-level scalars compare like SQL values (PocketBase #4068); NULL-strict
    value = (a) => fn.jsonExtract(col(a), []);
    strict = true;
    valueKind = 'json';
    typed = (a) => fn.jsonValue(col(a), []);
  }
  if (modifier === 'lower') {
    const base = value;
    value = (a) => fn.lower(base(a));
    textual = true;
    valueKind = 'text';
    typed = undefined;
  }
  // A column of the root row itself (no joins) is NOT NULL by the storage convention; views can hold NULLs.
  const notNull = steps.length === 0 && !strict && collection.type !== 'view';
  return pathRef(steps, value, { textual, strict, notNull, valueKind, ...(typed ? { typed } : {}), ...(guards ? { guards } : {}) });
}
