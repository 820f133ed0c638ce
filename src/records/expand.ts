/**
 * `?expand=`: loads related records (relation fields and `<collection>_via_<field>` back-relations), up to
 * 6 levels, in one query per path segment per level. Related records are read through their collection's
 * view rule (a locked rule or a rule miss silently leaves them out) and serialised for the same viewer.
 * Expand problems are never errors, as in PocketBase.
 */
import { findField, isMultiValued, type Collection, type RelationField } from '../collections/model.js';
import type { CollectionStore } from '../collections/store.js';
import type { Dialect, Executor } from '../db/dialect.js';
import { ident, param, sql } from '../db/sql.js';
import type { RecordData } from '../hooks/index.js';
import { parseIndex } from '../collections/indexes.js';
import type { RequestInfo } from '../rules/request-info.js';
import { ruleConditionOrNone, ROOT_ALIAS } from './access.js';
import { publicRecord, rowToRecord, type Viewer } from './record-io.js';

const MAX_EXPAND_DEPTH = 6;
const MAX_BACK_RELATIONS = 1000;
const MAX_EXPAND_PATHS = 50;

export interface ExpandContext {
  exec: Executor;
  dialect: Dialect;
  schema: CollectionStore;
  req: RequestInfo;
  viewer: Viewer;
}

/** Path tree: `author.team,tags` → { author: { team: {} }, tags: {} }. */
type PathTree = Map<string, PathTree>;

export function parseExpand(expand: string | undefined): PathTree {
  const tree: PathTree = new Map();
  if (!expand) return tree;
  const paths = expand
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .slice(0, MAX_EXPAND_PATHS);
  for (const path of paths) {
    let node = tree;
    for (const seg of path.split('.').slice(0, MAX_EXPAND_DEPTH)) {
      if (!/^\w+$/.test(seg)) break;
      let next = node.get(seg);
      if (!next) node.set(seg, (next = new Map()));
      node = next;
    }
  }
  return tree;
}

/**
 * Expands `records` in place of the caller: returns, for each record (by index), its `expand` object
 * with related records already serialised for the viewer. As in PocketBase, once a requested path names
 * a real relation every record gets an `expand` object, `{}` when nothing was found; with no valid path the
 * entries are undefined (no `expand` key).
 */
export async function expandRecords(
  collection: Collection,
  records: RecordData[],
  tree: PathTree,
  ctx: ExpandContext,
): Promise<Array<Record<string, unknown> | undefined>> {
  const result = records.map(() => ({}) as Record<string, unknown>);
  if (tree.size === 0 || records.length === 0) return records.map(() => undefined);
  let valid = false;
  for (const [segment, subtree] of tree) {
    const field = findField(collection, segment);
    if (field?.type === 'relation') {
      if (await expandRelation(field, records, subtree, ctx, result)) valid = true;
      continue;
    }
    const via = /^(\w+)_via_(\w+)$/.exec(segment);
    if (via && (await expandBackRelation(collection, segment, via[1] as string, via[2] as string, records, subtree, ctx, result))) valid = true;
  }
  return valid ? result : records.map(() => undefined);
}

async function loadVisible(target: Collection, ids: string[], ctx: ExpandContext): Promise<Map<string, RecordData>> {
  const found = new Map<string, RecordData>();
  if (ids.length === 0 || (target.type === 'view' && !target.fields.some((f) => f.name === 'id'))) return found;
  const expandReq: RequestInfo = { ...ctx.req, context: 'expand' };
  const rule = ruleConditionOrNone(target, 'viewRule', expandReq, ctx.schema, ctx.dialect);
  if (!rule) return found;
  const idSet = sql`SELECT value FROM ${ctx.dialect.fn.jsonEach(param(JSON.stringify(ids)))}`;
  const where = rule.kind === 'where' ? sql` AND (${rule.condition})` : sql``;
  const rows = await ctx.exec.all(
    sql`SELECT ${ident(ROOT_ALIAS)}.* FROM ${ident(target.name)} AS ${ident(ROOT_ALIAS)} WHERE ${ident(ROOT_ALIAS, 'id')} IN (${idSet})${where}`,
  );
  for (const row of rows) {
    const rec = rowToRecord(target, row);
    found.set(rec.id as string, rec);
  }
  return found;
}

async function serialiseLevel(
  target: Collection,
  recs: RecordData[],
  subtree: PathTree,
  ctx: ExpandContext,
): Promise<Map<RecordData, Record<string, unknown>>> {
  const nested = await expandRecords(target, recs, subtree, ctx);
  const out = new Map<RecordData, Record<string, unknown>>();
  recs.forEach((r, i) => out.set(r, publicRecord(target, r, ctx.viewer, nested[i])));
  return out;
}

async function expandRelation(
  field: RelationField,
  records: RecordData[],
  subtree: PathTree,
  ctx: ExpandContext,
  result: Array<Record<string, unknown>>,
): Promise<boolean> {
  const target = ctx.schema.find(field.collectionId);
  if (!target) return false;
  const idsOf = (r: RecordData): string[] => {
    const v = r[field.name];
    if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== '');
    return typeof v === 'string' && v !== '' ? [v] : [];
  };
  const allIds = [...new Set(records.flatMap(idsOf))];
  const loaded = await loadVisible(target, allIds, ctx);
  const serialised = await serialiseLevel(target, [...loaded.values()], subtree, ctx);
  records.forEach((r, i) => {
    const items = idsOf(r)
      .map((id) => loaded.get(id))
      .filter((x): x is RecordData => x !== undefined)
      .map((x) => serialised.get(x) as Record<string, unknown>);
    if (isMultiValued(field)) {
      if (items.length) result[i]![field.name] = items;
    } else if (items[0]) {
      result[i]![field.name] = items[0];
    }
  });
  return true;
}

async function expandBackRelation(
  collection: Collection,
  segment: string,
  targetName: string,
  fieldName: string,
  records: RecordData[],
  subtree: PathTree,
  ctx: ExpandContext,
  result: Array<Record<string, unknown>>,
): Promise<boolean> {
  const target = ctx.schema.find(targetName);
  const field = target ? findField(target, fieldName) : undefined;
  if (!target || !field || field.type !== 'relation' || field.collectionId !== collection.id) return false;
  const parentIds = records.map((r) => r.id as string);
  const expandReq: RequestInfo = { ...ctx.req, context: 'expand' };
  const rule = ruleConditionOrNone(target, 'viewRule', expandReq, ctx.schema, ctx.dialect);
  if (!rule) return true;
  const fn = ctx.dialect.fn;
  const parents = sql`SELECT value FROM ${fn.jsonEach(param(JSON.stringify(parentIds)))}`;
  const col = ident(ROOT_ALIAS, field.name);
  const match = isMultiValued(field)
    ? sql`EXISTS (SELECT 1 FROM ${fn.jsonEach(col)} AS ${ident('_je')} WHERE ${ident('_je', 'value')} IN (${parents}))`
    : sql`${col} IN (${parents})`;
  const where = rule.kind === 'where' ? sql` AND (${rule.condition})` : sql``;
  const rows = await ctx.exec.all(
    sql`SELECT ${ident(ROOT_ALIAS)}.* FROM ${ident(target.name)} AS ${ident(ROOT_ALIAS)} WHERE ${match}${where} LIMIT ${MAX_BACK_RELATIONS}`,
  );
  const recs = rows.map((row) => rowToRecord(target, row));
  const serialised = await serialiseLevel(target, recs, subtree, ctx);
  const single = !isMultiValued(field) && hasUniqueIndexOn(target, field.name);
  records.forEach((r, i) => {
    const mine = recs.filter((x) => {
      const v = x[field.name];
      return Array.isArray(v) ? v.includes(r.id) : v === r.id;
    });
    if (mine.length === 0) return;
    const items = mine.map((x) => serialised.get(x) as Record<string, unknown>);
    result[i]![segment] = single ? items[0] : items;
  });
  return true;
}

function hasUniqueIndexOn(collection: Collection, column: string): boolean {
  return collection.indexes.some((text) => {
    try {
      const idx = parseIndex(text);
      return idx.unique && idx.columns.length === 1 && idx.columns[0]!.name === column && !idx.where;
    } catch {
      return false;
    }
  });
}
