/** The only errors the rules module throws at callers: AppErrors with stable codes and safe messages. */
import { AppError } from '../errors/index.js';

/** A malformed or unresolvable filter (400). `pos` is a 0-based character offset into the source. */
export function filterError(message: string, pos?: number): AppError {
  return new AppError('invalid_filter', pos === undefined ? `Invalid filter: ${message}` : `Invalid filter: ${message} (at position ${pos})`);
}

/**
 * An identifier that does not resolve. For restricted (client, non-superuser) compiles the message is
 * one fixed sentence: unknown, hidden and rule-locked fields can never be told apart (no oracle on
 * protected data). Rule authors get the name.
 */
export function unknownField(name: string, restricted = false): AppError {
  return restricted ? filterError('unknown or non-filterable field') : filterError(`unknown or non-filterable field ${JSON.stringify(name)}`);
}

/** The sort counterpart of unknownField. */
export function invalidSortField(name: string, restricted: boolean): AppError {
  return restricted ? sortError('invalid sort field') : sortError(`invalid sort field ${JSON.stringify(name)}`);
}

/** A malformed sort (400). */
export function sortError(message: string): AppError {
  return new AppError('invalid_sort', `Invalid sort: ${message}`);
}

/** `@collection.` / `@request.` used by a non-superuser client (403, PocketBase's message). */
export function superusersOnly(prefix: '@collection.' | '@request.'): AppError {
  return new AppError('forbidden', `Only superusers can filter by ${prefix}`);
}
