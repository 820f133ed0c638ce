/**
 * File storage end to end with the real `pocketbase` SDK (local directory back end): uploads and
 * modifiers, replacement and deletion on disk, rollback without orphans, sniffed-type validation,
 * download headers, Range, thumbnails, protected files, and hostile names/bodies.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import PocketBase, { ClientResponseError, type RecordModel, type RecordService } from 'pocketbase';
import sharp from 'sharp';
import { pixelFloodPng } from '../../src/files/images.test-util.js';
import { startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let docsId = '';
let pdf: Buffer;
let png: Buffer;

const file = (data: Buffer | string, name: string, type = 'application/octet-stream') => new File([data], name, { type });
const storageDir = (...parts: string[]) => join(s.dir, 'data', 'storage', ...parts);
const filesOf = (collectionId: string, recordId: string) =>
  existsSync(storageDir(collectionId, recordId)) ? readdirSync(storageDir(collectionId, recordId)).sort() : [];
const onDisk = (recordId: string, name: string) => existsSync(storageDir(docsId, recordId, name));

async function expectError(p: Promise<unknown>, status: number): Promise<Record<string, { code: string }>> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ClientResponseError, String(err));
    assert.equal(err.status, status, JSON.stringify(err.response));
    return (err.response as { data: Record<string, { code: string }> }).data;
  }
  assert.fail(`expected a ${status}`);
}

/** Background deletions run after the response; wait until they are done. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 20));
  await s.app.files.settled();
}

// Canary: nothing in the file paths may leave a promise rejection unhandled (threat model item 52).
const unhandled: unknown[] = [];
process.on('unhandledRejection', (err) => unhandled.push(err));

describe('files', () => {
  before(async () => {
    s = await startServer({ settings: { batch: { enabled: true } } });
    pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(200, 0x20)]);
    png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3a6' } })
      .png()
      .toBuffer();
    const open = { listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '' };
    const docs = await s.admin.collections.create({
      name: 'docs',
      type: 'base',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'doc', type: 'file', maxSelect: 1 },
        { name: 'attachments', type: 'file', maxSelect: 3, maxSize: 4000 },
        { name: 'image', type: 'file', maxSelect: 1, mimeTypes: ['image/png', 'image/jpeg'], thumbs: ['50x50', '0x20', '40x40f'] },
      ],
      indexes: ["CREATE UNIQUE INDEX idx_docs_title ON docs (title) WHERE title != ''"],
      ...open,
    });
    docsId = docs.id;
    await s.admin.collections.create({
      name: 'children',
      type: 'base',
      fields: [
        { name: 'parent', type: 'relation', collectionId: docsId, maxSelect: 1, cascadeDelete: true },
        { name: 'file', type: 'file', maxSelect: 1 },
      ],
      ...open,
    });
    await s.admin.collections.create({
      name: 'locked',
      type: 'base',
      fields: [{ name: 'file', type: 'file', maxSelect: 1 }],
      listRule: '',
      viewRule: '',
      createRule: '',
      updateRule: null,
      deleteRule: null,
    });
  });

  after(async () => {
    await s.close();
    assert.deepEqual(unhandled, []);
  });

  describe('uploads', () => {
    it('stores a single file from a JSON-less SDK call and serves it back', async () => {
      const pb = s.client();
      const rec = await pb.collection('docs').create({ title: 'single', doc: file(pdf, 'Quarterly Report.pdf', 'application/pdf') });
      assert.match(rec.doc, /^quarterly_report_[a-z0-9]{10}\.pdf$/);
      assert.deepEqual(readFileSync(storageDir(docsId, rec.id, rec.doc)), pdf);
      const res = await fetch(pb.files.getURL(rec, rec.doc));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/pdf');
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), pdf);
    });

    it('keeps the last upload of a single-file field and writes only that one', async () => {
      const rec = await s
        .client()
        .collection('docs')
        .create({ doc: [file('first', 'first.txt'), file('second', 'second.txt')] });
      assert.match(rec.doc, /^second_[a-z0-9]{10}\.txt$/);
      assert.deepEqual(filesOf(docsId, rec.id), [rec.doc]);
    });

    it('appends, prepends, removes, merges kept names with new files, and clears', async () => {
      const pb = s.client().collection('docs');
      let rec = await pb.create({ attachments: [file('a', 'a.txt'), file('b', 'b.txt')] });
      const [a, b] = rec.attachments as string[];
      assert.equal(rec.attachments.length, 2);

      rec = await pb.update(rec.id, { 'attachments+': file('c', 'c.txt') });
      const c = rec.attachments[2] as string;
      assert.deepEqual(rec.attachments, [a, b, c]);
      assert.match(c, /^c[a-z0-9]{10}_[a-z0-9]{10}\.txt$/);

      // Prepending a fourth file breaks maxSelect: nothing changes, nothing new is left on disk.
      const data = await expectError(pb.update(rec.id, { '+attachments': file('d', 'd.txt') }), 400);
      assert.equal(data.attachments?.code, 'validation_too_many_files');
      assert.deepEqual(filesOf(docsId, rec.id), [a, b, c].sort());

      rec = await pb.update(rec.id, { 'attachments-': a });
      assert.deepEqual(rec.attachments, [b, c]);
      await settle();
      assert.ok(!onDisk(rec.id, a as string), 'the removed file is deleted');

      // Plain names sent with new files under the same key are kept (the SDK sends a mixed array so).
      rec = await pb.update(rec.id, { attachments: [b, file('e', 'e.txt')] });
      assert.equal(rec.attachments.length, 2);
      assert.equal(rec.attachments[0], b);
      await settle();
      assert.deepEqual(filesOf(docsId, rec.id), [...rec.attachments].sort(), 'c was dropped and deleted');

      rec = await pb.update(rec.id, { attachments: [] });
      assert.deepEqual(rec.attachments, []);
      await settle();
      assert.deepEqual(filesOf(docsId, rec.id), []);
    });

    it('replaces a file and deletes the old one from disk, thumbnails included', async () => {
      const pb = s.client();
      let rec = await pb.collection('docs').create({ image: file(png, 'pic.png', 'image/png') });
      const old = rec.image as string;
      assert.equal((await fetch(pb.files.getURL(rec, old, { thumb: '100x100' }))).status, 200);
      assert.ok(existsSync(storageDir(docsId, rec.id, `thumbs_${old}`)));
      rec = await pb.collection('docs').update(rec.id, { image: file(png, 'new.png', 'image/png') });
      assert.notEqual(rec.image, old);
      await settle();
      assert.deepEqual(filesOf(docsId, rec.id), [rec.image]);
    });

    it('refuses names that are neither stored nor uploaded', async () => {
      const pb = s.client().collection('docs');
      const rec = await pb.create({ title: 'names' });
      const data = await expectError(pb.update(rec.id, { attachments: ['../../data.db', 'other_1234567890.txt'] }), 400);
      assert.equal(data.attachments?.code, 'validation_invalid_file');
      await expectError(pb.update(rec.id, { doc: 'x'.repeat(300) }), 400);
    });

    it('checks the real (sniffed) type and the size, not the client claim', async () => {
      const pb = s.client().collection('docs');
      const fake = await expectError(pb.create({ image: file('<svg onload="alert(1)"/>', 'cat.png', 'image/png') }), 400);
      assert.equal(fake.image?.code, 'validation_invalid_mime_type');
      const big = await expectError(pb.create({ attachments: file(Buffer.alloc(5000, 1), 'big.bin') }), 400);
      assert.equal(big.attachments?.code, 'validation_file_size_limit');
      const jpeg = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#000' } })
        .jpeg()
        .toBuffer();
      const ok = await pb.create({ image: file(jpeg, 'photo', 'text/plain') });
      assert.match(ok.image, /^photo_[a-z0-9]{10}\.jpg$/, 'extension derived from the sniffed type');
    });

    it('leaves no orphan when the database write fails after the files were written', async () => {
      const pb = s.client().collection('docs');
      await pb.create({ title: 'taken' });
      await settle(); // earlier tests' background deletions must not change the count under us
      const before = readdirSync(storageDir(docsId)).length;
      const data = await expectError(pb.create({ id: 'orphancheck0001', title: 'taken', doc: file(pdf, 'x.pdf') }), 400);
      assert.equal(data.title?.code, 'validation_not_unique');
      assert.deepEqual(filesOf(docsId, 'orphancheck0001'), []);
      assert.equal(readdirSync(storageDir(docsId)).length, before);
    });

    it('uploads through /api/batch and removes them again when the batch rolls back', async () => {
      const pb = s.client();
      const ok = pb.createBatch();
      ok.collection('docs').create({ id: 'batchfile000001', doc: file(pdf, 'batch.pdf') });
      const [res] = await ok.send();
      assert.equal(res?.status, 200);
      const name = (res?.body as { doc: string }).doc;
      assert.ok(onDisk('batchfile000001', name));

      const failing = pb.createBatch();
      failing.collection('docs').create({ id: 'batchfile000002', doc: file(pdf, 'rolled.pdf') });
      failing.collection('docs').create({ title: 'taken' }); // unique violation → whole batch rolls back
      await expectError(failing.send(), 400);
      await settle();
      assert.deepEqual(filesOf(docsId, 'batchfile000002'), []);
      await expectError(pb.collection('docs').getOne('batchfile000002'), 404);
    });

    it('a denied request changes nothing (no side effects after 403)', async () => {
      const rec = await s
        .client()
        .collection('locked')
        .create({ file: file('v1', 'v1.txt') });
      await expectError(
        s
          .client()
          .collection('locked')
          .update(rec.id, { file: file('evil', 'evil.txt') }),
        403,
      );
      assert.deepEqual(filesOf(rec.collectionId, rec.id), [rec.file]);
      const again = await s.admin.collection('locked').getOne(rec.id);
      assert.equal(again.file, rec.file);
    });

    it('deletes a record’s files with the record, also on cascade deletes', async () => {
      const pb = s.client();
      const parent = await pb.collection('docs').create({ doc: file(pdf, 'p.pdf') });
      const child = await pb.collection('children').create({ parent: parent.id, file: file('c', 'c.txt') });
      assert.equal(filesOf(child.collectionId, child.id).length, 1);
      await pb.collection('docs').delete(parent.id);
      await settle();
      assert.ok(!existsSync(storageDir(docsId, parent.id)));
      assert.ok(!existsSync(storageDir(child.collectionId, child.id)));
    });
  });

  describe('file types (file-type + text rules)', () => {
    const OLE = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(1536)]);
    const csv = 'id,name,price\r\n1,"Widget, large",9.99\r\n2,"The ""best"" one",12\r\n';
    let pb: RecordService;

    before(async () => {
      await s.admin.collections.create({
        name: 'typed',
        type: 'base',
        fields: [
          { name: 'sheet', type: 'file', maxSelect: 1, mimeTypes: ['text/csv'] },
          { name: 'office', type: 'file', maxSelect: 2, mimeTypes: ['application/msword', 'application/vnd.ms-excel'] },
          { name: 'notes', type: 'file', maxSelect: 1, mimeTypes: ['text/plain'] },
          { name: 'any', type: 'file', maxSelect: 5 },
        ],
        listRule: '',
        viewRule: '',
        createRule: '',
      });
      pb = s.client().collection('typed');
    });

    const served = async (rec: RecordModel, name: string) => {
      const res = await fetch(s.client().files.getURL(rec, name));
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      return { type: res.headers.get('content-type'), disposition: res.headers.get('content-disposition') ?? '' };
    };

    it('accepts a real CSV under mimeTypes ["text/csv"], whatever the client claims, and serves it as text/csv', async () => {
      for (const claimed of ['text/csv', 'application/vnd.ms-excel', 'application/octet-stream']) {
        const rec = await pb.create({ sheet: file(csv, 'Prices 2026.csv', claimed) });
        assert.match(rec.sheet, /^prices_2026_[a-z0-9]{10}\.csv$/);
        const res = await served(rec, rec.sheet);
        assert.equal(res.type, 'text/csv; charset=utf-8');
        assert.match(res.disposition, /^attachment;/);
      }
      // Detected by content: a CSV without the extension still is one (as PocketBase's detector says).
      const noExt = await pb.create({ sheet: file(csv, 'export') });
      assert.match(noExt.sheet, /^export_[a-z0-9]{10}\.csv$/);
      // Text that is not CSV-shaped, without a .csv name, is refused.
      const prose = await expectError(pb.create({ sheet: file('just one line of prose\n', 'readme.txt', 'text/csv') }), 400);
      assert.equal(prose.sheet?.code, 'validation_invalid_mime_type');
    });

    it('refuses HTML and SVG dressed as CSV, and never serves them inline', async () => {
      const html = await expectError(pb.create({ sheet: file('<html><script>alert(1)</script>', 'data.csv', 'text/csv') }), 400);
      assert.equal(html.sheet?.code, 'validation_invalid_mime_type');
      const svg = await expectError(pb.create({ sheet: file('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', 'data.csv', 'text/csv') }), 400);
      assert.equal(svg.sheet?.code, 'validation_invalid_mime_type');
      const rec = await pb.create({
        any: [
          file('<!doctype html><script>alert(1)</script>', 'page.csv', 'text/csv'),
          file('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', 'pic.jpg', 'image/jpeg'),
          file('<html>\u0001<script>alert(1)</script>', 'page.html', 'text/html'),
          file('<svg onload="alert(1)"></svg>', 'notes.md', 'text/markdown'),
        ],
      });
      const [page, pic, binaryPage, mdSvg] = rec.any as [string, string, string, string];
      assert.deepEqual(await served(rec, page), { type: 'text/html; charset=utf-8', disposition: `attachment; filename="${page}"` });
      assert.deepEqual(await served(rec, pic), { type: 'image/svg+xml', disposition: `attachment; filename="${pic}"` });
      assert.deepEqual(await served(rec, binaryPage), { type: 'application/octet-stream', disposition: `attachment; filename="${binaryPage}"` });
      assert.deepEqual(await served(rec, mdSvg), { type: 'image/svg+xml', disposition: `attachment; filename="${mdSvg}"` });
    });

    it('calls .doc / .xls compound files application/msword / vnd.ms-excel, not x-ole-storage', async () => {
      const rec = await pb.create({ office: [file(OLE, 'Letter.doc', 'application/msword'), file(OLE, 'Budget.xls')] });
      const [doc, xls] = rec.office as [string, string];
      assert.deepEqual(await served(rec, doc), { type: 'application/msword', disposition: `attachment; filename="${doc}"` });
      assert.deepEqual(await served(rec, xls), { type: 'application/vnd.ms-excel', disposition: `attachment; filename="${xls}"` });
      const ppt = await expectError(pb.create({ office: file(OLE, 'Slides.ppt') }), 400);
      assert.equal(ppt.office?.code, 'validation_invalid_mime_type');
    });

    it('lets inert text formats (CSV, Markdown) through a text/plain field, not HTML', async () => {
      const rec = await pb.create({ notes: file('# Title\n\nSome *text*.\n', 'README.md') });
      assert.equal((await served(rec, rec.notes)).type, 'text/markdown; charset=utf-8');
      await pb.create({ notes: file(csv, 'prices.csv') });
      const html = await expectError(pb.create({ notes: file('<p>hi</p>', 'note.txt') }), 400);
      assert.equal(html.notes?.code, 'validation_invalid_mime_type');
    });
  });

  describe('download', () => {
    let rec: { id: string; collectionId: string; collectionName: string; doc: string; image: string; attachments: string[] };
    let pb: PocketBase;
    const html = '<!DOCTYPE html><script>alert(document.cookie)</script>';
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>';

    before(async () => {
      pb = s.client();
      rec = await pb.collection('docs').create({
        title: 'download',
        doc: file(pdf, 'doc.pdf'),
        image: file(png, 'image.png', 'image/png'),
        attachments: [file(html, 'page.png', 'image/png'), file(svg, 'icon.svg', 'image/svg+xml'), file('0123456789', 'digits.txt')],
      });
    });

    it('sends the security headers, inline for images and attachment on ?download', async () => {
      const res = await fetch(pb.files.getURL(rec, rec.image));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      assert.equal(res.headers.get('content-disposition'), `inline; filename="${rec.image}"`);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('content-security-policy'), "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox");
      assert.equal(res.headers.get('cache-control'), 'max-age=2592000, stale-while-revalidate=86400');
      assert.equal(res.headers.get('x-frame-options'), null);
      assert.equal(res.headers.get('accept-ranges'), 'bytes');
      const dl = await fetch(pb.files.getURL(rec, rec.image, { download: true }));
      assert.equal(dl.headers.get('content-disposition'), `attachment; filename="${rec.image}"`);
      const notDl = pb.files.getURL(rec, rec.image, { download: false });
      assert.ok(!notDl.includes('download'));
    });

    it('never serves HTML or SVG inline, whatever the name or claimed type', async () => {
      const [page, icon] = rec.attachments as [string, string];
      assert.match(page, /\.png$/);
      const p = await fetch(pb.files.getURL(rec, page));
      assert.equal(p.headers.get('content-type'), 'text/html; charset=utf-8', 'never image/png');
      assert.match(p.headers.get('content-disposition') ?? '', /^attachment;/);
      const i = await fetch(pb.files.getURL(rec, icon));
      assert.equal(i.headers.get('content-type'), 'image/svg+xml');
      assert.match(i.headers.get('content-disposition') ?? '', /^attachment;/);
      assert.match(i.headers.get('content-security-policy') ?? '', /sandbox/);
    });

    it('answers Range requests: single, suffix, open, invalid (416), multiple (whole file), HEAD', async () => {
      const url = pb.files.getURL(rec, rec.attachments[2] as string);
      const get = (range: string) => fetch(url, { headers: { Range: range } });
      let res = await get('bytes=2-5');
      assert.equal(res.status, 206);
      assert.equal(res.headers.get('content-range'), 'bytes 2-5/10');
      assert.equal(await res.text(), '2345');
      res = await get('bytes=-3');
      assert.equal(res.status, 206);
      assert.equal(await res.text(), '789');
      res = await get('bytes=8-');
      assert.equal(await res.text(), '89');
      for (const bad of ['bytes=5-1', 'bytes=10-', 'bytes=-', 'bytes=abc']) {
        res = await get(bad);
        assert.equal(res.status, 416, bad);
        assert.equal(res.headers.get('content-range'), 'bytes */10');
        await res.arrayBuffer();
      }
      res = await get('bytes=0-1,4-5');
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '0123456789');
      res = await get(`bytes=${Array(300).fill('0-0').join(',')}`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      res = await fetch(url, { method: 'HEAD' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-length'), '10');
      assert.equal(await res.text(), '');
    });

    it('makes thumbnails lazily, caches them, and falls back to the original when not allowed', async () => {
      const thumb = await fetch(pb.files.getURL(rec, rec.image, { thumb: '50x50' }));
      assert.equal(thumb.status, 200);
      assert.equal(thumb.headers.get('content-type'), 'image/png');
      assert.equal(thumb.headers.get('content-disposition'), `inline; filename="50x50_${rec.image}"`);
      const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
      assert.deepEqual([meta.width, meta.height], [50, 50]);
      const cached = storageDir(docsId, rec.id, `thumbs_${rec.image}`, `50x50_${rec.image}`);
      assert.ok(existsSync(cached));

      const aspect = await sharp(Buffer.from(await (await fetch(pb.files.getURL(rec, rec.image, { thumb: '0x20' }))).arrayBuffer())).metadata();
      assert.deepEqual([aspect.width, aspect.height], [30, 20]);
      const def = await sharp(Buffer.from(await (await fetch(pb.files.getURL(rec, rec.image, { thumb: '100x100' }))).arrayBuffer())).metadata();
      assert.deepEqual([def.width, def.height], [100, 100]);

      for (const size of ['300x300', '0x0', '50x50x', '../../x']) {
        const res = await fetch(pb.files.getURL(rec, rec.image, { thumb: size }));
        assert.equal(res.status, 200);
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), png, size);
      }
      // Concurrent first requests for one size all get the same thumbnail.
      const bodies = await Promise.all(
        Array.from({ length: 5 }, async () => Buffer.from(await (await fetch(pb.files.getURL(rec, rec.image, { thumb: '40x40f' }))).arrayBuffer())),
      );
      assert.deepEqual((await sharp(bodies[0]).metadata()).width, 40);
      for (const body of bodies) assert.deepEqual(body, bodies[0]);

      const pdfThumb = await fetch(pb.files.getURL(rec, rec.doc, { thumb: '100x100' }));
      assert.deepEqual(Buffer.from(await pdfThumb.arrayBuffer()), pdf);
    });

    it('refuses to decode a pixel-flood PNG and serves the original instead', async () => {
      const bomb = pixelFloodPng();
      const r = await pb.collection('docs').create({ image: file(bomb, 'bomb.png', 'image/png') });
      const started = Date.now();
      const res = await fetch(pb.files.getURL(r, r.image, { thumb: '100x100' }));
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), bomb);
      assert.ok(Date.now() - started < 3000);
      assert.ok(!existsSync(storageDir(docsId, r.id, `thumbs_${r.image}`, `100x100_${r.image}`)));
      const corrupt = Buffer.concat([png.subarray(0, 40), Buffer.alloc(100, 7)]);
      const c = await pb.collection('docs').create({ image: file(corrupt, 'corrupt.png') });
      assert.equal((await fetch(pb.files.getURL(c, c.image, { thumb: '100x100' }))).status, 200);
      assert.equal((await s.fetch('/api/health')).status, 200);
    });

    it('answers 404 for unknown collections, records, files and path tricks', async () => {
      const base = `/api/files/${docsId}/${rec.id}`;
      const paths = [
        `/api/files/nope/${rec.id}/${rec.doc}`,
        `/api/files/docs/nope/${rec.doc}`,
        `${base}/missing_1234567890.pdf`,
        `${base}/..%2F..%2F..%2Fdata.db`,
        `${base}/..`,
        `${base}/%2e%2e`,
        `${base}/${'a'.repeat(300)}`,
        `${base}/${rec.doc}/extra`,
        `/api/files/docs/${rec.id}/thumbs_${rec.image}%2F100x100_${rec.image}`,
        `/api/files/docs/${rec.id}/..%5C..%5Cdata.db`,
      ];
      for (const path of paths) {
        const res = await s.fetch(path);
        assert.equal(res.status, 404, path);
        await res.arrayBuffer();
      }
      assert.equal((await s.fetch(`/api/files/docs/${rec.id}/${rec.doc}`)).status, 200, 'collection by name works too');
      // A NUL anywhere in a URL is refused before routing, like everywhere else (400 invalid_characters).
      for (const path of [`${base}/${rec.doc}%00`, `${base}/a%00b`]) {
        const res = await s.fetch(path);
        assert.equal(res.status, 400, path);
        await res.arrayBuffer();
      }
    });

    it('rejects 10,000 multipart parts with 413 and stores nothing', async () => {
      const form = new FormData();
      for (let i = 0; i < 10_000; i++) form.append('attachments', new Blob(['x']), `f${i}.txt`);
      const before = readdirSync(storageDir(docsId)).length;
      const res = await s.fetch('/api/collections/docs/records', { method: 'POST', body: form });
      assert.equal(res.status, 413);
      await res.arrayBuffer();
      assert.equal(readdirSync(storageDir(docsId)).length, before);
      assert.equal((await s.fetch('/api/health')).status, 200);
    });

    it('answers a client still uploading past the part limit with the 413, not a connection reset', async () => {
      // Half the parts, a pause (the server has seen 1,000 parts by then), the other half, and only then
      // read, as an HTTP client that finishes its upload first does. Answering and closing before the rest
      // arrived made the second write fail with EPIPE or ECONNRESET, the answer unread.
      const boundary = 'plinth-boundary';
      let body = '';
      for (let i = 0; i < 4_000; i++) body += `--${boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="f${i}.txt"\r\n\r\nx\r\n`;
      body += `--${boundary}--\r\n`;
      const { port } = new URL(s.url);
      const socket = connect(Number(port), '127.0.0.1');
      const outcome = await new Promise<string>((resolve) => {
        let received = '';
        socket.pause();
        socket.on('data', (chunk) => (received += chunk));
        socket.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
        socket.on('end', () => resolve(received));
        socket.on('connect', () => {
          socket.write(
            `POST /api/collections/docs/records HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n` +
              `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
          );
          const half = Math.floor(body.length / 2);
          socket.write(body.slice(0, half));
          setTimeout(() => {
            socket.write(body.slice(half));
            setTimeout(() => socket.resume(), 200);
          }, 300);
        });
      });
      socket.destroy();
      assert.match(outcome, /^HTTP\/1\.1 413 /);
      assert.match(outcome, /Too many multipart parts/);
    });
  });

  describe('protected files', () => {
    let owner: PocketBase;
    let other: PocketBase;
    let rec: { id: string; collectionId: string; collectionName: string; file: string };
    let lockedRec: typeof rec;

    before(async () => {
      await s.admin.collections.create({
        name: 'private_docs',
        type: 'base',
        fields: [
          { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
          { name: 'file', type: 'file', maxSelect: 1, protected: true },
        ],
        listRule: '',
        viewRule: 'owner = @request.auth.id && @request.context = "protectedFile"',
        createRule: '',
      });
      await s.admin.collections.create({
        name: 'secret_docs',
        type: 'base',
        fields: [{ name: 'file', type: 'file', maxSelect: 1, protected: true }],
        listRule: null,
        viewRule: null,
        createRule: '',
      });
      const users = [];
      for (const email of ['owner@example.com', 'other@example.com']) {
        await s.admin.collection('users').create({ email, password: 'password-123', passwordConfirm: 'password-123' });
        const pb = s.client();
        await pb.collection('users').authWithPassword(email, 'password-123');
        users.push(pb);
      }
      [owner, other] = users as [PocketBase, PocketBase];
      rec = await owner.collection('private_docs').create({ owner: owner.authStore.record!.id, file: file('top secret', 'secret.txt') });
      lockedRec = await owner.collection('secret_docs').create({ file: file('locked', 'locked.txt') });
    });

    it('needs a file token that passes the view rule; everything else is 404', async () => {
      const token = await owner.files.getToken();
      assert.ok(token.split('.').length === 3);
      const ok = await fetch(owner.files.getURL(rec, rec.file, { token }));
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'top secret');
      assert.match(ok.headers.get('cache-control') ?? '', /^private/);

      const denied = [
        owner.files.getURL(rec, rec.file),
        owner.files.getURL(rec, rec.file, { token: await other.files.getToken() }),
        owner.files.getURL(rec, rec.file, { token: 'not.a.token' }),
        owner.files.getURL(rec, rec.file, { token: owner.authStore.token }), // an auth token is not a file token
        owner.files.getURL(rec, rec.file, { token: token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA') }),
      ];
      for (const url of denied) {
        const res = await fetch(url);
        assert.equal(res.status, 404, url);
        await res.arrayBuffer();
      }
      const adminToken = await s.admin.files.getToken();
      assert.equal((await fetch(owner.files.getURL(rec, rec.file, { token: adminToken }))).status, 200);
    });

    it('a locked view rule hides protected files from users (404) but not superusers', async () => {
      const res = await fetch(owner.files.getURL(lockedRec, lockedRec.file, { token: await owner.files.getToken() }));
      assert.equal(res.status, 404);
      await res.arrayBuffer();
      const admin = await fetch(owner.files.getURL(lockedRec, lockedRec.file, { token: await s.admin.files.getToken() }));
      assert.equal(admin.status, 200);
      assert.equal(await admin.text(), 'locked');
    });

    it('POST /api/files/token needs auth', async () => {
      await expectError(s.client().files.getToken(), 401);
    });
  });

  it('deleting a collection removes its stored files', async () => {
    const c = await s.admin.collections.create({ name: 'temp_files', type: 'base', fields: [{ name: 'f', type: 'file' }], createRule: '' });
    await s
      .client()
      .collection('temp_files')
      .create({ f: file('x', 'x.txt') });
    assert.ok(existsSync(storageDir(c.id)));
    await s.admin.collections.delete(c.id);
    await settle();
    assert.ok(!existsSync(storageDir(c.id)));
  });
});
