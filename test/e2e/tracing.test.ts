/**
 * OpenTelemetry traces against a local OTLP/HTTP receiver the test starts: a record create through a hook
 * gives a request span with its SQL statements (text without values), the hook's span, the job it enqueued
 * (a child of the hook, through the trace context stored with the job), the job's outbound call and a webhook
 * delivery, each outbound request carrying a `traceparent` of the same trace; an incoming `traceparent` is
 * continued; a cron run is a span; work a request only scheduled stays out of its trace; with the collector down
 * or hanging, requests are unaffected and the lost spans are counted (and logged once).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { droppedSpans, startTracing, stopTracing, tracer } from '../../src/tracing/index.js';
import { freePort } from '../helpers/cli.js';
import { writeFiles } from '../helpers/hooks.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { startServer, TEST_DIALECT, type TestServer } from '../helpers/server.js';

const SERVER = 2;
const CLIENT = 3;
const CONSUMER = 5;
const DB_SYSTEM = TEST_DIALECT === 'postgres' ? 'postgresql' : 'sqlite';

interface Target {
  url: string;
  hits: Array<{ url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/** The loopback server the job and the webhook call. */
async function startTarget(): Promise<Target> {
  const hits: Target['hits'] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const hookFile = (target: string) => `import { defineHooks } from 'plinth';
export default defineHooks((app) => {
  app.onRecordCreate(async (e) => {
    await e.next();
    await e.app.jobs.enqueue('notify', { id: e.record.id });
    await e.app.webhooks.emit('post.created', { id: e.record.id });
  }, 'posts');
  app.jobs.define('notify', async (job) => {
    const res = await app.http.fetch(${JSON.stringify(target)} + '/notify/' + job.payload.id + '?token=secret-query');
    await res.text();
  });
});
`;

/** Whether `span` is below `ancestor` (same trace, following parent ids). */
function isBelow(spans: ReceivedSpan[], span: ReceivedSpan, ancestor: ReceivedSpan): boolean {
  const byId = new Map(spans.filter((s) => s.traceId === ancestor.traceId).map((s) => [s.spanId, s]));
  let at: ReceivedSpan | undefined = span;
  for (let i = 0; at && i < 100; i++) {
    if (at.parentSpanId === ancestor.spanId) return true;
    at = byId.get(at.parentSpanId);
  }
  return false;
}

describe('OpenTelemetry traces', () => {
  let receiver: OtlpReceiver;
  let target: Target;
  let s: TestServer;
  let dir: string;

  before(async () => {
    // Batches leave every 100 ms instead of OpenTelemetry's default 5 s (the SDK reads this itself).
    process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
    receiver = await startOtlpReceiver();
    target = await startTarget();
    await startTracing({ url: receiver.tracesUrl, serviceName: 'plinth-test', serviceVersion: '0.0.0-test' });
    dir = mkdtempSync(join(tmpdir(), 'plinth-tracing-'));
    writeFiles(dir, { 'main.ts': hookFile(target.url) });
    s = await startServer({
      settings: { outbound: { allowedHosts: ['127.0.0.1'] } },
      jobs: { pollMs: 50 },
      webhooks: { scheduleMs: [0], timeoutMs: 2000 },
      hooks: { dir },
      beforeHooks: async (app) => {
        await app.collections.create({ name: 'posts', type: 'base', fields: [{ name: 'title', type: 'text' }], createRule: '', listRule: '' });
      },
    });
    const res = await s.fetch('/api/webhooks', {
      method: 'POST',
      headers: { authorization: s.admin.authStore.token, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${target.url}/webhook`, events: ['post.created'] }),
    });
    assert.equal(res.status, 200, await res.text());
  });
  after(async () => {
    await s?.close();
    await stopTracing();
    await target?.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a record create: request span → SQL, hook → job → outbound call, and a webhook delivery, all in one trace', async () => {
    const title = 'a-title-that-must-not-appear-in-any-span';
    const res = await s.fetch('/api/collections/posts/records', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title }),
    });
    assert.equal(res.status, 200);
    const record = (await res.json()) as { id: string };
    const requestId = res.headers.get('x-request-id');

    const spans = receiver.spans;
    const find = (pred: (s: ReceivedSpan) => boolean) => spans.find(pred);
    const request = () =>
      find((x) => x.kind === SERVER && x.name === 'POST /api/collections/:collection/records' && x.attributes['url.path'] === '/api/collections/posts/records');
    // Both outbound calls arrived, and every span of the trace has its parent (jobs end after their calls).
    await receiver.waitFor(() => {
      const r = request();
      if (!r) return false;
      const trace = spans.filter((x) => x.traceId === r.traceId);
      const ids = new Set(trace.map((x) => x.spanId));
      return (
        trace.some((x) => x.kind === CLIENT && x.name === 'POST' && x.attributes['url.full'] === `${target.url}/webhook`) &&
        trace.some((x) => x.kind === CLIENT && x.name === 'GET' && String(x.attributes['url.full']).includes('/notify/')) &&
        trace.every((x) => x === r || ids.has(x.parentSpanId))
      );
    });

    const req = request()!;
    assert.equal(req.parentSpanId, '', 'no incoming traceparent: a new trace');
    assert.equal(req.attributes['http.request.method'], 'POST');
    assert.equal(req.attributes['http.route'], '/api/collections/:collection/records');
    assert.equal(req.attributes['http.response.status_code'], 200);
    assert.equal(req.attributes['plinth.request_id'], requestId, 'the span names the X-Request-Id');
    assert.equal(req.resource['service.name'], 'plinth-test');
    assert.equal(req.resource['service.version'], '0.0.0-test');

    // The record's INSERT: a child of the request, with its placeholders and not the value.
    const insert = find((x) => x.traceId === req.traceId && /^INSERT INTO "posts"/.test(String(x.attributes['db.query.text'])));
    assert.ok(insert, 'the INSERT statement has a span');
    assert.ok(isBelow(spans, insert, req));
    assert.equal(insert.kind, CLIENT);
    assert.equal(insert.attributes['db.system'], DB_SYSTEM);
    assert.equal(insert.name, 'INSERT');
    for (const x of spans) assert.doesNotMatch(JSON.stringify(x.attributes), new RegExp(title), `${x.name} carries the value`);

    const hook = find((x) => x.traceId === req.traceId && x.name === 'hook onRecordCreate');
    assert.ok(hook, 'the user hook has a span');
    assert.ok(isBelow(spans, hook, req));
    assert.equal(hook.attributes['plinth.collection'], 'posts');
    assert.match(String(hook.attributes['code.filepath']), /main\.ts$/);
    assert.ok(isBelow(spans, insert, hook), 'the write ran inside the hook (through e.next())');

    // The job: a child of the hook that enqueued it, run later from the queue.
    const job = find((x) => x.traceId === req.traceId && x.name === 'job notify');
    assert.ok(job, 'the job run has a span in the same trace');
    assert.equal(job.kind, CONSUMER);
    assert.equal(job.parentSpanId, hook.spanId);
    assert.equal(job.attributes['plinth.job.attempt'], 1);
    const call = find((x) => x.traceId === req.traceId && x.kind === CLIENT && x.name === 'GET')!;
    assert.equal(call.parentSpanId, job.spanId);
    assert.equal(call.attributes['url.full'], `${target.url}/notify/${record.id}`, 'no query string in the span');
    assert.equal(call.attributes['http.response.status_code'], 200);
    const hit = target.hits.find((h) => h.url.startsWith(`/notify/${record.id}`));
    assert.equal(hit?.headers.traceparent, `00-${req.traceId}-${call.spanId}-01`, 'the target got the trace context');

    // The webhook: delivered by a job, its POST carrying the same trace.
    const delivery = find((x) => x.traceId === req.traceId && x.name === 'webhook delivery');
    assert.ok(delivery, 'the webhook delivery has a span');
    assert.ok(isBelow(spans, delivery, hook));
    assert.equal(delivery.attributes['plinth.webhook.event'], 'post.created');
    const post = find((x) => x.traceId === req.traceId && x.kind === CLIENT && x.name === 'POST')!;
    assert.equal(post.parentSpanId, delivery.spanId);
    const webhookHit = target.hits.find((h) => h.url === '/webhook');
    assert.equal(webhookHit?.headers.traceparent, `00-${req.traceId}-${post.spanId}-01`);
  });

  it('an incoming traceparent is continued; a route pattern names the span', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    const res = await s.fetch('/api/collections/posts/records?filter=title%3D%22x%22', {
      headers: { traceparent: `00-${traceId}-${parent}-01`, tracestate: 'vendor=1' },
    });
    assert.equal(res.status, 200);
    await receiver.waitFor((spans) => spans.some((x) => x.traceId === traceId && x.kind === SERVER));
    const req = receiver.spans.find((x) => x.traceId === traceId && x.kind === SERVER)!;
    assert.equal(req.parentSpanId, parent);
    assert.equal(req.name, 'GET /api/collections/:collection/records');
    await receiver.waitFor((spans) => spans.some((x) => x.traceId === traceId && x.parentSpanId === req.spanId && x.name === 'SELECT'));
    const select = receiver.spans.find((x) => x.traceId === traceId && x.name === 'SELECT' && String(x.attributes['db.query.text']).includes('"title"'));
    assert.ok(select, 'the filtered SELECT is a child span');
    assert.doesNotMatch(String(select.attributes['db.query.text']), /"x"|'x'/, 'the filter value is a bound parameter');

    // A not-sampled parent (flags 00) is honoured: nothing is recorded for that trace.
    const unsampled = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    assert.equal((await s.fetch('/api/health', { headers: { traceparent: `00-${unsampled}-${parent}-00` } })).status, 200);
    assert.equal((await s.fetch('/api/health')).status, 200);
    await receiver.waitFor((spans) => spans.filter((x) => x.name === 'GET /api/health').length >= 1);
    await tracer?.flush();
    assert.equal(
      receiver.spans.some((x) => x.traceId === unsampled),
      false,
    );
  });

  it('a cron run (here run now over the API) is a span with its SQL below it', async () => {
    const res = await s.fetch('/api/crons/__pbDBOptimize__', { method: 'POST', headers: { authorization: s.admin.authStore.token } });
    assert.equal(res.status, 204);
    await receiver.waitFor((spans) => spans.some((x) => x.name === 'cron __pbDBOptimize__'));
    const cron = receiver.spans.find((x) => x.name === 'cron __pbDBOptimize__')!;
    assert.equal(cron.attributes['plinth.cron.id'], '__pbDBOptimize__');
    const request = receiver.spans.find((x) => x.spanId === cron.parentSpanId);
    assert.equal(request?.name, 'POST /api/crons/:id', 'triggered by the request');
    const statement = TEST_DIALECT === 'postgres' ? 'ANALYZE' : 'PRAGMA optimize';
    await receiver.waitFor((spans) => spans.some((x) => x.parentSpanId === cron.spanId && x.attributes['db.query.text'] === statement));
  });

  it("no SQL span outlives its request's span: work a request only scheduled (log writes, job claims) is not in its trace", async () => {
    // The request log is written by a 1 s interval the first request created: without care that interval would
    // run in that request's context forever.
    await new Promise((r) => setTimeout(r, 1300));
    await tracer?.flush();
    assert.ok(receiver.spans.length > 10);
    assert.equal(
      receiver.spans.some((x) => String(x.attributes['db.query.text']).includes('_logs')),
      false,
      "the request log writes are nobody's child",
    );
    const byId = new Map(receiver.spans.map((x) => [x.spanId, x]));
    for (const child of receiver.spans) {
      const parent = byId.get(child.parentSpanId);
      if (!parent || parent.kind !== SERVER || child.attributes['db.query.text'] === undefined) continue; // a request's own SQL
      assert.ok(child.end <= parent.end + 1, `${child.name} (${child.attributes['db.query.text'] ?? ''}) ended after its request ${parent.name}`);
    }
  });

  it('collector hanging (accepts, never answers): requests still answer at once; the export times out and counts', async () => {
    const sockets: Socket[] = [];
    const hang = createNetServer((socket) => void sockets.push(socket));
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    try {
      await startTracing({ url: `http://127.0.0.1:${(hang.address() as AddressInfo).port}/v1/traces`, exportTimeoutMs: 500 });
      const started = performance.now();
      for (let i = 0; i < 30; i++) assert.equal((await s.fetch('/api/collections/posts/records')).status, 200);
      const ms = performance.now() - started;
      assert.ok(ms < 5000, `30 requests took ${Math.round(ms)} ms with the collector hanging`);
      await tracer?.flush();
      const end = Date.now() + 10_000;
      while (droppedSpans() < 30 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      assert.ok(droppedSpans() >= 30, `dropped ${droppedSpans()} spans after the export timed out`);
      assert.ok(sockets.length > 0, 'the exporter did connect');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => hang.close(() => r()));
    }
  });

  it('collector down: requests still answer at once, spans are dropped, counted and logged once', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const closed = await freePort();
    await startTracing({ url: `http://127.0.0.1:${closed}/v1/traces`, logger, exportTimeoutMs: 1000 });
    assert.equal(droppedSpans(), 0);
    const started = performance.now();
    for (let i = 0; i < 30; i++) {
      const res = await s.fetch('/api/collections/posts/records');
      assert.equal(res.status, 200);
    }
    const ms = performance.now() - started;
    assert.ok(ms < 5000, `30 requests took ${Math.round(ms)} ms with the collector down`);
    await tracer?.flush();
    const end = Date.now() + 10_000;
    // Every batch of those requests failed (the count stops moving), at least one span per request.
    let first = -1;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 400));
      if (droppedSpans() >= 30 && droppedSpans() === first) break;
      first = droppedSpans();
    }
    assert.ok(first >= 30, `dropped ${first} spans (at least one per request)`);
    for (let i = 0; i < 5; i++) assert.equal((await s.fetch('/api/health')).status, 200);
    await tracer?.flush();
    while (droppedSpans() < first + 5 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    assert.equal(droppedSpans(), first + 5, 'later losses are counted too (the 5 health requests)');
    // The count is published as a metric (metrics/index.ts).
    const scrape = await s.fetch('/api/metrics', { headers: { authorization: s.admin.authStore.token } });
    assert.equal(scrape.status, 200);
    const published = /^plinth_tracing_dropped_spans_total (\d+)$/m.exec(await scrape.text());
    assert.ok(published, 'plinth_tracing_dropped_spans_total is scraped');
    assert.ok(Number(published[1]) >= first + 5, `published ${published[1]}, counted ${droppedSpans()}`);
    const warnings = lines.filter((l) => l.includes('spans could not be exported'));
    assert.equal(warnings.length, 1, 'logged once');
    assert.match(warnings[0]!, new RegExp(`127\\.0\\.0\\.1:${closed}`));
  });
});
