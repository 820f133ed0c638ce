/**
 * The SSRF guard's address classifier: which IP addresses and host names an outbound request must not
 * reach (private networks, loopback, link-local incl. cloud metadata, CGNAT, multicast, reserved ranges),
 * with every IPv6 form that embeds an IPv4 address (mapped, compatible, NAT64, 6to4) judged by that address.
 *
 * Addresses are parsed to bytes here rather than matched as text, so `::ffff:7f00:1`, `::ffff:127.0.0.1`
 * and `0:0:0:0:0:ffff:7f00:0001` are one address. Legacy IPv4 spellings (`0x7f.1`, `2130706433`, `0177.0.0.1`)
 * are normalised by the WHATWG URL parser before they get here; `parseIPv4` accepts them too, so a caller
 * that classifies a raw host string gets the same answer.
 */
import { isIP } from 'node:net';

/** Why an address is refused; null when it is a public unicast address. */
export type AddressClass =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared (CGNAT)'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'documentation'
  | 'benchmarking'
  | 'unique-local'
  | 'site-local'
  | 'NAT64 local-use'
  | 'Teredo';

interface V4Range {
  base: number;
  bits: number;
  class: AddressClass;
}

const v4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/** Most specific first (255.255.255.255 before 240/4). */
const V4_BLOCKED: readonly V4Range[] = [
  { base: v4(255, 255, 255, 255), bits: 32, class: 'broadcast' },
  { base: v4(0, 0, 0, 0), bits: 32, class: 'unspecified' },
  { base: v4(0, 0, 0, 0), bits: 8, class: 'reserved' }, // "this network"
  { base: v4(10, 0, 0, 0), bits: 8, class: 'private' },
  { base: v4(100, 64, 0, 0), bits: 10, class: 'shared (CGNAT)' },
  { base: v4(127, 0, 0, 0), bits: 8, class: 'loopback' },
  { base: v4(169, 254, 0, 0), bits: 16, class: 'link-local' }, // incl. 169.254.169.254 (cloud metadata)
  { base: v4(172, 16, 0, 0), bits: 12, class: 'private' },
  { base: v4(192, 0, 0, 0), bits: 24, class: 'reserved' }, // IETF protocol assignments
  { base: v4(192, 0, 2, 0), bits: 24, class: 'documentation' },
  { base: v4(192, 88, 99, 0), bits: 24, class: 'reserved' }, // deprecated 6to4 relay anycast
  { base: v4(192, 168, 0, 0), bits: 16, class: 'private' },
  { base: v4(198, 18, 0, 0), bits: 15, class: 'benchmarking' },
  { base: v4(198, 51, 100, 0), bits: 24, class: 'documentation' },
  { base: v4(203, 0, 113, 0), bits: 24, class: 'documentation' },
  { base: v4(224, 0, 0, 0), bits: 4, class: 'multicast' },
  { base: v4(240, 0, 0, 0), bits: 4, class: 'reserved' },
];

function inV4(addr: number, r: V4Range): boolean {
  if (r.bits === 0) return true;
  const mask = r.bits === 32 ? 0xffffffff : ~((1 << (32 - r.bits)) - 1) >>> 0;
  return (addr & mask) >>> 0 === r.base;
}

/** The class of an IPv4 address given as a 32-bit number. */
export function classifyIPv4Number(addr: number): AddressClass | null {
  for (const r of V4_BLOCKED) if (inV4(addr, r)) return r.class;
  return null;
}

/**
 * An IPv4 address as a 32-bit number, accepting what `inet_aton` (and the WHATWG URL parser) accept:
 * 1–4 parts, each decimal, octal (leading 0) or hex (0x); the last part fills the remaining bytes.
 * Null when `text` is not one.
 */
export function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // a trailing dot, as the URL parser allows
  if (parts.length === 0 || parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    let n: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(p)) n = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]+$/.test(p)) n = parseInt(p.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(p)) n = Number(p);
    else return null;
    if (!Number.isSafeInteger(n)) return null;
    nums.push(n);
  }
  const last = nums.pop() as number;
  for (const n of nums) if (n > 255) return null;
  const rest = 4 - nums.length;
  if (last >= 256 ** rest) return null;
  let out = 0;
  for (const n of nums) out = out * 256 + n;
  return out * 256 ** rest + last;
}

/** An IPv6 address (no brackets, no zone) as 16 bytes; null when it is not one. */
export function parseIPv6(text: string): Uint8Array | null {
  const zone = text.indexOf('%');
  const addr = zone === -1 ? text : text.slice(0, zone);
  if (isIP(addr) !== 6) return null;
  let head = addr;
  const words: number[] = [];
  // A trailing dotted IPv4 part becomes two words.
  const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(addr);
  let tailWords: number[] = [];
  if (dotted) {
    const n = parseIPv4(dotted[2] as string);
    if (n === null) return null;
    tailWords = [n >>> 16, n & 0xffff];
    head = dotted[1] as string;
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const [left = '', right, ...more] = head.split('::');
  if (more.length) return null;
  const toWords = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const l = toWords(left);
  const r = right === undefined ? [] : toWords(right);
  const fill = 8 - l.length - r.length - tailWords.length;
  if (fill < 0 || (right === undefined && fill !== 0)) return null;
  words.push(...l, ...new Array<number>(right === undefined ? 0 : fill).fill(0), ...r, ...tailWords);
  if (words.length !== 8 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return null;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

const v4At = (b: Uint8Array, i: number): number =>
  (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number)) >>> 0;
const zeros = (b: Uint8Array, from: number, to: number): boolean => b.subarray(from, to).every((x) => x === 0);

/** The class of an IPv6 address given as 16 bytes; addresses embedding an IPv4 one are judged by it. */
export function classifyIPv6Bytes(b: Uint8Array): AddressClass | null {
  const b0 = b[0] as number;
  const b1 = b[1] as number;
  if (zeros(b, 0, 10)) {
    const w5 = ((b[10] as number) << 8) | (b[11] as number);
    if (w5 === 0xffff) return classifyIPv4Number(v4At(b, 12)); // ::ffff:a.b.c.d (IPv4-mapped)
    if (w5 === 0) {
      if (zeros(b, 10, 15)) {
        if (b[15] === 0) return 'unspecified'; // ::
        if (b[15] === 1) return 'loopback'; // ::1
      }
      return classifyIPv4Number(v4At(b, 12)) ?? 'reserved'; // ::a.b.c.d (IPv4-compatible, deprecated)
    }
    return 'reserved'; // ::/80 others (e.g. ::ffff:0:a.b.c.d, SIIT)
  }
  // 64:ff9b::/96 (NAT64 well-known prefix): the IPv4 address it translates to.
  if (b0 === 0x00 && b1 === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
    if (zeros(b, 4, 12)) return classifyIPv4Number(v4At(b, 12));
    if (b[4] === 0x00 && b[5] === 0x01) return 'NAT64 local-use'; // 64:ff9b:1::/48
    return 'reserved';
  }
  if (b0 === 0x01 && b1 === 0x00 && zeros(b, 2, 8)) return 'reserved'; // 100::/64 discard-only
  if (b0 === 0x20 && b1 === 0x01) {
    if (b[2] === 0x00 && b[3] === 0x00) return 'Teredo'; // 2001::/32: tunnels to an obfuscated IPv4 client
    if (b[2] === 0x0d && b[3] === 0xb8) return 'documentation'; // 2001:db8::/32
    if (b[2] === 0x00 && ((b[3] as number) & 0xf0) === 0x10) return 'reserved'; // 2001:10::/28 ORCHID
  }
  if (b0 === 0x20 && b1 === 0x02) return classifyIPv4Number(v4At(b, 2)); // 2002::/16 6to4: the embedded IPv4
  if (b0 === 0x3f && b1 === 0xff && ((b[2] as number) & 0xf0) === 0) return 'documentation'; // 3fff::/20
  if ((b0 & 0xfe) === 0xfc) return 'unique-local'; // fc00::/7
  if (b0 === 0xfe && (b1 & 0xc0) === 0x80) return 'link-local'; // fe80::/10
  if (b0 === 0xfe && (b1 & 0xc0) === 0xc0) return 'site-local'; // fec0::/10 (deprecated)
  if (b0 === 0xff) return 'multicast'; // ff00::/8
  return null;
}

/**
 * Why `ip` (an IPv4 or IPv6 address, IPv6 without brackets) may not be reached, or null when it is a public
 * address. Anything that is not an address at all is `reserved` (fail closed).
 */
export function classifyAddress(ip: string): AddressClass | null {
  const text = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  if (text.includes(':')) {
    const bytes = parseIPv6(text);
    return bytes ? classifyIPv6Bytes(bytes) : 'reserved';
  }
  const n = parseIPv4(text);
  return n === null ? 'reserved' : classifyIPv4Number(n);
}

/** The IPv4 address a (possibly legacy-spelled) IPv4 host means, in dotted form; null when `host` is not one. */
export function normaliseIPv4(host: string): string | null {
  const n = parseIPv4(host);
  if (n === null) return null;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * Names refused before any DNS lookup: they name the machine itself, the local network or a cloud
 * provider's metadata service (`metadata.google.internal`, AWS's `instance-data`), wherever DNS points them.
 */
export function blockedHostName(hostname: string): string | null {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return 'names the local machine';
  if (h === 'metadata' || h === 'instance-data' || h.startsWith('metadata.') || h.endsWith('.internal')) {
    return 'is a cloud metadata or internal name';
  }
  if (h.endsWith('.local') || h.endsWith('.localdomain') || h.endsWith('.home.arpa') || h.endsWith('.lan')) return 'is a local-network name';
  if (!h.includes('.')) return 'is a single-label (local) name';
  return null;
}
