/**
 * `POST /api/settings/apple/generate-client-secret` `{clientId, teamId, keyId, privateKey, duration}` →
 * `{secret}`: the ES256-signed JWT Apple takes as the OAuth2 client secret (Apple's "Creating a client
 * secret": header `kid`, claims iss = team id, sub = client id, aud = https://appleid.apple.com, iat, exp).
 * Superusers only. Validation as PocketBase's form (forms/apple_client_secret_create.go): every field
 * required, team and key ids exactly 10 characters, a PKCS#8 PEM key, a duration of 1 to 15777000 s
 * (about six months, Apple's maximum).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { AppError, fieldError, type FieldErrors } from '../../errors/index.js';
import { bodyOf, requireSuperuser } from './helpers.js';

export const APPLE_MAX_DURATION = 15_777_000;
const PRIVATE_KEY = /-----BEGIN PRIVATE KEY----[\s\S]+-----END PRIVATE KEY-----/m;

export function registerAppleSecretRoute(server: FastifyInstance, _app: App): void {
  server.post('/api/settings/apple/generate-client-secret', async (req) => {
    requireSuperuser(req);
    const body = bodyOf(req).data;
    const str = (v: unknown): string | null => (v === undefined || v === null ? '' : typeof v === 'string' ? v : null);
    const clientId = str(body.clientId);
    const teamId = str(body.teamId);
    const keyId = str(body.keyId);
    const privateKey = str(body.privateKey);
    const duration = body.duration === undefined || body.duration === null ? 0 : body.duration;
    if (clientId === null || teamId === null || keyId === null || privateKey === null || typeof duration !== 'number' || !Number.isInteger(duration)) {
      throw AppError.badRequest('An error occurred while loading the submitted data.');
    }
    const errors: FieldErrors = {};
    if (clientId === '') errors.clientId = fieldError('validation_required', 'Cannot be blank');
    for (const [key, value] of [
      ['teamId', teamId],
      ['keyId', keyId],
    ] as const) {
      if (value === '') errors[key] = fieldError('validation_required', 'Cannot be blank');
      else if ([...value].length !== 10) errors[key] = fieldError('validation_length_invalid', 'The length must be exactly 10', { max: 10, min: 10 });
    }
    if (privateKey === '') errors.privateKey = fieldError('validation_required', 'Cannot be blank');
    else if (!PRIVATE_KEY.test(privateKey)) errors.privateKey = fieldError('validation_match_invalid', 'Must be in a valid format');
    if (duration === 0) errors.duration = fieldError('validation_required', 'Cannot be blank');
    else if (duration < 1) errors.duration = fieldError('validation_min_greater_equal_than_required', 'Must be no less than 1', { threshold: 1 });
    else if (duration > APPLE_MAX_DURATION) {
      errors.duration = fieldError('validation_max_less_equal_than_required', `Must be no greater than ${APPLE_MAX_DURATION}`, {
        threshold: APPLE_MAX_DURATION,
      });
    }
    if (Object.keys(errors).length) throw AppError.validation('Failed to generate client secret.', errors);

    let key: KeyObject;
    try {
      key = createPrivateKey(privateKey.trim());
    } catch {
      throw AppError.badRequest('Failed to generate client secret.');
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw AppError.badRequest('Failed to generate client secret.'); // ES256 needs a P-256 key, as Apple issues
    }
    const { SignJWT } = await import('jose');
    const now = Math.floor(Date.now() / 1000);
    const secret = await new SignJWT({ iss: teamId, sub: clientId, aud: ['https://appleid.apple.com'], exp: now + duration, iat: now })
      .setProtectedHeader({ alg: 'ES256', kid: keyId, typ: 'JWT' })
      .sign(key);
    return { secret };
  });
}
