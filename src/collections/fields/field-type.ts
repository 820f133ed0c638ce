/**
 * The contract every field type implements (one file per type in this folder, registered in ./index.ts).
 * Field types are pure: no database access, no I/O. The records layer does relation existence checks,
 * uniqueness (through indexes) and password hashing.
 */
import type { ColumnKind } from '../../db/dialect.js';
import type { SqlValue } from '../../db/sql.js';
import type { FieldError, FieldErrors } from '../../errors/index.js';
import type { Field, FieldTypeName, SchemaLookup, Collection } from '../model.js';

/** Context for validating a field *definition* (the schema editor). */
export interface FieldDefinitionContext {
  collection: Collection;
  schema: SchemaLookup;
}

/** Context for validating a *value* on create/update. */
export interface FieldValueContext {
  isNew: boolean;
  /** The value before this change (undefined on create). */
  previous: unknown;
  now: Date;
}

/** Body modifiers PocketBase supports: `field+` (append/add), `+field` (prepend), `field-` (remove/subtract). */
export type Modifier = 'append' | 'prepend' | 'subtract';

export interface FieldType<F extends Field = Field> {
  readonly type: FieldTypeName;
  /** Fills missing type-specific options with PocketBase's defaults and drops unknown keys. Never throws. */
  normalizeDefinition(input: Record<string, unknown>): F;
  /** Checks a definition's options (e.g. select needs values, relation needs an existing collectionId). */
  validateDefinition(field: F, ctx: FieldDefinitionContext): FieldErrors | null;
  /** How the column is stored. */
  columnKind(field: F): ColumnKind;
  /** The value a record has when nothing was set (PocketBase's zero value, e.g. '' / 0 / false / [] / null). */
  zeroValue(field: F): unknown;
  /**
   * Coerces a client-submitted value (from JSON, or from type-inferred form data) into the field's value
   * type. Returns an InvalidValue for type confusion (objects for text, non-numeric strings for numbers …).
   */
  prepareValue(raw: unknown, field: F): unknown | InvalidValue;
  /** Which modifiers the type supports, and how: returns the new value or an InvalidValue. */
  applyModifier?(current: unknown, modifier: Modifier, operand: unknown, field: F): unknown | InvalidValue;
  /** Validates a prepared value (required, min/max, pattern, allowed values …). */
  validateValue(value: unknown, field: F, ctx: FieldValueContext): FieldError | null;
  /** Prepared value → what is bound into SQL. */
  toDb(value: unknown, field: F): SqlValue;
  /** Stored value → the record's value (what JSON output shows, before hidden-field stripping). */
  fromDb(raw: unknown, field: F): unknown;
}

/** A rejected value: returned (not thrown) by prepareValue/applyModifier so callers collect every field's error. */
export class InvalidValue {
  constructor(readonly error: FieldError) {}
}
