/**
 * Hooks on a cluster: two nodes on one PostgreSQL database load the same hooks directory. A write runs
 * the record hooks of the node that handles it, once; a cron job added by a hook file runs once per
 * schedule across the nodes. Always on PostgreSQL (a cluster needs a shared database).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { App } from '../../src/app.js';
import { silentLogger } from '../../src/util/logger.js';
import { loadHooks, type HooksLoader } from '../../src/extend/index.js';
import { createTempDatabase, type TempDatabase } from '../helpers/postgres.js';
import { writeFiles } from '../helpers/hooks.js';

const HOOKS = `
import { defineHooks } from 'plinth';
export default defineHooks((app) => {
  app.onRecordCreate(async (e) => {
    e.record.hits = Number(e.record.hits) + 1;
    await e.next();
  }, 'items');
  // Every second (6 fields: with seconds); each run records its node and second.
  app.cron.add('tick', '* * * * * *', async () => {
    await app.system.records('ticks').create({ second: Math.floor(Date.now() / 1000) });
  });
});
`;

describe('hooks on two nodes sharing PostgreSQL', () => {
  let db: TempDatabase;
  let dir: string;
  const nodes: Array<{ app: App; hooks: HooksLoader }> = [];

  before(async () => {
    db = await createTempDatabase();
    dir = mkdtempSync(join(tmpdir(), 'plinth-hooks-cluster-'));
    writeFiles(join(dir, 'plinth_hooks'), { 'main.ts': HOOKS });
    for (const name of ['a', 'b']) {
      const app = await App.open({
        dataDir: join(dir, name, 'data'),
        migrationsDir: join(dir, name, 'migrations'),
        databaseUrl: db.url,
        poolSize: 4,
        logger: silentLogger(),
      });
      if (name === 'a') {
        await app.collections.create({ name: 'items', type: 'base', fields: [{ name: 'hits', type: 'number' }] });
        await app.collections.create({ name: 'ticks', type: 'base', fields: [{ name: 'second', type: 'number' }] });
      }
      nodes.push({ app, hooks: await loadHooks(app, { dir: join(dir, 'plinth_hooks') }) });
    }
  });
  after(async () => {
    for (const n of nodes) {
      await n.hooks.close();
      await n.app.close();
    }
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('both nodes loaded the same hooks; a write runs the hooks of its node once', async () => {
    for (const n of nodes) assert.deepEqual(n.hooks.files, ['main.ts']);
    const viaA = await nodes[0]!.hooks.api.system.records('items').create({ hits: 0 });
    const viaB = await nodes[1]!.hooks.api.system.records('items').create({ hits: 10 });
    assert.equal(viaA.hits, 1);
    assert.equal(viaB.hits, 11);
  });

  it('a cron job from a hook file runs once per schedule across the nodes', async () => {
    const ticks = nodes[0]!.hooks.api.system.records('ticks');
    const first = await ticks.list({ perPage: 1 });
    const start = Date.now();
    await sleep(4000);
    const seconds = (Date.now() - start) / 1000;
    const runs = (await ticks.list({ perPage: 1 })).totalItems - first.totalItems;
    // One run per second (two nodes running each schedule would give about twice as many).
    assert.ok(runs >= 2 && runs <= Math.ceil(seconds) + 1, `${runs} runs in ${seconds.toFixed(1)} s`);
  });
});
