import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cacheControl, contentDisposition, isDownloadParam, isInlineSafe } from './serve-policy.js';
import { detectFileType } from './sniff.js';

const NAMES = ['x.png', 'x.jpg', 'x.gif', 'x.pdf', 'x.mp4', 'x.csv', 'x.txt', 'x.md', 'x.doc', 'x', 'x.html', 'x.svg'];

describe('serve policy', () => {
  it('shows only inert types inline', () => {
    for (const t of ['image/png', 'image/jpeg', 'video/mp4', 'audio/mpeg', 'application/pdf']) assert.ok(isInlineSafe(t), t);
    for (const t of [
      'text/html; charset=utf-8',
      'image/svg+xml',
      'text/xml',
      'text/plain',
      'application/javascript',
      'application/octet-stream',
      'application/json',
    ]) {
      assert.ok(!isInlineSafe(t), t);
    }
  });

  it('never shows HTML, SVG or XML inline, whatever the name, as the detector sees them', async () => {
    const hostile = [
      '<!DOCTYPE html><script>alert(1)</script>',
      '\ufeff  <html><body onload=alert(1)>',
      '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
      '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
      '<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>',
      '<iframe src="javascript:alert(1)"></iframe>',
      'name,value\n<script>alert(1)</script>,2\n',
    ];
    for (const text of hostile) {
      for (const name of NAMES) {
        for (const data of [Buffer.from(text, 'utf8'), Buffer.from(`\ufeff${text}`, 'utf16le')]) {
          const { type } = await detectFileType(data, name);
          assert.ok(!isInlineSafe(type), `${JSON.stringify(text)} as ${name} → ${type}`);
          assert.match(contentDisposition(type, name, false), /^attachment;/);
        }
      }
    }
  });

  it('text of any shape is never inline (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('', ' ', '<', '<svg ', '<html>', '<?xml ', '{', 'a,b\n'),
        fc.string(),
        fc.constantFrom(...NAMES),
        async (prefix, rest, name) => {
          const { type } = await detectFileType(Buffer.from(prefix + rest, 'utf8'), name);
          return !isInlineSafe(type) || type === 'application/pdf';
        },
      ),
      { numRuns: 300 },
    );
  });

  it('builds dispositions with safe names, attachment on ?download', () => {
    assert.equal(contentDisposition('image/png', 'a_1.png', false), 'inline; filename="a_1.png"');
    assert.equal(contentDisposition('image/png', 'a_1.png', true), 'attachment; filename="a_1.png"');
    assert.equal(contentDisposition('text/html', 'x".html', false), 'attachment; filename="x_.html"');
    assert.ok(isDownloadParam('1') && isDownloadParam('true') && !isDownloadParam('0') && !isDownloadParam(undefined) && !isDownloadParam('yes'));
    assert.equal(cacheControl(false), 'max-age=2592000, stale-while-revalidate=86400');
    assert.match(cacheControl(true), /^private, /);
  });
});
