/**
 * The SSRF guard: decides whether a URL may be fetched and, when it may, which addresses to connect to.
 * DNS is resolved here (every address of the name), every address is checked, and the caller connects to
 * exactly those addresses (pinned), so a second, different DNS answer (rebinding) never reaches a socket.
 *
 * Used by the HTTP client (every hop of a redirect chain) and meant for any feature that calls a URL a user
 * configured (webhooks): `checkUrl(url, allowedHosts)` before saving gives the same verdict early.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { AppError } from '../errors/index.js';
import { blockedHostName, classifyAddress, parseIPv6 } from './address.js';
import { allowListOf } from '../util/host-list.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to all its addresses (default: the system resolver, `dns.lookup` with `all`). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

export interface CheckedTarget {
  url: URL;
  /** The host to connect to: a name (connected through the pinned addresses) or an IP literal, without brackets. */
  host: string;
  /** The checked addresses; the connection uses only these. */
  addresses: ResolvedAddress[];
}

/** An allowed-or-refused verdict for a URL; thrown as `outbound_refused`. */
export function refused(url: URL | string, why: string): AppError {
  const shown = typeof url === 'string' ? url.slice(0, 200) : `${url.protocol}//${url.host}`;
  return new AppError('outbound_refused', `Outbound request to ${shown} refused: ${why}.`);
}

/** `::ffff:a.b.c.d` (any spelling) → `a.b.c.d`; other addresses unchanged. */
export function unmapIPv4(ip: string): string {
  if (!ip.includes(':')) return ip;
  const b = parseIPv6(ip);
  if (!b || !b.subarray(0, 10).every((x) => x === 0) || b[10] !== 0xff || b[11] !== 0xff) return ip;
  return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
}

function describe(ip: string, cls: string): string {
  const article = /^[aeiou]/i.test(cls) ? 'an' : 'a';
  const v4 = unmapIPv4(ip);
  const shown = v4 === ip ? ip : `${ip} (${v4})`;
  return v4 === '169.254.169.254' || ip === 'fd00:ec2::254' ? `${shown} is the cloud metadata address (${cls})` : `${shown} is ${article} ${cls} address`;
}

/** Parses and checks the URL's scheme and credentials (no DNS). */
export function parseOutboundUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw refused(String(input), 'it is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refused(url, `only http and https URLs are allowed, not ${url.protocol.replace(/:$/, '')}`);
  if (url.username !== '' || url.password !== '')
    throw refused(url, 'URLs with credentials (user:password@) are not allowed; send an Authorization header instead');
  if (url.hostname === '') throw refused(url, 'the URL has no host');
  return url;
}

/**
 * Checks `input` against the guard and resolves it. Throws `outbound_refused` naming the host and the reason,
 * or `outbound_failed` when the name does not resolve.
 */
export async function checkUrl(input: string | URL, allowedHosts: readonly string[], resolve: Resolver = systemResolver): Promise<CheckedTarget> {
  const url = parseOutboundUrl(input);
  const allow = allowListOf(allowedHosts);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const family = isIP(host);
  if (family !== 0) {
    const cls = classifyAddress(host);
    if (cls && !allow.allowsAddress(unmapIPv4(host)) && !allow.allowsName(host)) {
      throw refused(url, `${describe(host, cls)} (add it to settings.outbound.allowedHosts to allow it)`);
    }
    return { url, host, addresses: [{ address: host, family: family === 6 ? 6 : 4 }] };
  }
  const nameAllowed = allow.allowsName(host);
  // A name like localhost or metadata.google.internal is refused for what it names, wherever it points,
  // unless every address it resolves to is allow-listed by address.
  const nameProblem = nameAllowed ? null : blockedHostName(host);
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    if (nameProblem) throw refused(url, `the host name ${host} ${nameProblem} (add it to settings.outbound.allowedHosts to allow it)`);
    const code = (err as { code?: string }).code;
    throw new AppError(
      'outbound_failed',
      `Outbound request to ${url.protocol}//${url.host} failed: the host name ${host} did not resolve${code ? ` (${code})` : ''}.`,
      undefined,
      { cause: err },
    );
  }
  if (nameProblem && (addresses.length === 0 || !addresses.every((a) => allow.allowsAddress(unmapIPv4(a.address))))) {
    throw refused(url, `the host name ${host} ${nameProblem} (add it, or all of its addresses, to settings.outbound.allowedHosts to allow it)`);
  }
  if (addresses.length === 0)
    throw new AppError('outbound_failed', `Outbound request to ${url.protocol}//${url.host} failed: the host name ${host} has no addresses.`);
  if (!nameAllowed) {
    for (const a of addresses) {
      const cls = classifyAddress(a.address);
      if (cls && !allow.allowsAddress(unmapIPv4(a.address))) {
        throw refused(url, `${host} resolves to ${describe(a.address, cls)} (add the host or address to settings.outbound.allowedHosts to allow it)`);
      }
    }
  }
  return { url, host, addresses };
}
