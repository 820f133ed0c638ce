/**
 * The emailed flows end to end: a real SMTP sink captures what Plinth sends, and the tests follow the
 * links and codes with the real SDK. Covers verification, password reset, email change, OTP, login
 * alerts, template escaping and the test-email endpoint, plus enumeration resistance and single use under
 * 50 concurrent submissions.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientResponseError } from 'pocketbase';
import { startSmtpSink, otpFromMail, tokenFromMail, type SmtpSink } from '../helpers/auth-smtp-sink.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { jwtPayload, login, parallel, postJson, signUp, similarTimes } from '../helpers/auth-http.js';

let s: TestServer;
let smtp: SmtpSink;

const settle = () => s.app.auth.settled();
const users = () => s.client().collection('users');

describe('emailed auth flows (SMTP sink)', () => {
  before(async () => {
    smtp = await startSmtpSink();
    s = await startServer();
    await smtp.attach(s);
  });
  after(async () => {
    await s.close();
    await smtp.close();
  });

  describe('verification', () => {
    it('request → mail → confirm marks the record verified; the SDK flow works', async () => {
      const id = await signUp(s, 'verify@example.com', 'password123', { name: 'Vera' });
      assert.equal(await users().requestVerification('verify@example.com'), true);
      const mail = await smtp.waitFor((m) => m.to.includes('verify@example.com') && m.subject.includes('Verify'));
      assert.equal(mail.subject, 'Verify your Plinth Test email');
      assert.match(mail.html, /http:\/\/app\.test\/_\/#\/auth\/confirm-verification\//);
      assert.match(mail.text, /confirm-verification\//, 'a plain-text alternative is sent too');
      const token = tokenFromMail(mail, 'confirm-verification');
      const claims = jwtPayload(token);
      assert.equal(claims.type, 'verification');
      assert.equal(claims.email, 'verify@example.com');
      assert.equal(claims.id, id);
      assert.equal(await users().confirmVerification(token), true);
      assert.equal((await s.admin.collection('users').getOne(id)).verified, true);
      const again = await postJson(s, '/api/collections/users/confirm-verification', { token });
      assert.equal(again.status, 204, 'an already verified record answers 204 again, as in PocketBase');
    });

    it('50 parallel confirmations of one token all answer 204 and leave the record verified once', async () => {
      await signUp(s, 'race-verify@example.com');
      await users().requestVerification('race-verify@example.com');
      const token = tokenFromMail(await smtp.waitFor((m) => m.to.includes('race-verify@example.com')), 'confirm-verification');
      const counts = await parallel(50, async () => (await postJson(s, '/api/collections/users/confirm-verification', { token })).status);
      assert.equal(counts.get(204), 50, JSON.stringify([...counts]));
      assert.equal((await s.admin.collection('users').getFirstListItem('email = "race-verify@example.com"')).verified, true);
    });

    it('unknown, verified and throttled addresses get the same 204 and no mail', async () => {
      const before = smtp.mails.length;
      for (const email of ['nobody@example.com', 'verify@example.com']) {
        const res = await postJson(s, '/api/collections/users/request-verification', { email });
        assert.equal(res.status, 204);
        assert.deepEqual(res.body, {});
      }
      await settle();
      assert.equal(smtp.mails.length, before);
      await signUp(s, 'twice@example.com');
      await postJson(s, '/api/collections/users/request-verification', { email: 'twice@example.com' });
      await postJson(s, '/api/collections/users/request-verification', { email: 'twice@example.com' });
      await settle();
      assert.equal(smtp.to('twice@example.com').length, 1, 'one mail per 2 minutes per record');
    });

    it('superusers are verified by default (400) and bad input is a 400', async () => {
      assert.equal((await postJson(s, '/api/collections/_superusers/request-verification', { email: 'admin@example.com' })).status, 400);
      for (const bad of [{}, [], true, null, 'not-an-email']) {
        assert.equal((await postJson(s, '/api/collections/users/request-verification', { email: bad })).status, 400);
        assert.equal((await postJson(s, '/api/collections/users/confirm-verification', { token: bad })).status, 400);
      }
    });
  });

  describe('password reset', () => {
    it('request → mail → confirm: the new password works, the old one and every old token do not', async () => {
      const id = await signUp(s, 'reset@example.com');
      const session = await login(s, 'reset@example.com');
      assert.equal(await users().requestPasswordReset('reset@example.com'), true);
      const mail = await smtp.waitFor((m) => m.to.includes('reset@example.com') && m.subject.startsWith('Reset'));
      const token = tokenFromMail(mail, 'confirm-password-reset');
      assert.equal(jwtPayload(token).type, 'passwordReset');
      await assert.rejects(users().confirmPasswordReset(token, 'brand-new-pass', 'different'), (e: ClientResponseError) => e.status === 400);
      assert.equal(await users().confirmPasswordReset(token, 'brand-new-pass', 'brand-new-pass'), true);
      await assert.rejects(login(s, 'reset@example.com', 'password123'), (e: ClientResponseError) => e.status === 400);
      await login(s, 'reset@example.com', 'brand-new-pass');
      assert.equal((await postJson(s, '/api/collections/users/auth-refresh', {}, session.authStore.token)).status, 401);
      assert.equal((await s.admin.collection('users').getOne(id)).verified, true, 'receiving the mail proves the address');
      const reuse = await postJson(s, '/api/collections/users/confirm-password-reset', { token, password: 'third-pass-1', passwordConfirm: 'third-pass-1' });
      assert.equal(reuse.status, 400);
    });

    it('50 parallel confirmations of one reset token: exactly one succeeds', async () => {
      await signUp(s, 'race-reset@example.com');
      await users().requestPasswordReset('race-reset@example.com');
      const token = tokenFromMail(await smtp.waitFor((m) => m.to.includes('race-reset@example.com')), 'confirm-password-reset');
      const counts = await parallel(
        50,
        async () =>
          (await postJson(s, '/api/collections/users/confirm-password-reset', { token, password: 'race-pass-123', passwordConfirm: 'race-pass-123' })).status,
      );
      assert.equal(counts.get(204), 1, JSON.stringify([...counts]));
      assert.equal(counts.get(400), 49);
    });

    it('a too-short new password is a field error; type confusion is a 400', async () => {
      await signUp(s, 'short@example.com');
      await users().requestPasswordReset('short@example.com');
      const token = tokenFromMail(await smtp.waitFor((m) => m.to.includes('short@example.com')), 'confirm-password-reset');
      const short = await postJson(s, '/api/collections/users/confirm-password-reset', { token, password: 'x', passwordConfirm: 'x' });
      assert.equal(short.status, 400);
      assert.ok('password' in (short.body.data as object));
      for (const bad of [{}, [], true, null, 0]) {
        const res = await postJson(s, '/api/collections/users/confirm-password-reset', {
          token: bad,
          password: 'long-enough-1',
          passwordConfirm: 'long-enough-1',
        });
        assert.equal(res.status, 400);
        const res2 = await postJson(s, '/api/collections/users/confirm-password-reset', { token, password: bad, passwordConfirm: bad });
        assert.equal(res2.status, 400);
      }
      // The token survived the failed attempts.
      assert.equal(
        (await postJson(s, '/api/collections/users/confirm-password-reset', { token, password: 'long-enough-1', passwordConfirm: 'long-enough-1' })).status,
        204,
      );
    });

    it('known and unknown emails: same status, same body, similar time, no mail for the unknown', async () => {
      await signUp(s, 'enum@example.com');
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 15; i++) {
        for (const [email, into] of [
          ['enum@example.com', known],
          [`ghost${i}@example.com`, unknown],
        ] as const) {
          const t0 = performance.now();
          const res = await postJson(s, '/api/collections/users/request-password-reset', { email });
          into.push(performance.now() - t0);
          assert.equal(res.status, 204);
          assert.deepEqual(res.body, {});
          // Let the previous request's background mail finish first: the timing compared is the answer's
          // own path, not contention with the mail the known address set off a moment earlier.
          await settle();
        }
      }
      assert.equal(smtp.to('enum@example.com').length, 1);
      assert.equal(smtp.mails.filter((m) => m.to.some((t) => t.startsWith('ghost'))).length, 0);
      // The work happens after the answer, so both paths are the same request; allow generous noise.
      const same = similarTimes(known, unknown, 2, 5);
      assert.ok(same.ok, same.detail);
    });
  });

  describe('email change', () => {
    it('request (auth) → mail to the new address → confirm with the password', async () => {
      const id = await signUp(s, 'old-address@example.com');
      const pb = await login(s, 'old-address@example.com');
      assert.equal((await postJson(s, '/api/collections/users/request-email-change', { newEmail: 'x@example.com' })).status, 401);
      assert.equal(await pb.collection('users').requestEmailChange('new-address@example.com'), true);
      const mail = await smtp.waitFor((m) => m.to.includes('new-address@example.com'));
      const token = tokenFromMail(mail, 'confirm-email-change');
      const claims = jwtPayload(token);
      assert.equal(claims.newEmail, 'new-address@example.com');
      assert.equal(claims.email, 'old-address@example.com');
      await assert.rejects(users().confirmEmailChange(token, 'wrong-password'), (e: ClientResponseError) => e.status === 400 && 'password' in e.response.data);
      assert.equal(await users().confirmEmailChange(token, 'password123'), true);
      const rec = await s.admin.collection('users').getOne(id);
      assert.equal(rec.email, 'new-address@example.com');
      assert.equal(rec.verified, true);
      assert.equal((await postJson(s, '/api/collections/users/auth-refresh', {}, pb.authStore.token)).status, 401, 'old sessions end');
      assert.equal((await postJson(s, '/api/collections/users/confirm-email-change', { token, password: 'password123' })).status, 400);
      await login(s, 'new-address@example.com');
    });

    it('50 parallel confirmations of one email-change token: exactly one succeeds', async () => {
      await signUp(s, 'race-change@example.com');
      const pb = await login(s, 'race-change@example.com');
      await pb.collection('users').requestEmailChange('race-changed@example.com');
      const token = tokenFromMail(await smtp.waitFor((m) => m.to.includes('race-changed@example.com')), 'confirm-email-change');
      const counts = await parallel(
        50,
        async () => (await postJson(s, '/api/collections/users/confirm-email-change', { token, password: 'password123' })).status,
      );
      assert.equal(counts.get(204), 1, JSON.stringify([...counts]));
    });

    it('a taken address is a 400 and no mail, as in PocketBase; so is the same address', async () => {
      await signUp(s, 'taken@example.com');
      await signUp(s, 'wants-taken@example.com');
      const pb = await login(s, 'wants-taken@example.com');
      assert.equal((await postJson(s, '/api/collections/users/request-email-change', { newEmail: 'taken@example.com' }, pb.authStore.token)).status, 400);
      assert.equal((await postJson(s, '/api/collections/users/request-email-change', { newEmail: 'wants-taken@example.com' }, pb.authStore.token)).status, 400);
      await settle();
      assert.equal(smtp.to('taken@example.com').length, 0);
    });
  });

  describe('OTP', () => {
    before(async () => {
      await s.admin.collections.update('users', { otp: { enabled: true, duration: 300, length: 8 } });
    });

    it('request → code by mail → auth-with-otp signs in (and verifies the address)', async () => {
      const id = await signUp(s, 'otp@example.com');
      const methods = await users().listAuthMethods();
      assert.deepEqual(methods.otp, { enabled: true, duration: 300 });
      const { otpId } = await users().requestOTP('otp@example.com');
      const mail = await smtp.waitFor((m) => m.to.includes('otp@example.com') && m.subject.startsWith('OTP'));
      const code = otpFromMail(mail);
      assert.match(code, /^\d{8}$/);
      await assert.rejects(users().authWithOTP(otpId, '00000000'), (e: ClientResponseError) => e.status === 400);
      const pb = s.client();
      const auth = await pb.collection('users').authWithOTP(otpId, code);
      assert.equal(auth.record.id, id);
      assert.equal(auth.record.verified, true);
      assert.equal((await postJson(s, '/api/collections/users/auth-with-otp', { otpId, password: code })).status, 400, 'single use');
    });

    it('unknown emails get the same 200 {otpId} shape and no mail', async () => {
      const a = await postJson(s, '/api/collections/users/request-otp', { email: 'nobody-otp@example.com' });
      assert.equal(a.status, 200);
      assert.deepEqual(Object.keys(a.body), ['otpId']);
      assert.match(String(a.body.otpId), /^[a-z0-9]{15}$/);
      await settle();
      assert.equal(smtp.to('nobody-otp@example.com').length, 0);
      assert.equal((await postJson(s, '/api/collections/users/auth-with-otp', { otpId: a.body.otpId, password: '12345678' })).status, 400);
    });

    it('50 parallel uses of one correct OTP: exactly one sign-in', async () => {
      await signUp(s, 'otp-race@example.com');
      const { otpId } = await users().requestOTP('otp-race@example.com');
      const code = otpFromMail(await smtp.waitFor((m) => m.to.includes('otp-race@example.com')));
      const counts = await parallel(50, async () => (await postJson(s, '/api/collections/users/auth-with-otp', { otpId, password: code })).status);
      assert.equal(counts.get(200), 1, JSON.stringify([...counts]));
    });

    it('wrong guesses are capped per OTP (then 429, even for the right code); bad types are a 400', async () => {
      await signUp(s, 'otp-guess@example.com');
      const { otpId } = await users().requestOTP('otp-guess@example.com');
      const code = otpFromMail(await smtp.waitFor((m) => m.to.includes('otp-guess@example.com')));
      for (const bad of [{}, [], true, null, 12345678]) {
        assert.equal((await postJson(s, '/api/collections/users/auth-with-otp', { otpId, password: bad })).status, 400);
      }
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await postJson(s, '/api/collections/users/auth-with-otp', { otpId, password: '99999999' })).status);
      assert.deepEqual(statuses.slice(0, 5), [400, 400, 400, 400, 400]);
      assert.equal(statuses[5], 429);
      assert.notEqual((await postJson(s, '/api/collections/users/auth-with-otp', { otpId, password: code })).status, 200);
    });

    it('403 when OTP is disabled', async () => {
      assert.equal((await postJson(s, '/api/collections/_superusers/request-otp', { email: 'admin@example.com' })).status, 403);
    });
  });

  describe('login alerts and templates', () => {
    it('a sign-in from a new device mails an alert (not the first sign-in)', async () => {
      await signUp(s, 'alert@example.com');
      const ua = (v: string) => ({ 'user-agent': v });
      const signIn = (agent: string) =>
        s.fetch('/api/collections/users/auth-with-password', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...ua(agent) },
          body: JSON.stringify({ identity: 'alert@example.com', password: 'password123' }),
        });
      assert.equal((await signIn('Browser A')).status, 200);
      await settle();
      assert.equal((await signIn('Browser A')).status, 200);
      await settle();
      assert.equal(smtp.to('alert@example.com').length, 0, 'first device and known device: no alert');
      assert.equal((await signIn('Browser <b>B</b>')).status, 200);
      const alert = await smtp.waitFor((m) => m.to.includes('alert@example.com') && m.subject === 'Login from a new location');
      assert.match(alert.html, /Browser &lt;b&gt;B&lt;\/b&gt;/, 'the user agent is escaped');
    });

    it('templates are logic-less: placeholders are escaped values, never code, never re-expanded', async () => {
      await s.admin.collections.update('users', {
        verificationTemplate: {
          subject: 'Hi {RECORD:name} {APP_NAME}',
          body: '<p>{RECORD:name}</p><p>${process.exit(1)} <%= 7*7 %> {{7*7}} {UNKNOWN}</p><a href="{APP_URL}/v/{TOKEN}">v</a>',
        },
      });
      try {
        await signUp(s, 'tpl@example.com', 'password123', { name: '<script>alert(1)</script> {TOKEN} {RECORD:email}' });
        await users().requestVerification('tpl@example.com');
        const mail = await smtp.waitFor((m) => m.to.includes('tpl@example.com'));
        assert.match(mail.html, /<p>&lt;script&gt;alert\(1\)&lt;\/script&gt; \{TOKEN\} \{RECORD:email\}<\/p>/);
        assert.match(mail.html, /\$\{process\.exit\(1\)\} <%= 7\*7 %> \{\{7\*7\}\} \{UNKNOWN\}/);
        assert.match(mail.html, /href="http:\/\/app\.test\/v\/ey/);
        assert.equal(mail.subject, 'Hi <script>alert(1)</script> {TOKEN} {RECORD:email} Plinth Test');
      } finally {
        await s.admin.collections.update('users', {
          verificationTemplate: {
            subject: 'Verify your {APP_NAME} email',
            body: '<p><a href="{APP_URL}/_/#/auth/confirm-verification/{TOKEN}">Verify</a></p>',
          },
        });
      }
    });

    it('POST /api/settings/test/email sends each template; 400 for bad input or SMTP off; superusers only', async () => {
      for (const template of ['verification', 'password-reset', 'email-change', 'otp', 'login-alert']) {
        await s.admin.settings.testEmail('users', `test-${template}@example.com`, template);
        await smtp.waitFor((m) => m.to.includes(`test-${template}@example.com`));
      }
      const admin = s.admin.authStore.token;
      assert.equal((await postJson(s, '/api/settings/test/email', { email: 'x@example.com', template: 'nope' }, admin)).status, 400);
      assert.equal((await postJson(s, '/api/settings/test/email', { email: {}, template: 'otp' }, admin)).status, 400);
      assert.equal((await postJson(s, '/api/settings/test/email', { email: 'x@example.com', template: 'otp' })).status, 401);
      const user = await login(s, 'tpl@example.com');
      assert.equal((await postJson(s, '/api/settings/test/email', { email: 'x@example.com', template: 'otp' }, user.authStore.token)).status, 403);
      await s.app.settings.update({ smtp: { enabled: false } });
      try {
        const off = await postJson(s, '/api/settings/test/email', { email: 'x@example.com', template: 'otp' }, admin);
        assert.equal(off.status, 400);
      } finally {
        await smtp.attach(s);
      }
    });
  });
});
