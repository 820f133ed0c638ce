/**
 * PocketBase's cron API over the SDK: the built-in jobs are listed, a job can be run on demand, both for
 * superusers only; bad ids and expressions are clear 4xx answers; and the built-in OTP clean-up really
 * deletes expired OTPs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemRequest } from '../../src/records/system-request.js';
import type { ClientResponseError } from 'pocketbase';
import type { AppError } from '../../src/errors/index.js';
import { sql } from '../../src/db/sql.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('cron jobs (/api/crons)', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s.close();
  });

  it('lists the built-in jobs for superusers, sorted by id', async () => {
    const jobs = await s.admin.crons.getFullList();
    const ids = jobs.map((j) => j.id);
    assert.ok(ids.includes('__pbOTPCleanup__') && ids.includes('__pbMFACleanup__'), ids.join());
    assert.deepEqual(ids, [...ids].sort());
    assert.equal(jobs.find((j) => j.id === '__pbOTPCleanup__')?.expression, '0 * * * *');
  });

  it('is for superusers only', async () => {
    const guest = s.client();
    await assert.rejects(guest.crons.getFullList(), (e: ClientResponseError) => e.status === 401 || e.status === 403);
    await assert.rejects(guest.crons.run('__pbOTPCleanup__'), (e: ClientResponseError) => e.status === 401 || e.status === 403);
  });

  it('runs a job on demand (204) and 404s an unknown one', async () => {
    let runs = 0;
    s.app.cron.add('test_job', '0 0 1 1 *', () => void runs++);
    try {
      await s.admin.crons.run('test_job');
      for (let i = 0; i < 50 && runs === 0; i++) await sleep(10);
      assert.equal(runs, 1);
      await assert.rejects(s.admin.crons.run('nope'), (e: ClientResponseError) => e.status === 404);
    } finally {
      s.app.cron.remove('test_job');
    }
  });

  it('refuses an invalid expression or id with a clear 400', () => {
    assert.throws(
      () => s.app.cron.add('bad', '61 * * * *', () => undefined),
      (e: AppError) => e.status === 400 && /Invalid cron expression/.test(e.message),
    );
    assert.throws(
      () => s.app.cron.add('bad id!', '* * * * *', () => undefined),
      (e: AppError) => e.status === 400,
    );
  });

  it("the OTP clean-up job deletes OTPs older than the collection's otp.duration, and keeps fresh ones", async () => {
    const users = s.app.collections.require('users');
    const user = await s.admin.collection('users').create({ email: 'otp@example.com', password: 'password123', passwordConfirm: 'password123' });
    await s.admin.collections.update('users', { otp: { enabled: true, duration: 60 } });
    // Stored as the OTP flow stores one (no SMTP here, so the flow itself would drop it again).
    const otp = await s.app.writer.create(
      s.app.collections.require('_otps'),
      { data: { collectionRef: users.id, recordRef: user.id, password: '123456', sentTo: 'otp@example.com' } },
      systemRequest(s.app.collections),
    );
    assert.equal(await s.app.auth.cleanupExpired('_otps'), 0, 'a fresh OTP stays');
    assert.ok(await s.app.db.get(sql`SELECT id FROM _otps WHERE id = ${otp.id as string}`));
    assert.equal(await s.app.auth.cleanupExpired('_otps', Date.now() + 61_000), 1, 'an expired one goes');
    assert.equal(await s.app.db.get(sql`SELECT id FROM _otps WHERE id = ${otp.id as string}`), undefined);
  });
});
