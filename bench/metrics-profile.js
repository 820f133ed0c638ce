#!/usr/bin/env node
// `node bench/metrics-profile.js [--requests=40000] [--slowQueryMs=500|off]` (after a build): where the metrics'
// cost goes, independent of how loaded the machine is. One Plinth app on SQLite (metrics on), record views through
// Fastify's inject, under the V8 CPU profiler; prints the share of CPU samples spent in the metrics code
// (src/metrics, the request-metrics call sites, the statement observer), in the request-id code, and in Node's
// async_hooks (the AsyncLocalStorage the slow-query log uses for request ids). A share, not req/s: other load on
// the machine scales every function alike.
import { mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const argv = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const N = Number(argv.requests ?? 40000);
const slowQueryMs = argv.slowQueryMs === 'off' ? -1 : Number(argv.slowQueryMs ?? 500);
const dist = new URL('../dist/src/', import.meta.url);
const { App } = await import(new URL('app.js', dist).href);
const { buildServer } = await import(new URL('http/server.js', dist).href);
const { silentLogger } = await import(new URL('util/logger.js', dist).href);
const { systemRequest } = await import(new URL('records/system-request.js', dist).href);

const dir = mkdtempSync(join(tmpdir(), 'plinth-metrics-profile-'));
const app = await App.open({ dataDir: join(dir, 'data'), logger: silentLogger(), metrics: { enabled: true, slowQueryMs } });
await app.settings.update({ logs: { maxDays: 0 } });
await app.collections.create({ name: 'posts', type: 'base', fields: [{ name: 't', type: 'text' }], viewRule: '' }, 'api');
const rec = await app.writer.create(app.collections.require('posts'), { data: { t: 'x' } }, systemRequest(app.collections));
const server = await buildServer(app);
await server.ready();
const url = `/api/collections/posts/records/${rec.id}`;
for (let i = 0; i < 2000; i++) await server.inject({ method: 'GET', url }); // warm up

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
await session.post('Profiler.start');
for (let i = 0; i < N; i++) await server.inject({ method: 'GET', url });
const { profile } = await session.post('Profiler.stop');

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
let total = 0;
const groups = { metrics: 0, requestId: 0, asyncHooks: 0 };
for (const [id, t] of self) {
  total += t;
  const { url: file, functionName } = byId.get(id).callFrame;
  if (/\/dist\/src\/metrics\/|request-metrics\.js/.test(file) || functionName === 'sources.db.observer') groups.metrics += t;
  else if (/request-id\.js/.test(file)) groups.requestId += t;
  else if (/async_hooks/.test(file)) groups.asyncHooks += t;
}
const pct = (t) => `${((t / total) * 100).toFixed(2)}%`;
console.log(
  `${N} views, slow-query log ${slowQueryMs >= 0 ? `on (${slowQueryMs} ms)` : 'off'}: metrics ${pct(groups.metrics)}, request ids ${pct(groups.requestId)}, async_hooks (AsyncLocalStorage) ${pct(groups.asyncHooks)} of CPU samples; ${(total / N) | 0} µs sampled per view (inject included)`,
);
await server.close();
await app.close();
rmSync(dir, { recursive: true, force: true });
