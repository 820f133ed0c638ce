/**
 * IP lists in settings (`superuserIPs`, `rateLimits.excludedIPs`): entries are addresses or CIDR subnets,
 * IPv4 or IPv6, matched with Node's `net.BlockList`. IPv4 clients seen through an IPv6 socket
 * (`::ffff:a.b.c.d`) match their IPv4 entries.
 */
import { BlockList, isIP } from 'node:net';

/** Why `entry` is not an IP address or subnet, or null when it is one. */
export function ipOrSubnetError(entry: string): string | null {
  const [address = '', bits, ...rest] = entry.trim().split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return `"${entry.slice(0, 100)}" is not an IP address or subnet`;
  if (bits === undefined) return null;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${entry.slice(0, 100)}" has an invalid prefix length (0–${max})`;
  return null;
}

/**
 * A compiled list: `contains(ip)`. An invalid entry (settings are validated on save, so only a hand-edited
 * row has one) matches nobody, so an allowlist built on it fails closed.
 */
export class IpList {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const raw of entries) {
      if (ipOrSubnetError(raw) !== null) continue;
      const [address = '', bits] = raw.trim().split('/');
      const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(bits), type);
    }
  }

  contains(ip: string): boolean {
    if (this.empty) return false;
    const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)?.[1];
    const address = mapped ?? ip;
    const family = isIP(address);
    if (family === 0) return false;
    return this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

const compiled = new WeakMap<readonly string[], IpList>();

/** The list for a settings array, compiled once per array (settings updates replace it). */
export function ipListOf(entries: readonly string[]): IpList {
  let list = compiled.get(entries);
  if (!list) {
    list = new IpList(entries);
    compiled.set(entries, list);
  }
  return list;
}
