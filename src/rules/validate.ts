/** Rule checks for the schema editor: does a rule parse and resolve against the (candidate) schema? */
import type { Collection, SchemaLookup } from '../collections/model.js';
import type { Dialect } from '../db/dialect.js';
import { sqliteDialect } from '../db/dialects/sqlite/sqlite-dialect.js';
import { AppError, fieldError, type FieldError } from '../errors/index.js';
import { compileFilter } from './compile.js';
import { guestRequest } from './request-info.js';

/** The schema a rule is checked against. */
export interface ValidateRuleOptions {
  collection: Collection;
  schema: SchemaLookup;
  /** Only used to build (and discard) the SQL; defaults to SQLite. */
  dialect?: Dialect;
}

/**
 * Compiles `expr` as a collection rule and returns the AppError it would raise, or null when it is fine.
 * `null` (locked) and `""` (public) are always valid. `@request.auth.*` paths are not checked (which auth
 * collection a request comes from is only known at request time), as in PocketBase.
 */
export function validateRuleSyntax(expr: string | null, opts: ValidateRuleOptions): AppError | null {
  if (expr === null || expr.trim() === '') return null;
  try {
    compileFilter(expr, {
      collection: opts.collection,
      schema: opts.schema,
      dialect: opts.dialect ?? sqliteDialect,
      rootAlias: '_r',
      request: guestRequest(),
      mode: 'rule',
    });
    return null;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
}

/** The schema editor's validator shape: a field error (`validation_invalid_rule`) or null. */
export function validateRule(expr: string | null, collection: Collection, schema: SchemaLookup, dialect?: Dialect): FieldError | null {
  const err = validateRuleSyntax(expr, { collection, schema, ...(dialect ? { dialect } : {}) });
  return err ? fieldError('validation_invalid_rule', err.message) : null;
}
