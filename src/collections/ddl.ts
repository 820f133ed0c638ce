/**
 * Turns collection definitions and their changes into DDL fragments. Every table, column and index name
 * here comes from a validated collection (names match `^\w+$`) and goes through `ident()`.
 */
import type { Dialect } from '../db/dialect.js';
import { ident, join, sql, type Sql } from '../db/sql.js';
import { getFieldType } from './fields/index.js';
import { buildIndexSql, parseIndex } from './indexes.js';
import { isMultiValued, type Collection, type Field } from './model.js';
import { viewQuerySql } from './view-query.js';

function columnDefinition(field: Field, dialect: Dialect): Sql {
  const kind = field.type === 'text' && field.primaryKey ? 'primaryKey' : getFieldType(field.type).columnKind(field as never);
  return sql`${ident(field.name)} ${dialect.columnType(kind)}`;
}

/** Statements that create a collection's table (or view) and its indexes. */
export function createCollectionDdl(collection: Collection, dialect: Dialect): Sql[] {
  if (collection.type === 'view') {
    return [sql`CREATE VIEW ${ident(collection.name)} AS ${viewQuerySql(collection.viewQuery)}`];
  }
  const columns = collection.fields.map((f) => columnDefinition(f, dialect));
  return [sql`CREATE TABLE ${ident(collection.name)} (${join(columns)})`, ...createIndexesDdl(collection, dialect)];
}

export function createIndexesDdl(collection: Collection, dialect: Dialect): Sql[] {
  if (collection.type === 'view') return [];
  return collection.indexes.map((text) => buildIndexSql(parseIndex(text), collection.name, dialect));
}

export function dropIndexesDdl(collection: Collection): Sql[] {
  if (collection.type === 'view') return [];
  return collection.indexes.map((text) => sql`DROP INDEX IF EXISTS ${ident(parseIndex(text).name)}`);
}

export function dropCollectionDdl(collection: Collection): Sql[] {
  return collection.type === 'view' ? [sql`DROP VIEW IF EXISTS ${ident(collection.name)}`] : [sql`DROP TABLE IF EXISTS ${ident(collection.name)}`];
}

/**
 * Statements that move a collection from `before` to `after` while keeping its data: rename the table,
 * drop the old indexes, drop/rename/add columns (matched by field id), convert single↔multi values, then
 * build the new indexes. Views are simply recreated.
 */
export function alterCollectionDdl(before: Collection, after: Collection, dialect: Dialect): Sql[] {
  if (after.type === 'view' || before.type === 'view') {
    return [...dropCollectionDdl(before), ...createCollectionDdl(after, dialect)];
  }
  const out: Sql[] = [...dropIndexesDdl(before)];
  if (before.name !== after.name) out.push(sql`ALTER TABLE ${ident(before.name)} RENAME TO ${ident(after.name)}`);
  const table = ident(after.name);
  const afterById = new Map(after.fields.map((f) => [f.id, f]));
  const beforeById = new Map(before.fields.map((f) => [f.id, f]));

  for (const old of before.fields) {
    if (!afterById.has(old.id)) out.push(sql`ALTER TABLE ${table} DROP COLUMN ${ident(old.name)}`);
  }
  for (const field of after.fields) {
    const old = beforeById.get(field.id);
    if (!old) {
      out.push(sql`ALTER TABLE ${table} ADD COLUMN ${columnDefinition(field, dialect)}`);
      continue;
    }
    if (old.name !== field.name) out.push(sql`ALTER TABLE ${table} RENAME COLUMN ${ident(old.name)} TO ${ident(field.name)}`);
    const col = ident(field.name);
    const wasMulti = isMultiValued(old);
    const isMulti = isMultiValued(field);
    if (wasMulti && !isMulti) {
      // PocketBase keeps the last value when a list becomes a single value.
      out.push(sql`UPDATE ${table} SET ${col} = ${dialect.fn.jsonArrayLast(col)}`);
    } else if (!wasMulti && isMulti) {
      out.push(sql`UPDATE ${table} SET ${col} = CASE WHEN ${col} IS NULL OR ${col} = '' THEN '[]' ELSE ${dialect.fn.jsonArrayOf(col)} END`);
    }
  }
  out.push(...createIndexesDdl(after, dialect));
  return out;
}
