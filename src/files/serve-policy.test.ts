import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cacheControl, contentDisposition, isDownloadParam, isInlineSafe } from './serve-policy.js';

describe('serve policy', () => {
  it('shows only inert types inline', () => {
    for (const t of ['image/png', 'image/jpeg', 'video/mp4', 'audio/mpeg', 'application/pdf']) assert.ok(isInlineSafe(t), t);
    for (const t of ['text/html; charset=utf-8', 'image/svg+xml', 'text/xml', 'text/plain', 'application/javascript', 'application/octet-stream', 'application/json']) {
      assert.ok(!isInlineSafe(t), t);
    }
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
