/**
 * GET /api/metrics: who may scrape (superuser, metrics token, IP allow-list; 401/403 otherwise), and values that
 * follow known traffic, read back with a real Prometheus text parser: request counts per route pattern and
 * status, a 404, rate-limit refusals, a job failure, realtime clients and messages, database statements and
 * connection gauges per dialect, webhook deliveries by outcome. With --metrics=false the route is gone and nothing is observed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTestApp, serveApp, startServer, TEST_DIALECT, type TestServer } from '../helpers/server.js';
import { sql } from '../../src/db/sql.js';
import { ScrapedFamily } from '../../src/metrics/index.js';
import { Scrape } from '../helpers/prometheus.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

const VIEW_ROUTE = '/api/collections/:collection/records/:id';
const TOKEN = 'metrics-token-0123456789abcdef';

describe('metrics', () => {
  let s: TestServer;
  let noteId = '';

  const scrape = async (): Promise<Scrape> => {
    const res = await s.fetch('/api/metrics', { headers: { authorization: s.admin.authStore.token } });
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return new Scrape(await res.text());
  };

  before(async () => {
    s = await startServer();
    await s.admin.collections.create({ name: 'notes', type: 'base', fields: [{ name: 't', type: 'text' }], listRule: '', viewRule: '', createRule: '' });
    noteId = (await s.client().collection('notes').create({ t: 'hello' })).id;
  });
  after(async () => {
    await s.close();
  });

  describe('who may scrape', () => {
    it('a guest gets 401 and a wrong bearer token or a non-superuser 403, in the envelope', async () => {
      const guest = await s.fetch('/api/metrics');
      assert.equal(guest.status, 401);
      assert.deepEqual(Object.keys((await guest.json()) as object), ['data', 'message', 'status']);
      const wrong = await s.fetch('/api/metrics', { headers: { authorization: 'Bearer not-the-token-at-all' } });
      assert.equal(wrong.status, 403);
      assert.equal(((await wrong.json()) as { status: number }).status, 403);
      const user = await s.client().collection('users').create({ email: 'u@example.com', password: 'a-long-password-1', passwordConfirm: 'a-long-password-1' });
      assert.ok(user.id);
      const pb = s.client();
      await pb.collection('users').authWithPassword('u@example.com', 'a-long-password-1');
      const asUser = await s.fetch('/api/metrics', { headers: { authorization: pb.authStore.token } });
      assert.equal(asUser.status, 403);
    });

    it('the metrics token (write-only setting) lets a scraper in with Authorization: Bearer', async () => {
      await s.admin.settings.update({ metrics: { token: TOKEN } });
      const shown = (await s.admin.settings.getAll()) as { metrics: Record<string, unknown> };
      assert.equal(shown.metrics.token, undefined, 'the token is never read back');
      const stored = await s.app.db.get<{ value: string }>(sql`SELECT value FROM _params WHERE id = 'settings'`);
      assert.ok(stored && !stored.value.includes(TOKEN), 'encrypted at rest like every secret setting');
      const ok = await s.fetch('/api/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /^# HELP plinth_/m);
      const near = await s.fetch('/api/metrics', { headers: { authorization: `Bearer ${TOKEN}x` } });
      assert.equal(near.status, 403);
      // The token without the Bearer scheme is not the metrics token (it would be read as an auth token).
      assert.equal((await s.fetch('/api/metrics', { headers: { authorization: TOKEN } })).status, 403);
      // A PATCH without the token keeps it; a short token is refused.
      await s.admin.settings.update({ metrics: { allowedIps: [] } });
      assert.equal((await s.fetch('/api/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
      await assert.rejects(s.admin.settings.update({ metrics: { token: 'short' } }), (err: { status: number; response: { data: any } }) => {
        assert.equal(err.status, 400);
        assert.equal(err.response.data.metrics.token.code, 'validation_invalid_value');
        return true;
      });
    });

    it('an address in metrics.allowedIps may scrape without any token; others may not', async () => {
      await s.admin.settings.update({ metrics: { allowedIps: ['10.0.0.0/8'] } });
      assert.equal((await s.fetch('/api/metrics')).status, 401);
      // A proxy header nobody trusts is the client's own claim: it does not make the client 10.x.
      for (const h of ['x-forwarded-for', 'x-real-ip', 'cf-connecting-ip', 'fly-client-ip']) {
        assert.equal((await s.fetch('/api/metrics', { headers: { [h]: '10.1.2.3' } })).status, 401, h);
      }
      await s.admin.settings.update({ metrics: { allowedIps: ['10.0.0.0/8', '127.0.0.0/8', '::1'] } });
      const res = await s.fetch('/api/metrics');
      assert.equal(res.status, 200);
      assert.ok(new Scrape(await res.text()).families.has('plinth_http_requests_total'));
      await assert.rejects(s.admin.settings.update({ metrics: { allowedIps: ['10.0.0.0/33'] } }), (err: { status: number }) => err.status === 400);
      await s.admin.settings.update({ metrics: { allowedIps: [] } });
      assert.equal((await s.fetch('/api/metrics')).status, 401);
    });

    it('behind a proxy nobody trusts, the allowed address is the proxy, not the client: relayed requests are refused', async () => {
      // A load balancer in the private network (here: loopback) relays every internet client from its own address.
      await s.admin.settings.update({ metrics: { allowedIps: ['127.0.0.0/8', '::1'] } });
      try {
        assert.equal((await s.fetch('/api/metrics')).status, 200, 'a scraper connecting directly');
        for (const [h, v] of [
          ['x-forwarded-for', '203.0.113.9'],
          ['forwarded', 'for=203.0.113.9'],
          ['x-real-ip', '203.0.113.9'],
        ] as const) {
          assert.equal((await s.fetch('/api/metrics', { headers: { [h]: v } })).status, 401, `relayed with ${h}`);
        }
        // With the proxy's header trusted, the client's own address decides.
        await s.admin.settings.update({ trustedProxy: { headers: ['X-Forwarded-For'], useLeftmostIP: false } });
        assert.equal((await s.fetch('/api/metrics', { headers: { 'x-forwarded-for': '203.0.113.9' } })).status, 401);
        assert.equal((await s.fetch('/api/metrics', { headers: { 'x-forwarded-for': '127.0.0.1' } })).status, 200);
        assert.equal((await s.fetch('/api/metrics', { headers: { 'x-real-ip': '203.0.113.9' } })).status, 401, 'relayed by another proxy');
      } finally {
        await s.admin.settings.update({ metrics: { allowedIps: [] }, trustedProxy: { headers: [], useLeftmostIP: false } });
      }
    });
  });

  it('another part of Plinth can add a metric of its own, read when scraped', async () => {
    let dropped = 0;
    s.app.metrics.add(new ScrapedFamily('plinth_test_dropped_total', 'Things dropped in a test.', 'counter', () => [[{ reason: 'full' }, dropped]]));
    dropped = 3;
    assert.equal((await scrape()).value('plinth_test_dropped_total', { reason: 'full' }), 3);
    dropped = 5;
    assert.equal((await scrape()).value('plinth_test_dropped_total', { reason: 'full' }), 5);
  });

  describe('values after known traffic', () => {
    it('N views of a record add N to that route pattern and status, a missing record counts as 404, unknown paths under their catch-all or route=""', async () => {
      const before = await scrape();
      const labels = { method: 'GET', route: VIEW_ROUTE, status: '200' };
      const N = 7;
      for (let i = 0; i < N; i++) assert.equal((await s.fetch(`/api/collections/notes/records/${noteId}`)).status, 200);
      assert.equal((await s.fetch('/api/collections/notes/records/nosuchrecord123')).status, 404);
      assert.equal((await s.fetch('/api/no/such/route')).status, 404); // the public files' catch-all, /*
      assert.equal((await s.fetch('/api/no/such/route', { method: 'POST' })).status, 404); // no route at all
      assert.equal((await s.fetch('/api/collections/%E0%A4%A/records')).status, 400); // refused by the router, before onRequest
      const now = await scrape();
      assert.equal(now.value('plinth_http_requests_total', labels) - before.value('plinth_http_requests_total', labels), N);
      assert.equal(now.value('plinth_http_request_duration_seconds', labels) - before.value('plinth_http_request_duration_seconds', labels), N);
      const missing = { method: 'GET', route: VIEW_ROUTE, status: '404' };
      assert.equal(now.value('plinth_http_requests_total', missing) - before.value('plinth_http_requests_total', missing), 1);
      assert.equal(now.value('plinth_http_requests_total', { method: 'GET', route: '/*', status: '404' }), 1);
      assert.equal(now.value('plinth_http_requests_total', { method: 'POST', route: '', status: '404' }), 1);
      // Bounded cardinality: no label carries a raw URL (a record id).
      assert.equal(now.text.includes(noteId), false);
      assert.equal(now.text.includes('nosuchrecord123'), false);
      // The histogram's buckets are cumulative and end with +Inf = count.
      const [sample] = now.histograms('plinth_http_request_duration_seconds', labels);
      assert.ok(sample);
      assert.equal(sample.buckets.get('+Inf'), sample.count);
      const cumulative = [...sample.buckets.values()];
      assert.deepEqual(
        cumulative,
        [...cumulative].sort((a, b) => a - b),
      );
      assert.ok(sample.sum > 0);
      assert.equal(now.families.get('plinth_http_request_duration_seconds')?.type, 'HISTOGRAM');
      assert.equal(now.families.get('plinth_http_requests_total')?.type, 'COUNTER');
      // The scrape itself is the one request in flight (answers given before onRequest do not unbalance it).
      assert.equal(now.value('plinth_http_requests_in_flight'), 1);
    });

    it('an upload the client abandons halfway still leaves the in-flight gauge balanced', async () => {
      const socket = connect(Number(new URL(s.url).port), '127.0.0.1');
      await new Promise((r) => socket.on('connect', r));
      socket.write('POST /api/collections/notes/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"t":"');
      await new Promise((r) => setTimeout(r, 200));
      socket.destroy();
      const deadline = Date.now() + 5000;
      while ((await scrape()).value('plinth_http_requests_in_flight') !== 1) {
        assert.ok(Date.now() < deadline, 'the abandoned request stayed in flight');
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    it('a request refused by a rate-limit rule is counted under the rule', async () => {
      await s.admin.settings.update({ rateLimits: { enabled: true, rules: [{ label: '/api/health', audience: '', duration: 60, maxRequests: 1 }] } });
      try {
        assert.equal((await s.fetch('/api/health')).status, 200);
        assert.equal((await s.fetch('/api/health')).status, 429);
        assert.equal((await s.fetch('/api/health')).status, 429);
      } finally {
        await s.admin.settings.update({ rateLimits: { enabled: false } });
      }
      const now = await scrape();
      assert.equal(now.value('plinth_rate_limit_refusals_total', { rule: '/api/health' }), 2);
      assert.equal(now.value('plinth_http_requests_total', { route: '/api/health', status: '429' }), 2);
    });

    it('a job that fails for good is counted, and the queue depth per status is read from the table', async () => {
      s.app.jobs.define(
        'metrics-boom',
        () => {
          throw new Error('boom');
        },
        { retries: 0 },
      );
      await s.app.jobs.enqueue('metrics-boom', {});
      const deadline = Date.now() + 10_000;
      while ((await s.app.jobs.stats()).failed < 1) {
        assert.ok(Date.now() < deadline, 'the job did not fail in time');
        await new Promise((r) => setTimeout(r, 50));
      }
      const now = await scrape();
      assert.equal(now.value('plinth_job_failures_total', { job: 'metrics-boom', outcome: 'failed' }), 1);
      assert.equal(now.value('plinth_job_failures_total', { job: 'metrics-boom', outcome: 'retry' }), 0);
      assert.equal(now.value('plinth_jobs', { status: 'failed' }), 1);
    });

    it('a realtime client is a gauge while connected, and its messages are counted', async () => {
      const before = await scrape();
      const controller = new AbortController();
      const res = await s.fetch('/api/realtime', { signal: controller.signal });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      assert.match(first, /PB_CONNECT/);
      const during = await scrape();
      assert.equal(during.value('plinth_realtime_clients'), 1);
      assert.ok(during.value('plinth_realtime_events_sent_total') - before.value('plinth_realtime_events_sent_total') >= 1);
      // The stream counts as one answered request (200) when it starts, not as one in flight for its lifetime.
      assert.equal(during.value('plinth_http_requests_total', { route: '/api/realtime', status: '200' }), 1);
      controller.abort();
      const deadline = Date.now() + 5000;
      while ((await scrape()).value('plinth_realtime_clients') !== 0) {
        assert.ok(Date.now() < deadline, 'the client was not forgotten');
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    it(`database statements are timed per dialect (${TEST_DIALECT}) and kind, and the connection gauges are there`, async () => {
      const before = await scrape();
      await s.client().collection('notes').create({ t: 'counted' });
      const now = await scrape();
      const inserts = { dialect: TEST_DIALECT, kind: 'insert' };
      assert.ok(now.value('plinth_db_query_duration_seconds', inserts) - before.value('plinth_db_query_duration_seconds', inserts) >= 1);
      assert.ok(now.value('plinth_db_query_duration_seconds', { dialect: TEST_DIALECT, kind: 'select' }) > 0);
      if (TEST_DIALECT === 'postgres') {
        assert.ok(now.value('plinth_db_pool_connections', { state: 'total' }) >= 1);
        assert.ok(now.families.has('plinth_db_pool_waiting'));
        assert.equal(now.families.has('plinth_sqlite_wal_bytes'), false);
      } else {
        assert.ok(now.value('plinth_sqlite_wal_bytes') > 0, 'the WAL has the writes since the last checkpoint');
        assert.ok(now.families.has('plinth_db_write_queue_depth'));
        assert.equal(now.families.has('plinth_db_pool_connections'), false);
      }
      // prom-client's default process metrics come along.
      assert.ok(now.value('process_resident_memory_bytes') > 0);
      assert.ok(now.families.has('nodejs_eventloop_lag_seconds'));
    });
  });
});

describe('metrics turned off (--metrics=false)', () => {
  it('answers 404 at /api/metrics and times no statement', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-test-'));
    const app = await openTestApp({ dataDir: join(dir, 'data'), migrationsDir: join(dir, 'migrations'), metrics: { enabled: false, slowQueryMs: -1 } });
    const served = await serveApp(app);
    try {
      assert.equal(app.db.observer, null);
      assert.equal(app.metrics.http, null);
      const res = await fetch(`${served.url}/api/metrics`);
      assert.equal(res.status, 404);
      assert.ok(res.headers.get('x-request-id'), 'request ids do not depend on metrics');
    } finally {
      await served.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('metrics by default (no option, as plinth serve without --metrics=true)', () => {
  it('are off: /api/metrics answers 404 and no request is counted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-test-'));
    const app = await openTestApp({ dataDir: join(dir, 'data'), migrationsDir: join(dir, 'migrations') });
    const served = await serveApp(app);
    try {
      assert.equal(app.metrics.enabled, false);
      assert.equal(app.metrics.http, null);
      assert.equal((await fetch(`${served.url}/api/metrics`)).status, 404);
    } finally {
      await served.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('metrics: webhook deliveries', () => {
  it('counts delivery attempts by outcome: a 2xx is delivered, a 500 failed', async () => {
    const receiver = await startReceiver((req, res) => {
      res.statusCode = req.url === '/fail' ? 500 : 200;
      res.end('ok');
    });
    const s = await startServer({ settings: { outbound: { allowedHosts: ['127.0.0.1'] } }, jobs: { pollMs: 50 }, webhooks: { scheduleMs: [0] } });
    try {
      await s.admin.collections.create({ name: 'notes', type: 'base', fields: [{ name: 't', type: 'text' }], createRule: '' });
      for (const path of ['/ok', '/fail']) {
        const res = await s.fetch('/api/webhooks', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: s.admin.authStore.token },
          body: JSON.stringify({ url: `${receiver.url}${path}`, events: ['notes.create'] }),
        });
        assert.equal(res.status, 200, await res.text());
      }
      await s.client().collection('notes').create({ t: 'hook me' });
      await receiver.waitFor(2, 10_000);
      const read = async () => new Scrape(await (await s.fetch('/api/metrics', { headers: { authorization: s.admin.authStore.token } })).text());
      const deadline = Date.now() + 10_000;
      let now = await read();
      while (
        now.value('plinth_webhook_deliveries_total', { outcome: 'failed' }) < 1 ||
        now.value('plinth_webhook_deliveries_total', { outcome: 'delivered' }) < 1
      ) {
        assert.ok(
          Date.now() < deadline,
          now.text
            .split('\n')
            .filter((l) => l.startsWith('plinth_webhook'))
            .join('\n'),
        );
        await new Promise((r) => setTimeout(r, 50));
        now = await read();
      }
      assert.equal(now.value('plinth_webhook_deliveries_total', { outcome: 'delivered' }), 1);
      assert.equal(now.value('plinth_webhook_deliveries_total', { outcome: 'failed' }), 1);
      assert.equal(now.value('plinth_webhook_deliveries_total', { outcome: 'dropped' }), 0);
    } finally {
      await s.close();
      await receiver.close();
    }
  });
});
