import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { classifyAddress, parseIPv4, parseIPv6 } from './address.js';
import { allowedHostError, AllowList } from '../util/host-list.js';
import { checkUrl, type Resolver } from './guard.js';
import { isAppError } from '../errors/index.js';

const num = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
const dotted = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const hex4 = (n: number): string => `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;

/** Blocked IPv4 ranges and what they must be called. */
const BLOCKED_V4: Array<[number, number, string]> = [
  [num(10, 0, 0, 0), 8, 'private'],
  [num(172, 16, 0, 0), 12, 'private'],
  [num(192, 168, 0, 0), 16, 'private'],
  [num(127, 0, 0, 0), 8, 'loopback'],
  [num(169, 254, 0, 0), 16, 'link-local'],
  [num(100, 64, 0, 0), 10, 'shared (CGNAT)'],
  [num(224, 0, 0, 0), 4, 'multicast'],
  [num(240, 0, 0, 0), 4, '*'],
  [num(0, 0, 0, 0), 8, '*'],
];

/** An arbitrary address inside base/bits. */
const inRange = (base: number, bits: number) => fc.integer({ min: 0, max: bits === 32 ? 0 : 2 ** (32 - bits) - 1 }).map((offset) => (base + offset) >>> 0);

const anyBlockedV4 = fc.constantFrom(...BLOCKED_V4).chain(([base, bits, cls]) => inRange(base, bits).map((n) => ({ n, cls })));

/** The spellings an IPv6 address embedding `n` may take. */
function mappedForms(n: number): string[] {
  return [`::ffff:${dotted(n)}`, `::ffff:${hex4(n)}`, `0:0:0:0:0:ffff:${hex4(n)}`, `::FFFF:${dotted(n)}`, `[::ffff:${hex4(n)}]`];
}

/** Public unicast IPv4: not in any blocked or reserved range. */
const publicV4 = fc
  .tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
  .map(([a, b, c, d]) => num(a, b, c, d))
  .filter((n) => {
    const a = n >>> 24;
    const b = (n >>> 16) & 255;
    const c = (n >>> 8) & 255;
    if ([0, 10, 127].includes(a)) return false;
    if (a === 100 && b >= 64 && b < 128) return false;
    if (a === 169 && b === 254) return false;
    if (a === 172 && b >= 16 && b < 32) return false;
    if (a === 192 && (b === 168 || (b === 0 && (c === 0 || c === 2)) || (b === 88 && c === 99))) return false;
    if (a === 198 && (b === 18 || b === 19 || (b === 51 && c === 100))) return false;
    if (a === 203 && b === 0 && c === 113) return false;
    return true;
  });

describe('IPv4 classification', () => {
  it('every address in a blocked range is refused, with the range named', () => {
    fc.assert(
      fc.property(anyBlockedV4, ({ n, cls }) => {
        const got = classifyAddress(dotted(n));
        assert.notEqual(got, null, dotted(n));
        if (cls !== '*') assert.equal(got, cls, dotted(n));
      }),
      { numRuns: 2000 },
    );
  });

  it('IPv4-mapped and -compatible IPv6 forms of a blocked address are refused too', () => {
    fc.assert(
      fc.property(anyBlockedV4, ({ n }) => {
        for (const form of mappedForms(n)) assert.notEqual(classifyAddress(form), null, form);
        assert.notEqual(classifyAddress(`::${dotted(n)}`), null); // deprecated IPv4-compatible
        assert.notEqual(classifyAddress(`64:ff9b::${dotted(n)}`), null); // NAT64
        assert.notEqual(classifyAddress(`2002:${hex4(n)}::1`), null); // 6to4
      }),
      { numRuns: 500 },
    );
  });

  it('public addresses pass in every spelling, and their mapped forms pass', () => {
    fc.assert(
      fc.property(publicV4, (n) => {
        assert.equal(classifyAddress(dotted(n)), null, dotted(n));
        assert.equal(classifyAddress(String(n)), null);
        assert.equal(classifyAddress(`0x${n.toString(16)}`), null);
        for (const form of mappedForms(n)) assert.equal(classifyAddress(form), null, form);
      }),
      { numRuns: 1000 },
    );
  });

  it('legacy spellings (hex, octal, decimal, short forms) mean the same address', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        const a = n >>> 24;
        const rest24 = n & 0xffffff;
        const forms = [
          dotted(n),
          String(n),
          `0x${n.toString(16)}`,
          `0${n.toString(8)}`,
          `${a}.${rest24}`,
          `0x${a.toString(16)}.${(n >>> 16) & 255}.${n & 0xffff}`,
        ];
        for (const f of forms) assert.equal(parseIPv4(f), n, f);
        for (const f of forms) assert.equal(classifyAddress(f), classifyAddress(dotted(n)), f);
      }),
    );
    assert.equal(classifyAddress('0x7f.1'), 'loopback');
    assert.equal(classifyAddress('2130706433'), 'loopback');
    assert.equal(classifyAddress('0177.0.0.1'), 'loopback');
    assert.equal(classifyAddress('127.1'), 'loopback');
    assert.equal(classifyAddress('0xa9.0xfe.0xa9.0xfe'), 'link-local');
    assert.equal(parseIPv4('256.0.0.1'), null);
    assert.equal(parseIPv4('1.2.3.4.5'), null);
    assert.equal(parseIPv4('08.1.1.1'), null);
    assert.equal(parseIPv4('1.2.65536'), null);
  });

  it('names the special single addresses', () => {
    assert.equal(classifyAddress('0.0.0.0'), 'unspecified');
    assert.equal(classifyAddress('255.255.255.255'), 'broadcast');
    assert.equal(classifyAddress('169.254.169.254'), 'link-local');
    assert.equal(classifyAddress('100.64.0.1'), 'shared (CGNAT)');
    assert.equal(classifyAddress('100.128.0.1'), null);
    assert.equal(classifyAddress('172.32.0.1'), null);
    assert.equal(classifyAddress('8.8.8.8'), null);
    assert.equal(classifyAddress('not an address'), 'reserved', 'fails closed');
  });
});

describe('IPv6 classification', () => {
  const word = fc.integer({ min: 0, max: 0xffff });
  const withPrefix = (prefix: number[], mask: number[]) =>
    fc
      .array(word, { minLength: 8, maxLength: 8 })
      .map((ws) => ws.map((w, i) => (i < prefix.length ? (prefix[i] as number) | (w & ~(mask[i] as number) & 0xffff) : w)));
  const text = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');

  it('unique-local fc00::/7, link-local fe80::/10 and multicast ff00::/8 are refused', () => {
    fc.assert(fc.property(withPrefix([0xfc00], [0xfe00]), (ws) => assert.equal(classifyAddress(text(ws)), 'unique-local', text(ws))));
    fc.assert(fc.property(withPrefix([0xfe80], [0xffc0]), (ws) => assert.equal(classifyAddress(text(ws)), 'link-local', text(ws))));
    fc.assert(fc.property(withPrefix([0xff00], [0xff00]), (ws) => assert.equal(classifyAddress(text(ws)), 'multicast', text(ws))));
  });

  it('global unicast 2000::/3 outside the special blocks passes, in compressed and full spelling', () => {
    fc.assert(
      fc.property(
        withPrefix([0x2400], [0xfc00]), // 2400::/6, inside 2000::/3 and clear of 2001:, 2002:, 3fff:
        (ws) => {
          assert.equal(classifyAddress(text(ws)), null, text(ws));
          const full = ws.map((w) => w.toString(16).padStart(4, '0')).join(':');
          assert.equal(classifyAddress(full), null, full);
        },
      ),
    );
  });

  it('parses every spelling of one address to the same bytes', () => {
    fc.assert(
      fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), (ws) => {
        const full = text(ws);
        const bytes = parseIPv6(full);
        assert.ok(bytes);
        // Node's URL parser compresses the longest zero run: the canonical form must parse identically.
        const canonical = new URL(`http://[${full}]/`).hostname.slice(1, -1);
        assert.deepEqual(parseIPv6(canonical), bytes);
        assert.equal(classifyAddress(canonical), classifyAddress(full));
      }),
    );
  });

  it('names loopback, unspecified and the other special blocks', () => {
    assert.equal(classifyAddress('::1'), 'loopback');
    assert.equal(classifyAddress('[::1]'), 'loopback');
    assert.equal(classifyAddress('0:0:0:0:0:0:0:1'), 'loopback');
    assert.equal(classifyAddress('::'), 'unspecified');
    assert.equal(classifyAddress('::ffff:127.0.0.1'), 'loopback');
    assert.equal(classifyAddress('::ffff:7f00:1'), 'loopback');
    assert.equal(classifyAddress('::ffff:169.254.169.254'), 'link-local');
    assert.equal(classifyAddress('::ffff:a9fe:a9fe'), 'link-local');
    assert.equal(classifyAddress('::ffff:0.0.0.0'), 'unspecified');
    assert.equal(classifyAddress('fe80::1%eth0'), 'link-local');
    assert.equal(classifyAddress('fd00:ec2::254'), 'unique-local');
    assert.equal(classifyAddress('fec0::1'), 'site-local');
    assert.equal(classifyAddress('2001:db8::1'), 'documentation');
    assert.equal(classifyAddress('2001::1'), 'Teredo');
    assert.equal(classifyAddress('2002:7f00:1::'), 'loopback');
    assert.equal(classifyAddress('2002:808:808::1'), null);
    assert.equal(classifyAddress('64:ff9b::8.8.8.8'), null);
    assert.equal(classifyAddress('64:ff9b::10.0.0.1'), 'private');
    assert.equal(classifyAddress('2606:4700::1111'), null);
    assert.equal(classifyAddress('1:2:3'), 'reserved', 'fails closed');
  });
});

describe('allow-list', () => {
  it('validates entries: host names, wildcards, addresses and subnets', () => {
    for (const ok of ['api.example.com', '*.example.com', 'localhost', '127.0.0.1', '::1', '[::1]', '10.0.0.0/8', 'fd00::/8', 'my_host.internal']) {
      assert.equal(allowedHostError(ok), null, ok);
    }
    for (const bad of ['', ' ', 'http://x.com', 'x.com/path', '10.0.0.0/33', '999.1.1.1', '*.', 'a..b', 'exa mple.com', 'x.com:80', '-x.com']) {
      assert.notEqual(allowedHostError(bad), null, bad);
    }
  });

  it('matches names exactly or by wildcard, and addresses by subnet (mapped IPv4 too)', () => {
    const list = new AllowList(['api.example.com', '*.internal.test', '10.1.0.0/16', '::1']);
    assert.ok(list.allowsName('API.example.com.'));
    assert.ok(!list.allowsName('example.com'));
    assert.ok(list.allowsName('a.b.internal.test'));
    assert.ok(!list.allowsName('internal.test'));
    assert.ok(list.allowsAddress('10.1.2.3'));
    assert.ok(list.allowsAddress('::ffff:10.1.2.3'));
    assert.ok(!list.allowsAddress('10.2.0.1'));
    assert.ok(list.allowsAddress('::1'));
    assert.ok(!new AllowList(['bad entry!']).allowsName('bad entry!'), 'a bad entry matches nothing');
  });
});

describe('checkUrl', () => {
  const resolver =
    (map: Record<string, string[]>): Resolver =>
    async (h) => {
      const found = map[h];
      if (!found) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
  const refusedWith = async (p: Promise<unknown>, re: RegExp) => {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(isAppError(err) && err.code === 'outbound_refused', String(err));
      assert.match(err.message, re);
      return true;
    });
  };

  it('refuses schemes, credentials and blocked literals in every spelling', async () => {
    const r = resolver({});
    await refusedWith(checkUrl('file:///etc/passwd', [], r), /only http and https/);
    await refusedWith(checkUrl('gopher://x.example/', [], r), /only http and https/);
    await refusedWith(checkUrl('http://user:pw@example.com/', [], r), /credentials/);
    await refusedWith(checkUrl('not a url', [], r), /not a valid absolute URL/);
    for (const u of [
      'http://127.0.0.1/',
      'http://0x7f.1/',
      'http://2130706433/',
      'http://0177.0.0.1/',
      'http://127.1/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:7f00:1]/',
      'http://0.0.0.0/',
      'http://[::]/',
    ]) {
      await refusedWith(checkUrl(u, [], r), /loopback|unspecified|reserved/);
    }
    await refusedWith(checkUrl('http://169.254.169.254/latest/meta-data/', [], r), /169\.254\.169\.254 is the cloud metadata address/);
    await refusedWith(checkUrl('http://[fe80::1]/', [], r), /link-local/);
    await refusedWith(checkUrl('http://[::ffff:169.254.169.254]/', [], r), /::ffff:a9fe:a9fe \(169\.254\.169\.254\) is the cloud metadata address/);
    await refusedWith(checkUrl('http://100.100.100.200/', [], r), /CGNAT/);
    await refusedWith(checkUrl('http://224.0.0.1/', [], r), /multicast/);
    await refusedWith(checkUrl('http://255.255.255.255/', [], r), /broadcast/);
  });

  it('refuses names that resolve to a blocked address (any of them), and metadata-style names', async () => {
    const r = resolver({
      'evil.example': ['93.184.216.34', '10.0.0.5'],
      'good.example': ['93.184.216.34', '2606:2800:220:1::'],
      'metadata.google.internal': ['169.254.169.254'],
    });
    await refusedWith(checkUrl('http://evil.example/', [], r), /evil\.example resolves to 10\.0\.0\.5 is a private address/);
    const ok = await checkUrl('https://good.example/x', [], r);
    assert.deepEqual(
      ok.addresses.map((a) => a.address),
      ['93.184.216.34', '2606:2800:220:1::'],
    );
    await refusedWith(checkUrl('http://metadata.google.internal/computeMetadata/v1/', [], r), /metadata/);
    await refusedWith(checkUrl('http://localhost/', [], r), /names the local machine/);
    await assert.rejects(checkUrl('http://nowhere.example/', [], r), (e: unknown) => isAppError(e) && e.code === 'outbound_failed');
  });

  it('lets allow-listed hosts and addresses through', async () => {
    const r = resolver({ 'svc.corp.test': ['10.0.0.7'], localhost: ['127.0.0.1', '::1'] });
    assert.equal((await checkUrl('http://127.0.0.1:9/', ['127.0.0.1'], r)).host, '127.0.0.1');
    assert.equal((await checkUrl('http://[::ffff:127.0.0.1]/', ['127.0.0.1'], r)).host, '::ffff:7f00:1');
    assert.ok(await checkUrl('http://svc.corp.test/', ['svc.corp.test'], r));
    assert.ok(await checkUrl('http://svc.corp.test/', ['10.0.0.0/8'], r));
    assert.ok(await checkUrl('http://svc.corp.test/', ['*.corp.test'], r));
    assert.ok(await checkUrl('http://localhost/', ['127.0.0.1', '::1'], r), 'a blocked name passes when all its addresses are listed');
    await refusedWith(checkUrl('http://localhost/', ['127.0.0.1'], r), /localhost/);
    await refusedWith(checkUrl('http://svc.corp.test/', ['10.1.0.0/16'], r), /10\.0\.0\.7/);
  });
});
