/** IP allowlists: addresses and subnets on both families, IPv4-mapped IPv6 clients, and hostile entries. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IpList, ipOrSubnetError } from './ip-list.js';

test('matches addresses and subnets of both families, and IPv4 clients seen through an IPv6 socket', () => {
  const list = new IpList(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', '::1']);
  for (const ip of ['10.1.2.3', '192.0.2.7', '::ffff:10.9.9.9', '2001:db8:1::5', '::1']) assert.equal(list.contains(ip), true, ip);
  for (const ip of ['11.0.0.1', '192.0.2.8', '::ffff:11.0.0.1', '2001:db9::1', '', 'localhost', '10.0.0.1; DROP']) assert.equal(list.contains(ip), false, ip);
});

test('an empty list contains nobody and says so; invalid entries match nobody (an allowlist fails closed)', () => {
  assert.equal(new IpList([]).contains('198.51.100.1'), false);
  assert.equal(new IpList([]).empty, true);
  assert.equal(new IpList(['nonsense']).empty, false);
  assert.equal(new IpList(['nonsense']).contains('198.51.100.1'), false);
  assert.equal(new IpList(['nonsense', '198.51.100.0/24']).contains('198.51.100.1'), true);
});

test('names what is wrong with an entry', () => {
  assert.equal(ipOrSubnetError('10.0.0.0/8'), null);
  assert.equal(ipOrSubnetError('fe80::/10'), null);
  assert.match(ipOrSubnetError('10.0.0.0/33') ?? '', /prefix length \(0–32\)/);
  assert.match(ipOrSubnetError('example.com') ?? '', /not an IP address/);
  assert.match(ipOrSubnetError('1.2.3.4/8/9') ?? '', /not an IP address/);
});

test('arbitrary entries and client addresses never throw', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 60 }), { maxLength: 5 }), fc.string({ maxLength: 60 }), (entries, ip) => {
      ipOrSubnetError(ip);
      new IpList(entries).contains(ip);
    }),
  );
});
