/**
 * Backups in S3 (`settings.backups.s3`, against a real s3rver): created backups land in the bucket and not
 * in the data dir, the list shows their size and time, downloads stream from the bucket, uploads and
 * deletes work, and a restore downloads and validates the zip first (a bad one refused, data untouched).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientResponseError } from 'pocketbase';
import { S3Client } from '../../src/files/s3/client.js';
import { startS3rver, type S3Server } from './files-s3rver.js';
import { startServer, TEST_DIALECT, type TestServer } from '../helpers/server.js';

describe(`backups in S3 (${TEST_DIALECT})`, () => {
  let s3: S3Server;
  let s: TestServer;
  let client: S3Client;
  before(async () => {
    [s3, s] = await Promise.all([startS3rver('plinth-backups'), startServer()]);
    const config = {
      enabled: true,
      bucket: s3.bucket,
      region: 'us-east-1',
      endpoint: s3.endpoint,
      accessKey: s3.accessKey,
      secret: s3.secret,
      forcePathStyle: true,
    };
    await s.admin.settings.update({ backups: { s3: config } });
    client = new S3Client(config);
    await s.admin.collections.create({ name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text' }] });
    await s.admin.collection('notes').create({ title: 'one' });
  });
  after(async () => {
    await s?.close();
    await s3?.stop();
  });

  it('creates, lists, downloads, uploads and deletes in the bucket', async () => {
    await s.admin.backups.create('in_s3.zip');
    assert.deepEqual(await client.list(''), ['in_s3.zip']);
    const local = join(s.app.config.dataDir, 'backups');
    assert.ok(!existsSync(local) || readdirSync(local).length === 0, 'nothing in the local backups folder');
    const temp = join(s.app.config.dataDir, '.plinth_temp');
    assert.deepEqual(existsSync(temp) ? readdirSync(temp) : [], [], 'the temp zip was removed after the upload');
    const [item] = await s.admin.backups.getFullList();
    assert.equal(item?.key, 'in_s3.zip');
    assert.equal(item?.size, (await client.head('in_s3.zip'))?.size);
    assert.match(item?.modified ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);

    const token = await s.admin.files.getToken();
    const res = await fetch(s.admin.backups.getDownloadURL(token, 'in_s3.zip'));
    assert.equal(res.status, 200);
    assert.equal(Buffer.from(await res.arrayBuffer()).readUInt32LE(0), 0x04034b50);

    const bad = Buffer.from('PK\x05\x06'.padEnd(22, '\0'), 'latin1'); // an empty zip: opens, but has no data.db
    await s.admin.backups.upload({ file: new File([bad], 'empty_one.zip') });
    assert.deepEqual((await client.list('')).sort(), ['empty_one.zip', 'in_s3.zip']);
    await assert.rejects(s.admin.backups.restore('empty_one.zip'), (e: ClientResponseError) => {
      assert.equal(e.status, 400);
      assert.match(e.message, TEST_DIALECT === 'sqlite' ? /no data\.db/ : /PostgreSQL/);
      return true;
    });
    assert.equal((await s.admin.collection('notes').getFullList()).length, 1);

    await s.admin.backups.delete('empty_one.zip');
    await s.admin.backups.delete('in_s3.zip');
    assert.deepEqual(await client.list(''), []);
    await assert.rejects(s.admin.backups.delete('in_s3.zip'), (e: ClientResponseError) => e.status === 400);
  });
});
