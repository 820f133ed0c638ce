/**
 * Infers a view collection's fields from its query's result columns, as PocketBase does: a column read
 * straight from another collection's field keeps that field's type and options; anything computed becomes
 * a number, text or bool field when its expression says so (view-expressions.ts: PocketBase's count/total
 * and CAST rules, plus numeric aggregates and arithmetic), else a number (numeric declared type) or a json
 * field. The `id` column is required.
 */
import type { Executor } from '../db/dialect.js';
import { AppError, fieldError } from '../errors/index.js';
import { fieldId } from './ids.js';
import { getFieldType } from './fields/index.js';
import type { Field, SchemaLookup, ViewCollection } from './model.js';
import { inferExpressionTypes } from './view-expressions.js';
import { viewQuerySql } from './view-query.js';

export async function inferViewFields(db: Executor, view: ViewCollection, schema: SchemaLookup): Promise<Field[]> {
  let columns;
  try {
    columns = await db.describeColumns(viewQuerySql(view.viewQuery));
  } catch (err) {
    if (err instanceof AppError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw AppError.validation('Invalid view query.', { viewQuery: fieldError('validation_invalid_view_query', `The query failed: ${message.slice(0, 300)}`) });
  }
  const names = new Set<string>();
  for (const c of columns) {
    if (!/^\w+$/.test(c.name)) {
      throw AppError.validation('Invalid view query.', {
        viewQuery: fieldError('validation_invalid_view_query', `Column "${c.name.slice(0, 100)}" needs an alias made of letters, digits and _`),
      });
    }
    if (names.has(c.name.toLowerCase())) {
      throw AppError.validation('Invalid view query.', { viewQuery: fieldError('validation_invalid_view_query', `Duplicate column "${c.name}"`) });
    }
    names.add(c.name.toLowerCase());
  }
  if (!names.has('id')) {
    throw AppError.validation('Invalid view query.', { viewQuery: fieldError('validation_invalid_view_query', 'The query must return an "id" column') });
  }
  const previous = new Map(view.fields.map((f) => [f.name, f]));
  // Computed columns are typed from the query text first, so both dialects agree (SQLite declares no type
  // for an expression; PostgreSQL's declared type is the fallback).
  const computed = inferExpressionTypes(view.viewQuery, columns.length, schema);
  return columns.map((c, i) => {
    const source = c.table ? schema.find(c.table) : undefined;
    const sourceField = source?.fields.find((f) => f.name === c.column);
    let field: Record<string, unknown>;
    if (c.name === 'id') {
      // PocketBase's view id field: a text primary key with the record id pattern.
      field = { name: 'id', type: 'text', primaryKey: true, system: true, required: true, pattern: '^[a-z0-9]+$' };
    } else if (sourceField && sourceField.type !== 'password') {
      field = { ...sourceField, name: c.name, system: false, primaryKey: false };
      if (sourceField.type === 'autodate') field = { ...field };
    } else {
      const inferred = computed?.[i] ?? null;
      const numeric = /INT|REAL|NUM|FLOA|DOUB/i.test(c.type ?? '');
      field = { name: c.name, type: inferred ?? (numeric ? 'number' : 'json') };
    }
    const type = getFieldType(field.type as Field['type']);
    const normalized = type.normalizeDefinition(field) as Field;
    normalized.id = previous.get(c.name)?.id ?? fieldId(normalized.type, c.name);
    return normalized;
  });
}
