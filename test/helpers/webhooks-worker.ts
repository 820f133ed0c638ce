/**
 * A separate process for the webhook durability test (test/e2e/webhooks-durability.test.ts): opens a Plinth
 * app (SQLite in `--dir`, or PostgreSQL with `--db`). With `--setup` it creates the `events` collection and
 * one endpoint for `events.create` pointing at `--receiver`, prints `secret <whsec_…>` and exits. Otherwise it
 * creates records `--from` … `--from + --count - 1` (fixed ids, so nothing is created twice) while the
 * deliveries run, printing `ready` once the app is open; with `--drain` it exits 0 once no message is pending.
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { App } from '../../src/app.js';
import { sql } from '../../src/db/sql.js';
import { systemRequest } from '../../src/records/system-request.js';
import { silentLogger } from '../../src/util/logger.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    db: { type: 'string' },
    receiver: { type: 'string' },
    from: { type: 'string', default: '0' },
    count: { type: 'string', default: '0' },
    lease: { type: 'string', default: '30000' },
    setup: { type: 'boolean', default: false },
    drain: { type: 'boolean', default: false },
  },
});

export function recordId(n: number): string {
  return `ev${String(n).padStart(13, '0')}`;
}

const app = await App.open({
  dataDir: values.dir as string,
  ...(values.db ? { databaseUrl: values.db, poolSize: 4 } : {}),
  automigrate: false,
  logger: silentLogger(),
  jobs: { pollMs: 50, leaseMs: Number(values.lease) },
  webhooks: { scheduleMs: [0, 50, 50, 100, 100, 200, 200, 400, 400, 800], timeoutMs: 2000 },
});

if (values.setup) {
  await app.settings.update({ outbound: { allowedHosts: ['127.0.0.1'] } });
  await app.collections.create({ name: 'events', type: 'base', fields: [{ name: 'n', type: 'number' }] });
  const ep = await app.webhooks.create({ url: values.receiver, events: ['events.create'] });
  process.stdout.write(`secret ${ep.secret}\n`);
  await app.close();
  process.exit(0);
}

process.stdout.write('ready\n');
const events = app.collections.require('events');
const req = systemRequest(app.collections);
const from = Number(values.from);
const count = Number(values.count);
for (let i = from; i < from + count; i += 10) {
  await Promise.all(
    Array.from({ length: Math.min(10, from + count - i) }, async (_, j) => {
      const n = i + j;
      try {
        await app.writer.create(events, { data: { id: recordId(n), n } }, req);
      } catch {
        // already created by a previous (killed) round
      }
    }),
  );
}
if (values.drain) {
  for (;;) {
    const left = await app.db.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM "_webhookMessages" WHERE status = 'pending'`);
    const captured = await app.db.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM "_webhookOutbox"`);
    if (Number(left?.n) + Number(captured?.n) === 0) break;
    await sleep(50);
  }
  await app.close();
  process.exit(0);
}
setInterval(() => undefined, 60_000);
