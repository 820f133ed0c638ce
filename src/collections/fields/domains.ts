/** Shared by `email` and `url`: the `onlyDomains` / `exceptDomains` options and their checks, and the type built on them. */
import { fieldError, type FieldError, type FieldErrors } from '../../errors/index.js';
import type { EmailField, UrlField } from '../model.js';
import {
  baseDefinitionErrors,
  errEmpty,
  errorsOrNull,
  errRequired,
  errUnsupportedType,
  definedBy,
  stringValueMethods,
  type FieldTypeImpl,
  type OptionSpecs,
} from './common.js';

/** Option specs for the two domain lists (nullable, as PocketBase serialises them). */
export const DOMAIN_OPTIONS: OptionSpecs = {
  exceptDomains: { kind: 'stringListOrNull', default: null },
  onlyDomains: { kind: 'stringListOrNull', default: null },
  required: { kind: 'bool', default: false },
};

// ozzo's is.Domain; labels end at a dot, so the match is linear (and the input is bounded first).
const DOMAIN_RE = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{1,63}|xn--[a-z0-9]{1,59})$/i;

/** Whether a string is a valid domain name. */
export function isDomain(value: string): boolean {
  return value.length <= 255 && DOMAIN_RE.test(value);
}

function listErrors(list: readonly string[] | null, other: readonly string[] | null): FieldErrors | ReturnType<typeof errEmpty> | null {
  if (!list || list.length === 0) return null;
  if (other && other.length > 0) return errEmpty(); // only one of the two lists may be set
  const errors: FieldErrors = {};
  list.forEach((d, i) => {
    if (!isDomain(d)) errors[String(i)] = fieldError('validation_is_domain', 'Must be a valid domain.');
  });
  return Object.keys(errors).length ? errors : null;
}

/** Adds errors for the domain options of an email/url field definition. */
function domainOptionErrors(field: EmailField | UrlField, errors: FieldErrors): void {
  const except = listErrors(field.exceptDomains, field.onlyDomains);
  if (except) errors.exceptDomains = except;
  const only = listErrors(field.onlyDomains, field.exceptDomains);
  if (only) errors.onlyDomains = only;
}

/** Whether `domain` passes the field's only/except lists (compared case-insensitively). */
export function domainAllowed(field: EmailField | UrlField, domain: string): boolean {
  const d = domain.toLowerCase();
  const has = (list: readonly string[] | null) => !!list && list.some((x) => x.toLowerCase() === d);
  if (field.onlyDomains && field.onlyDomains.length > 0 && !has(field.onlyDomains)) return false;
  if (field.exceptDomains && field.exceptDomains.length > 0 && has(field.exceptDomains)) return false;
  return true;
}

/**
 * An email/url field type: one string, `''` when empty; a non-empty value must pass `checkValue` (its
 * format and the domain lists, via domainAllowed).
 */
export function domainFieldType<F extends EmailField | UrlField>(
  type: F['type'],
  checkValue: (value: string, field: F) => FieldError | null,
): FieldTypeImpl<F> {
  return {
    ...definedBy<F>(type, DOMAIN_OPTIONS),
    ...stringValueMethods,
    validateDefinition(field) {
      const errors: FieldErrors = baseDefinitionErrors(field);
      domainOptionErrors(field, errors);
      return errorsOrNull(errors);
    },
    validateValue(value, field) {
      if (typeof value !== 'string') return errUnsupportedType('a string');
      if (value === '') return field.required ? errRequired() : null;
      return checkValue(value, field);
    },
  };
}
