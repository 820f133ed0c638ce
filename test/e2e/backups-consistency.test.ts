/**
 * A backup taken while ~1,000 writes run (creates with files, and deletes of records that have files):
 * every write succeeds, the zip (downloaded with a file token) restores into a FRESH instance through the
 * CLI (`plinth backup restore FILE --dir` on SQLite, `--db=<empty database>` on PostgreSQL), and there
 * every record equals what the API answered when it was written, every record written before the backup
 * is present unless it was deleted, and every file of every restored record is there, byte for byte.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import PocketBase from 'pocketbase';
import { run as backupCli } from '../../src/backups/cli.js';
import { App } from '../../src/app.js';
import { silentLogger } from '../../src/util/logger.js';
import { createTempDatabase, type TempDatabase } from '../helpers/postgres.js';
import { serveApp, startServer, SUPERUSER_EMAIL, SUPERUSER_PASSWORD, TEST_DIALECT, type TestServer } from '../helpers/server.js';

type Rec = Record<string, unknown> & { id: string; doc: string };

describe(`backup during concurrent writes, restored into a fresh instance (${TEST_DIALECT})`, () => {
  let s: TestServer;
  let temp: TempDatabase | undefined;
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s.close();
    await temp?.drop();
  });

  it('keeps every record and file consistent', async () => {
    const notes = await s.admin.collections.create({
      name: 'notes',
      type: 'base',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'n', type: 'number' },
        { name: 'doc', type: 'file', maxSelect: 1, maxSize: 1_000_000 },
      ],
    });
    const ledger = new Map<string, Rec>();
    const bytes = new Map<string, Buffer>();
    const deleted = new Set<string>();
    const create = async (i: number, withFile: boolean) => {
      const form = new FormData();
      form.append('title', `note ${i} ✓`);
      form.append('n', String(i));
      const data = Buffer.from(`file of note ${i}\n`.repeat(1 + (i % 50)));
      if (withFile) form.append('doc', new File([data], `doc${i}.txt`, { type: 'text/plain' }));
      const rec = (await s.admin.collection('notes').create(form)) as unknown as Rec;
      ledger.set(rec.id, rec);
      if (withFile) bytes.set(rec.id, data);
      return rec;
    };
    // Before the backup: 200 records with files.
    const early: Rec[] = [];
    for (let i = 0; i < 200; i += 20) early.push(...(await Promise.all(Array.from({ length: 20 }, (_, k) => create(i + k, true)))));

    // During: 800 creates (every 4th with a file) and 100 deletes of early records, 25 at a time, while the backup runs.
    let started = false;
    let failures = 0;
    const jobs: Array<() => Promise<unknown>> = [];
    for (let i = 200; i < 1000; i++) jobs.push(() => create(i, i % 4 === 0));
    for (const rec of early.slice(0, 100)) {
      jobs.splice(Math.floor(Math.random() * jobs.length), 0, async () => {
        await s.admin.collection('notes').delete(rec.id);
        deleted.add(rec.id);
      });
    }
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const job = jobs[next++] as () => Promise<unknown>;
        if (next > 150) started = true;
        await job().catch(() => failures++);
      }
    };
    const writers = Promise.all(Array.from({ length: 25 }, worker));
    while (!started) await new Promise((r) => setTimeout(r, 5));
    const t0 = Date.now();
    const doneWhenBackupStarted = next;
    await s.admin.backups.create('during_writes.zip');
    const backupMs = Date.now() - t0;
    const doneWhenBackupFinished = next;
    await writers;
    assert.equal(failures, 0, 'every write succeeded while the backup ran');
    // No write pause: writes kept completing while the backup ran.
    assert.ok(
      doneWhenBackupFinished - doneWhenBackupStarted >= 25,
      `writes progressed during the backup (${doneWhenBackupStarted} → ${doneWhenBackupFinished} of ${jobs.length}, ${backupMs} ms)`,
    );

    // Download it and restore it into a fresh instance through the CLI.
    const token = await s.admin.files.getToken();
    const res = await fetch(s.admin.backups.getDownloadURL(token, 'during_writes.zip'));
    assert.equal(res.status, 200);
    const zip = join(s.dir, 'during_writes.zip');
    writeFileSync(zip, Buffer.from(await res.arrayBuffer()));
    const freshDir = join(s.dir, 'fresh');
    const args = ['restore', zip, `--dir=${freshDir}`];
    if (TEST_DIALECT === 'postgres') {
      temp = await createTempDatabase();
      args.push(`--db=${temp.url}`);
    }
    assert.equal(await backupCli(args), 0);
    const fresh = await App.open({ dataDir: freshDir, logger: silentLogger(), ...(temp ? { databaseUrl: temp.url, poolSize: 4 } : {}) });
    const served = await serveApp(fresh);
    try {
      const pb = new PocketBase(served.url);
      pb.autoCancellation(false);
      await pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
      const restored = (await pb.collection('notes').getFullList({ batch: 1000 })) as unknown as Rec[];
      assert.ok(restored.length >= 100 && restored.length <= 1000, `restored ${restored.length}`);
      for (const rec of restored) {
        const written = ledger.get(rec.id);
        assert.ok(written, `restored record ${rec.id} was written through the API`);
        assert.deepEqual(rec, written);
        if (rec.doc) {
          const path = join(freshDir, 'storage', notes.id, rec.id, rec.doc);
          assert.deepEqual(readFileSync(path), bytes.get(rec.id), `file of ${rec.id}`);
          const dl = await fetch(pb.files.getURL(rec, rec.doc));
          assert.equal(dl.status, 200);
        }
      }
      const ids = new Set(restored.map((r) => r.id));
      for (const rec of early) if (!deleted.has(rec.id)) assert.ok(ids.has(rec.id), `early record ${rec.id} restored`);
      // The restored instance takes writes.
      await pb.collection('notes').create({ title: 'after restore' });
    } finally {
      await served.close();
    }
  });
});
