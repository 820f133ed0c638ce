#!/usr/bin/env node
// `npm run bench` (after bench/run.js): password-login latency under concurrency.
//
//   node bench/login.js [--duration=10] [--warmup=2] [--connections=20] [--users=20] [--keep]
//   env: BENCH_LOGIN_DURATION, BENCH_LOGIN_WARMUP, BENCH_LOGIN_CONNECTIONS, PLINTH_BIN
//
// Starts `plinth serve` on a temp dir, creates a superuser (CLI) and N users (API), turns the rate
// limiter off (it would answer 429 long before the hashing is measured), then keeps `connections`
// clients each sending POST /api/collections/users/auth-with-password back to back (keep-alive), and
// reports the latency percentiles of 200 answers. Target: p95 < 300 ms at 20 concurrent logins.
// Every login costs one argon2id verification (m=19 MiB, t=2, p=1), at most 4 at a time.
// Writes bench/results/login.json. Exit code 0 when measured (target met or not), 1 on a crash.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { freePort, HOST, percentile, request } from './lib.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TARGET_P95_MS = 300;
const argv = Object.fromEntries(process.argv.slice(2).map((a) => /^--([^=]+)(?:=(.*))?$/.exec(a)?.slice(1) ?? [a, '']));
const num = (k, env, d) => Number(argv[k] ?? process.env[env] ?? d);
const config = {
  duration: num('duration', 'BENCH_LOGIN_DURATION', 10),
  warmup: num('warmup', 'BENCH_LOGIN_WARMUP', 2),
  connections: num('connections', 'BENCH_LOGIN_CONNECTIONS', 20),
  users: num('users', 'BENCH_LOGIN_USERS', 20),
  keep: argv.keep !== undefined,
  bin: resolve(ROOT, process.env.PLINTH_BIN ?? 'bin/plinth.js'),
};
const log = (...a) => console.error('[bench:login]', ...a);

const agent = new http.Agent({ keepAlive: true, maxSockets: config.connections });

function run(args, logFile) {
  const fd = openSync(logFile, 'a');
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', fd, fd], env: { ...process.env, NODE_ENV: 'production' } });
  closeSync(fd);
  return proc;
}

async function main() {
  const tmp = mkdtempSync(join(os.tmpdir(), 'plinth-bench-login-'));
  const dir = join(tmp, 'data');
  mkdirSync(dir, { recursive: true });
  const logFile = join(tmp, 'plinth.log');
  let server;
  try {
    const email = 'bench@example.com';
    const password = `bench-${Math.random().toString(36).slice(2)}`;
    const up = run([config.bin, 'superuser', 'upsert', email, password, `--dir=${dir}`], logFile);
    const code = await new Promise((r) => up.on('exit', r));
    if (code !== 0) throw new Error(`superuser upsert failed (exit ${code}); see ${logFile}`);
    const port = await freePort();
    server = run([config.bin, 'serve', `--http=${HOST}:${port}`, `--dir=${dir}`], logFile);
    for (let i = 0; ; i++) {
      if (i > 300) throw new Error('plinth did not start');
      try {
        if ((await request(port, 'GET', '/api/health', { agent })).status === 200) break;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    const admin = await request(port, 'POST', '/api/collections/_superusers/auth-with-password', { body: { identity: email, password }, agent });
    if (admin.status !== 200) throw new Error(`superuser login: ${admin.status} ${admin.text}`);
    const auth = { authorization: admin.json.token };
    const patch = await request(port, 'PATCH', '/api/settings', { body: { rateLimits: { enabled: false } }, headers: auth, agent });
    if (patch.status !== 200) throw new Error(`settings: ${patch.status} ${patch.text}`);
    const users = [];
    for (let i = 0; i < config.users; i++) {
      const u = { email: `user${i}@bench.test`, password: `password-${i}-bench` };
      const r = await request(port, 'POST', '/api/collections/users/records', { body: { ...u, passwordConfirm: u.password }, headers: auth, agent });
      if (r.status !== 200) throw new Error(`creating a user: ${r.status} ${r.text}`);
      users.push(u);
    }
    log(`plinth on ${HOST}:${port}, ${users.length} users; ${config.connections} concurrent logins, ${config.warmup}s warm-up + ${config.duration}s`);

    const measure = async (seconds) => {
      const latencies = [];
      let errors = 0;
      const statuses = {};
      const end = Date.now() + seconds * 1000;
      await Promise.all(
        Array.from({ length: config.connections }, async (_, w) => {
          let i = w;
          while (Date.now() < end) {
            const u = users[i++ % users.length];
            const t0 = performance.now();
            try {
              const r = await request(port, 'POST', '/api/collections/users/auth-with-password', { body: { identity: u.email, password: u.password }, agent });
              statuses[r.status] = (statuses[r.status] ?? 0) + 1;
              if (r.status === 200) latencies.push(performance.now() - t0);
            } catch {
              errors++;
            }
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      return { latencies, errors, statuses, seconds };
    };
    if (config.warmup > 0) await measure(config.warmup);
    const m = await measure(config.duration);
    const result = {
      op: 'login',
      request: 'POST /api/collections/users/auth-with-password',
      connections: config.connections,
      duration: config.duration,
      cpus: os.cpus().length,
      logins: m.latencies.length,
      rps: Number((m.latencies.length / m.seconds).toFixed(1)),
      p50: Number(percentile(m.latencies, 50).toFixed(1)),
      p95: Number(percentile(m.latencies, 95).toFixed(1)),
      p99: Number(percentile(m.latencies, 99).toFixed(1)),
      max: Number((m.latencies.at(-1) ?? NaN).toFixed(1)),
      statuses: m.statuses,
      errors: m.errors,
      target: `p95 < ${TARGET_P95_MS} ms`,
    };
    const ok2xx = Object.keys(m.statuses).every((st) => st === '200') && m.errors === 0;
    result.verdict = !ok2xx ? 'invalid' : result.p95 < TARGET_P95_MS ? 'pass' : 'FAIL';
    console.log('\n| operation | connections | logins/s | p50 ms | p95 ms | p99 ms | target | verdict |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    console.log(`| login | ${result.connections} | ${result.rps} | ${result.p50} | ${result.p95} | ${result.p99} | ${result.target} | ${result.verdict} |`);
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'login.json'), `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`);
  } finally {
    agent.destroy();
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await Promise.race([new Promise((r) => server.on('exit', r)), sleep(5000)]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    if (!config.keep) rmSync(tmp, { recursive: true, force: true });
    else log(`--keep: left ${tmp}`);
  }
}

main().catch((err) => {
  console.error('[bench:login] failed:', err);
  process.exit(1);
});
