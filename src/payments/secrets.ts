/**
 * The Stripe secrets at rest: `payments.stripe.secretKey` and `.webhookSecret` are stored sealed
 * (util/secret-box.ts, AES-256-GCM) inside the settings row and opened only when a payment call needs them.
 *
 * Everything about sealing them is this one function, so a generic settings-secret codec can replace it
 * in one place: `seal` rewrites a PATCH body (checking the plain values' form first, since the settings
 * validator only ever sees the sealed text), `open` reads a stored value back.
 */
import { AppError, fieldError, type FieldErrors } from '../errors/index.js';
import { SecretBox } from '../util/secret-box.js';

const FORMS: Record<'secretKey' | 'webhookSecret', { re: RegExp; hint: string }> = {
  secretKey: { re: /^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/, hint: 'a secret or restricted key (sk_test_…, sk_live_…, rk_…)' },
  webhookSecret: { re: /^whsec_[A-Za-z0-9_+/=-]+$/, hint: 'a webhook signing secret (whsec_…)' },
};

export function stripeSecrets(box: () => SecretBox): { seal(patch: unknown): unknown; open(stored: string): string } {
  return {
    seal(patch) {
      const stripe = (patch as { payments?: { stripe?: Record<string, unknown> } } | null)?.payments?.stripe;
      if (typeof stripe !== 'object' || stripe === null || Array.isArray(stripe)) return patch;
      const errors: FieldErrors = {};
      const sealed: Record<string, unknown> = { ...stripe };
      for (const key of ['secretKey', 'webhookSecret'] as const) {
        const value = stripe[key];
        if (typeof value !== 'string' || value === '') continue; // empty keeps the stored one; wrong types: the validator
        if (!FORMS[key].re.test(value)) {
          errors[key] = fieldError('validation_invalid_value', `Must be ${FORMS[key].hint}`);
          continue;
        }
        sealed[key] = box().seal(value);
      }
      if (Object.keys(errors).length) throw AppError.validation('Failed to update the settings.', { payments: { stripe: errors } });
      const p = patch as { payments: Record<string, unknown> };
      return { ...p, payments: { ...p.payments, stripe: sealed } };
    },
    open(stored) {
      if (stored === '') return '';
      // A value stored before sealing existed (or by hand in the database) is used as it is.
      return SecretBox.isSealed(stored) ? box().open(stored) : stored;
    },
  };
}
