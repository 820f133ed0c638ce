/**
 * Multi-factor auth: PocketBase's collection MFA (first method answers 401 {mfaId}, a different second
 * method completes it) and Plinth's TOTP authenticator factor with recovery codes, including single use
 * of codes and MFA sessions under concurrency.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientResponseError } from 'pocketbase';
import { hotp, base32Decode, totpCode, totpStep } from '../../src/auth/totp-code.js';
import { startSmtpSink, otpFromMail, type SmtpSink } from '../helpers/auth-smtp-sink.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { login, parallel, postJson, signUp, getJson } from '../helpers/auth-http.js';

let s: TestServer;
let smtp: SmtpSink;

/** A code for the step after the current one (accepted within the ±1 step window, and unused so far). */
function nextCode(secret: string): string {
  return hotp(base32Decode(secret)!, totpStep() + 1);
}

describe('MFA', () => {
  before(async () => {
    smtp = await startSmtpSink();
    s = await startServer();
    await smtp.attach(s);
  });
  after(async () => {
    await s.close();
    await smtp.close();
  });

  describe('collection MFA (password + OTP)', () => {
    before(async () => {
      await s.admin.collections.update('users', { otp: { enabled: true }, mfa: { enabled: true, duration: 600, rule: '' } });
    });
    after(async () => {
      await s.admin.collections.update('users', { mfa: { enabled: false }, otp: { enabled: false } });
    });

    it('password answers 401 {mfaId}; OTP with that mfaId completes the sign-in', async () => {
      const id = await signUp(s, 'mfa@example.com');
      const pb = s.client();
      let mfaId = '';
      await assert.rejects(pb.collection('users').authWithPassword('mfa@example.com', 'password123'), (e: ClientResponseError) => {
        assert.equal(e.status, 401);
        mfaId = e.response.mfaId;
        return typeof mfaId === 'string' && mfaId.length > 0;
      });
      const raw = await postJson(s, '/api/collections/users/auth-with-password', { identity: 'mfa@example.com', password: 'password123' });
      assert.deepEqual(Object.keys(raw.body), ['mfaId'], 'the 401 body is {mfaId}, not an error envelope');
      assert.equal(pb.authStore.token, '');

      const { otpId } = await pb.collection('users').requestOTP('mfa@example.com');
      const code = otpFromMail(await smtp.waitFor((m) => m.to.includes('mfa@example.com')));
      const auth = await pb.collection('users').authWithOTP(otpId, code, { mfaId });
      assert.equal(auth.record.id, id);
      assert.ok(pb.authStore.isValid);
      // The MFA session is spent.
      await assert.rejects(pb.collection('users').authWithPassword('mfa@example.com', 'password123', { mfaId }), (e: ClientResponseError) => e.status === 400);
    });

    it('the same method twice, a foreign or unknown mfaId are 400', async () => {
      await signUp(s, 'mfa2@example.com');
      await signUp(s, 'mfa3@example.com');
      const first = await postJson(s, '/api/collections/users/auth-with-password', { identity: 'mfa2@example.com', password: 'password123' });
      const mfaId = String(first.body.mfaId);
      const again = await postJson(s, `/api/collections/users/auth-with-password?mfaId=${mfaId}`, { identity: 'mfa2@example.com', password: 'password123' });
      assert.equal(again.status, 400);
      assert.equal(again.body.message, 'A different authentication method is required.');
      const other = await postJson(s, '/api/collections/users/auth-with-password', { identity: 'mfa3@example.com', password: 'password123' });
      const foreign = await postJson(s, '/api/collections/users/auth-with-password', { identity: 'mfa3@example.com', password: 'password123', mfaId });
      assert.equal(foreign.status, 400, 'another record’s MFA session');
      assert.equal(other.status, 401);
      const unknown = await postJson(s, '/api/collections/users/auth-with-password', { identity: 'mfa3@example.com', password: 'password123', mfaId: 'nope' });
      assert.equal(unknown.status, 400);
      for (const bad of [{}, [], true]) {
        assert.equal(
          (await postJson(s, '/api/collections/users/auth-with-password', { identity: 'mfa3@example.com', password: 'password123', mfaId: bad })).status,
          400,
        );
      }
    });

    it('the mfa.rule decides who needs MFA', async () => {
      await s.admin.collections.update('users', { mfa: { rule: "email = 'strict@example.com'" } });
      try {
        await signUp(s, 'relaxed@example.com');
        await signUp(s, 'strict@example.com');
        await login(s, 'relaxed@example.com');
        await assert.rejects(login(s, 'strict@example.com'), (e: ClientResponseError) => e.status === 401);
      } finally {
        await s.admin.collections.update('users', { mfa: { rule: '' } });
      }
    });
  });

  describe('TOTP authenticator factor', () => {
    async function enrolled(email: string): Promise<{ id: string; token: string; secret: string; recoveryCodes: string[] }> {
      const id = await signUp(s, email);
      const token = (await login(s, email)).authStore.token;
      const setup = await postJson(s, '/api/collections/users/totp/setup', {}, token);
      assert.equal(setup.status, 200);
      const secret = String(setup.body.secret);
      assert.match(String(setup.body.url), /^otpauth:\/\/totp\/Plinth%20Test%3A[^?]+\?secret=[A-Z2-7]{32}&/);
      const enable = await postJson(s, '/api/collections/users/totp/enable', { code: totpCode(secret) }, token);
      assert.equal(enable.status, 200, JSON.stringify(enable.body));
      return { id, token, secret, recoveryCodes: enable.body.recoveryCodes as string[] };
    }

    async function passwordStep(email: string): Promise<string> {
      const res = await postJson(s, '/api/collections/users/auth-with-password', { identity: email, password: 'password123' });
      assert.equal(res.status, 401, JSON.stringify(res.body));
      return String(res.body.mfaId);
    }

    it('setup needs auth; enable needs a valid code and returns 10 recovery codes once', async () => {
      assert.equal((await postJson(s, '/api/collections/users/totp/setup', {})).status, 401);
      await signUp(s, 'enrol@example.com');
      const token = (await login(s, 'enrol@example.com')).authStore.token;
      const setup = await postJson(s, '/api/collections/users/totp/setup', {}, token);
      assert.equal((await postJson(s, '/api/collections/users/totp/enable', { code: '000000' }, token)).status, 400);
      for (const bad of [{}, [], true, null, 123456]) {
        assert.equal((await postJson(s, '/api/collections/users/totp/enable', { code: bad }, token)).status, 400);
      }
      const enable = await postJson(s, '/api/collections/users/totp/enable', { code: totpCode(String(setup.body.secret)) }, token);
      const codes = enable.body.recoveryCodes as string[];
      assert.equal(codes.length, 10);
      assert.ok(codes.every((c) => /^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/.test(c)));
      assert.deepEqual((await getJson(s, '/api/collections/users/totp', token)).body, { enabled: true, recoveryCodesLeft: 10 });
      assert.equal((await postJson(s, '/api/collections/users/totp/setup', {}, token)).status, 400, 'no silent re-enrolment');
      const stored = await s.app.db.get<{ recoveryCodes: string }>((await import('../../src/db/sql.js')).sql`SELECT "recoveryCodes" FROM _totp`);
      assert.ok(stored && !codes.some((c) => stored.recoveryCodes.includes(c)), 'recovery codes are stored hashed');
    });

    it('password then auth-with-totp signs in; a TOTP code works once', async () => {
      const u = await enrolled('totp@example.com');
      const mfaId = await passwordStep('totp@example.com');
      const code = nextCode(u.secret);
      const ok = await postJson(s, '/api/collections/users/auth-with-totp', { mfaId, code });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal((ok.body.record as { id: string }).id, u.id);
      const mfaId2 = await passwordStep('totp@example.com');
      assert.equal((await postJson(s, '/api/collections/users/auth-with-totp', { mfaId: mfaId2, code })).status, 400, 'replayed code');
      assert.equal((await postJson(s, '/api/collections/users/auth-with-totp', { mfaId: 'nope', code })).status, 400);
    });

    it('with TOTP enrolled, another method cannot complete the MFA session', async () => {
      await s.admin.collections.update('users', { otp: { enabled: true } });
      try {
        await enrolled('totp-otp@example.com');
        const mfaId = await passwordStep('totp-otp@example.com');
        const { otpId } = await s.client().collection('users').requestOTP('totp-otp@example.com');
        const code = otpFromMail(await smtp.waitFor((m) => m.to.includes('totp-otp@example.com')));
        const res = await postJson(s, '/api/collections/users/auth-with-otp', { otpId, password: code, mfaId });
        assert.equal(res.status, 400);
      } finally {
        await s.admin.collections.update('users', { otp: { enabled: false } });
      }
    });

    it('a recovery code works once; 50 parallel uses of one give exactly one sign-in', async () => {
      const u = await enrolled('recover@example.com');
      const mfaId = await passwordStep('recover@example.com');
      const [first, second] = u.recoveryCodes as [string, string];
      assert.equal((await postJson(s, '/api/collections/users/auth-with-totp', { mfaId, code: first.toUpperCase() })).status, 200);
      const mfaId2 = await passwordStep('recover@example.com');
      assert.equal((await postJson(s, '/api/collections/users/auth-with-totp', { mfaId: mfaId2, code: first })).status, 400, 'used');
      const mfaId3 = await passwordStep('recover@example.com');
      const counts = await parallel(50, async () => (await postJson(s, '/api/collections/users/auth-with-totp', { mfaId: mfaId3, code: second })).status);
      assert.equal(counts.get(200), 1, JSON.stringify([...counts]));
      const token = (await postJson(s, '/api/collections/users/auth-with-totp', { mfaId: await passwordStep('recover@example.com'), code: u.recoveryCodes[2] }))
        .body.token as string;
      assert.equal((await getJson(s, '/api/collections/users/totp', token)).body.recoveryCodesLeft, 7);
    });

    it('5 wrong codes end the MFA session (429)', async () => {
      await enrolled('guess@example.com');
      const mfaId = await passwordStep('guess@example.com');
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await postJson(s, '/api/collections/users/auth-with-totp', { mfaId, code: '000000' })).status);
      assert.deepEqual(statuses, [400, 400, 400, 400, 400, 429]);
      assert.equal((await postJson(s, '/api/collections/users/auth-with-totp', { mfaId, code: '111111' })).status, 400, 'the session is gone');
    });

    it('disabling needs the password and a code; afterwards the password alone signs in', async () => {
      const u = await enrolled('disable@example.com');
      assert.equal((await postJson(s, '/api/collections/users/totp/disable', { password: 'password123' }, u.token)).status, 400);
      assert.equal((await postJson(s, '/api/collections/users/totp/disable', { password: 'wrong', code: nextCode(u.secret) }, u.token)).status, 400);
      assert.equal((await postJson(s, '/api/collections/users/totp/disable', { password: 'password123', code: '000000' }, u.token)).status, 400);
      assert.equal((await postJson(s, '/api/collections/users/totp/disable', { password: 'password123', code: u.recoveryCodes[0] }, u.token)).status, 204);
      await login(s, 'disable@example.com');
    });

    it('new recovery codes replace the old ones', async () => {
      const u = await enrolled('regen@example.com');
      const res = await postJson(s, '/api/collections/users/totp/recovery-codes', { code: nextCode(u.secret) }, u.token);
      assert.equal(res.status, 200);
      const fresh = res.body.recoveryCodes as string[];
      const mfaId = await passwordStep('regen@example.com');
      assert.equal((await postJson(s, '/api/collections/users/auth-with-totp', { mfaId, code: u.recoveryCodes[0] })).status, 400);
      assert.equal((await postJson(s, '/api/collections/users/auth-with-totp', { mfaId, code: fresh[0] })).status, 200);
    });

    it('deleting the user removes its authenticator', async () => {
      const u = await enrolled('gone@example.com');
      await s.admin.collection('users').delete(u.id);
      const { sql } = await import('../../src/db/sql.js');
      assert.equal((await s.app.db.all(sql`SELECT * FROM _totp WHERE "recordRef" = ${u.id}`)).length, 0);
    });
  });
});
