/**
 * X-Request-Id: on every answer (success, error, answers written before routing), taken from the request when
 * it is sane and replaced when not, and the same id in the request log entry, the error log line and the body
 * of a 5xx answer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { pino } from 'pino';
import { ClientResponseError } from 'pocketbase';
import { RouteRegistry } from '../../src/http/custom-routes.js';
import { startServer, type TestServer } from '../helpers/server.js';

interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
}

const GENERATED = /^[A-Za-z0-9_-]{16}$/;

describe('request ids', () => {
  let s: TestServer;
  const logs: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const routes = new RouteRegistry();
  routes.get('/api/test/explode', () => {
    throw new Error('a bug in a route');
  });

  before(async () => {
    s = await startServer({ logger, routes });
    await s.admin.collections.create({ name: 'notes', type: 'base', fields: [{ name: 't', type: 'text' }], listRule: '', viewRule: '' });
  });
  after(async () => {
    await s.close();
  });

  it('every answer carries a fresh id, different each time, on success and on error', async () => {
    const ids = new Set<string>();
    for (const path of [
      '/api/health',
      '/api/health',
      '/api/collections/notes/records',
      '/api/collections/nope/records',
      '/api/collections/notes/records?filter=((',
    ]) {
      const res = await s.fetch(path);
      const id = res.headers.get('x-request-id') ?? '';
      assert.match(id, GENERATED, `${path} → ${res.status}`);
      assert.equal(res.headers.get('access-control-expose-headers'), 'X-Request-Id', 'readable by browser apps on other origins');
      ids.add(id);
    }
    assert.equal(ids.size, 5);
  });

  it('keeps a sane id sent by the client or a proxy, and replaces one that is too long, empty or has other characters', async () => {
    for (const sane of ['abc-123', 'f47ac10b-58cc-4372-a567-0e02b2c3d479', 'Root=1-67891233-abcdef012345678912345678', 'a'.repeat(128), 'x.y_z:1+2/3=']) {
      const res = await s.fetch('/api/health', { headers: { 'x-request-id': sane } });
      assert.equal(res.headers.get('x-request-id'), sane);
    }
    for (const insane of ['a'.repeat(129), 'has space', 'semi;colon', '<script>', '"quoted"', '']) {
      const res = await s.fetch('/api/health', { headers: { 'x-request-id': insane } });
      assert.equal(res.status, 200, 'a bad id is replaced, never refused');
      assert.match(res.headers.get('x-request-id') ?? '', GENERATED, JSON.stringify(insane));
    }
  });

  it('answers written before any route (a malformed request, a bad URL) carry an id too', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(s.url).port), '127.0.0.1');
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write('GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n');
    });
    assert.match(raw, /^HTTP\/1\.1 400/);
    assert.match(raw, /\r\nx-request-id: [A-Za-z0-9_-]{16}\r\n/i);
    const badUrl = await s.fetch('/api/collections/%E0%A4%A/records');
    assert.equal(badUrl.status, 400);
    assert.match(badUrl.headers.get('x-request-id') ?? '', GENERATED);
  });

  it('a 5xx answer names the id in its body (after the envelope keys) and in the error log line; a 4xx body stays the envelope', async () => {
    logs.length = 0;
    const res = await s.fetch('/api/test/explode', { headers: { 'x-request-id': 'explode-1' } });
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('x-request-id'), 'explode-1');
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['data', 'message', 'status', 'requestId']);
    assert.equal(body.requestId, 'explode-1');
    assert.equal(body.status, 500);
    const line = logs.find((l) => l.msg === 'request failed');
    assert.equal(line?.requestId, 'explode-1');
    // The pocketbase SDK reads the envelope as before and keeps the extra key in err.response.
    await assert.rejects(s.client().send('/api/test/explode', { headers: { 'x-request-id': 'explode-sdk' } }), (err: ClientResponseError) => {
      assert.ok(err instanceof ClientResponseError);
      assert.equal(err.status, 500);
      assert.equal(err.message, 'Something went wrong while processing your request.');
      assert.deepEqual(err.response, { data: {}, message: 'Something went wrong while processing your request.', status: 500, requestId: 'explode-sdk' });
      return true;
    });
    const missing = await s.fetch('/api/collections/nope/records', { headers: { 'x-request-id': 'missing-1' } });
    assert.equal(missing.status, 404);
    assert.deepEqual(Object.keys((await missing.json()) as object), ['data', 'message', 'status']);
  });

  it('the request log entry has the id (data.requestId), so the dashboard logs can be filtered by it', async () => {
    await s.fetch('/api/collections/notes/records', { headers: { 'x-request-id': 'log-me-1' } });
    await s.fetch('/api/collections/nope/records', { headers: { 'x-request-id': 'log-me-2' } });
    await s.app.logs.flush();
    const ok = await s.admin.logs.getList(1, 10, { filter: "data.requestId = 'log-me-1'" });
    assert.equal(ok.items.length, 1);
    assert.equal(ok.items[0]?.data.url, '/api/collections/notes/records');
    const failed = await s.admin.logs.getList(1, 10, { filter: "data.requestId = 'log-me-2'" });
    assert.equal(failed.items[0]?.data.status, 404);
  });
});
