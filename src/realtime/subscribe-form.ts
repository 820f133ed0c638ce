/**
 * The body of `POST /api/realtime` (JSON or form): `{clientId, subscriptions}`, validated the way
 * PocketBase's form is (clientId 1–255 characters, at most 1000 subscriptions of at most 2500 each), plus
 * each subscription's `options` parsed up front so a malformed one is a 400 rather than a silent no-op.
 */
import { AppError, fieldError, type FieldErrors } from '../errors/index.js';
import { InvalidSubscription, parseSubscription, type ParsedSubscription } from './subscription.js';

export const MAX_CLIENT_ID_LENGTH = 255;
export const MAX_SUBSCRIPTIONS = 1000;
export const MAX_SUBSCRIPTION_LENGTH = 2500;

/** A validated subscription request. */
export interface SubscribeForm {
  clientId: string;
  subscriptions: ParsedSubscription[];
}

/** Validates a parsed request body; throws a 400 AppError with PocketBase-style field errors. */
export function parseSubscribeForm(body: Record<string, unknown>): SubscribeForm {
  const errors: FieldErrors = {};
  const clientId = scalarText(body.clientId);
  if (clientId === null) {
    errors.clientId = fieldError('validation_invalid_value', 'Must be a string');
  } else if (clientId === '') {
    errors.clientId = fieldError('validation_required', 'Cannot be blank');
  } else if (longerThan(clientId, MAX_CLIENT_ID_LENGTH)) {
    errors.clientId = fieldError('validation_length_out_of_range', `The length must be between 1 and ${MAX_CLIENT_ID_LENGTH}`, {
      min: 1,
      max: MAX_CLIENT_ID_LENGTH,
    });
  }

  const subscriptions: ParsedSubscription[] = [];
  const raw = listOf(body.subscriptions);
  if (raw === null) {
    errors.subscriptions = fieldError('validation_invalid_value', 'Must be a list of strings');
  } else if (raw.length > MAX_SUBSCRIPTIONS) {
    errors.subscriptions = fieldError('validation_length_too_long', `The length must be no more than ${MAX_SUBSCRIPTIONS}`, {
      max: MAX_SUBSCRIPTIONS,
    });
  } else {
    const itemErrors: FieldErrors = {};
    raw.forEach((item, i) => {
      const text = scalarText(item);
      if (text === null) {
        itemErrors[String(i)] = fieldError('validation_invalid_value', 'Must be a string');
      } else if (longerThan(text, MAX_SUBSCRIPTION_LENGTH)) {
        itemErrors[String(i)] = fieldError('validation_length_too_long', `The length must be no more than ${MAX_SUBSCRIPTION_LENGTH}`, {
          max: MAX_SUBSCRIPTION_LENGTH,
        });
      } else if (text !== '') {
        // PocketBase skips empty entries.
        try {
          subscriptions.push(parseSubscription(text));
        } catch (err) {
          if (!(err instanceof InvalidSubscription)) throw err;
          itemErrors[String(i)] = fieldError('validation_invalid_value', err.message);
        }
      }
    });
    if (Object.keys(itemErrors).length) errors.subscriptions = itemErrors;
  }

  if (Object.keys(errors).length) throw AppError.badRequest(undefined, errors);
  return { clientId: clientId as string, subscriptions };
}

/** Strings as they are; numbers/booleans (form values after type inference) as text; anything else null. */
function scalarText(value: unknown): string | null {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

/** Missing → []; one form value → [value]; an array as is; anything else null. */
function listOf(value: unknown): unknown[] | null {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return [value];
  return null;
}

/** More than `max` characters (runes, as Go counts them); the rune count is only taken when it can matter. */
function longerThan(s: string, max: number): boolean {
  return s.length > max && [...s].length > max;
}
