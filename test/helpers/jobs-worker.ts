/**
 * A separate process for the job durability test (test/e2e/jobs-durability.test.ts): opens a Plinth app
 * (SQLite in `--dir`, or PostgreSQL with `--db`), enqueues jobs `job-0 … job-<N-1>` by key (idempotent, so
 * every round may do it again), and runs them with a handler that appends `<id>` to `--log` once its work is
 * finished (an fsync'd append: it survives kill -9). Prints `ready` once it is working; with `--drain` it
 * exits 0 when nothing is left queued or running.
 */
import { appendFileSync, closeSync, fsyncSync, openSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { App } from '../../src/app.js';
import { sql } from '../../src/db/sql.js';
import { silentLogger } from '../../src/util/logger.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    db: { type: 'string' },
    log: { type: 'string' },
    jobs: { type: 'string', default: '1000' },
    lease: { type: 'string', default: '30000' },
    drain: { type: 'boolean', default: false },
  },
});
const count = Number(values.jobs);
const log = values.log as string;

const app = await App.open({
  dataDir: values.dir as string,
  ...(values.db ? { databaseUrl: values.db, poolSize: 4 } : {}),
  automigrate: false,
  logger: silentLogger(),
  jobs: { pollMs: 50, leaseMs: Number(values.lease) },
});
const fd = openSync(log, 'a');
app.jobs.define(
  'work',
  async (job) => {
    await sleep(2 + Math.floor(Math.random() * 8)); // "work"
    appendFileSync(fd, `${job.id}\n`);
    fsyncSync(fd);
  },
  { concurrency: 8, retries: 1000, backoff: 10 },
);
for (let i = 0; i < count; i += 100) {
  await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, j) => app.jobs.enqueue('work', { i: i + j }, { key: `job-${i + j}` })));
}
process.stdout.write('ready\n');
if (values.drain) {
  for (;;) {
    const left = await app.db.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM "_jobs" WHERE status IN ('queued', 'running')`);
    if (Number(left?.n) === 0) break;
    await sleep(50);
  }
  await app.close();
  closeSync(fd);
  process.exit(0);
}
setInterval(() => undefined, 60_000);
