/**
 * `plinth migrate-data` (SQLite → PostgreSQL) carries the job queue along: queued, delayed and failed jobs
 * (with their keys, attempts and errors) arrive, and the PostgreSQL app runs the queued ones.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { App } from '../../src/app.js';
import { migrateData } from '../../src/migrations/migrate-data.js';
import { silentLogger } from '../../src/util/logger.js';
import { createTempDatabase } from '../helpers/postgres.js';

describe('migrate-data and jobs', () => {
  it('copies queued and failed jobs to PostgreSQL, where they run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-jobs-migrate-'));
    const temp = await createTempDatabase();
    try {
      const dataDir = join(dir, 'data');
      const source = await App.open({ dataDir, migrationsDir: join(dir, 'migrations'), logger: silentLogger(), jobs: { pollMs: 50 } });
      source.jobs.define(
        'fails',
        () => {
          throw new Error('nope');
        },
        { retries: 0 },
      );
      const failed = await source.jobs.enqueue('fails', {});
      for (let i = 0; i < 100 && (await source.jobs.get(failed.id)).status !== 'failed'; i++) await sleep(20);
      const queued = await source.jobs.enqueue('later', { n: 1 }, { key: 'k-1' });
      const delayed = await source.jobs.enqueue('later', { n: 2 }, { delay: 200 });
      await source.close();

      await migrateData({ from: dataDir, to: temp.url, progress: () => undefined });

      const target = await App.open({
        dataDir: join(dir, 'pg'),
        migrationsDir: join(dir, 'migrations'),
        databaseUrl: temp.url,
        poolSize: 2,
        logger: silentLogger(),
        jobs: { pollMs: 50 },
      });
      try {
        const f = await target.jobs.get(failed.id);
        assert.equal(f.status, 'failed');
        assert.match(f.lastError, /nope/);
        assert.equal((await target.jobs.enqueue('later', {}, { key: 'k-1' })).id, queued.id, 'the key came along');
        const ran: unknown[] = [];
        target.jobs.define('later', (job) => void ran.push(job.payload));
        for (let i = 0; i < 150 && ran.length < 2; i++) await sleep(20);
        assert.deepEqual(
          ran.sort((a, b) => (a as { n: number }).n - (b as { n: number }).n),
          [{ n: 1 }, { n: 2 }],
        );
        assert.equal((await target.jobs.get(delayed.id)).status === 'done' || (await target.jobs.get(delayed.id)).status === 'running', true);
      } finally {
        await target.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await temp.drop();
    }
  });
});
