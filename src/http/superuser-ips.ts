/**
 * PocketBase's superuser IP allowlist (`settings.superuserIPs`): when it lists anything, superuser powers
 * only work from those addresses or subnets. Requests carrying a superuser token (or an API key, which acts
 * with superuser powers) from elsewhere are refused, superuser sign-in is refused, and a superuser's file
 * token is ignored (the file is served as to a guest). The client address follows `settings.trustedProxy`.
 */
import type { FastifyRequest } from 'fastify';
import { AppError, fieldError } from '../errors/index.js';
import type { Settings } from '../settings/settings.js';
import { IpList, ipListOf } from '../util/ip-list.js';
import { clientIp } from './rate-limit.js';

/** Whether superuser powers may be used from this request's client address. */
export function superuserIpAllowed(req: FastifyRequest, settings: Settings): boolean {
  const list = ipListOf(settings.superuserIPs);
  return list.empty || list.contains(clientIp(req, settings));
}

export function superuserIpRefused(): AppError {
  return AppError.forbidden('Superuser access from this IP address is not allowed.');
}

/**
 * Refuses a settings change whose `superuserIPs` would leave out the superuser making it: their very next
 * request would be refused, and nothing over HTTP could undo it.
 */
export function refuseSelfLockout(req: FastifyRequest, settings: Settings, patch: Record<string, unknown>): void {
  const list = patch.superuserIPs;
  if (!Array.isArray(list) || list.length === 0 || !list.every((entry) => typeof entry === 'string')) return;
  const ip = clientIp(req, settings);
  if (new IpList(list as string[]).contains(ip)) return;
  throw AppError.validation('Failed to update the settings.', {
    superuserIPs: fieldError(
      'validation_invalid_value',
      `The list must include your current address (${ip.slice(0, 100)}); otherwise this change would lock you out.`,
    ),
  });
}
