/**
 * Identifier entry point: date macros, `@request.*` (bound request data; relation hops through the
 * auth record or the submitted body), `@collection.<name>[:alias].*`, and plain record paths.
 */
import { findField, isMultiValued, type Collection, type Field } from '../collections/model.js';
import { ident, isSafeIdentifier, param, sql, type Sql, type SqlValue } from '../db/sql.js';
import { sameValue } from './compare.js';
import type { CompileContext } from './context.js';
import { filterError, unknownField } from './errors.js';
import { macroValue } from './macros.js';
import { staticOperand } from './operand.js';
import { pathRef, type Ref, type Step } from './refs.js';
import { asNumberIfNumeric, listJson, lookupPath, toIdList, toList, toSqlValue } from './request-values.js';
import { isListType, splitModifier, walkPath, type Modifier } from './resolver.js';

/** A bound request value; `lower` wraps it in LOWER() (`:lower`). */
function fixed(value: SqlValue, lower: ((p: Sql) => Sql) | null = null): Ref {
  return { kind: 'static', operand: staticOperand(value, lower) };
}

/** Resolves any identifier of a filter (or sort) to a ref. */
export function resolveIdentifier(ctx: CompileContext, name: string, forSort = false): Ref {
  if (name.startsWith('@')) {
    const macro = macroValue(name, ctx.now);
    if (macro !== undefined) return fixed(macro);
    if (name.startsWith('@request.')) return resolveRequest(ctx, name);
    if (name.startsWith('@collection.')) return resolveCollection(ctx, name);
    throw unknownField(name, ctx.restricted);
  }
  return walkPath(ctx, {
    collection: ctx.collection,
    segments: name.split('.'),
    steps: [],
    key: 'root',
    fullName: name,
    nullifyMissing: false,
    forSort,
  });
}

/** `@collection.<nameOrId>[:alias].<path>`: every record of another collection, joined as a multi value. */
function resolveCollection(ctx: CompileContext, name: string): Ref {
  const segs = name.split('.');
  if (segs.length < 3) throw filterError(`invalid @collection field ${JSON.stringify(name)}`);
  const [collName, alias, extra] = (segs[1] as string).split(':');
  if (extra !== undefined || (alias !== undefined && !/^\w+$/.test(alias))) throw unknownField(name, ctx.restricted);
  const collection = ctx.schema.find(collName as string);
  if (!collection || !isSafeIdentifier(collection.name)) throw unknownField(name, ctx.restricted);
  const key = `@collection/${collection.id}:${alias ?? ''}`;
  const step: Step = { key, source: () => sql`${ident(collection.name)}`, on: () => sql`1=1`, multi: true };
  return walkPath(ctx, { collection, segments: segs.slice(2), steps: [step], key, fullName: name, nullifyMissing: false, forSort: false });
}

function resolveRequest(ctx: CompileContext, name: string): Ref {
  const segs = name.split('.');
  const area = segs[1];
  const req = ctx.request;
  if (segs.length === 2 && (area === 'method' || area === 'context')) return fixed(area === 'method' ? req.method : req.context);
  if (segs.length < 3) throw unknownField(name, ctx.restricted);
  if (area === 'query' || area === 'headers') return staticPath(ctx, area === 'query' ? req.query : req.headers, segs.slice(2), name);
  if (area === 'body') return resolveBody(ctx, segs, name);
  if (area === 'auth') return resolveAuth(ctx, segs, name);
  throw unknownField(name, ctx.restricted);
}

/** A value looked up in request data; only `:isset` and `:lower` apply. */
function staticPath(ctx: CompileContext, root: unknown, keys: readonly string[], fullName: string): Ref {
  const last = splitModifier(keys[keys.length - 1] as string);
  if (last.modifier !== '' && last.modifier !== 'isset' && last.modifier !== 'lower') {
    throw filterError(`modifier ":${last.modifier}" needs a collection field (${JSON.stringify(fullName)})`);
  }
  const found = lookupPath(root, [...keys.slice(0, -1), last.name]);
  if (last.modifier === 'isset') return fixed(found.found);
  return fixed(toSqlValue(found.value), last.modifier === 'lower' ? ctx.dialect.fn.lower : null);
}

/** `rel.<path>` through relation ids held in request data (body or auth record), joined via a bound JSON list. */
function requestRelation(ctx: CompileContext, field: Field, ids: string[], keyBase: string, rest: string[], fullName: string): Ref {
  if (field.type !== 'relation') return fixed(null);
  const target = ctx.schema.find(field.collectionId);
  if (!target || !isSafeIdentifier(target.name)) return fixed(null);
  const multi = isMultiValued(field);
  const json = listJson(ids);
  const steps: Step[] = [
    { key: `${keyBase}#each`, source: () => ctx.dialect.fn.jsonEach(param(json)), on: () => sql`1=1`, multi },
    { key: keyBase, source: () => sql`${ident(target.name)}`, on: (self, prev) => sql`${ident(self, 'id')} = ${ident(prev, 'value')}`, multi },
  ];
  return walkPath(ctx, { collection: target, segments: rest, steps, key: keyBase, fullName, nullifyMissing: true, forSort: false });
}

/** Items of a request list value as a join (one row per item). */
function requestEach(ctx: CompileContext, field: Field, value: unknown, key: string): Ref {
  const json = listJson(toList(value));
  const step: Step = { key, source: () => ctx.dialect.fn.jsonEach(param(json)), on: () => sql`1=1`, multi: isMultiValued(field) };
  return pathRef([step], (a) => sql`${ident(a, 'value')}`, { textual: true });
}

/** A field modifier applied to a request value of a known collection field. */
function fieldValue(ctx: CompileContext, field: Field, modifier: Modifier, has: boolean, value: unknown, keyBase: string, fullName: string): Ref {
  if (modifier === 'isset') return fixed(has);
  if ((modifier === 'each' || modifier === 'length') && !isListType(field)) {
    throw filterError(`modifier ":${modifier}" needs a select, relation or file field (${JSON.stringify(fullName)})`);
  }
  if (modifier === 'length') return fixed(toList(value).length);
  if (modifier === 'each' || (modifier === '' && isMultiValued(field))) return requestEach(ctx, field, value, `${keyBase}#each`);
  let v = toSqlValue(value);
  if (field.type === 'number') v = asNumberIfNumeric(v);
  return fixed(v, modifier === 'lower' ? ctx.dialect.fn.lower : null);
}

function resolveBody(ctx: CompileContext, segs: string[], fullName: string): Ref {
  const body = ctx.request.body ?? {};
  const { name, modifier } = splitModifier(segs[2] as string);
  const field = findField(ctx.collection, name);
  if (!field || !isSafeIdentifier(field.name)) return staticPath(ctx, body, segs.slice(2), fullName);
  const has = Object.hasOwn(body, name);
  const value = has ? body[name] : undefined;
  if (segs.length > 3) {
    if (modifier !== '') throw unknownField(fullName, ctx.restricted);
    if (field.type === 'relation') return requestRelation(ctx, field, toIdList(value), `@body/${name}`, segs.slice(3), fullName);
    return staticPath(ctx, body, segs.slice(2), fullName);
  }
  if (modifier === 'changed') return changed(ctx, field, has, value);
  if (field.type === 'json' && modifier === '') return fixed(toSqlValue(value));
  return fieldValue(ctx, field, modifier, has, value, `@body/${name}`, fullName);
}

/**
 * `@request.body.f:changed`: true when `f` was submitted with a value different from the record's
 * current one (so `:changed = false` means "not submitted, or unchanged"). Lists compare as sets.
 */
function changed(ctx: CompileContext, field: Field, has: boolean, value: unknown): Ref {
  const fn = ctx.dialect.fn;
  const current = sql`${ident(ctx.rootAlias, field.name)}`;
  let differs: Sql;
  if (isMultiValued(field)) {
    const items = toList(value);
    const [a, b] = [ctx.aliases.next(), ctx.aliases.next()];
    differs = sql`(${fn.jsonArrayLength(current)} <> ${items.length} OR EXISTS (SELECT 1 FROM ${fn.jsonEach(param(listJson(items)))} AS ${ident(a)} WHERE ${ident(a, 'value')} NOT IN (SELECT ${ident(b, 'value')} FROM ${fn.jsonEach(current)} AS ${ident(b)})))`;
  } else if (field.type === 'json') {
    const submitted = fn.jsonExtract(param(toSqlValue(value)), []);
    differs = sql`NOT ${sameValue({ expr: submitted, textual: true, strict: true }, { expr: fn.jsonExtract(current, []), textual: true, strict: true })}`;
  } else {
    let v = toSqlValue(value);
    if (field.type === 'number') v = asNumberIfNumeric(v);
    const submitted = staticOperand(v);
    const textual = field.type !== 'number' && field.type !== 'bool';
    differs = sql`NOT ${sameValue(submitted, { expr: current, textual, strict: false })}`;
  }
  const expr = sql`(CASE WHEN ${has} AND ${differs} THEN ${true} ELSE ${false} END)`;
  return pathRef([], () => expr, { textual: false, notNull: true });
}

function resolveAuth(ctx: CompileContext, segs: string[], fullName: string): Ref {
  const auth = ctx.request.auth;
  const { name, modifier } = splitModifier(segs[2] as string);
  if (!auth) return fixed(modifier === 'isset' ? false : null);
  const record = auth.record;
  const special: Record<string, string> = { collectionId: auth.collection.id, collectionName: auth.collection.name };
  if (segs.length === 3 && Object.hasOwn(special, name)) {
    if (modifier === 'isset') return fixed(true);
    if (modifier !== '' && modifier !== 'lower') throw filterError(`modifier ":${modifier}" is not supported on ${JSON.stringify(fullName)}`);
    return fixed(special[name] as string, modifier === 'lower' ? ctx.dialect.fn.lower : null);
  }
  const authCollection: Collection = auth.collection;
  const field = findField(authCollection, name) ?? undefined;
  const has = Object.hasOwn(record, name);
  const value = has ? record[name] : undefined;
  if (segs.length > 3) {
    if (modifier !== '' || !field) return fixed(null);
    if (field.type === 'relation') return requestRelation(ctx, field, toIdList(value), `@auth/${name}`, segs.slice(3), fullName);
    if (field.type === 'json') {
      const parsed = typeof value === 'string' ? safeJson(value) : value;
      return staticPath(ctx, { [name]: parsed }, segs.slice(2), fullName);
    }
    return fixed(null);
  }
  if (modifier === 'changed') throw filterError(`modifier ":changed" is only supported on @request.body fields`);
  if (!field || !isSafeIdentifier(field.name)) {
    if (modifier === 'isset') return fixed(has);
    if (modifier !== '' && modifier !== 'lower') throw filterError(`modifier ":${modifier}" needs a collection field (${JSON.stringify(fullName)})`);
    return fixed(toSqlValue(value), modifier === 'lower' ? ctx.dialect.fn.lower : null);
  }
  return fieldValue(ctx, field, modifier, has, value, `@auth/${name}`, fullName);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
