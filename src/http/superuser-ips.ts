/**
 * PocketBase's superuser IP allowlist (`settings.superuserIPs`): when it lists anything, superuser powers
 * only work from those addresses or subnets. Requests carrying a superuser token (or an API key, which acts
 * with superuser powers) from elsewhere are refused, superuser sign-in is refused, and a superuser's file
 * token is ignored (the file is served as to a guest). The client address follows `settings.trustedProxy`.
 */
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors/index.js';
import type { Settings } from '../settings/settings.js';
import { allowlistOf } from '../util/ip-list.js';
import { clientIp } from './rate-limit.js';

/** Whether superuser powers may be used from this request's client address. */
export function superuserIpAllowed(req: FastifyRequest, settings: Settings): boolean {
  const list = allowlistOf(settings.superuserIPs);
  return list.empty || list.allows(clientIp(req, settings));
}

export function superuserIpRefused(): AppError {
  return AppError.forbidden('Superuser access from this IP address is not allowed.');
}
