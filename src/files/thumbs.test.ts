import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { FileField } from '../collections/model.js';
import { pixelFloodPng } from './images.test-util.js';
import { allowedThumb, makeThumb, parseThumb, ThumbError } from './thumbs.js';

describe('thumb sizes', () => {
  it('parses every PocketBase form and refuses the rest', () => {
    assert.deepEqual(parseThumb('100x50'), { size: '100x50', width: 100, height: 50, mode: 'center' });
    assert.equal(parseThumb('100x50t')?.mode, 'top');
    assert.equal(parseThumb('100x50b')?.mode, 'bottom');
    assert.equal(parseThumb('100x50f')?.mode, 'fit');
    assert.equal(parseThumb('0x50')?.mode, 'aspect');
    assert.equal(parseThumb('50x0')?.mode, 'aspect');
    for (const bad of ['0x0', '100', 'x100', '100x100z', '-1x5', '99999x1', '1e3x5', '5000x10']) assert.equal(parseThumb(bad), null, bad);
  });

  it('allows only 100x100 and the field thumbs', () => {
    const field = { thumbs: ['200x0'] } as unknown as FileField;
    assert.ok(allowedThumb(field, '100x100'));
    assert.ok(allowedThumb(field, '200x0'));
    assert.equal(allowedThumb(field, '300x300'), null);
    assert.equal(allowedThumb(field, undefined), null);
  });
});

describe('makeThumb', () => {
  it('crops, fits and keeps the aspect ratio, in the source format', async () => {
    const src = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#f00' } })
      .png()
      .toBuffer();
    const crop = await sharp(await makeThumb(src, 'image/png', parseThumb('100x100')!)).metadata();
    assert.deepEqual([crop.width, crop.height, crop.format], [100, 100, 'png']);
    const fit = await sharp(await makeThumb(src, 'image/png', parseThumb('100x100f')!)).metadata();
    assert.deepEqual([fit.width, fit.height], [100, 50]);
    const aspect = await sharp(await makeThumb(src, 'image/png', parseThumb('0x50')!)).metadata();
    assert.deepEqual([aspect.width, aspect.height], [100, 50]);
    const jpg = await sharp({ create: { width: 50, height: 50, channels: 3, background: '#00f' } })
      .jpeg()
      .toBuffer();
    assert.equal((await sharp(await makeThumb(jpg, 'image/jpeg', parseThumb('20x20')!)).metadata()).format, 'jpeg');
  });

  it('refuses a pixel-flood PNG from its header and corrupt data, without crashing', async () => {
    const started = Date.now();
    await assert.rejects(makeThumb(pixelFloodPng(), 'image/png', parseThumb('100x100')!), ThumbError);
    assert.ok(Date.now() - started < 2000);
    await assert.rejects(makeThumb(Buffer.from('\x89PNG\r\n\x1a\ngarbage'), 'image/png', parseThumb('100x100')!), ThumbError);
  });
});
