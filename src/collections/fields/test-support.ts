/** Helpers for the collections tests (not used at run time). */
import type { Collection, Field, FieldTypeName, SchemaLookup } from '../model.js';
import { InvalidValue, type FieldValueContext } from './field-type.js';
import { getFieldType } from './index.js';

/** A normalized field of `type` with the given options (id defaults to `<type>_<name>`). */
export function makeTestField<T extends FieldTypeName>(type: T, props: Record<string, unknown> = {}): Extract<Field, { type: T }> {
  const name = typeof props.name === 'string' ? props.name : 'f';
  const field = getFieldType(type).normalizeDefinition({ name, id: `${type}_${name}`, ...props }) as Extract<Field, { type: T }>;
  return field;
}

/** A SchemaLookup over a fixed list (by id, or by name case-insensitively). */
export function schemaOf(collections: Collection[]): SchemaLookup {
  return {
    find: (idOrName) => collections.find((c) => c.id === idOrName) ?? collections.find((c) => c.name.toLowerCase() === idOrName.toLowerCase()),
    all: () => collections,
  };
}

/** A create context. */
export const NEW: FieldValueContext = { isNew: true, previous: undefined, now: new Date('2024-01-02T03:04:05.678Z') };

/** An update context with the given previous value. */
export function updating(previous: unknown): FieldValueContext {
  return { isNew: false, previous, now: new Date('2024-01-02T03:04:05.678Z') };
}

/** The error code of a rejected value, or undefined if it was accepted. */
export function rejectCode(value: unknown): string | undefined {
  return value instanceof InvalidValue ? value.error.code : undefined;
}
