/**
 * The S3 back end against a real S3-compatible server (s3rver, started as a child process): settings
 * switch storage at runtime, uploads/downloads/Range/thumbnails/deletes go to the bucket, and
 * POST /api/settings/test/s3 reports success (204) or the service's reason (400).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ClientResponseError } from 'pocketbase';
import sharp from 'sharp';
import { S3Client } from '../../src/files/s3/client.js';
import { collect } from '../../src/files/storage.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startS3rver, type S3Server } from './files-s3rver.js';

let s: TestServer;
let s3: S3Server;
let bucket: S3Client;
let collectionId = '';

const s3Settings = () => ({
  enabled: true,
  bucket: s3.bucket,
  region: 'us-east-1',
  endpoint: s3.endpoint,
  accessKey: s3.accessKey,
  secret: s3.secret,
  forcePathStyle: true,
});
const keys = (prefix: string) => bucket.list(prefix);

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    assert.ok(err instanceof ClientResponseError);
    return err.status;
  }
}

describe('files on S3', () => {
  before(async () => {
    [s3, s] = await Promise.all([startS3rver(), startServer()]);
    bucket = new S3Client({ bucket: s3.bucket, region: '', endpoint: s3.endpoint, accessKey: s3.accessKey, secret: s3.secret, forcePathStyle: true });
    const c = await s.admin.collections.create({
      name: 'media',
      type: 'base',
      fields: [
        { name: 'image', type: 'file', maxSelect: 1, mimeTypes: ['image/png'] },
        { name: 'notes', type: 'file', maxSelect: 2 },
      ],
      listRule: '',
      viewRule: '',
      createRule: '',
      updateRule: '',
      deleteRule: '',
    });
    collectionId = c.id;
    await s.admin.settings.update({ s3: s3Settings() });
  });

  after(async () => {
    await s?.close();
    await s3?.stop();
  });

  it('round-trips uploads, downloads, ranges, thumbnails and deletes through the bucket', async () => {
    const pb = s.client();
    const png = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#a33' } })
      .png()
      .toBuffer();
    let rec = await pb.collection('media').create({
      image: new File([png], 'photo.png', { type: 'image/png' }),
      notes: [new File(['hello s3 world'], 'note.txt')],
    });
    const prefix = `${collectionId}/${rec.id}/`;
    assert.deepEqual((await keys(prefix)).sort(), [`${prefix}${rec.image}`, `${prefix}${rec.notes[0]}`].sort());
    assert.ok(!existsSync(join(s.dir, 'data', 'storage', collectionId)), 'nothing written locally');

    const res = await fetch(pb.files.getURL(rec, rec.image));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.match(res.headers.get('content-disposition') ?? '', /^inline/);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), png);

    const part = await fetch(pb.files.getURL(rec, rec.notes[0]), { headers: { Range: 'bytes=6-7' } });
    assert.equal(part.status, 206);
    assert.equal(await part.text(), 's3');
    assert.equal(part.headers.get('content-range'), 'bytes 6-7/14');
    const text = await fetch(pb.files.getURL(rec, rec.notes[0]));
    assert.match(text.headers.get('content-disposition') ?? '', /^attachment/);

    const thumb = await fetch(pb.files.getURL(rec, rec.image, { thumb: '100x100' }));
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    assert.deepEqual([meta.width, meta.height], [100, 100]);
    assert.ok((await keys(prefix)).includes(`${prefix}thumbs_${rec.image}/100x100_${rec.image}`));

    const oldImage = rec.image;
    rec = await pb.collection('media').update(rec.id, { image: new File([png], 'second.png') });
    await s.app.files.settled();
    const after = await keys(prefix);
    assert.ok(!after.includes(`${prefix}${oldImage}`), 'replaced object deleted');
    assert.ok(!after.some((k) => k.includes(`thumbs_${oldImage}`)), 'its thumbnails too');
    assert.ok(after.includes(`${prefix}${rec.image}`));

    await pb.collection('media').delete(rec.id);
    await s.app.files.settled();
    assert.deepEqual(await keys(prefix), []);
  });

  it('POST /api/settings/test/s3: 204 when the bucket works, 400 with the reason otherwise', async () => {
    assert.equal(await s.admin.settings.testS3('storage'), true);
    assert.equal(await status(s.admin.settings.testS3('backups')), 400, 'backups S3 is not enabled');
    const bad = await s.fetch('/api/settings/test/s3', {
      method: 'POST',
      headers: { Authorization: s.admin.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ filesystem: 'nope' }),
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { data: { filesystem: { code: string } } }).data.filesystem.code, 'validation_in_invalid');
    assert.equal(await status(s.client().settings.testS3('storage')), 401);

    await s.admin.settings.update({ s3: { bucket: 'no-such-bucket' } });
    try {
      const err = await s.admin.settings.testS3('storage').catch((e: ClientResponseError) => e);
      assert.ok(err instanceof ClientResponseError);
      assert.equal(err.status, 400);
      assert.match(err.message, /NoSuchBucket/);
      // Uploads against a broken bucket: a 503 that names the storage, not a bare 500; nothing is saved.
      const upload = await s
        .client()
        .collection('media')
        .create({ notes: [new File(['x'], 'n.txt', { type: 'text/plain' })] })
        .catch((e: ClientResponseError) => e);
      assert.ok(upload instanceof ClientResponseError);
      assert.equal(upload.status, 503);
      assert.match(upload.message, /file storage \(S3\) is unavailable/);
      await s.admin.settings.update({ s3: { bucket: s3.bucket, accessKey: 'WRONGKEY' } });
      const denied = await s.admin.settings.testS3('storage').catch((e: ClientResponseError) => e);
      assert.ok(denied instanceof ClientResponseError);
      assert.match(denied.message, /InvalidAccessKeyId/);
    } finally {
      await s.admin.settings.update({ s3: s3Settings() });
    }
  });

  it('the client also works with UNSIGNED-PAYLOAD and reports missing objects', async () => {
    const unsigned = new S3Client({
      bucket: s3.bucket,
      region: 'auto',
      endpoint: s3.endpoint,
      accessKey: s3.accessKey,
      secret: s3.secret,
      forcePathStyle: true,
      unsignedPayload: true,
    });
    await unsigned.put('probe/a b.txt', Buffer.from('unsigned'), 'text/plain');
    assert.equal((await collect(await unsigned.get('probe/a b.txt'), 100)).toString(), 'unsigned');
    assert.equal((await unsigned.head('probe/a b.txt'))?.size, 8);
    await unsigned.delete('probe/a b.txt');
    assert.equal(await unsigned.head('probe/a b.txt'), null);
    await assert.rejects(unsigned.get('probe/missing.txt'), /NoSuchKey/);
  });
});
