/**
 * Realtime on the wire and under abuse, with raw HTTP: PocketBase's frame format, bad subscription
 * requests (each a clear 4xx, the process stays up), idle and lifetime timeouts, connect/disconnect
 * cycles that must leave nothing behind, a slow consumer dropped without slowing anyone else, and a
 * shutdown that does not wait for open streams.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type TestServer } from '../helpers/server.js';

interface Frame {
  id: string;
  event: string;
  data: string;
}

/** A raw SSE stream read with fetch: frames as they come, `ended` once the server closes it. */
interface RawStream {
  clientId: string;
  headers: Headers;
  frames: Frame[];
  ended: Promise<void>;
  isEnded(): boolean;
  abort(): void;
}

let s: TestServer;

async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function parseFrame(block: string): Frame {
  const frame: Frame = { id: '', event: '', data: '' };
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':');
    const key = line.slice(0, colon);
    if (key === 'id' || key === 'event' || key === 'data') frame[key] = line.slice(colon + 1);
  }
  return frame;
}

async function openStream(): Promise<RawStream> {
  const ctrl = new AbortController();
  const res = await fetch(`${s.url}/api/realtime`, { signal: ctrl.signal });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const frames: Frame[] = [];
  let ended = false;
  let buffer = '';
  const done = (async () => {
    try {
      for (;;) {
        const { done: finished, value } = await reader.read();
        if (finished) break;
        buffer += decoder.decode(value, { stream: true });
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          frames.push(parseFrame(buffer.slice(0, i)));
          buffer = buffer.slice(i + 2);
        }
      }
    } catch {
      // aborted by the test
    } finally {
      ended = true;
    }
  })();
  await waitFor(() => frames.length > 0 || ended, 'PB_CONNECT');
  return {
    clientId: frames[0]?.id ?? '',
    headers: res.headers,
    frames,
    ended: done,
    isEnded: () => ended,
    abort: () => ctrl.abort(),
  };
}

function subscribe(clientId: string, subscriptions: unknown, init: { token?: string; body?: string; contentType?: string } = {}): Promise<Response> {
  return s.fetch('/api/realtime', {
    method: 'POST',
    headers: { 'content-type': init.contentType ?? 'application/json', ...(init.token ? { Authorization: init.token } : {}) },
    body: init.body ?? JSON.stringify({ clientId, subscriptions }),
  });
}

async function expect400(res: Response): Promise<Record<string, unknown>> {
  assert.equal(res.status, 400, await res.clone().text());
  const body = (await res.json()) as { data: Record<string, unknown>; status: number };
  assert.equal(body.status, 400);
  return body.data;
}

describe('realtime on the wire', () => {
  before(async () => {
    s = await startServer();
    await s.admin.collections.create({
      name: 'posts',
      type: 'base',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'body', type: 'editor' },
      ],
      listRule: '',
      viewRule: '',
    });
  });
  after(async () => {
    await s.close();
  });

  it('speaks PocketBase SSE: headers, PB_CONNECT, the client id on every frame, the subscription string as event name', async () => {
    const stream = await openStream();
    assert.equal(stream.headers.get('content-type'), 'text/event-stream');
    assert.equal(stream.headers.get('cache-control'), 'no-store');
    assert.equal(stream.headers.get('x-accel-buffering'), 'no');
    assert.match(stream.clientId, /^[A-Za-z0-9]{40}$/);
    assert.deepEqual(stream.frames[0], { id: stream.clientId, event: 'PB_CONNECT', data: JSON.stringify({ clientId: stream.clientId }) });
    const name = `posts/*?options=${encodeURIComponent(JSON.stringify({ query: { fields: 'title' }, headers: {} }))}`;
    assert.equal((await subscribe(stream.clientId, [name, 'posts'])).status, 204);
    await s.admin.collection('posts').create({ title: 'wire' });
    await waitFor(() => stream.frames.length === 3, 'two record frames');
    const [, withOptions, bare] = stream.frames;
    assert.equal(withOptions?.event, name, 'echoed verbatim, options included');
    assert.equal(withOptions?.id, stream.clientId);
    assert.deepEqual(JSON.parse(withOptions!.data), { action: 'create', record: { title: 'wire' } });
    assert.equal(bare?.event, 'posts');
    assert.equal(bare?.id, stream.clientId);
    stream.abort();
  });

  it('frames every message as one whole HTTP chunk (HTTP/1.1), and as plain bytes to an HTTP/1.0 client', async () => {
    const port = Number(new URL(s.url).port);
    const raw = async (version: string) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.on('error', () => undefined);
      let text = '';
      sock.on('data', (d: Buffer) => (text += d.toString('utf8')));
      sock.write(`GET /api/realtime HTTP/${version}\r\nHost: 127.0.0.1\r\n\r\n`);
      await waitFor(() => /\nid:[A-Za-z0-9]{40}\n/.test(text), `PB_CONNECT over HTTP/${version}`);
      const clientId = /\nid:([A-Za-z0-9]{40})\n/.exec(text)![1]!;
      return { sock, clientId, text: () => text };
    };
    const v11 = await raw('1.1');
    const v10 = await raw('1.0');
    for (const c of [v11, v10]) assert.equal((await subscribe(c.clientId, ['posts/*'])).status, 204);
    await s.admin.collection('posts').create({ title: 'chunked ünïcode' });
    await s.admin.collection('posts').create({ title: 'second' });
    await waitFor(
      () => (v11.text().match(/event:posts\/\*/g) ?? []).length === 2 && (v10.text().match(/event:posts\/\*/g) ?? []).length === 2,
      'both records on both streams',
    );

    const head11 = v11.text().split('\r\n\r\n', 1)[0]!;
    assert.match(head11, /\r\ntransfer-encoding: chunked/i);
    const bytes = Buffer.from(v11.text().slice(head11.length + 4), 'utf8');
    const frames: string[] = [];
    let at = 0;
    while (at < bytes.length) {
      const eol = bytes.indexOf('\r\n', at);
      const size = parseInt(bytes.subarray(at, eol).toString('latin1'), 16);
      frames.push(bytes.subarray(eol + 2, eol + 2 + size).toString('utf8'));
      assert.equal(bytes.subarray(eol + 2 + size, eol + 4 + size).toString('latin1'), '\r\n', 'chunk ends with CRLF');
      at = eol + 4 + size;
    }
    assert.equal(frames.length, 3, 'PB_CONNECT and two records, one chunk each');
    for (const f of frames) assert.match(f, new RegExp(`^id:${v11.clientId}\nevent:[^\n]+\ndata:[^\n]+\n\n$`));
    assert.equal((JSON.parse(frames[1]!.split('\ndata:')[1]!) as { record: { title: string } }).record.title, 'chunked ünïcode');

    const head10 = v10.text().split('\r\n\r\n', 1)[0]!;
    assert.doesNotMatch(head10, /transfer-encoding/i);
    const plain = v10
      .text()
      .slice(head10.length + 4)
      .split('\n\n')
      .filter(Boolean);
    assert.equal(plain.length, 3);
    for (const f of plain) assert.match(f, new RegExp(`^id:${v10.clientId}\nevent:[^\n]+\ndata:[^\n]+$`));
    v11.sock.destroy();
    v10.sock.destroy();
  });

  it('answers bad subscription requests with a clear 4xx and stays up', async () => {
    const stream = await openStream();
    const id = stream.clientId;
    assert.ok(
      'subscriptions' in
        (await expect400(
          await subscribe(
            id,
            Array.from({ length: 1001 }, (_, i) => `posts/${i}`),
          ),
        )),
    );
    assert.ok('subscriptions' in (await expect400(await subscribe(id, ['x'.repeat(2501)]))));
    assert.ok('subscriptions' in (await expect400(await subscribe(id, ['posts/*?options=not-json']))));
    assert.ok('subscriptions' in (await expect400(await subscribe(id, ['posts/*?options=%5B%5D']))));
    assert.ok('subscriptions' in (await expect400(await subscribe(id, [{ topic: 'posts/*' }]))));
    assert.ok('subscriptions' in (await expect400(await subscribe(id, { 0: 'posts/*' }))));
    assert.ok('subscriptions' in (await expect400(await subscribe(id, ['posts/*\nevent:forged']))));
    assert.ok('clientId' in (await expect400(await subscribe('', ['posts/*']))));
    assert.ok('clientId' in (await expect400(await subscribe('x'.repeat(256), ['posts/*']))));
    await expect400(await subscribe(id, null, { body: '{"clientId": ' }));
    await expect400(await subscribe(id, null, { body: '["posts/*"]' }));
    assert.equal((await subscribe('', null, { body: 'garbage', contentType: 'text/plain' })).status, 415);
    assert.equal((await subscribe('y'.repeat(40), ['posts/*'])).status, 404);
    // A form body works too (PocketBase binds JSON or form).
    const form = new URLSearchParams({ clientId: id, subscriptions: 'posts/*' });
    assert.equal((await subscribe(id, null, { body: form.toString(), contentType: 'application/x-www-form-urlencoded' })).status, 204);
    assert.equal((await s.fetch('/api/health')).status, 200);
    assert.equal(s.app.realtime.stats().subscriptions, 1);
    stream.abort();
  });

  it('refuses a client id used from another address (400)', async () => {
    const stream = await openStream();
    const port = Number(new URL(s.url).port);
    const status = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ clientId: stream.clientId, subscriptions: ['posts/*'] });
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          localAddress: '127.0.0.2',
          method: 'POST',
          path: '/api/realtime',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(status, 400);
    stream.abort();
  });

  it('closes idle streams, and every stream at its max lifetime', async () => {
    s.app.realtime.configure({ idleTimeoutMs: 200 });
    try {
      const idle = await openStream();
      const started = Date.now();
      await idle.ended;
      assert.ok(Date.now() - started < 2000);
      assert.equal(s.app.realtime.hasClient(idle.clientId), false);

      s.app.realtime.configure({ idleTimeoutMs: 60_000, maxLifetimeMs: 300 });
      const busy = await openStream();
      await subscribe(busy.clientId, ['@tick']);
      const ticker = setInterval(() => s.app.realtime.publish('@tick', 1), 50);
      await busy.ended;
      clearInterval(ticker);
      assert.ok(busy.frames.length > 2, 'it was receiving until the end');
    } finally {
      s.app.realtime.configure({ idleTimeoutMs: 5 * 60_000, maxLifetimeMs: 30 * 60_000 });
    }
  });

  it('leaves nothing behind after many connect/disconnect cycles', async () => {
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timeouts();
    for (let i = 0; i < 30; i++) {
      const stream = await openStream();
      assert.equal((await subscribe(stream.clientId, ['posts/*', `posts/${i}`, '@custom'])).status, 204);
      stream.abort();
      await stream.ended;
    }
    await waitFor(() => s.app.realtime.stats().clients === 0, 'every client to be forgotten');
    assert.deepEqual(s.app.realtime.stats(), { clients: 0, topics: 0, subscriptions: 0, identities: 0 });
    assert.ok(timeouts() <= before + 2, `timers left behind: ${timeouts()} vs ${before}`);
  });

  it('drops a consumer that stops reading while the others keep receiving', async (t) => {
    const good = await openStream();
    // Only the slow stream gets a small queue (options are read when a stream opens).
    s.app.realtime.configure({ maxQueuedMessages: 10, maxQueuedChars: 2 * 1024 * 1024 });
    const port = Number(new URL(s.url).port);
    const slow = net.connect(port, '127.0.0.1');
    slow.on('error', () => undefined);
    slow.write('GET /api/realtime HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
    let head = '';
    const slowId = await new Promise<string>((resolve) => {
      const onData = (chunk: Buffer) => {
        head += chunk.toString();
        const m = /\nid:([A-Za-z0-9]{40})\n/.exec(head);
        if (m) {
          slow.off('data', onData);
          slow.pause(); // from now on it never reads
          resolve(m[1] as string);
        }
      };
      slow.on('data', onData);
    });
    s.app.realtime.configure({ maxQueuedMessages: 1000, maxQueuedChars: 4 * 1024 * 1024 });
    assert.equal((await subscribe(slowId, ['posts/*'])).status, 204);
    assert.equal((await subscribe(good.clientId, ['posts/*'])).status, 204);

    const big = 'x'.repeat(256 * 1024);
    let created = 0;
    const started = Date.now();
    while (s.app.realtime.hasClient(slowId) && created < 400) {
      await s.admin.collection('posts').create({ title: `big ${created}`, body: big });
      created++;
      await s.app.hooks.settled();
    }
    const elapsed = Date.now() - started;
    assert.equal(s.app.realtime.hasClient(slowId), false, `the slow client was dropped (after ${created} events)`);
    await waitFor(() => good.frames.length === created + 1, `the good client to get all ${created} events`, 10_000);
    assert.ok(elapsed < 30_000, `writes were not held up by the slow reader (${elapsed} ms)`);
    t.diagnostic(`slow reader dropped after ${created} events of 256 KiB; ${elapsed} ms`);
    slow.destroy();
    good.abort();
  });

  it('shuts down promptly with streams open', async () => {
    const other = s;
    s = await startServer();
    try {
      const a = await openStream();
      const b = await openStream();
      await subscribe(a.clientId, ['posts/*']);
      const started = Date.now();
      await s.close();
      assert.ok(Date.now() - started < 3000, 'close() did not wait for the streams');
      await Promise.all([a.ended, b.ended]);
    } finally {
      s = other;
    }
  });
});
