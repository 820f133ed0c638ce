#!/usr/bin/env node
// The cost of a hook: `POST /records` (create) on a Plinth with no hook files vs one whose hooks dir holds a
// single no-op `onRecordCreate` handler (`await e.next()`), same run, same machine. Target: ≥ 0.9×.
//
//   node bench/hooks.js [--duration=10] [--warmup=2] [--rounds=3] [--connections=50] [--db=sqlite|postgres] [--keep]
//
// Both servers are started with the CLI (`plinth serve --hooksDir=…`), each with its own data dir (and, on
// PostgreSQL, its own throw-away database), the bench's `posts` collection created through the API. Rounds
// alternate which server goes first; the median req/s of each is compared (the verdict), and so is the
// server CPU time per create (steadier on a shared machine). Writes bench/results/hooks.json.
//
// --variant=webhook measures a webhook's cost on the same create instead (issue #13, target ≥ 0.8×): the second
// server has no hook file but one enabled endpoint subscribed to `posts.create` (made over /api/webhooks, the
// receiver's 127.0.0.1 allow-listed in settings.outbound), so every create also captures a message in its
// transaction and the server delivers it meanwhile to a keep-alive receiver in this process. After the runs
// the bench waits until the receiver has every message (a delivery backlog left behind would flatter the
// ratio) and reports how long that took. Writes bench/results/webhooks-http.json.
// --variant=webhook-held: the same, but the receiver holds every answer until the run is over (a slow receiver):
// the first 32 deliveries (the node's concurrency) wait and the rest queue, so the run measures what the write
// path pays (capturing the message in the create's transaction), as on a cluster node that leaves the delivering
// to others; the held and queued deliveries are made after the run.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { cpuMs, createTempDatabase, dropDatabase, freePort, HOST, PG_ADMIN_URL, pgBackendCpu, pgCpuDelta, request, waitIdle } from './lib.js';
import { AUTHOR_COUNT, COLLECTION, authorName, collectionCreateBody, prng } from './schema.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const BIN = join(ROOT, 'bin', 'plinth.js');
const argv = Object.fromEntries(
  process.argv
    .slice(2)
    .map((a) => /^--([^=]+)(?:=(.*))?$/.exec(a)?.slice(1, 3) ?? [a, 'true'])
    .map(([k, v]) => [k, v ?? 'true']),
);
const config = {
  duration: Number(argv.duration ?? 10),
  warmup: Number(argv.warmup ?? 2),
  rounds: Math.max(1, Number(argv.rounds ?? 3)),
  connections: Number(argv.connections ?? 50),
  db: argv.db ?? 'sqlite',
  keep: argv.keep === 'true',
  variant: argv.variant ?? 'hook',
};
if (!['hook', 'webhook', 'webhook-held'].includes(config.variant)) throw new Error(`--variant takes hook, webhook or webhook-held, got ${config.variant}`);
const webhookVariant = config.variant.startsWith('webhook');
const holdAnswers = config.variant === 'webhook-held';
const TARGET = webhookVariant ? 0.8 : 0.9;
const log = (...a) => console.error('[bench:hooks]', ...a);

const NOOP_HOOK = `export default (app) => {
  app.onRecordCreate(async (e) => {
    await e.next();
  }, '${COLLECTION}');
};
`;

const cleanups = [];

/** The webhook variant's receiver: answers 204 to every delivery and counts them. */
let delivered = 0;
let holding = false;
const held = [];
const answer = (res) => {
  delivered++;
  res.statusCode = 204;
  res.end();
};
const receiver = webhookVariant
  ? createServer((req, res) => {
      req.resume();
      req.on('end', () => (holding ? held.push(res) : answer(res)));
    })
  : null;
/** webhook-held: answers what the receiver held during a run. */
function release() {
  holding = false;
  for (const res of held.splice(0)) answer(res);
}

/** Subscribes one endpoint to the bench collection's creates (the webhook variant's second server). */
async function addEndpoint(server, token) {
  const auth = { authorization: token };
  const settings = await request(server.port, 'PATCH', '/api/settings', { body: { outbound: { allowedHosts: ['127.0.0.1'] } }, headers: auth });
  if (settings.status !== 200) throw new Error(`${server.name}: allow-listing the receiver failed: ${settings.status} ${settings.text}`);
  const url = `http://127.0.0.1:${receiver.address().port}/hook`;
  const ep = await request(server.port, 'POST', '/api/webhooks', { body: { url, events: [`${COLLECTION}.create`] }, headers: auth });
  if (ep.status !== 200) throw new Error(`${server.name}: creating the endpoint failed: ${ep.status} ${ep.text}`);
}

/** Every delivery the webhook server owes, in the receiver (resolves to how long the backlog took, ms). */
async function drained(server, expected) {
  const t0 = performance.now();
  while (delivered < expected) {
    if (performance.now() - t0 > 300_000) throw new Error(`${server.name}: ${expected - delivered} deliveries still missing after 5 minutes`);
    await sleep(20);
  }
  return performance.now() - t0;
}

async function startPlinth(name, hookFiles) {
  const tmp = mkdtempSync(join(os.tmpdir(), `plinth-bench-hooks-${name}-`));
  const dir = join(tmp, 'data');
  const hooksDir = join(tmp, 'plinth_hooks');
  mkdirSync(dir, { recursive: true });
  mkdirSync(hooksDir, { recursive: true });
  for (const [file, content] of Object.entries(hookFiles)) writeFileSync(join(hooksDir, file), content);
  let pg = null;
  if (config.db === 'postgres') pg = await createTempDatabase(PG_ADMIN_URL, `plinth_bench_hooks_${name}_`);
  const dbFlags = pg ? [`--db=${pg.url}`] : [];
  const logFile = join(tmp, 'plinth.log');
  const email = 'bench@example.com';
  const password = `bench-${randomBytes(12).toString('hex')}`;
  const up = await run([BIN, 'superuser', 'upsert', email, password, `--dir=${dir}`, ...dbFlags], logFile);
  if (up !== 0) throw new Error(`${name}: superuser upsert failed (see ${logFile})`);
  const port = await freePort();
  const fd = openSync(logFile, 'a');
  const proc = spawn(
    process.execPath,
    [
      ...(process.env.PLINTH_NODE_FLAGS ?? '--max-semi-space-size=2').split(' ').filter(Boolean),
      BIN,
      'serve',
      `--http=${HOST}:${port}`,
      `--dir=${dir}`,
      `--hooksDir=${hooksDir}`,
      ...dbFlags,
    ],
    {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, NODE_ENV: 'production' },
    },
  );
  closeSync(fd);
  const server = { name, port, proc, tmp, pg };
  cleanups.push(async () => {
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
    if (pg) await dropDatabase(PG_ADMIN_URL, pg.name);
    if (!config.keep) rmSync(tmp, { recursive: true, force: true });
  });
  for (let i = 0; ; i++) {
    const ok = await request(port, 'GET', '/api/health').then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (proc.exitCode !== null || i > 300) throw new Error(`${name}: plinth did not start (see ${logFile})`);
    await sleep(100);
  }
  const login = await request(port, 'POST', '/api/collections/_superusers/auth-with-password', { body: { identity: email, password } });
  const created = await request(port, 'POST', '/api/collections', { body: collectionCreateBody(), headers: { authorization: login.json.token } });
  if (created.status !== 200) throw new Error(`${name}: creating the collection failed: ${created.status} ${created.text}`);
  if (name === 'webhook') await addEndpoint(server, login.json.token);
  log(`${name}: listening on ${port}`);
  return server;
}

function run(args, logFile) {
  return new Promise((res) => {
    const fd = openSync(logFile, 'a');
    const p = spawn(process.execPath, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    p.on('exit', (code) => res(code));
  });
}

async function cannon(server, duration) {
  const rand = prng(42);
  let n = 0;
  const cpuBefore = cpuMs(server.proc.pid);
  const pgBefore = server.pg ? await pgBackendCpu(PG_ADMIN_URL, server.pg.name) : null;
  const r = await autocannon({
    url: `http://${HOST}:${server.port}`,
    connections: config.connections,
    pipelining: 1,
    duration,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: `/api/collections/${COLLECTION}/records`,
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => {
          n++;
          req.body = JSON.stringify({
            title: `bench post ${n}`,
            body: 'created by bench/hooks.js',
            author: authorName(Math.floor(rand() * AUTHOR_COUNT)),
            status: 'draft',
            views: n % 1000,
          });
          return req;
        },
      },
    ],
  });
  if (server.proc.exitCode !== null) throw new Error(`${server.name} died`);
  await waitIdle(server.proc.pid);
  // Server CPU per create (µs), including work it finished after the run: steadier than req/s on a busy machine.
  const cpuUs = ((cpuMs(server.proc.pid) - cpuBefore) * 1000) / Math.max(1, r.requests.total);
  // On PostgreSQL, plus the CPU its backends used: the whole cost of a create on the database side too.
  const pgCpuUs = pgBefore ? (pgCpuDelta(pgBefore, await pgBackendCpu(PG_ADMIN_URL, server.pg.name)) * 1000) / Math.max(1, r.requests.total) : null;
  return { rps: r.requests.average, cpuUs, pgCpuUs, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, created: r['2xx'] };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function main() {
  if (receiver) await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const none = await startPlinth('none', {});
  // The second side: one no-op hook file, or (--variant=webhook) one matching webhook endpoint.
  const noop = webhookVariant ? await startPlinth('webhook', {}) : await startPlinth('noop', { 'noop.js': NOOP_HOOK });
  const runs = { none: [], [noop.name]: [] };
  let owed = 0; // creates on the webhook side: each owes the receiver one delivery
  for (const s of [none, noop]) {
    if (config.warmup <= 0) continue;
    const r = await cannon(s, config.warmup);
    if (s.name === 'webhook') owed += r.created;
  }
  for (let round = 0; round < config.rounds; round++) {
    const order = round % 2 === 0 ? [none, noop] : [noop, none];
    for (const s of order) {
      if (holdAnswers && s.name === 'webhook') holding = true;
      const r = await cannon(s, config.duration);
      release();
      // The webhook side's req/s only counts if its deliveries kept up: wait for the backlog, say how long it took.
      if (s.name === 'webhook') r.drainMs = Math.round(await drained(s, (owed += r.created)));
      runs[s.name].push(r);
      log(
        `round ${round + 1} ${s.name.padEnd(4)} ${r.rps.toFixed(0).padStart(6)} req/s  ${r.cpuUs.toFixed(0).padStart(4)} µs CPU/create${r.pgCpuUs === null ? '' : ` + ${r.pgCpuUs.toFixed(0)} µs in PostgreSQL`}  p99 ${r.p99} ms  non-2xx ${r.non2xx}  errors ${r.errors}${r.drainMs === undefined ? '' : `  deliveries: ${delivered}/${owed}, backlog drained ${r.drainMs} ms after the run went idle`}`,
      );
    }
  }
  const a = median(runs.none.map((r) => r.rps));
  const b = median(runs[noop.name].map((r) => r.rps));
  const ratio = b / a;
  const cpuA = median(runs.none.map((r) => r.cpuUs));
  const cpuB = median(runs[noop.name].map((r) => r.cpuUs));
  const cpuRatio = cpuA / cpuB; // throughput-equivalent: no-hook CPU per create / hooked CPU per create
  // On PostgreSQL: server + its backends' CPU per create (what the shared cores actually spend on one).
  const totalCpu = (r) => r.cpuUs + (r.pgCpuUs ?? 0);
  const totalA = median(runs.none.map(totalCpu));
  const totalB = median(runs[noop.name].map(totalCpu));
  const totalCpuRatio = totalA / totalB;
  const bad = [...runs.none, ...runs[noop.name]].some((r) => r.non2xx || r.errors);
  const verdict = bad ? 'invalid' : ratio >= TARGET ? 'pass' : 'fail';
  const [sideA, sideB, short] = webhookVariant
    ? [
        'no webhook endpoint req/s',
        `one matching endpoint (${holdAnswers ? 'receiver answers after the run' : 'delivering meanwhile'}) req/s`,
        'none → endpoint',
      ]
    : ['no hooks req/s', 'one no-op onRecordCreate req/s', 'none → noop'];
  console.log(`| operation | ${sideA} | ${sideB} | ratio | CPU µs/create (${short}) | CPU ratio | target | pass/fail |`);
  console.log(`| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
  console.log(
    `| create (${config.db}) | ${a.toFixed(0)} | ${b.toFixed(0)} | ${ratio.toFixed(2)}× | ${cpuA.toFixed(0)} → ${cpuB.toFixed(0)} | ${cpuRatio.toFixed(2)}× | ≥ ${TARGET}× | ${verdict} |`,
  );
  if (webhookVariant)
    console.log(
      `\nDeliveries received: ${delivered} of ${owed} creates; each run's backlog drained within ${Math.max(...runs.webhook.map((r) => r.drainMs))} ms of the server going idle`,
    );
  if (config.db === 'postgres') {
    console.log(`\nServer + PostgreSQL backend CPU per create: ${totalA.toFixed(0)} → ${totalB.toFixed(0)} µs (${totalCpuRatio.toFixed(2)}×)`);
  }
  mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
  writeFileSync(
    join(BENCH_DIR, 'results', webhookVariant ? (holdAnswers ? 'webhooks-held-http.json' : 'webhooks-http.json') : 'hooks.json'),
    `${JSON.stringify({ date: new Date().toISOString(), config, none: runs.none, [noop.name]: runs[noop.name], ratio, cpuRatio, totalCpuRatio, verdict, ...(webhookVariant ? { delivered, owed } : {}) }, null, 2)}\n`,
  );
}

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  for (const c of cleanups) await c().catch(() => undefined);
  receiver?.close();
}
