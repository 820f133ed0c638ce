/**
 * Webhook delivery under kill -9: a separate process (test/helpers/webhooks-worker.ts) creates records in
 * rounds of EVENTS while it delivers them to a loopback receiver (which verifies every delivery with
 * `standardwebhooks` and answers 500 to one in ten), and is killed with SIGKILL at random moments; then one
 * last process drains. Every committed record must have been delivered (0 lost), no delivery may name a
 * record that does not exist (nothing sent for an uncommitted write), and no message stays pending or failed.
 * SQLite and PostgreSQL (lease 400 ms, so a killed node's claims come back quickly).
 * `PLINTH_WEBHOOK_KILL_ROUNDS` / `PLINTH_WEBHOOK_KILL_EVENTS` override the rounds and events per round.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createTempDatabase } from '../helpers/postgres.js';
import { startReceiver, verifyHit, type Receiver } from '../helpers/webhook-receiver.js';

const WORKER = fileURLToPath(new URL('../helpers/webhooks-worker.js', import.meta.url));
const ROUNDS = Number(process.env.PLINTH_WEBHOOK_KILL_ROUNDS ?? 4);
const EVENTS = Number(process.env.PLINTH_WEBHOOK_KILL_EVENTS ?? 200);

function run(args: string[], killAfterMs: number | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (b) => {
      out += b;
      if (killAfterMs !== null && !timer && out.includes('ready')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (b) => (err += b));
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(guard);
      if (killAfterMs === null && code !== 0) return reject(new Error(`worker exited ${code ?? signal}: ${err}`));
      resolve(out);
    });
  });
}

async function torture(base: string[], receiver: Receiver, count: (sql: string) => Promise<Array<Record<string, unknown>>>): Promise<void> {
  const setup = await run([...base, '--setup', `--receiver=${receiver.url}`], null);
  const secret = /secret (\S+)/.exec(setup)?.[1];
  assert.ok(secret, setup);
  let killed = 0;
  for (let r = 0; r < ROUNDS; r++) {
    await run([...base, `--from=${r * EVENTS}`, `--count=${EVENTS}`], 100 + Math.floor(Math.random() * 1400));
    killed++;
  }
  const beforeDrain = receiver.hits.length;
  // The drain also finishes every round's records that were never created (the kill came first).
  await run([...base, `--from=0`, `--count=${ROUNDS * EVENTS}`, '--drain'], null);

  const delivered = new Set<string>();
  for (const hit of receiver.hits) {
    const body = verifyHit(secret, hit);
    delivered.add(body.data.record.id);
  }
  const records = (await count('SELECT id FROM events')).map((r) => String(r.id));
  assert.equal(records.length, ROUNDS * EVENTS);
  const lost = records.filter((id) => !delivered.has(id));
  assert.deepEqual(lost, [], 'every committed record was delivered');
  const phantom = [...delivered].filter((id) => !records.includes(id));
  assert.deepEqual(phantom, [], 'nothing delivered for a write that did not commit');
  const stuck = await count(`SELECT id, status FROM "_webhookMessages" WHERE status <> 'delivered'`);
  assert.deepEqual(stuck, []);
  assert.deepEqual(await count('SELECT id FROM "_webhookOutbox"'), [], 'nothing left in the outbox');
  const msgs = await count('SELECT COUNT(*) AS n FROM "_webhookMessages"');
  assert.equal(Number(msgs[0]?.n), ROUNDS * EVENTS, 'one message per record');
  const ids = new Set(receiver.hits.map((h) => String(h.headers['webhook-id'])));
  assert.equal(ids.size, ROUNDS * EVENTS, 'one webhook-id per message, however often it was sent');
  console.log(
    `# ${killed} kill -9 rounds of ${EVENTS} events: ${beforeDrain} deliveries before the drain, ${receiver.hits.length} in all ` +
      `(${receiver.hits.length - ids.size} repeats: 500 answers and POSTs whose outcome a kill cut off), 0 lost`,
  );
}

describe('webhook delivery under kill -9', () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver((_q, res) => {
      res.statusCode = Math.random() < 0.1 ? 500 : 200;
      res.end();
    });
  });
  after(async () => {
    await receiver.close();
  });

  it('SQLite: 0 events lost, none sent for an uncommitted write', { timeout: 300_000 }, async () => {
    receiver.hits.length = 0;
    const dir = mkdtempSync(join(tmpdir(), 'plinth-webhooks-kill-'));
    const dataDir = join(dir, 'data');
    try {
      await torture([`--dir=${dataDir}`], receiver, async (q) => {
        const db = new Database(join(dataDir, 'data.db'), { readonly: true });
        try {
          return db.prepare(q).all() as Array<Record<string, unknown>>;
        } finally {
          db.close();
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL: 0 events lost after the killed node’s leases expire', { timeout: 300_000 }, async () => {
    receiver.hits.length = 0;
    const temp = await createTempDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'plinth-webhooks-kill-pg-'));
    try {
      await torture([`--dir=${join(dir, 'data')}`, `--db=${temp.url}`, '--lease=400'], receiver, async (q) => {
        const c = new pg.Client({ connectionString: temp.url });
        await c.connect();
        try {
          return (await c.query(q)).rows as Array<Record<string, unknown>>;
        } finally {
          await c.end();
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await temp.drop();
    }
  });
});
