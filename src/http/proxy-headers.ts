/**
 * Reverse-proxy headers the server does not trust. Behind a proxy without `settings.trustedProxy.headers`
 * every client has the proxy's address, so they all share one rate-limit window (auth is limited by
 * default) and the logs show one IP. PocketBase's dashboard warns from `GET /api/health`'s
 * `possibleProxyHeader`; Plinth also says so once in the log.
 */
import type { FastifyRequest } from 'fastify';
import type { Settings } from '../settings/index.js';
import type { Logger } from '../util/logger.js';

/** PocketBase's list of common proxy headers (health.go), plus X-Real-IP (nginx) and RFC 7239 Forwarded. */
const COMMON_PROXY_HEADERS = ['CF-Connecting-IP', 'Fly-Client-IP', 'X-Forwarded-For', 'X-Real-IP', 'Forwarded'];

/** As PocketBase's health check: the first of the trusted, then the common proxy headers the request carries, or ''. */
export function possibleProxyHeader(req: FastifyRequest, settings: Settings): string {
  for (const h of settings.trustedProxy.headers) if (req.headers[h.toLowerCase()]) return h;
  for (const h of COMMON_PROXY_HEADERS) if (req.headers[h.toLowerCase()]) return h;
  return '';
}

/**
 * The proxy header a request carries when none of `trustedProxy.headers` is there, or ''. Such a request was
 * relayed by a proxy Plinth does not trust, so its connecting address is the proxy's, shared by every client
 * behind it: an address allowlist must not admit it (metrics.allowedIps).
 */
export function untrustedProxyHeader(req: FastifyRequest, settings: Settings): string {
  const h = req.headers;
  if (settings.trustedProxy.headers.some((t) => h[t.toLowerCase()] !== undefined)) return '';
  return COMMON_PROXY_HEADERS.find((c) => h[c.toLowerCase()] !== undefined) ?? '';
}

/**
 * Warns once per process when a request carries a proxy header while `trustedProxy.headers` is empty, or
 * names only headers this request lacks (the proxy sends another one).
 * `active` turns false after the warning, so the server's onRequest hook (`if (watch.active) watch.check(req)`)
 * then costs one property read; until then a few header look-ups that miss.
 */
export class UntrustedProxyWatch {
  active = true;

  constructor(
    private readonly settings: () => Settings,
    private readonly logger: Logger,
  ) {}

  check(req: FastifyRequest): void {
    const h = req.headers;
    if (
      h['x-forwarded-for'] === undefined &&
      h['x-real-ip'] === undefined &&
      h.forwarded === undefined &&
      h['cf-connecting-ip'] === undefined &&
      h['fly-client-ip'] === undefined
    ) {
      return;
    }
    const trusted = this.settings().trustedProxy.headers;
    if (trusted.some((t) => h[t.toLowerCase()] !== undefined)) return; // the configured header is there
    const header = COMMON_PROXY_HEADERS.find((c) => h[c.toLowerCase()] !== undefined) as string;
    const peer = req.socket.remoteAddress ?? 'the peer';
    const why = trusted.length === 0 ? 'settings.trustedProxy.headers is empty' : `none of settings.trustedProxy.headers (${trusted.join(', ')}) is present`;
    this.active = false;
    this.logger.warn(
      { header, peer, trustedHeaders: trusted },
      `Requests from ${peer} carry the ${header} header, but ${why}, so every client looks like ${peer} ` +
        `(one shared rate-limit window for all logins, one IP in the logs). If ${peer} is your reverse proxy, set settings.trustedProxy.headers ` +
        `to ["${header}"] (dashboard: Settings → Trusted proxy, or PATCH /api/settings). Said once.`,
    );
  }
}
