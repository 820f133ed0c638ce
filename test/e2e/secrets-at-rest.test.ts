/**
 * Secrets at rest (docs/security.md), on both dialects: settings secrets, OAuth2 client secrets and webhook
 * signing secrets are stored only as `enc:v1:<keyId>:…`; the app still uses them (a real SMTP server that
 * demands the password, an OAuth2 token endpoint that records the client secret, a webhook receiver that
 * verifies signatures); plain-text secrets get encrypted at start; a start with a missing or wrong key is a
 * one-line error naming the variable and the key id; rotation with two keys, at start and with
 * `plinth secrets rotate`.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import PocketBase from 'pocketbase';
import type { App } from '../../src/app.js';
import { sql } from '../../src/db/sql.js';
import { StartupError } from '../../src/errors/index.js';
import { base32Decode, hotp, totpCode, totpStep } from '../../src/auth/totp-code.js';
import { startSmtpSink, type SmtpSink } from '../helpers/auth-smtp-sink.js';
import { plinth } from '../helpers/cli.js';
import { createTempDatabase, type TempDatabase } from '../helpers/postgres.js';
import { addSuperuser, openTestApp, serveApp, SUPERUSER_EMAIL, SUPERUSER_PASSWORD, TEST_DIALECT, type ServedApp } from '../helpers/server.js';
import { startReceiver, verifyHit, type Receiver } from '../helpers/webhook-receiver.js';

const K1 = 'k1:the first key long enough';
const K2 = 'k2:the second key long enough';
const SMTP_PASSWORD = 'smtp-Pa55word-plain';
const S3_SECRET = 's3-secret-plain-value';
const CLIENT_SECRET = 'oauth-client-secret-plain';

/** One instance's storage (a data dir, plus a database on PostgreSQL) that outlives app restarts. */
interface Instance {
  dir: string;
  dataDir: string;
  db?: TempDatabase;
  open(encryptionKey?: string): Promise<App>;
  /** `plinth ARGS --dir=… [--db=…]` with PLINTH_ENCRYPTION_KEY=`key` (unset when undefined). */
  cli(args: string[], key: string | undefined, extraEnv?: Record<string, string>): ReturnType<typeof plinth>;
  drop(): Promise<void>;
}

async function instance(): Promise<Instance> {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-secrets-'));
  const db = TEST_DIALECT === 'postgres' ? await createTempDatabase() : undefined;
  const dataDir = join(dir, 'data');
  return {
    dir,
    dataDir,
    ...(db ? { db } : {}),
    open: (encryptionKey) => openTestApp({ dataDir, migrationsDir: join(dir, 'migrations'), ...(encryptionKey !== undefined ? { encryptionKey } : {}) }, db),
    cli(args, key, extraEnv = {}) {
      const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
      delete env.PLINTH_ENCRYPTION_KEY;
      delete env.PLINTH_DATABASE_URL;
      if (key !== undefined) env.PLINTH_ENCRYPTION_KEY = key;
      return plinth([...args, `--dir=${dataDir}`, ...(db ? [`--db=${db.url}`] : [])], 60_000, env);
    },
    async drop() {
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function serve(app: App): Promise<{ served: ServedApp; admin: PocketBase }> {
  if (!(await app.db.get(sql`SELECT 1 AS one FROM _superusers LIMIT 1`))) await addSuperuser(app);
  const served = await serveApp(app);
  const admin = new PocketBase(served.url);
  admin.autoCancellation(false);
  await admin.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
  return { served, admin };
}

async function rawSettings(app: App): Promise<string> {
  return (await app.db.get<{ value: string }>(sql`SELECT value FROM _params WHERE id = 'settings'`))!.value;
}

async function rawOptions(app: App, name: string): Promise<string> {
  return (await app.db.get<{ options: string }>(sql`SELECT options FROM _collections WHERE name = ${name}`))!.options;
}

/** Every stored secret's key id: settings, collections' OAuth2 client secrets, webhook endpoints. */
async function storedKeyIds(app: App): Promise<string[]> {
  const ids: string[] = [];
  const grab = (text: string) => {
    for (const m of text.matchAll(/enc:v1:([A-Za-z0-9_.-]+):/g)) ids.push(m[1] as string);
  };
  grab(await rawSettings(app));
  for (const r of await app.db.all<{ options: string }>(sql`SELECT options FROM _collections`)) grab(r.options);
  for (const r of await app.db.all<{ secrets: string }>(sql`SELECT secrets FROM "_webhooks"`)) grab(r.secrets);
  return ids.sort();
}

/** A token endpoint + user endpoint in GitHub's shape that records the client secret of each token request. */
async function startTokenRecorder(): Promise<{ base: string; secrets: string[]; close(): Promise<void> }> {
  const secrets: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/token') {
        secrets.push(new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('client_secret') ?? '');
        return res.end(JSON.stringify({ access_token: 'tok', token_type: 'bearer' }));
      }
      if (req.url === '/user') return res.end(JSON.stringify({ id: 7, login: 'octo', email: 'octo@example.com' }));
      if (req.url === '/user/emails') return res.end(JSON.stringify([{ email: 'octo@example.com', primary: true, verified: true }]));
      res.statusCode = 404;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { base, secrets, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function oauthLogin(url: string): Promise<number> {
  const res = await fetch(`${url}/api/collections/users/auth-with-oauth2`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'github', code: 'any', codeVerifier: 'x'.repeat(43), redirectURL: 'http://127.0.0.1/cb' }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe(`secrets at rest (${TEST_DIALECT})`, () => {
  let smtp: SmtpSink;
  let tokens: Awaited<ReturnType<typeof startTokenRecorder>>;
  let hooks: Receiver;
  const cleanup: Array<() => Promise<void>> = [];

  before(async () => {
    smtp = await startSmtpSink({ auth: { username: 'mailer', password: SMTP_PASSWORD } });
    tokens = await startTokenRecorder();
    hooks = await startReceiver();
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
  });
  after(async () => {
    await smtp.close();
    await tokens.close();
    await hooks.close();
  });

  /** Stores an SMTP password (over the API), S3 secrets, an OAuth2 client secret and a webhook endpoint. */
  async function storeSecrets(admin: PocketBase, url: string): Promise<{ webhookSecret: string }> {
    const patch = await fetch(`${url}/api/settings`, {
      method: 'PATCH',
      headers: { authorization: admin.authStore.token, 'content-type': 'application/json' },
      body: JSON.stringify({
        smtp: { enabled: true, host: '127.0.0.1', port: smtp.port, username: 'mailer', password: SMTP_PASSWORD, authMethod: 'PLAIN', tls: false },
        s3: { secret: S3_SECRET },
        backups: { s3: { secret: `${S3_SECRET}-backups` } },
        rateLimits: { enabled: false },
        outbound: { allowedHosts: ['127.0.0.1'] },
      }),
    });
    const answer = (await patch.json()) as { smtp: Record<string, unknown>; s3: Record<string, unknown> };
    assert.equal(patch.status, 200, JSON.stringify(answer));
    assert.equal('password' in answer.smtp, false, 'the PATCH answer omits the password, as PocketBase');
    assert.equal('secret' in answer.s3, false);
    await admin.collections.update('users', {
      oauth2: {
        enabled: true,
        providers: [
          {
            name: 'github',
            clientId: 'gh-client',
            clientSecret: CLIENT_SECRET,
            authURL: `${tokens.base}/authorize`,
            tokenURL: `${tokens.base}/token`,
            userInfoURL: `${tokens.base}/user`,
          },
        ],
      },
    });
    await admin.collections.create({ name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text' }], createRule: '' });
    const res = await fetch(`${url}/api/webhooks`, {
      method: 'POST',
      headers: { authorization: admin.authStore.token, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${hooks.url}/hook`, events: ['notes.create'] }),
    });
    const ep = (await res.json()) as { secret: string };
    assert.equal(res.status, 200, JSON.stringify(ep));
    return { webhookSecret: ep.secret };
  }

  /** The app uses every secret: mail over the authenticating SMTP server, the OAuth2 client secret, a signed webhook. */
  async function usesSecrets(url: string, admin: PocketBase, webhookSecret: string): Promise<void> {
    const before = smtp.mails.length;
    const mail = await fetch(`${url}/api/settings/test/email`, {
      method: 'POST',
      headers: { authorization: admin.authStore.token, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'someone@example.com', template: 'verification' }),
    });
    assert.equal(mail.status, 204, await mail.text());
    await smtp.waitFor((m) => smtp.mails.indexOf(m) >= before && m.to.includes('someone@example.com'));
    const tokenCalls = tokens.secrets.length;
    assert.equal(await oauthLogin(url), 200);
    assert.deepEqual(tokens.secrets.slice(tokenCalls), [CLIENT_SECRET]);
    const hits = hooks.hits.length;
    await admin.collection('notes').create({ title: 'hello' });
    const [hit] = (await hooks.waitFor(hits + 1)).slice(hits);
    assert.equal(verifyHit(webhookSecret, hit!).type, 'notes.create');
  }

  it('stores the SMTP password, S3 and OAuth2 client secrets only encrypted, never answers them, and still uses them after a restart', async () => {
    const inst = await instance();
    cleanup.push(() => inst.drop());
    let app = await inst.open(K1);
    let { served, admin } = await serve(app);
    cleanup.push(() => served.close());
    const { webhookSecret } = await storeSecrets(admin, served.url);

    const raw = await rawSettings(app);
    for (const plain of [SMTP_PASSWORD, S3_SECRET]) assert.ok(!raw.includes(plain), 'no plain-text secret in the settings row');
    const stored = JSON.parse(raw) as { smtp: { password: string; username: string }; s3: { secret: string; accessKey: string } };
    assert.match(stored.smtp.password, /^enc:v1:k1:[A-Za-z0-9+/]+=*$/);
    assert.match(stored.s3.secret, /^enc:v1:k1:/);
    assert.equal(stored.smtp.username, 'mailer', 'only secrets are encrypted');
    const options = await rawOptions(app, 'users');
    assert.ok(!options.includes(CLIENT_SECRET), 'no plain-text OAuth2 client secret in _collections');
    assert.match(JSON.parse(options).oauth2.providers[0].clientSecret, /^enc:v1:k1:/);
    const hook = await app.db.get<{ secrets: string }>(sql`SELECT secrets FROM "_webhooks"`);
    assert.match(hook!.secrets, /^enc:v1:k1:/);

    const get = (await admin.send('/api/settings', {})) as {
      smtp: Record<string, unknown>;
      s3: Record<string, unknown>;
      backups: { s3: Record<string, unknown> };
    };
    assert.deepEqual(Object.keys(get.smtp).sort(), ['authMethod', 'enabled', 'host', 'localName', 'port', 'tls', 'username']);
    assert.equal('secret' in get.s3 || 'secret' in get.backups.s3, false);
    const collection = (await admin.send('/api/collections/users', {})) as { oauth2: { providers: Array<Record<string, unknown>> } };
    assert.equal('clientSecret' in (collection.oauth2.providers[0] ?? {}), false);

    await usesSecrets(served.url, admin, webhookSecret);
    // A PATCH that sends the password empty (as the dashboard does when it is unchanged) keeps it, still encrypted.
    const keep = await fetch(`${served.url}/api/settings`, {
      method: 'PATCH',
      headers: { authorization: admin.authStore.token, 'content-type': 'application/json' },
      body: JSON.stringify({ smtp: { password: '', host: '127.0.0.1' } }),
    });
    assert.equal(keep.status, 200);
    const kept = JSON.parse(await rawSettings(app)) as { smtp: { password: string } };
    assert.match(kept.smtp.password, /^enc:v1:k1:/);
    assert.notEqual(kept.smtp.password, stored.smtp.password, 'each write seals with a fresh nonce');
    await served.close();
    cleanup.pop();

    app = await inst.open(K1);
    ({ served, admin } = await serve(app));
    cleanup.push(() => served.close());
    assert.equal(app.secretsResealedAtStart, 0, 'nothing to re-encrypt');
    await usesSecrets(served.url, admin, webhookSecret);
  });

  it('a start with a missing or wrong key is a one-line error naming the variable and the key id (CLI)', async () => {
    const inst = await instance();
    cleanup.push(() => inst.drop());
    const app = await inst.open(K1);
    await app.settings.update({ smtp: { password: SMTP_PASSWORD } });
    await app.close();

    await assert.rejects(inst.open(K2), (err: unknown) => {
      assert.ok(err instanceof StartupError);
      // The first secret that does not open is named: a collection's token secret, or the SMTP password.
      assert.match(
        err.message,
        /^Cannot decrypt (the setting smtp\.password|collection "\w+" \w+\.secret): it was encrypted with key "k1", which is not configured/,
      );
      return true;
    });
    const serveArgs = ['serve', '--http=127.0.0.1:0'];
    const cases: Array<[string | undefined, Record<string, string>, string[], RegExp]> = [
      [K2, {}, [], /key "k1", which is not configured \(keys configured: "k2".*PLINTH_ENCRYPTION_KEY/],
      ['k1:the same id but another key', {}, [], /the key "k1" from PLINTH_ENCRYPTION_KEY is not the key that encrypted it/],
      [undefined, {}, [], /key "k1", which is not configured .*PLINTH_ENCRYPTION_KEY is not set.*Set PLINTH_ENCRYPTION_KEY/],
      [undefined, { MY_KEYS: K2 }, ['--encryptionEnv=MY_KEYS'], /key "k1", which is not configured .*from MY_KEYS.*Set MY_KEYS/],
    ];
    for (const [key, env, flags, message] of cases) {
      const r = inst.cli([...serveArgs, ...flags], key, env);
      assert.equal(r.code, 1, `${key}: ${r.err}`);
      const lines = r.err.trim().split('\n');
      assert.equal(lines.length, 1, r.err);
      assert.match(lines[0]!, /^Error: Cannot decrypt (the setting smtp\.password|collection "\w+" \w+\.secret): /);
      assert.match(lines[0]!, message);
      assert.doesNotMatch(r.out, /Server started/);
    }
    // Every command that opens the data takes the same flag (PocketBase's --encryptionEnv is global).
    const migrateWrong = inst.cli(['migrate', 'up', '--encryptionEnv=MY_KEYS'], undefined, { MY_KEYS: K2 });
    assert.equal(migrateWrong.code, 1, migrateWrong.err);
    assert.match(migrateWrong.err, /^Error: Cannot decrypt .*key "k1", which is not configured .*from MY_KEYS/);
    const migrateRight = inst.cli(['migrate', 'up', '--encryptionEnv=MY_KEYS'], undefined, { MY_KEYS: K1 });
    assert.equal(migrateRight.code, 0, migrateRight.err);
    const unset = inst.cli([...serveArgs, '--encryptionEnv=NOT_SET_ANYWHERE'], K1);
    assert.equal(unset.code, 2);
    assert.match(unset.err, /--encryptionEnv=NOT_SET_ANYWHERE: that environment variable is not set/);
    // The right key still opens it; nothing was dropped or overwritten by the failed starts.
    const again = await inst.open(K1);
    assert.equal(again.settings.get().smtp.password, SMTP_PASSWORD);
    await again.close();
  });

  it('rotation: with the new key first, the start re-encrypts every secret; the old key can then go', async () => {
    const inst = await instance();
    cleanup.push(() => inst.drop());
    let app = await inst.open(K1);
    let { served, admin } = await serve(app);
    cleanup.push(() => served.close());
    const { webhookSecret } = await storeSecrets(admin, served.url);
    const count = (await storedKeyIds(app)).length;
    assert.ok(count >= 15, `settings (3), OAuth2 (1), token (2 auth collections × 5) and webhook (1) secrets: ${count}`);
    await served.close();

    app = await inst.open(`${K2},${K1}`);
    assert.equal(app.secretsResealedAtStart, count);
    assert.deepEqual(await storedKeyIds(app), Array(count).fill('k2'));
    await app.close();

    app = await inst.open(K2); // the old key is gone
    ({ served, admin } = await serve(app));
    cleanup.push(() => served.close());
    assert.equal(app.secretsResealedAtStart, 0);
    assert.equal(app.settings.get().smtp.password, SMTP_PASSWORD);
    await usesSecrets(served.url, admin, webhookSecret);
  });

  it('an authenticator-app (TOTP) secret is stored only encrypted; a plain one (older Plinth) is sealed at start; rotation re-seals it', async () => {
    const inst = await instance();
    cleanup.push(() => inst.drop());
    let app = await inst.open(K1);
    await app.settings.update({ rateLimits: { enabled: false } }); // several sign-ins within a few seconds
    let { served } = await serve(app);
    cleanup.push(() => served.close());
    const post = async (path: string, body: unknown, token?: string) => {
      const res = await fetch(`${served.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
    };
    const email = 'totp-at-rest@example.com';
    assert.equal((await post('/api/collections/users/records', { email, password: 'password123', passwordConfirm: 'password123' })).status, 200);
    const token = String((await post('/api/collections/users/auth-with-password', { identity: email, password: 'password123' })).body.token);
    const setup = await post('/api/collections/users/totp/setup', {}, token);
    const secret = String(setup.body.secret);
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.equal((await post('/api/collections/users/totp/enable', { code: totpCode(secret) }, token)).status, 200);
    const stored = async () => (await app.db.get<{ secret: string }>(sql`SELECT secret FROM _totp`))!.secret;
    assert.ok(!(await stored()).includes(secret), 'the shared secret is not in the database in plain text');
    assert.match(await stored(), /^enc:v1:k1:/);
    // An enrolment an older Plinth stored in plain text: sealed by the next start, under the new first key.
    await app.db.run(sql`UPDATE _totp SET secret = ${secret}`);
    await served.close();
    app = await inst.open(`${K2},${K1}`);
    assert.match(await stored(), /^enc:v1:k2:/);
    await app.close();
    app = await inst.open(K2); // the old key is gone: the second factor still works
    ({ served } = await serve(app));
    cleanup.push(() => served.close());
    const first = await post('/api/collections/users/auth-with-password', { identity: email, password: 'password123' });
    assert.equal(first.status, 401);
    const second = await post('/api/collections/users/auth-with-totp', { mfaId: first.body.mfaId, code: hotp(base32Decode(secret)!, totpStep() + 1) });
    assert.equal(second.status, 200, JSON.stringify(second.body));
  });

  it('plinth secrets refuses a database that is not a Plinth one, and creates no key in it', async () => {
    const inst = await instance();
    cleanup.push(() => inst.drop());
    mkdirSync(inst.dataDir, { recursive: true });
    if (!inst.db) new BetterSqlite3(join(inst.dataDir, 'data.db')).close(); // an empty SQLite file
    for (const action of ['status', 'rotate', 'decrypt']) {
      const r = inst.cli(['secrets', action], undefined);
      assert.equal(r.code, 1, `${action}: ${r.out}${r.err}`);
      assert.match(r.err, /is not a Plinth database \(no _collections table\)/);
    }
    assert.equal(existsSync(join(inst.dataDir, '.encryption-key')), false, 'no key file made');
    if (inst.db) {
      const client = new pg.Client({ connectionString: inst.db.url });
      await client.connect();
      try {
        const { rows } = await client.query('SELECT to_regclass(\'public."_plinthKeys"\')::text AS t');
        assert.equal(rows[0].t, null, 'no _plinthKeys table made');
      } finally {
        await client.end();
      }
    }
  });

  it('webhook secrets sealed before key ids (pse1:, older Plinth) still sign, and are re-sealed at start', async () => {
    const inst = await instance();
    cleanup.push(() => inst.drop());
    let app = await inst.open(K1);
    await app.settings.update({ outbound: { allowedHosts: ['127.0.0.1'] } });
    const ep = await app.webhooks.create({ url: `${hooks.url}/legacy`, events: ['billing.*'] });
    // As the SecretBox sealed it before key ids: pse1:<base64 nonce|tag|ciphertext>, key = SHA-256 of the variable.
    const key = createHash('sha256').update('plinth-secret-box\0').update(K1).digest();
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    const body = Buffer.concat([c.update(JSON.stringify([{ secret: ep.secret, expires: null }]), 'utf8'), c.final()]);
    await app.db.run(sql`UPDATE "_webhooks" SET secrets = ${`pse1:${Buffer.concat([nonce, c.getAuthTag(), body]).toString('base64')}`} WHERE id = ${ep.id}`);
    await app.close();

    app = await inst.open(K1);
    cleanup.push(() => app.close());
    assert.equal(app.secretsResealedAtStart, 1);
    const row = await app.db.get<{ secrets: string }>(sql`SELECT secrets FROM "_webhooks" WHERE id = ${ep.id}`);
    assert.match(row!.secrets, /^enc:v1:k1:/);
    const hits = hooks.hits.length;
    await app.webhooks.emit('billing.paid', { amount: 5 });
    const [hit] = (await hooks.waitFor(hits + 1)).slice(hits);
    assert.equal(verifyHit(ep.secret, hit!).type, 'billing.paid');
  });

  it('plinth secrets status | rotate | decrypt, and plain-text secrets (PocketBase, older Plinth) encrypted at start', async () => {
    const inst = await instance();
    cleanup.push(() => inst.drop());
    let app = await inst.open(K1);
    let { served, admin } = await serve(app);
    cleanup.push(() => served.close());
    const { webhookSecret } = await storeSecrets(admin, served.url);
    const count = (await storedKeyIds(app)).length;
    await served.close();

    const help = plinth(['secrets', '--help']);
    assert.equal(help.code, 0);
    for (const flag of ['--dir', '--db', '--encryptionEnv']) assert.ok(help.out.includes(flag), flag);
    assert.equal(plinth(['secrets', 'frobnicate']).code, 2);
    let r = inst.cli(['secrets', 'status'], `${K2},${K1}`);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Keys \(newest first\): "k2", "k1"; new values are encrypted with "k2"/);
    assert.match(r.out, new RegExp(`${count} stored secrets \\(${count} under key "k1"\\)`));
    assert.match(r.out, new RegExp(`${count} to re-encrypt`));
    r = inst.cli(['secrets', 'rotate'], `${K2},${K1}`);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`${count} re-encrypted with key "k2"`));
    assert.match(r.out, /No stored secret needs "k1" any more: remove it from PLINTH_ENCRYPTION_KEY/);
    r = inst.cli(['secrets', 'status'], K2);
    assert.match(r.out, /Every stored secret is encrypted with the current key/);
    r = inst.cli(['secrets', 'status'], K1);
    assert.equal(r.code, 1);
    assert.match(r.err, /^Error: Cannot decrypt .*"k2", which is not configured/);

    // decrypt: settings and OAuth2 secrets as plain text again (webhook secrets stay sealed).
    r = inst.cli(['secrets', 'decrypt'], K2);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`${count - 1} written back as plain text`));
    app = await inst.open(K2);
    // …which is also what a PocketBase data dir holds: the start encrypts them (and logs how many).
    assert.equal(app.secretsResealedAtStart, count - 1);
    assert.ok(!(await rawSettings(app)).includes(SMTP_PASSWORD));
    assert.ok(!(await rawOptions(app, 'users')).includes(CLIENT_SECRET));
    assert.deepEqual(await storedKeyIds(app), Array(count).fill('k2'));
    ({ served, admin } = await serve(app));
    cleanup.push(() => served.close());
    await usesSecrets(served.url, admin, webhookSecret);
  });
});
