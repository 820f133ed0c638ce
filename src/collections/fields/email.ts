/** `email`: a single address string, zero value `''`, optional allowed/blocked domains. */
import { fieldError } from '../../errors/index.js';
import type { EmailField } from '../model.js';
import { domainAllowed, domainFieldType } from './domains.js';

// ozzo's is.EmailFormat (what PocketBase uses). Linear: the domain labels are separated by dots.
const EMAIL_RE = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** Whether a string is a syntactically valid email address (≤ 254 characters). */
export function isEmail(value: string): boolean {
  return value.length <= 254 && EMAIL_RE.test(value);
}

/** The `email` field type. */
export const emailFieldType = domainFieldType<EmailField>('email', (value, field) => {
  // PocketBase answers with ozzo's is.Email error here.
  if (!isEmail(value)) return fieldError('validation_is_email', 'Must be a valid email address.');
  if (!domainAllowed(field, value.slice(value.lastIndexOf('@') + 1))) {
    return fieldError('validation_email_domain_not_allowed', 'Email domain is not allowed.');
  }
  return null;
});
