import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { baseMime, extensionFor, mimeAllowed, sniffMime } from './sniff.js';

const b = (...xs: number[]) => Buffer.from(xs);
const t = (s: string) => Buffer.from(s, 'utf8');

describe('sniffMime', () => {
  it('recognises binary formats by their magic numbers', () => {
    const cases: Array<[Buffer, string]> = [
      [b(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0), 'image/png'],
      [b(0xff, 0xd8, 0xff, 0xe0, 0, 0x10), 'image/jpeg'],
      [t('GIF89a\x01\x00'), 'image/gif'],
      [Buffer.concat([t('RIFF'), b(0, 0, 0, 0), t('WEBPVP8 ')]), 'image/webp'],
      [Buffer.concat([t('RIFF'), b(0, 0, 0, 0), t('WAVEfmt ')]), 'audio/wav'],
      [t('%PDF-1.7\n'), 'application/pdf'],
      [Buffer.concat([b(0, 0, 0, 0x18), t('ftypisom'), b(0, 0, 2, 0)]), 'video/mp4'],
      [Buffer.concat([b(0, 0, 0, 0x1c), t('ftypavif')]), 'image/avif'],
      [Buffer.concat([t('PK\x03\x04'), Buffer.alloc(26), t('word/document.xml')]), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
      [Buffer.concat([t('PK\x03\x04'), Buffer.alloc(26), t('hello.txt')]), 'application/zip'],
      [b(0x1f, 0x8b, 8, 0), 'application/gzip'],
      [b(0x1a, 0x45, 0xdf, 0xa3, 0x42, 0x82, 0x84, ...[...'webm'].map((c) => c.charCodeAt(0))), 'video/webm'],
      [Buffer.concat([t('BM'), b(0x46, 0, 0, 0, 0, 0, 0, 0)]), 'image/bmp'],
      [Buffer.concat([t('ID3'), b(4, 0, 0, 0)]), 'audio/mpeg'],
    ];
    for (const [data, type] of cases) assert.equal(sniffMime(data), type, type);
  });

  it('tells HTML, SVG, XML, JSON and plain text apart (after a BOM and whitespace)', () => {
    assert.equal(sniffMime(t('\ufeff  <!DOCTYPE html><p>x')), 'text/html; charset=utf-8');
    assert.equal(sniffMime(t('<script>alert(1)</script>')), 'text/html; charset=utf-8');
    assert.equal(sniffMime(t('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')), 'image/svg+xml');
    assert.equal(sniffMime(t('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>')), 'image/svg+xml');
    assert.equal(sniffMime(t('<?xml version="1.0"?><note/>')), 'text/xml; charset=utf-8');
    assert.equal(sniffMime(t('{"a": [1, 2]}')), 'application/json');
    assert.equal(sniffMime(t('{not json')), 'text/plain; charset=utf-8');
    assert.equal(sniffMime(t('hello, world\n')), 'text/plain; charset=utf-8');
    assert.equal(sniffMime(t('BMW and MZ are just words')), 'text/plain; charset=utf-8');
    assert.equal(sniffMime(Buffer.alloc(0)), 'text/plain; charset=utf-8');
  });

  it('calls other binary data octet-stream, and never trusts a name', () => {
    assert.equal(sniffMime(b(0, 1, 2, 3, 250, 251)), 'application/octet-stream');
    // A "PNG" that is text is text.
    assert.equal(sniffMime(t('I am not a PNG')), 'text/plain; charset=utf-8');
  });

  it('keeps a multi-byte character cut at the sniff boundary as text', () => {
    const text = Buffer.from('é'.repeat(3000), 'utf8'); // 6000 bytes, cut mid-character at 4096? 4096 is even: cut after a full char
    assert.equal(sniffMime(Buffer.concat([t('a'), text])), 'text/plain; charset=utf-8');
  });
});

describe('mimeAllowed', () => {
  it('matches base types and aliases exactly, never a parent type', () => {
    assert.ok(mimeAllowed('image/jpeg', ['image/jpg']));
    assert.ok(mimeAllowed('text/plain; charset=utf-8', ['text/plain']));
    assert.ok(!mimeAllowed('text/html; charset=utf-8', ['text/plain']));
    assert.ok(!mimeAllowed('image/svg+xml', ['image/png', 'image/jpeg']));
    assert.equal(baseMime(' Text/HTML ; charset=x'), 'text/html');
  });

  it('derives extensions for types', () => {
    assert.equal(extensionFor('image/jpeg'), 'jpg');
    assert.equal(extensionFor('image/png'), 'png');
    assert.equal(extensionFor('text/plain; charset=utf-8'), 'txt');
    assert.equal(extensionFor('application/octet-stream'), '');
  });
});
