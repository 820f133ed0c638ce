/**
 * GET /api/metrics: Prometheus text format (metrics/index.ts). Who may scrape:
 *   - a superuser (token or API key; settings.superuserIPs applies as everywhere),
 *   - `Authorization: Bearer <settings.metrics.token>` (write-only setting; compared in constant time),
 *   - a client address in `settings.metrics.allowedIps` (addresses or CIDR subnets; the client address follows
 *     settings.trustedProxy, as for the rate limits), unless the request carries a proxy header trustedProxy does
 *     not name: then the address is a proxy's, which every client behind it shares.
 * Anyone else: 401 without an Authorization header, 403 with one (a wrong token, a non-superuser). With metrics
 * off (`--metrics=false`) the route is a 404.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { AppError } from '../../errors/index.js';
import { isSuperuser } from '../../rules/request-info.js';
import type { Settings } from '../../settings/index.js';
import { ipListOf } from '../../util/ip-list.js';
import { untrustedProxyHeader } from '../proxy-headers.js';
import { clientIp } from '../rate-limit.js';
import { tokenFromHeader } from '../request-info.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Whether the Authorization header carries the metrics token (hashes compared, so lengths leak nothing). */
function hasMetricsToken(req: FastifyRequest, settings: Settings): boolean {
  const expected = settings.metrics.token;
  if (expected === '') return false;
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !/^bearer\s/i.test(header.trim())) return false;
  const sent = tokenFromHeader(header);
  return sent !== null && timingSafeEqual(digest(sent), digest(expected));
}

export function authorizeScrape(req: FastifyRequest, settings: Settings): void {
  if (isSuperuser(req)) return;
  if (hasMetricsToken(req, settings)) return;
  const allowed = ipListOf(settings.metrics.allowedIps);
  // A request relayed by a proxy nobody trusts has the proxy's address (every client behind it shares it).
  if (!allowed.empty && allowed.contains(clientIp(req, settings)) && untrustedProxyHeader(req, settings) === '') return;
  if (req.headers.authorization === undefined) throw AppError.unauthorized('The metrics require a superuser or metrics token, or an allowed IP address.');
  throw AppError.forbidden('Not allowed to read the metrics.');
}

export function registerMetricsRoutes(server: FastifyInstance, app: App): void {
  server.get('/api/metrics', async (req, reply) => {
    if (!app.metrics.enabled) throw AppError.notFound('Metrics are turned off (plinth serve --metrics=false).');
    authorizeScrape(req, app.settings.get());
    const { contentType, text } = await app.metrics.render(server.rateLimiter);
    return reply.header('cache-control', 'no-store').type(contentType).send(text);
  });
}
