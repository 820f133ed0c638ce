// Helpers the bench scripts share: ports, one-shot JSON requests, process memory, percentiles,
// throw-away PostgreSQL databases.
import http from 'node:http';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';

export const HOST = '127.0.0.1';

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/**
 * One HTTP request with an optional JSON body; resolves {status, text, json}. Without an `agent` the
 * connection is closed afterwards; `token` sets the Authorization header.
 */
export function request(port, method, path, { body, headers = {}, token, agent, timeoutMs = 30_000 } = {}) {
  return new Promise((res, rej) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        host: HOST,
        port,
        method,
        path,
        agent: agent ?? false,
        headers: {
          ...(agent ? {} : { connection: 'close' }),
          ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}),
          ...(token ? { authorization: token } : {}),
          ...headers,
        },
        timeout: timeoutMs,
      },
      (resp) => {
        const chunks = [];
        resp.on('data', (c) => chunks.push(c));
        resp.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          res({ status: resp.statusCode, text, json });
        });
        resp.on('error', rej);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout after ${timeoutMs} ms`)));
    req.on('error', rej);
    if (data) req.write(data);
    req.end();
  });
}

/** Current and peak resident memory of a process, in MB (Linux /proc). */
export function readMem(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
  } catch {
    return { rssMB: NaN, hwmMB: NaN };
  }
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; NaN when unavailable). */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in USER_HZ (100 on Linux)
  } catch {
    return NaN;
  }
}

/**
 * Waits until a process is idle: below `maxPct` % of one core over a `windowMs` window (background work a
 * server deferred during a load run, e.g. queued notifications, would otherwise run into the next one).
 * Resolves the ms waited (0 if it was idle at once); gives up after `timeoutMs`.
 */
export async function waitIdle(pid, { maxPct = 10, windowMs = 250, timeoutMs = 120_000 } = {}) {
  const t0 = performance.now();
  for (;;) {
    const a = cpuMs(pid);
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, windowMs));
    const used = cpuMs(pid) - a;
    if (!(used * 100 > maxPct * (performance.now() - w0))) return Math.max(0, performance.now() - t0 - windowMs);
    if (performance.now() - t0 > timeoutMs) return performance.now() - t0;
  }
}

/**
 * CPU time (ms) used so far by the PostgreSQL backends connected to database `name` (the local server's
 * processes, read from /proc by pid): with the server's own cpuMs, the whole CPU cost of a request on
 * PostgreSQL. Backends that disconnected meanwhile are not counted (pools keep theirs during a run).
 * Resolves a Map pid → ms, for pgCpuDelta.
 */
export async function pgBackendCpu(adminUrl, name) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const { rows } = await c.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name]);
    return new Map(rows.map((r) => [r.pid, cpuMs(r.pid)]));
  } finally {
    await c.end();
  }
}

/** CPU ms the backends used between two pgBackendCpu samples (a backend new in `after` counts from 0). */
export function pgCpuDelta(before, after) {
  let ms = 0;
  for (const [pid, t] of after) if (Number.isFinite(t)) ms += t - (before.get(pid) ?? 0);
  return ms;
}

/** The p-th percentile of an ascending array (nearest rank). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// --- throw-away PostgreSQL databases ----------------------------------------------------------

/** Where CREATE/DROP DATABASE are sent (BENCH_PG_URL; the local trust-auth server by default). */
export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function adminQuery(adminUrl, text) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

/** CREATE DATABASE <prefix><random hex>; resolves {name, url} (url: adminUrl with the new database). */
export async function createTempDatabase(adminUrl, prefix) {
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error(`bad database prefix ${prefix}`);
  const name = `${prefix}${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`); // name: [a-z0-9_] only, checked above
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

/** DROP DATABASE IF EXISTS … WITH (FORCE) (ends any session still connected). */
export function dropDatabase(adminUrl, name) {
  return adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** dropDatabase for an `exit` hook, where nothing asynchronous runs any more: a child node does it. */
export function dropDatabasesSync(adminUrl, names) {
  if (names.length === 0) return;
  const script = `import pg from 'pg';
const c = new pg.Client({ connectionString: process.argv[1] });
await c.connect();
for (const n of process.argv.slice(2)) await c.query('DROP DATABASE IF EXISTS ' + n + ' WITH (FORCE)').catch(() => {});
await c.end();`;
  spawnSync(process.execPath, ['--input-type=module', '-e', script, adminUrl, ...names], {
    cwd: new URL('.', import.meta.url).pathname,
    stdio: 'ignore',
    timeout: 10_000,
  });
}
