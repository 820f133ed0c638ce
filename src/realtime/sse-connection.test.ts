import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeFrame, SharedFrame, sseFrame, SseConnection, type CloseReason } from './sse-connection.js';

/** A response stand-in whose socket "accepts" `capacity` writes before reporting backpressure. */
class FakeTarget extends EventEmitter {
  written: string[] = [];
  ended = false;
  destroyed = false;
  constructor(
    public capacity = Infinity,
    readonly chunked = false,
  ) {
    super();
  }
  write(bytes: Uint8Array): boolean {
    this.written.push(Buffer.from(bytes).toString('utf8'));
    return this.written.length < this.capacity;
  }
  end(): void {
    this.ended = true;
    this.emit('close');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

const limits = { idleTimeoutMs: 60_000, maxLifetimeMs: 60_000, maxQueuedMessages: 3, maxQueuedChars: 1_000 };

function open(target: FakeTarget, overrides: Partial<typeof limits> = {}): { conn: SseConnection; reasons: CloseReason[] } {
  const reasons: CloseReason[] = [];
  const conn = new SseConnection(target, { ...limits, ...overrides }, (r) => reasons.push(r));
  return { conn, reasons };
}

describe('sseFrame', () => {
  it('is PocketBase wire format', () => {
    assert.equal(sseFrame('cid', 'posts/*', '{"a":1}'), 'id:cid\nevent:posts/*\ndata:{"a":1}\n\n');
  });
});

describe('wire bytes', () => {
  it('frames as one HTTP chunk (length in bytes, hex) on a chunked body, as is otherwise', () => {
    const frame = sseFrame('cid', 'posts/*', '{"t":"é€"}');
    assert.equal(encodeFrame(frame, false).toString('utf8'), frame);
    const bytes = Buffer.byteLength(frame, 'utf8');
    assert.equal(encodeFrame(frame, true).toString('utf8'), `${bytes.toString(16)}\r\n${frame}\r\n`);
  });

  it('a shared frame gives each stream the same bytes as encoding its own frame would', () => {
    const shared = new SharedFrame('posts/*?options=%7B%7D', '{"action":"create","record":{"title":"ünïcode"}}');
    for (const id of ['a'.repeat(40), 'B'.repeat(40), 'short']) {
      for (const chunked of [true, false]) {
        const own = encodeFrame(sseFrame(id, 'posts/*?options=%7B%7D', '{"action":"create","record":{"title":"ünïcode"}}'), chunked);
        const got = shared.bytesFor(Buffer.from(id), chunked);
        assert.deepEqual(got, own, `${id} chunked=${chunked}`);
      }
    }
    const first = shared.bytesFor(Buffer.from('x'.repeat(40)), true);
    shared.bytesFor(Buffer.from('y'.repeat(40)), true);
    assert.ok(first.includes('id:' + 'x'.repeat(40)), 'a buffer handed out is never reused for another stream');
  });

  it('sends shared frames in the framing of each stream, and nothing once closed', () => {
    const target = new FakeTarget(Infinity, true);
    const { conn } = open(target);
    const shared = new SharedFrame('e', '1');
    assert.ok(conn.sendShared(shared, Buffer.from('cid')));
    assert.deepEqual(target.written, ['17\r\nid:cid\nevent:e\ndata:1\n\n\r\n']);
    conn.close('server');
    assert.equal(conn.sendShared(shared, Buffer.from('cid')), false);
    assert.equal(target.written.length, 1);
  });
});

describe('SseConnection', () => {
  it('writes straight through while the socket keeps up', () => {
    const target = new FakeTarget();
    const { conn } = open(target);
    assert.ok(conn.send('a'));
    assert.ok(conn.send('b'));
    assert.deepEqual(target.written, ['a', 'b']);
    conn.close('server');
    assert.ok(target.ended);
  });

  it('queues behind backpressure and flushes in order on drain', () => {
    const target = new FakeTarget(1);
    const { conn } = open(target);
    conn.send('1'); // accepted, but the socket is now full
    conn.send('2');
    conn.send('3');
    assert.deepEqual(target.written, ['1']);
    assert.equal(conn.queued, 2);
    target.capacity = Infinity;
    target.emit('drain');
    assert.deepEqual(target.written, ['1', '2', '3']);
    assert.equal(conn.queued, 0);
  });

  it('drops a slow consumer once its queue overflows (count or size), destroying the socket', () => {
    const target = new FakeTarget(1);
    const { conn, reasons } = open(target);
    conn.send('x');
    for (let i = 0; i < 3; i++) assert.ok(conn.send('q'));
    assert.equal(conn.send('overflow'), false);
    assert.deepEqual(reasons, ['slow']);
    assert.ok(target.destroyed);
    assert.equal(conn.send('late'), false, 'a closed connection accepts nothing');

    const big = new FakeTarget(1);
    const second = open(big);
    second.conn.send('x');
    assert.equal(second.conn.send('y'.repeat(1_001)), false);
    assert.deepEqual(second.reasons, ['slow']);
  });

  it('reports a client abort once and stops writing', () => {
    const target = new FakeTarget();
    const { conn, reasons } = open(target);
    target.emit('close');
    target.emit('close');
    assert.deepEqual(reasons, ['client']);
    assert.equal(conn.send('x'), false);
    assert.equal(target.listenerCount('drain'), 0);
  });

  it('closes after the idle timeout, and a delivered message restarts the clock', async () => {
    const target = new FakeTarget();
    const { conn, reasons } = open(target, { idleTimeoutMs: 80 });
    await sleep(50);
    conn.send('keepalive');
    await sleep(50);
    assert.deepEqual(reasons, [], 'the write restarted the idle clock');
    await sleep(80);
    assert.deepEqual(reasons, ['idle']);
    assert.ok(target.ended);
  });

  it('closes at max lifetime even when busy', async () => {
    const target = new FakeTarget();
    const { conn, reasons } = open(target, { maxLifetimeMs: 60 });
    for (let i = 0; i < 6; i++) {
      conn.send('x');
      await sleep(15);
    }
    assert.deepEqual(reasons, ['lifetime']);
  });
});
