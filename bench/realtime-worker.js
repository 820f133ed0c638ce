#!/usr/bin/env node
// A share of bench/realtime.js's SSE clients, in its own process (own fd limit, own core).
//
// Driven over IPC by the parent:
//   → {type: 'connect', port, count, concurrency, topic}   open `count` streams, subscribe each to `topic`
//   ← {type: 'ready', connected, failed, ms}
//   ← {type: 'got', event}                                  every connected client has event `event`
//   → {type: 'report'}
//   ← {type: 'report', received: number[][], disconnects}   receive wall-clock times (ms) per event
//   → {type: 'exit'}
// Record titles are `e<index>`, so the event index comes from the payload itself.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const HOST = '127.0.0.1';
const now = () => performance.timeOrigin + performance.now();

let connected = 0;
let disconnects = 0;
/** received[event] = wall-clock receive times, one per client that got it. */
const received = [];
const sockets = new Set();
const postAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });

function send(msg) {
  if (process.connected) process.send(msg);
}

function subscribe(port, clientId, topic) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ clientId, subscriptions: [topic] });
    const req = http.request(
      {
        host: HOST,
        port,
        method: 'POST',
        path: '/api/realtime',
        agent: postAgent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`subscribe: HTTP ${res.statusCode}`))));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('subscribe: timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function onRecordFrame(data) {
  const t = now();
  // {"action":"create","record":{...,"title":"e12",...}}: the index is all we need.
  const m = /"title":"e(\d+)"/.exec(data);
  if (!m) return;
  const event = Number(m[1]);
  const list = (received[event] ??= []);
  list.push(t);
  if (list.length === connected) send({ type: 'got', event });
}

/** Opens one stream; resolves once it is subscribed. */
function openClient(port, topic) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err) => {
      if (!settled) {
        settled = true;
        reject(err);
      }
    };
    const req = http.get({ host: HOST, port, path: '/api/realtime', agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return fail(new Error(`connect: HTTP ${res.statusCode}`));
      }
      sockets.add(res.socket);
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk) => {
        buffer += chunk;
        let i;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const eventLine = /(?:^|\n)event:([^\n]*)/.exec(block)?.[1];
          const data = /(?:^|\n)data:([^\n]*)/.exec(block)?.[1] ?? '';
          if (eventLine === 'PB_CONNECT') {
            const clientId = /(?:^|\n)id:([^\n]*)/.exec(block)?.[1] ?? '';
            subscribe(port, clientId, topic).then(() => {
              settled = true;
              resolve();
            }, fail);
          } else if (eventLine === topic) {
            onRecordFrame(data);
          }
        }
      });
      res.on('close', () => {
        sockets.delete(res.socket);
        if (settled) disconnects++;
        else fail(new Error('connect: closed early'));
      });
    });
    req.setTimeout(30_000, () => req.destroy(new Error('connect: timeout')));
    req.on('error', fail);
  });
}

async function connectAll({ port, count, concurrency, topic }) {
  const started = now();
  let next = 0;
  let failed = 0;
  const lane = async () => {
    while (next < count) {
      next++;
      try {
        await openClient(port, topic);
        connected++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  send({ type: 'ready', connected, failed, ms: now() - started });
}

process.on('message', (msg) => {
  if (msg.type === 'connect') void connectAll(msg);
  else if (msg.type === 'report') send({ type: 'report', received, disconnects });
  else if (msg.type === 'exit') {
    for (const s of sockets) s.destroy();
    postAgent.destroy();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
