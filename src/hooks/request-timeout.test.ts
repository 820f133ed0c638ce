/** The user-code request timeout: hung handlers reject with a 504 AppError; the action's own time is not counted. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors/index.js';
import { Hook } from './hook.js';
import { triggerWithin } from './request-timeout.js';

describe('triggerWithin', () => {
  it('rejects with the 504 `timeout` AppError when a handler hangs', async () => {
    const hook = new Hook<{ tags?: string[] }>();
    hook.bind(() => new Promise<void>(() => {}));
    const started = performance.now();
    await assert.rejects(
      triggerWithin(hook, {}, () => {}, 100),
      (err: AppError) => err.code === 'timeout' && err.status === 504,
    );
    assert.ok(performance.now() - started < 1000);
  });

  it('does not count the time spent in the action (final)', async () => {
    const hook = new Hook<{ tags?: readonly string[]; log: string[] }>();
    hook.bind(async (e, next) => {
      e.log.push('before');
      await next();
      e.log.push('after');
    });
    const e: { tags?: readonly string[]; log: string[] } = { log: [] };
    await triggerWithin(
      hook,
      e,
      async () => {
        await sleep(300); // three times the budget
        e.log.push('final');
      },
      100,
    );
    assert.deepEqual(e.log, ['before', 'final', 'after']);
  });

  it('counts user time before and after the action together', async () => {
    const hook = new Hook<{ tags?: string[] }>();
    hook.bind(async (_e, next) => {
      await sleep(70);
      await next();
      await sleep(70);
    });
    await assert.rejects(
      triggerWithin(hook, {}, () => {}, 100),
      (err: AppError) => err.code === 'timeout',
    );
  });

  it('passes errors through and has no limit at 0', async () => {
    const hook = new Hook<{ tags?: string[] }>();
    hook.bind(() => {
      throw new AppError('forbidden', 'nope');
    });
    await assert.rejects(
      triggerWithin(hook, {}, () => {}, 100),
      (err: AppError) => err.code === 'forbidden',
    );
    const slow = new Hook<{ tags?: string[] }>();
    slow.bind(async (_e, next) => {
      await sleep(50);
      await next();
    });
    await triggerWithin(slow, {}, () => {}, 0);
  });

  it('a handler that calls next() after the timeout no longer runs the action', async () => {
    const hook = new Hook<{ tags?: string[] }>();
    let lateNext: Promise<void> | undefined;
    hook.bind(async (_e, next) => {
      await sleep(150);
      lateNext = next();
      await lateNext.catch(() => {});
    });
    let ran = false;
    await assert.rejects(
      triggerWithin(
        hook,
        {},
        () => {
          ran = true;
        },
        50,
      ),
      (err: AppError) => err.code === 'timeout',
    );
    await sleep(200);
    assert.ok(lateNext, 'the handler called next()');
    await assert.rejects(lateNext!, (err: AppError) => err.code === 'timeout');
    assert.equal(ran, false);
  });
});
