#!/usr/bin/env node
// What tracing costs (docs/tracing.md): `plinth serve` with tracing off and on (every request sampled, spans sent
// to a local OTLP/HTTP receiver this script runs), and optionally another build (--compare-bin=../main/bin/plinth.js).
// For a record view and a filtered list it sends sequential keep-alive requests and reports the server's CPU time
// per request (from /proc/<pid>/stat: on a shared machine this moves far less than req/s) and the idle RSS.
//
//   node bench/tracing.js [--requests=4000] [--rounds=2] [--compare-bin=PATH]
//
// After a build (npx tsc -p tsconfig.json). Linux only (/proc). Writes bench/results/tracing.json.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort, HOST } from './lib.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const REQUESTS = Number(args.requests ?? 4000);
const ROUNDS = Number(args.rounds ?? 2);
const BIN = join(ROOT, 'bin', 'plinth.js');

/** A receiver that accepts OTLP/HTTP exports and counts them. */
async function receiver() {
  let exports = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((r) => server.listen(0, HOST, r));
  return { url: `http://${HOST}:${server.address().port}`, exports: () => exports, close: () => server.close() };
}

function cpuTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in 1/100 s
}

function rssMb(pid) {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return Math.round(kb / 102.4) / 10;
}

async function measure(label, bin, env) {
  const dir = mkdtempSync(join(tmpdir(), `plinth-bench-tracing-${label}-`));
  const data = join(dir, 'data'); // migrations and hooks folders beside it stay inside `dir`
  try {
    spawnSync(process.execPath, [bin, 'superuser', 'upsert', 'bench@example.com', 'bench-password-1', `--dir=${data}`]);
    const port = await freePort();
    const child = spawn(process.execPath, [bin, 'serve', `--dir=${data}`, `--http=${HOST}:${port}`], {
      stdio: 'ignore',
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_'))), NODE_ENV: 'production', ...env },
    });
    const base = `http://${HOST}:${port}`;
    for (let i = 0; ; i++) {
      const status = await fetch(`${base}/api/health`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      if (i > 300) throw new Error(`${label}: plinth did not start`);
      await sleep(100);
    }
    await sleep(2000);
    const idleRss = rssMb(child.pid);
    const login = await fetch(`${base}/api/collections/_superusers/auth-with-password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity: 'bench@example.com', password: 'bench-password-1' }),
    });
    if (login.status !== 200) throw new Error(`${label}: superuser login answered ${login.status} ${await login.text()}`);
    const headers = { authorization: (await login.json()).token, 'content-type': 'application/json' };
    const created = await fetch(`${base}/api/collections`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: 'posts',
        type: 'base',
        fields: [
          { name: 'title', type: 'text' },
          { name: 'n', type: 'number' },
        ],
        viewRule: '',
        listRule: 'n > 0',
      }),
    });
    if (created.status !== 200) throw new Error(`${label}: creating the collection answered ${created.status} ${await created.text()}`);
    let id;
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${base}/api/collections/posts/records`, { method: 'POST', headers, body: JSON.stringify({ title: `t${i}`, n: i }) });
      id = (await r.json()).id;
    }
    const result = { label, idleRssMb: idleRss };
    for (const [op, path] of [
      ['view', `/api/collections/posts/records/${id}`],
      ['list', `/api/collections/posts/records?filter=${encodeURIComponent("title='t5'")}&perPage=20`],
    ]) {
      for (let i = 0; i < 500; i++) await (await fetch(base + path)).arrayBuffer();
      const t0 = cpuTicks(child.pid);
      const w0 = performance.now();
      for (let i = 0; i < REQUESTS; i++) {
        const r = await fetch(base + path);
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`${label} ${op}: ${r.status}`);
      }
      result[op] = {
        cpuUsPerRequest: Math.round(((cpuTicks(child.pid) - t0) * 10_000) / REQUESTS),
        wallUsPerRequest: Math.round(((performance.now() - w0) * 1000) / REQUESTS),
      };
    }
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const otlp = await receiver();
const variants = [
  ...(args['compare-bin'] ? [['compare', resolve(args['compare-bin']), {}]] : []),
  ['off', BIN, {}],
  ['on', BIN, { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url }],
];
const runs = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const [label, bin, env] of variants) {
    const r = await measure(label, bin, env);
    runs.push({ round, ...r });
    console.log(
      `round ${round} ${label.padEnd(7)} idle RSS ${r.idleRssMb} MB  view ${r.view.cpuUsPerRequest} µs CPU/req  list ${r.list.cpuUsPerRequest} µs CPU/req`,
    );
  }
}
console.log(`OTLP exports received: ${otlp.exports()}`);
otlp.close();
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'tracing.json'), `${JSON.stringify({ requests: REQUESTS, runs }, null, 2)}\n`);
