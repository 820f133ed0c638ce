/**
 * `plinth doctor` as a user runs it: one line per check (ok / warn / FAIL with the fix), `--json`, exit 1 when
 * a check FAILs. Against real parts: a healthy SQLite data dir with SMTP pointed at a real SMTP server
 * (smtp-server) and both S3 targets at s3rver → exit 0, every check ok; then a broken SMTP host, a refused SMTP
 * login, a data dir this user cannot read, a corrupt data.db, a wrong encryption key, a missing bucket, an S3
 * endpoint whose clock is an hour off, and PostgreSQL (healthy; an unreachable URL; a missing database).
 * Doctor only reads: the data dir is byte-for-byte the same afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { App } from '../../src/app.js';
import { SUPERUSERS_COLLECTION_ID } from '../../src/collections/model.js';
import { systemRequest } from '../../src/records/system-request.js';
import { createLogger } from '../../src/util/logger.js';
import { BIN, freePort } from '../helpers/cli.js';
import { createTempDatabase } from '../helpers/postgres.js';
import { startS3rver, type S3Server } from './files-s3rver.js';

interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  message: string;
  fix?: string;
}
interface Report {
  ok: boolean;
  failures: number;
  warnings: number;
  checks: Check[];
}

/** Runs `plinth doctor` (asynchronously: the SMTP server answering it lives in this process). */
async function doctor(args: string[], options: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {}) {
  const child = spawn(process.execPath, [BIN, 'doctor', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PLINTH_ENCRYPTION_KEY: '', PLINTH_DATABASE_URL: '', ...options.env },
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}),
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (err += b));
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  return { code, out, err };
}

async function report(
  args: string[],
  options: Parameters<typeof doctor>[1] = {},
): Promise<{ code: number | null; report: Report; byName: Record<string, Check> }> {
  const r = await doctor([...args, '--json'], options);
  assert.equal(r.err, '', r.err);
  const parsed = JSON.parse(r.out) as Report;
  return { code: r.code, report: parsed, byName: Object.fromEntries(parsed.checks.map((c) => [c.name, c])) };
}

/**
 * Every file under dir with its size, mtime and content (doctor must change none of them). SQLite's -wal/-shm
 * companions are left out: a reader of a WAL database may create them, as any running server has them.
 */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (!/-(wal|shm)$/.test(name)) out.push(`${p} ${st.size} ${st.mtimeMs} ${readFileSync(p).toString('base64')}`);
    }
  };
  walk(dir);
  return out.join('\n');
}

async function prepare(dataDir: string, settings: Record<string, unknown>, databaseUrl?: string): Promise<void> {
  const app = await App.open({ dataDir, logger: createLogger('silent'), ...(databaseUrl ? { databaseUrl, poolSize: 2 } : {}) });
  try {
    await app.settings.update(settings);
    const superusers = app.collections.require(SUPERUSERS_COLLECTION_ID);
    await app.writer.create(
      superusers,
      { data: { email: 'ops@example.com', password: 'password-123', passwordConfirm: 'password-123' } },
      systemRequest(app.collections),
    );
    // A sealed secret (webhook signing secrets are encrypted at rest).
    await app.collections.create({ name: 'posts', type: 'base', fields: [{ name: 'title', type: 'text' }] });
    await app.settings.update({ outbound: { allowedHosts: ['127.0.0.1'] } });
    await app.webhooks.create({ url: 'http://127.0.0.1:9/in', events: ['posts.create'] });
  } finally {
    await app.close();
  }
  chmodSync(dataDir, 0o700);
}

describe('plinth doctor', () => {
  let dir: string;
  let smtp: SMTPServer;
  let smtpPort: number;
  let s3: S3Server;
  const logins: string[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-doctor-'));
    chmodSync(dir, 0o755); // another user (the unreadable-dir case) must reach the folders inside
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth(auth, _session, cb) {
        logins.push(auth.username ?? '');
        if (auth.username === 'mailer' && auth.password === 'right-password') cb(null, { user: auth.username });
        else cb(new Error('Invalid username or password'));
      },
      onData(stream, _session, cb) {
        stream.resume();
        stream.on('end', () => cb(new Error('doctor must not send mail')));
      },
    });
    smtpPort = await freePort();
    await new Promise<void>((r) => smtp.listen(smtpPort, '127.0.0.1', r));
    s3 = await startS3rver('doctor-bucket');
  });
  after(async () => {
    await new Promise<void>((r) => smtp.close(() => r()));
    await s3.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const s3Settings = () => ({
    enabled: true,
    bucket: s3.bucket,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    accessKey: s3.accessKey,
    secret: s3.secret,
    forcePathStyle: true,
  });
  const healthySettings = () => ({
    meta: { appURL: 'https://app.example.com' },
    smtp: { enabled: true, host: '127.0.0.1', port: smtpPort, username: 'mailer', password: 'right-password', authMethod: 'PLAIN', tls: false },
    s3: s3Settings(),
    backups: { s3: s3Settings() },
  });

  it('a healthy SQLite data dir: every check ok, one line each, exit 0, nothing changed on disk', async () => {
    const dataDir = join(dir, 'healthy', 'data');
    await prepare(dataDir, healthySettings());
    const before = snapshot(dataDir);
    logins.length = 0;
    const { code, report: rep, byName } = await report([`--dir=${dataDir}`]);
    assert.equal(code, 0, JSON.stringify(rep, null, 2));
    assert.deepEqual(
      rep.checks.filter((c) => c.status !== 'ok'),
      [],
    );
    assert.deepEqual(Object.keys(byName), [
      'data dir',
      'disk space',
      'file permissions',
      'database',
      'migrations',
      'encryption key',
      'smtp',
      's3',
      'backups s3',
      'clock',
      'app url',
      'trusted proxy',
      'rate limits',
      'superuser',
    ]);
    assert.match(byName.database!.message, /integrity ok.*journal wal/);
    assert.match(byName['encryption key']!.message, /\.encryption-key; \d+ stored secrets? open with it/);
    assert.match(byName.smtp!.message, /answers EHLO and accepts the login of mailer \(nothing sent\)/);
    assert.deepEqual(logins, ['mailer'], 'the SMTP login was really tried');
    assert.match(byName.s3!.message, /bucket doctor-bucket .* can be listed/);
    assert.match(byName.clock!.message, /off file storage S3 endpoint/);
    assert.equal(byName.superuser!.message, '1 superuser');
    assert.equal(snapshot(dataDir), before, 'doctor only reads');

    const text = await doctor([`--dir=${dataDir}`]);
    assert.equal(text.code, 0);
    const lines = text.out.trimEnd().split('\n');
    assert.equal(lines.length, rep.checks.length + 2, text.out);
    for (const line of lines.slice(0, -2)) assert.match(line, /^ok {4}\S/);
    assert.equal(lines.at(-1), 'No failures, 0 warnings.');
  });

  it('SMTP: a host that refuses connections and a refused login are FAIL lines with the fix; exit 1', async () => {
    const dataDir = join(dir, 'smtp', 'data');
    const closed = await freePort();
    await prepare(dataDir, { ...healthySettings(), smtp: { enabled: true, host: '127.0.0.1', port: closed, tls: false } });
    const r = await doctor([`--dir=${dataDir}`]);
    assert.equal(r.code, 1, r.out);
    const line = r.out.split('\n').find((l) => l.startsWith('FAIL  smtp'));
    assert.ok(line, r.out);
    assert.match(line, new RegExp(`127\\.0\\.0\\.1:${closed}: .*ECONNREFUSED.* → check the SMTP host and port`));
    assert.match(r.out, /^1 check failed, 0 warnings\.$/m);

    const app = await App.open({ dataDir, logger: createLogger('silent') });
    await app.settings.update({ smtp: { port: smtpPort, username: 'mailer', password: 'wrong-password', authMethod: 'PLAIN' } });
    await app.close();
    const { code, byName } = await report([`--dir=${dataDir}`]);
    assert.equal(code, 1);
    assert.equal(byName.smtp!.status, 'fail');
    assert.match(byName.smtp!.fix!, /username, password and auth method/);
  });

  it('a data dir this user cannot read, a missing one and a file in its place: FAIL data dir, exit 1', async () => {
    const dataDir = join(dir, 'locked', 'data');
    await prepare(dataDir, healthySettings());
    chmodSync(join(dir, 'locked'), 0o755);
    let r: Awaited<ReturnType<typeof report>>;
    if (process.getuid?.() === 0) {
      // root reads everything: run doctor as another user (nobody) against root's 0700 dir.
      r = await report([`--dir=${dataDir}`], { uid: 65534, gid: 65534 });
    } else {
      chmodSync(dataDir, 0o000);
      try {
        r = await report([`--dir=${dataDir}`]);
      } finally {
        chmodSync(dataDir, 0o700);
      }
    }
    assert.equal(r.code, 1);
    assert.equal(r.byName['data dir']!.status, 'fail');
    assert.match(r.byName['data dir']!.message, /cannot be read: .*EACCES/);
    assert.match(r.byName['data dir']!.fix!, /chown -R/);
    assert.equal(r.byName.database!.status, 'warn', 'the database is not checked then');

    const missing = await report([`--dir=${join(dir, 'nowhere')}`]);
    assert.equal(missing.code, 1);
    assert.match(missing.byName['data dir']!.message, /does not exist/);
    writeFileSync(join(dir, 'a-file'), 'x');
    assert.match((await report([`--dir=${join(dir, 'a-file')}`])).byName['data dir']!.message, /is not a directory/);

    // Writable by nobody else: a data.db this user may not write is a FAIL too.
    if (process.getuid?.() === 0) {
      const shared = join(dir, 'shared', 'data');
      await prepare(shared, healthySettings());
      chownSync(shared, 65534, 65534);
      const other = await report([`--dir=${shared}`], { uid: 65534, gid: 65534 });
      assert.equal(other.code, 1);
      assert.equal(other.byName['file permissions']!.status, 'fail');
      assert.match(other.byName['file permissions']!.message, /data\.db is not readable and writable by this user/);
    }
  });

  it('a corrupt data.db: FAIL database with the restore advice; pending migrations: warn', async () => {
    const dataDir = join(dir, 'corrupt', 'data');
    await prepare(dataDir, healthySettings());
    const copy = join(dir, 'corrupt', 'copy');
    cpSync(dataDir, copy, { recursive: true });
    writeFileSync(join(dataDir, 'data.db'), Buffer.alloc(8192, 7));
    rmSync(join(dataDir, 'data.db-wal'), { force: true });
    rmSync(join(dataDir, 'data.db-shm'), { force: true });
    const { code, byName } = await report([`--dir=${dataDir}`]);
    assert.equal(code, 1);
    assert.equal(byName.database!.status, 'fail');
    assert.match(byName.database!.message, /not a database/);
    assert.match(byName.database!.fix!, /plinth backup restore/);

    const migrations = join(dir, 'corrupt', 'plinth_migrations');
    mkdirSync(migrations, { recursive: true });
    writeFileSync(join(migrations, '1700000000_later.js'), 'export async function up() {}\n');
    const pending = await report([`--dir=${copy}`, `--migrationsDir=${migrations}`]);
    assert.equal(pending.code, 0, 'a pending migration is applied at the next start: not a failure');
    assert.equal(pending.byName.migrations!.status, 'warn');
    assert.match(pending.byName.migrations!.message, /1 of 2 files in .* not applied: 1700000000_later\.js/);
  });

  it('the encryption key: a new PLINTH_ENCRYPTION_KEY still opens via the key file; a lost key file is a FAIL', async () => {
    const dataDir = join(dir, 'key', 'data');
    await prepare(dataDir, healthySettings());
    // Setting the variable later is fine: the key file joins the ring and opens what it sealed (serve re-seals).
    const added = await report([`--dir=${dataDir}`], { env: { PLINTH_ENCRYPTION_KEY: 'a-different-key-of-some-length' } });
    assert.equal(added.code, 0, JSON.stringify(added.report, null, 2));
    assert.notEqual(added.byName['encryption key']!.status, 'fail');
    const short = await report([`--dir=${dataDir}`], { env: { PLINTH_ENCRYPTION_KEY: 'short' } });
    assert.equal(short.code, 1);
    assert.match(short.byName['encryption key']!.message, /at least 16 characters long/);
    rmSync(join(dataDir, '.encryption-key'));
    // The key file gone: a variable that never sealed them does not open them.
    const wrong = await report([`--dir=${dataDir}`], { env: { PLINTH_ENCRYPTION_KEY: 'a-different-key-of-some-length' } });
    assert.equal(wrong.code, 1);
    assert.equal(wrong.byName['encryption key']!.status, 'fail');
    assert.match(wrong.byName['encryption key']!.message, /^\d+ of \d+ stored secrets? do not open with the key from PLINTH_ENCRYPTION_KEY/);
    const lost = await report([`--dir=${dataDir}`]);
    assert.equal(lost.code, 1);
    assert.match(lost.byName['encryption key']!.message, /\d+ stored secrets? but no key/);
    assert.match(lost.byName['encryption key']!.fix!, /restore \.encryption-key/);
  });

  it('S3: a missing bucket is a FAIL; an endpoint whose clock is an hour off makes the clock check FAIL', async () => {
    const dataDir = join(dir, 's3', 'data');
    await prepare(dataDir, { ...healthySettings(), backups: { s3: { ...s3Settings(), bucket: 'no-such-bucket' } } });
    const missing = await report([`--dir=${dataDir}`]);
    assert.equal(missing.code, 1);
    assert.equal(missing.byName.s3!.status, 'ok');
    assert.equal(missing.byName['backups s3']!.status, 'fail');
    assert.match(missing.byName['backups s3']!.message, /no-such-bucket: NoSuchBucket/);
    assert.match(missing.byName['backups s3']!.fix!, /create the bucket/);

    // An S3-compatible endpoint (a plain HTTP server answering ListObjectsV2) whose Date is an hour behind.
    const skewed: Server = createServer((req, res) => {
      res.sendDate = false;
      res.setHeader('Date', new Date(Date.now() - 3600_000).toUTCString());
      res.setHeader('Content-Type', 'application/xml');
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`,
      );
      assert.match(String(req.headers.authorization), /^AWS4-HMAC-SHA256 Credential=S3RVER\//, 'the request is signed');
    });
    await new Promise<void>((r) => skewed.listen(0, '127.0.0.1', r));
    try {
      const endpoint = `http://127.0.0.1:${(skewed.address() as { port: number }).port}`;
      const app = await App.open({ dataDir, logger: createLogger('silent') });
      await app.settings.update({ backups: { s3: { ...s3Settings(), endpoint, bucket: 'b' } } });
      await app.close();
      const { code, byName } = await report([`--dir=${dataDir}`]);
      assert.equal(code, 1);
      assert.equal(byName['backups s3']!.status, 'ok');
      assert.equal(byName.clock!.status, 'fail');
      assert.match(byName.clock!.message, /(3599|3600)\.\d s off backups S3 endpoint/);
      assert.match(byName.clock!.fix!, /NTP/);
    } finally {
      await new Promise((r) => skewed.close(r));
    }
  });

  it('settings sanity: default app URL, rate limits off, leftmost proxy IP, no superuser are warnings', async () => {
    const dataDir = join(dir, 'settings', 'data');
    const app = await App.open({ dataDir, logger: createLogger('silent') });
    await app.settings.update({ rateLimits: { enabled: false }, trustedProxy: { headers: ['X-Forwarded-For'], useLeftmostIP: true } });
    await app.close();
    const { code, byName } = await report([`--dir=${dataDir}`]);
    assert.equal(code, 0);
    for (const name of ['app url', 'rate limits', 'trusted proxy', 'superuser', 'smtp']) assert.equal(byName[name]!.status, 'warn', name);
    assert.match(byName['app url']!.message, /point at this machine/);
    assert.match(byName['trusted proxy']!.message, /X-Forwarded-For trusted, leftmost IP/);
    assert.match(byName.superuser!.fix!, /plinth superuser upsert/);
  });

  it('PostgreSQL: healthy (version, clock against now()); an unreachable server and a missing database are FAIL', async () => {
    const db = await createTempDatabase();
    try {
      const dataDir = join(dir, 'pg', 'data');
      await prepare(dataDir, healthySettings(), db.url);
      const key = 'a-long-encryption-key-for-the-cluster';
      const { code, report: rep, byName } = await report([`--dir=${dataDir}`, `--db=${db.url}`]);
      assert.equal(code, 0, JSON.stringify(rep, null, 2));
      assert.match(byName.database!.message, /^postgres:\/\/\*\*\*@127\.0\.0\.1:5432\/plinth_test_\w+ is reachable: PostgreSQL 1[5-9]/);
      assert.match(byName.clock!.message, /ms off PostgreSQL/);
      assert.equal(byName.clock!.status, 'ok');
      assert.equal(byName['encryption key']!.status, 'warn', 'the key lives in the database without PLINTH_ENCRYPTION_KEY');
      assert.equal(byName.superuser!.status, 'ok');
      assert.equal(byName.smtp!.status, 'ok');
      // PLINTH_DATABASE_URL is read as serve reads it; a new key joins the stored one, which still opens the secrets.
      const viaEnv = await report([`--dir=${dataDir}`], { env: { PLINTH_DATABASE_URL: db.url, PLINTH_ENCRYPTION_KEY: key } });
      assert.equal(viaEnv.code, 0, JSON.stringify(viaEnv.report, null, 2));
      assert.equal(viaEnv.byName['encryption key']!.status, 'ok');

      const closed = await freePort();
      const down = await doctor([`--dir=${dataDir}`, `--db=postgres://postgres:secret@127.0.0.1:${closed}/plinth`]);
      assert.equal(down.code, 1);
      assert.match(
        down.out,
        new RegExp(`^FAIL  database +cannot connect to postgres://\\*\\*\\*@127\\.0\\.0\\.1:${closed}/plinth: .*ECONNREFUSED.* → check the host and port`, 'm'),
      );
      assert.doesNotMatch(down.out, /secret/, 'the password is never printed');
      // Passwords the driver takes that a first-`@` mask would print: a raw `@` or `/`, or in the query.
      for (const url of [
        `postgres://postgres:pa@ss-word-1@127.0.0.1:${closed}/plinth`,
        `postgres://postgres:pa/ss-word-1@127.0.0.1:${closed}/plinth`,
        `postgres://127.0.0.1:${closed}/plinth?user=postgres&password=pass-word-1`,
      ]) {
        const r = await doctor([`--dir=${dataDir}`, `--db=${url}`]);
        assert.equal(r.code, 1);
        assert.match(r.out, /^FAIL {2}database /m);
        assert.doesNotMatch(r.out + r.err, /ss-word-1|pass-word-1/, `the password of ${url} is never printed:\n${r.out}`);
      }
      const noDb = await report([`--dir=${dataDir}`, `--db=${db.url}_missing`]);
      assert.equal(noDb.code, 1);
      assert.match(noDb.byName.database!.message, /does not exist/);
      assert.match(noDb.byName.database!.fix!, /createdb/);
    } finally {
      await db.drop();
    }
  });
});
