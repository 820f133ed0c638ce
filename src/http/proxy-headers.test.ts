import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { defaultSettings, type Settings } from '../settings/index.js';
import { possibleProxyHeader, UntrustedProxyWatch } from './proxy-headers.js';

const req = (headers: Record<string, string>) => ({ headers, socket: { remoteAddress: '10.0.0.2' } }) as unknown as FastifyRequest;

function watch(trusted: string[]) {
  const lines: { msg: string; header: string }[] = [];
  const settings: Settings = { ...defaultSettings(), trustedProxy: { headers: trusted, useLeftmostIP: false } };
  const w = new UntrustedProxyWatch(() => settings, pino({}, { write: (l: string) => void lines.push(JSON.parse(l)) }));
  return { w, lines, settings };
}

describe('untrusted proxy headers', () => {
  it('no proxy header: no warning, the watch stays on', () => {
    const { w, lines } = watch([]);
    w.check(req({ 'user-agent': 'x' }));
    assert.equal(w.active, true);
    assert.equal(lines.length, 0);
  });

  it('a proxy header with trustedProxy empty: one warning, then the watch is off', () => {
    const { w, lines } = watch([]);
    w.check(req({ 'x-real-ip': '1.2.3.4' }));
    assert.equal(w.active, false);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.header, 'X-Real-IP');
    assert.match(lines[0]!.msg, /from 10\.0\.0\.2 carry the X-Real-IP header, but settings\.trustedProxy\.headers is empty/);
  });

  it('trusted headers configured and present: no warning; configured but absent: a warning naming them', () => {
    const ok = watch(['CF-Connecting-IP']);
    ok.w.check(req({ 'cf-connecting-ip': '1.2.3.4', 'x-forwarded-for': '1.2.3.4' }));
    assert.equal(ok.lines.length, 0);
    assert.equal(ok.w.active, true);
    const wrong = watch(['X-Real-IP']);
    wrong.w.check(req({ 'x-forwarded-for': '1.2.3.4' }));
    assert.equal(wrong.lines.length, 1);
    assert.match(wrong.lines[0]!.msg, /none of settings\.trustedProxy\.headers \(X-Real-IP\) is present/);
  });

  it('possibleProxyHeader: trusted headers first, then PocketBase’s common ones', () => {
    const s = { ...defaultSettings(), trustedProxy: { headers: ['X-Client'], useLeftmostIP: false } };
    assert.equal(possibleProxyHeader(req({ 'x-forwarded-for': 'a', 'x-client': 'b' }), s), 'X-Client');
    assert.equal(possibleProxyHeader(req({ 'x-forwarded-for': 'a', 'fly-client-ip': 'b' }), s), 'Fly-Client-IP');
    assert.equal(possibleProxyHeader(req({}), s), '');
  });
});
