/**
 * `settings.outbound.allowedHosts`: the exceptions to the SSRF guard. An entry is a host name (exact, or
 * `*.example.com` for its subdomains), an IP address or a CIDR subnet (src/util/ip-list.ts). A host name
 * entry lets that name through with whatever it resolves to; an address entry lets those addresses through
 * whichever name led to them.
 */
import { isIP } from 'node:net';
import { IpList, ipOrSubnetError } from '../util/ip-list.js';

const HOST_LABELS = /^(\*\.)?([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/i;

/** Why `entry` is not a valid allow-list entry, or null when it is one. */
export function allowedHostError(entry: string): string | null {
  const e = entry.trim();
  if (e === '') return 'an entry is empty';
  const bare = e.startsWith('[') && e.endsWith(']') ? e.slice(1, -1) : e;
  if (isIP(bare) !== 0 || /^[0-9a-f:.]+\/\d+$/i.test(bare)) return ipOrSubnetError(bare);
  if (e.length > 253 || !HOST_LABELS.test(e)) return `"${e.slice(0, 100)}" is not a host name, IP address or subnet`;
  if (/^[0-9.]+$/.test(e)) return `"${e.slice(0, 100)}" is not a valid IP address`;
  return null;
}

export class AllowList {
  private readonly names = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly ips: IpList;
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    const ipEntries: string[] = [];
    for (const raw of entries) {
      if (allowedHostError(raw) !== null) continue; // fail closed on a hand-edited bad entry
      const e = raw.trim().toLowerCase();
      const bare = e.startsWith('[') && e.endsWith(']') ? e.slice(1, -1) : e;
      if (isIP(bare) !== 0 || bare.includes('/')) ipEntries.push(bare);
      else if (e.startsWith('*.')) this.suffixes.push(e.slice(1));
      else this.names.add(e.replace(/\.$/, ''));
    }
    this.ips = new IpList(ipEntries);
    this.empty = entries.length === 0;
  }

  /** Whether the host name (lower case, no trailing dot) is listed. */
  allowsName(hostname: string): boolean {
    if (this.empty) return false;
    const h = hostname.toLowerCase().replace(/\.$/, '');
    return this.names.has(h) || this.suffixes.some((s) => h.endsWith(s));
  }

  /** Whether the address is listed (IPv4-mapped IPv6 matches its IPv4 entries). */
  allowsAddress(ip: string): boolean {
    return !this.empty && this.ips.contains(ip);
  }
}

const compiled = new WeakMap<readonly string[], AllowList>();

/** The compiled list for a settings array, once per array (a settings update replaces the array). */
export function allowListOf(entries: readonly string[]): AllowList {
  let list = compiled.get(entries);
  if (!list) {
    list = new AllowList(entries);
    compiled.set(entries, list);
  }
  return list;
}
