#!/usr/bin/env node
// Realtime fan-out benchmark: N concurrent SSE clients subscribed to `posts/*` on one Plinth process,
// then record creates; measures delivery latency to every client and the server's memory.
//
//   npm run build && node bench/realtime.js
//   env: RT_CLIENTS (10000)  RT_EVENTS (20)  RT_WORKERS (2)  RT_CONCURRENCY (200 connects in flight per worker)
//        RT_GAP_MS (100, pause between broadcasts)  RT_EVENT_TIMEOUT_MS (15000)  RT_TIMEOUT_S (300, whole run)
//        RT_OUT (optional path for the JSON result)  PLINTH_BIN (bin/plinth.js)
//        PLINTH_NODE_FLAGS, RT_WORKER_NODE_FLAGS (Node flags for the server / the client workers, space-separated;
//        default none; e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`)
//
// Steps: `plinth superuser upsert` in a temp dir, `plinth serve` on a free loopback port (fd soft limit raised
// to the hard limit through the shell), create `posts` (public list rule) through the API, sample idle RSS;
// fork RT_WORKERS client processes (bench/realtime-worker.js), each opening its share of streams and
// subscribing; sample RSS; then RT_EVENTS times: create one record and wait until every client has it.
// Latency = client receive time − the moment before the create request was sent (same machine, wall clock).
// Loopback only; every step is bounded; children and the temp dir are always cleaned up.
import { fork, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { freePort, HOST, percentile, readMem, request } from './lib.js';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const TOPIC = 'posts/*';
const CLK_TCK = 100; // Linux's USER_HZ for /proc/<pid>/stat, fixed by the kernel ABI

function envNum(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`invalid ${name}: ${v}`);
  return n;
}
const config = {
  clients: Math.floor(envNum('RT_CLIENTS', 10_000)),
  events: Math.max(1, Math.floor(envNum('RT_EVENTS', 20))),
  workers: Math.max(1, Math.floor(envNum('RT_WORKERS', 2))),
  concurrency: Math.max(1, Math.floor(envNum('RT_CONCURRENCY', 200))),
  gapMs: envNum('RT_GAP_MS', 100),
  eventTimeoutMs: envNum('RT_EVENT_TIMEOUT_MS', 15_000),
  timeoutS: envNum('RT_TIMEOUT_S', 300),
  out: process.env.RT_OUT,
  bin: resolve(ROOT, process.env.PLINTH_BIN ?? join('bin', 'plinth.js')),
  nodeFlags: (process.env.PLINTH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
  workerNodeFlags: (process.env.RT_WORKER_NODE_FLAGS ?? '').split(' ').filter(Boolean),
};
const log = (...a) => console.error('[rt-bench]', ...a);
const now = () => performance.timeOrigin + performance.now();

// --- children and temp dir, always cleaned up -----------------------------------------------------
const children = new Set();
let tempDir = '';

function track(proc) {
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  return proc;
}
function cleanup() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // gone already
    }
  }
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  tempDir = '';
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));
const deadline = setTimeout(() => {
  log(`whole run exceeded RT_TIMEOUT_S=${config.timeoutS}; aborting`);
  process.exit(1);
}, config.timeoutS * 1000);
deadline.unref();

/** ulimit is per process: children raise their fd soft limit to the hard limit through a shell that execs node. */
const RAISE_FDS = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"';

function nodeWithFds(args, opts) {
  return track(spawn('/bin/sh', ['-c', RAISE_FDS, process.execPath, ...args], opts));
}

// --- small helpers -------------------------------------------------------------------------------

/** User + system CPU seconds a process has used so far (Linux /proc; NaN when unreadable). */
function cpuSeconds(pid) {
  try {
    // Fields after the `(comm)` one; utime and stime are the 14th and 15th of the whole line.
    const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

function waitExit(proc, ms) {
  return Promise.race([new Promise((r) => proc.once('exit', (code) => r(code))), sleep(ms).then(() => 'timeout')]);
}

// --- the server ------------------------------------------------------------------------------------
async function startPlinth() {
  tempDir = mkdtempSync(join(os.tmpdir(), 'plinth-rt-bench-'));
  const dir = join(tempDir, 'data');
  mkdirSync(dir, { recursive: true });
  const logFile = join(tempDir, 'plinth.log');
  const email = 'bench@example.com';
  const password = 'bench-' + randomBytes(12).toString('hex');
  const env = { ...process.env, NODE_ENV: 'production', PLINTH_LOG_LEVEL: process.env.PLINTH_LOG_LEVEL ?? 'warn' };

  const fd = openSync(logFile, 'a');
  const up = track(
    spawn(process.execPath, [config.bin, 'superuser', 'upsert', email, password, `--dir=${dir}`], { cwd: ROOT, env, stdio: ['ignore', fd, fd] }),
  );
  if ((await waitExit(up, 60_000)) !== 0) throw new Error(`superuser upsert failed; see ${logFile}`);
  const port = await freePort();
  const server = nodeWithFds([...config.nodeFlags, config.bin, 'serve', `--http=${HOST}:${port}`, `--dir=${dir}`], {
    cwd: ROOT,
    env,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      await request(port, 'GET', '/api/health');
      break;
    } catch {
      if (Date.now() > until) throw new Error(`plinth did not start; see ${logFile}`);
      await sleep(100);
    }
  }
  // The shell exec'd node, so the spawned pid is the server's.
  const login = await request(port, 'POST', '/api/collections/_superusers/auth-with-password', { body: { identity: email, password } });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text.slice(0, 300)}`);
  const token = login.json.token;
  const created = await request(port, 'POST', '/api/collections', {
    token,
    body: {
      name: 'posts',
      type: 'base',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'body', type: 'text' },
      ],
      listRule: '',
      viewRule: '',
    },
  });
  if (created.status !== 200) throw new Error(`create collection failed: ${created.status} ${created.text.slice(0, 300)}`);
  return { port, pid: server.pid, token, proc: server };
}

// --- the clients -----------------------------------------------------------------------------------
function startWorkers(port) {
  const shares = Array.from({ length: config.workers }, (_, i) => Math.floor(config.clients / config.workers) + (i < config.clients % config.workers ? 1 : 0));
  return shares
    .filter((n) => n > 0)
    .map((count) => {
      // The shell keeps the IPC fd open across its exec, so fork works through it too.
      const proc = track(
        fork(join(BENCH_DIR, 'realtime-worker.js'), [], {
          execPath: '/bin/sh',
          execArgv: ['-c', RAISE_FDS, process.execPath, ...config.workerNodeFlags],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        }),
      );
      const worker = { proc, count, connected: 0, got: new Set(), waiters: [] };
      proc.on('message', (msg) => {
        if (msg.type === 'got') worker.got.add(msg.event);
        for (const w of worker.waiters.splice(0)) w(msg);
      });
      return worker;
    });
}

function nextMessage(worker, type, timeoutMs) {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`worker ${worker.proc.pid}: no ${type} within ${timeoutMs} ms`)), timeoutMs);
    const wait = (msg) => {
      if (msg.type === type) {
        clearTimeout(t);
        res(msg);
      } else worker.waiters.push(wait);
    };
    worker.waiters.push(wait);
  });
}

async function main() {
  const maxFds = Number(
    await new Promise((r) => {
      const p = spawn('/bin/sh', ['-c', 'ulimit -Hn'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.on('exit', () => r(out.trim()));
    }),
  );
  const perWorker = Math.ceil(config.clients / config.workers);
  if (Number.isFinite(maxFds) && Math.max(perWorker, config.clients) + 100 > maxFds) {
    throw new Error(`needs ~${config.clients + 100} fds per process (server) but the hard limit is ${maxFds}; lower RT_CLIENTS`);
  }
  log(`clients=${config.clients} workers=${config.workers} events=${config.events} (fd hard limit ${maxFds})`);

  const server = await startPlinth();
  await sleep(500);
  const idle = readMem(server.pid);
  log(`plinth pid ${server.pid} on ${HOST}:${server.port}; idle RSS ${idle.rssMB.toFixed(1)} MB`);

  // 1. connect and subscribe every client
  const workers = startWorkers(server.port);
  const connectStarted = now();
  const ready = await Promise.all(
    workers.map((w) => {
      w.proc.send({ type: 'connect', port: server.port, count: w.count, concurrency: config.concurrency, topic: TOPIC });
      return nextMessage(w, 'ready', config.timeoutS * 1000);
    }),
  );
  const connected = ready.reduce((n, r) => n + r.connected, 0);
  const failedConnects = ready.reduce((n, r) => n + r.failed, 0);
  workers.forEach((w, i) => (w.connected = ready[i].connected));
  const connectMs = now() - connectStarted;
  await sleep(1000);
  const afterConnect = readMem(server.pid);
  log(`connected ${connected}/${config.clients} (${failedConnects} failed) in ${(connectMs / 1000).toFixed(1)} s; RSS ${afterConnect.rssMB.toFixed(1)} MB`);

  // 2. broadcasts, one at a time
  const cpuBefore = { server: cpuSeconds(server.pid), workers: workers.map((w) => cpuSeconds(w.proc.pid)) };
  const phaseStarted = now();
  const sent = [];
  const broadcastMs = [];
  let incomplete = 0;
  for (let i = 0; i < config.events; i++) {
    const t0 = now();
    sent[i] = t0;
    const res = await request(server.port, 'POST', '/api/collections/posts/records', { token: server.token, body: { title: `e${i}`, body: 'x'.repeat(200) } });
    if (res.status !== 200) throw new Error(`create failed: ${res.status} ${res.text.slice(0, 300)}`);
    const until = Date.now() + config.eventTimeoutMs;
    while (!workers.every((w) => w.connected === 0 || w.got.has(i)) && Date.now() < until) await sleep(1);
    if (!workers.every((w) => w.connected === 0 || w.got.has(i))) incomplete++;
    broadcastMs.push(now() - t0);
    await sleep(config.gapMs);
  }
  const afterEvents = readMem(server.pid);
  const phaseS = (now() - phaseStarted) / 1000;
  const serverCpuS = cpuSeconds(server.pid) - cpuBefore.server;
  const workersCpuS = workers.reduce((n, w, i) => n + cpuSeconds(w.proc.pid) - cpuBefore.workers[i], 0);

  // 3. collect receive times
  const reports = await Promise.all(
    workers.map((w) => {
      w.proc.send({ type: 'report' });
      return nextMessage(w, 'report', 30_000);
    }),
  );
  const latencies = [];
  let delivered = 0;
  let disconnects = 0;
  for (const r of reports) {
    disconnects += r.disconnects;
    r.received.forEach((times, event) => {
      for (const t of times ?? []) {
        latencies.push(t - sent[event]);
        delivered++;
      }
    });
  }
  latencies.sort((a, b) => a - b);
  const sortedBroadcast = [...broadcastMs].sort((a, b) => a - b);
  for (const w of workers) w.proc.send({ type: 'exit' });

  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    clients: config.clients,
    connected,
    failedConnects,
    workers: config.workers,
    events: config.events,
    connectSeconds: +(connectMs / 1000).toFixed(2),
    expectedDeliveries: connected * config.events,
    delivered,
    incompleteBroadcasts: incomplete,
    clientDisconnects: disconnects,
    latencyMs: {
      p50: +percentile(latencies, 50).toFixed(1),
      p99: +percentile(latencies, 99).toFixed(1),
      max: +(latencies.at(-1) ?? NaN).toFixed(1),
    },
    wholeBroadcastMs: { p50: +percentile(sortedBroadcast, 50).toFixed(1), max: +(sortedBroadcast.at(-1) ?? NaN).toFixed(1) },
    // CPU used during step 2 (broadcasts and gaps), as a share of one core over that wall time.
    broadcastPhaseCpu: {
      seconds: +phaseS.toFixed(2),
      serverCores: +(serverCpuS / phaseS).toFixed(2),
      workersCores: +(workersCpuS / phaseS).toFixed(2),
      machineCores: os.cpus().length,
    },
    serverRssMB: {
      idle: +idle.rssMB.toFixed(1),
      connected: +afterConnect.rssMB.toFixed(1),
      afterEvents: +afterEvents.rssMB.toFixed(1),
      peak: +afterEvents.hwmMB.toFixed(1),
      perClientKB: +(((afterConnect.rssMB - idle.rssMB) * 1024) / Math.max(1, connected)).toFixed(1),
    },
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(
    `\n| clients | delivered | p50 ms | p99 ms | max ms | whole broadcast p50/max ms | RSS idle → connected → peak MB | per client KB |\n` +
      `|---|---|---|---|---|---|---|---|\n` +
      `| ${connected} | ${delivered}/${result.expectedDeliveries} | ${result.latencyMs.p50} | ${result.latencyMs.p99} | ${result.latencyMs.max} | ` +
      `${result.wholeBroadcastMs.p50} / ${result.wholeBroadcastMs.max} | ${result.serverRssMB.idle} → ${result.serverRssMB.connected} → ${result.serverRssMB.peak} | ${result.serverRssMB.perClientKB} |`,
  );
  if (config.out) writeFileSync(config.out, JSON.stringify(result, null, 2) + '\n');

  server.proc.kill('SIGTERM');
  if ((await waitExit(server.proc, 10_000)) === 'timeout') log('plinth did not stop on SIGTERM within 10 s');
  return delivered === result.expectedDeliveries && failedConnects === 0 ? 0 : 1;
}

main().then(
  (code) => {
    cleanup();
    process.exit(code);
  },
  (err) => {
    log(err?.stack ?? String(err));
    cleanup();
    process.exit(1);
  },
);
