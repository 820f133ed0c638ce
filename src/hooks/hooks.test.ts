/**
 * The hook bus: chain order, priorities, tags, stopping and aborting; record hooks run inside the write
 * transaction, after-commit hooks only once the outermost transaction committed (never for a rollback).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hook } from './hook.js';
import { systemRequest } from '../records/system-request.js';
import { AppError } from '../errors/index.js';
import { openTestApp } from '../../test/helpers/server.js';

describe('Hook', () => {
  it('runs handlers by priority then bind order, around the final action', async () => {
    const hook = new Hook<{ tags?: string[]; log: string[] }>();
    hook.bind(async (e, next) => {
      e.log.push('b-before');
      await next();
      e.log.push('b-after');
    });
    hook.bind(
      async (e, next) => {
        e.log.push('a');
        await next();
      },
      { priority: -1 },
    );
    const e = { log: [] as string[] };
    await hook.trigger(e, () => {
      e.log.push('final');
    });
    assert.deepEqual(e.log, ['a', 'b-before', 'final', 'b-after']);
  });

  it('filters by tags, replaces by id, unbinds, and stops when next() is not called', async () => {
    const hook = new Hook<{ tags?: string[]; n: number }>();
    hook.bind(
      (e, next) => {
        e.n += 1;
        return next();
      },
      { id: 'x', tags: ['posts'] },
    );
    hook.bind(
      (e, next) => {
        e.n += 10;
        return next();
      },
      { id: 'x', tags: ['posts'] },
    );
    const e1 = { tags: ['posts'], n: 0 };
    await hook.trigger(e1);
    assert.equal(e1.n, 10, 'same id replaced the first handler');
    const e2 = { tags: ['other'], n: 0 };
    let ran = false;
    await hook.trigger(e2, () => {
      ran = true;
    });
    assert.equal(e2.n, 0);
    assert.equal(ran, true);
    hook.bind(() => undefined, { id: 'stop' });
    ran = false;
    await hook.trigger({ tags: ['posts'], n: 0 }, () => {
      ran = true;
    });
    assert.equal(ran, false, 'a handler that does not call next() stops the chain');
    hook.unbind('stop');
    assert.equal(hook.length, 1);
  });

  it('calling next() twice is an error', async () => {
    const hook = new Hook<{ tags?: string[] }>();
    hook.bind(async (_e, next) => {
      await next();
      await next();
    });
    await assert.rejects(hook.trigger({}), /more than once/);
  });
});

describe('record hooks and transactions', () => {
  it('a throwing record hook aborts the write; after-commit hooks fire only for committed writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-hooks-'));
    const app = await openTestApp({ dataDir: join(dir, 'data'), migrationsDir: join(dir, 'm') });
    try {
      const posts = await app.collections.create({ name: 'posts', type: 'base', fields: [{ name: 'title', type: 'text' }] });
      const committed: string[] = [];
      app.hooks.onRecordAfterCreateCommit.bind((e, next) => {
        committed.push(String(e.record.title));
        return next();
      });
      app.hooks.onRecordCreate.bind(async (e, next) => {
        assert.ok(e.tx, 'record hooks get the transaction');
        if (e.record.title === 'veto') throw AppError.badRequest('vetoed');
        e.record.title = `${String(e.record.title)}!`;
        await next();
      });
      const req = systemRequest(app.collections);
      const rec = await app.writer.create(posts, { data: { title: 'ok' } }, req);
      assert.equal(rec.title, 'ok!', 'a hook may change the record before it is written');
      await assert.rejects(app.writer.create(posts, { data: { title: 'veto' } }, req), /vetoed/);
      await assert.rejects(
        app.db.transaction(async (tx) => {
          await app.writer.create(posts, { data: { title: 'inside' } }, req, tx);
          assert.deepEqual(await app.hooks.settled().then(() => committed), ['ok!'], 'not announced before the outer commit');
          throw new Error('roll back');
        }),
        /roll back/,
      );
      await app.hooks.settled();
      assert.deepEqual(committed, ['ok!']);
      const stored = await app.reader.list(posts, { page: 1, perPage: 10, sort: '', filter: '', skipTotal: false, expand: '' }, req);
      assert.deepEqual(
        stored.items.map((r) => r.title),
        ['ok!'],
      );
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
