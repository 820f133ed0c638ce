/**
 * `app.http.fetch` against real loopback HTTP servers: the SSRF guard refuses loopback, link-local and
 * metadata targets by default (literals, names and redirect hops), `settings.outbound.allowedHosts` (set over
 * PATCH /api/settings) lets the test's receivers through, connections go to the checked address only, and
 * timeouts, retries and the body cap behave.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { startServer, type TestServer } from '../helpers/server.js';
import { HttpClient } from '../../src/outbound/index.js';
import { isAppError } from '../../src/errors/index.js';

interface Receiver {
  port: number;
  url: string;
  hits: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;
  close(): Promise<void>;
}

async function receiver(handle: (req: IncomingMessage, res: ServerResponse, hit: number) => void): Promise<Receiver> {
  const hits: Receiver['hits'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handle(req, res, hits.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const code = (expected: string, message?: RegExp) => (err: unknown) => {
  assert.ok(isAppError(err), `expected an AppError, got ${String(err)}`);
  assert.equal(err.code, expected, err.message);
  if (message) assert.match(err.message, message);
  return true;
};

describe('app.http.fetch', () => {
  let s: TestServer;
  let hello: Receiver;
  let other: Receiver;

  const allow = async (allowedHosts: string[]) => {
    await s.admin.settings.update({ outbound: { allowedHosts } });
  };

  before(async () => {
    s = await startServer();
    hello = await receiver((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, method: req.method, host: req.headers.host }));
    });
    other = await receiver((_req, res) => res.end('other'));
  });
  after(async () => {
    await hello.close();
    await other.close();
    await s.close();
  });
  beforeEach(async () => {
    hello.hits.length = 0;
    other.hits.length = 0;
    await allow([]);
  });

  it('refuses loopback, link-local and metadata targets by default, before any connection', async () => {
    for (const url of [
      hello.url,
      `http://localhost:${hello.port}/`,
      `http://[::1]:${hello.port}/`,
      `http://[::ffff:127.0.0.1]:${hello.port}/`,
      `http://0x7f.1:${hello.port}/`,
      `http://2130706433:${hello.port}/`,
      'http://169.254.169.254/latest/meta-data/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://0.0.0.0/',
      'http://10.0.0.1/',
    ]) {
      await assert.rejects(s.app.http.fetch(url), code('outbound_refused', /refused: /), url);
    }
    await assert.rejects(s.app.http.fetch('http://169.254.169.254/'), code('outbound_refused', /169\.254\.169\.254 is the cloud metadata address/));
    await assert.rejects(s.app.http.fetch(`http://user:secret@127.0.0.1:${hello.port}/`), code('outbound_refused', /credentials/));
    await assert.rejects(s.app.http.fetch('file:///etc/passwd'), code('outbound_refused', /only http and https/));
    assert.equal(hello.hits.length, 0, 'nothing reached the receiver');
  });

  it('the allow-list is a validated setting; listed hosts and addresses are let through', async () => {
    const bad = await s.fetch('/api/settings', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', authorization: s.admin.authStore.token },
      body: JSON.stringify({ outbound: { allowedHosts: ['127.0.0.1', 'http://x.com/'] } }),
    });
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { data: { outbound?: { allowedHosts?: { code: string; message: string } } } };
    assert.equal(body.data.outbound?.allowedHosts?.code, 'validation_invalid_value');
    assert.match(body.data.outbound?.allowedHosts?.message ?? '', /http:\/\/x\.com/);
    const stored = (await s.admin.settings.getAll()) as { outbound: { allowedHosts: string[] } };
    assert.deepEqual(stored.outbound.allowedHosts, []);

    await allow(['127.0.0.1']);
    const res = await s.app.http.fetch(`${hello.url}/hi?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true, method: 'POST', host: `127.0.0.1:${hello.port}` });
    assert.equal(res.url, `${hello.url}/hi?x=1`);
    assert.equal(hello.hits[0]?.body, '{"a":1}');
    assert.equal(hello.hits[0]?.url, '/hi?x=1');

    // A name is refused for what it names unless all its addresses are listed; localhost is 127.0.0.1 here.
    const viaName = await s.app.http.fetch(`http://localhost:${hello.port}/`);
    assert.equal(((await viaName.json()) as { host: string }).host, `localhost:${hello.port}`);

    await allow(['localhost']);
    assert.equal((await s.app.http.fetch(`http://localhost:${hello.port}/`)).status, 200);
    await assert.rejects(s.app.http.fetch(hello.url), code('outbound_refused'), 'allowing the name does not allow the address literal');

    await allow(['127.0.0.0/8']);
    assert.equal((await s.app.http.fetch(hello.url)).status, 200);
  });

  it('checks every redirect hop: a redirect to 127.0.0.1 or 169.254.169.254 is refused', async () => {
    const redirector = await receiver((req, res) => {
      const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to') ?? '/';
      res.writeHead(302, { location: to });
      res.end();
    });
    try {
      await allow(['localhost']); // the redirector by name only: 127.0.0.1 as a literal stays refused
      const start = (to: string) => `http://localhost:${redirector.port}/?to=${encodeURIComponent(to)}`;
      await assert.rejects(
        s.app.http.fetch(start(`${other.url}/`)),
        code('outbound_refused', new RegExp(`127\\.0\\.0\\.1 is a loopback address.*redirect from http://localhost:${redirector.port}`)),
      );
      await assert.rejects(s.app.http.fetch(start('http://169.254.169.254/latest/meta-data/iam')), code('outbound_refused', /169\.254\.169\.254/));
      await assert.rejects(s.app.http.fetch(start('http://[::ffff:a9fe:a9fe]/')), code('outbound_refused', /link-local/));
      assert.equal(other.hits.length, 0, 'the refused hop was never contacted');
      assert.equal(redirector.hits.length, 3);

      // Allowed hops are followed (and reported as redirected); redirect: 'manual' hands back the 3xx.
      await allow(['localhost', '127.0.0.1']);
      const followed = await s.app.http.fetch(start(`${other.url}/end`), { headers: { authorization: 'Bearer secret' } });
      assert.equal(await followed.text(), 'other');
      assert.equal(followed.redirected, true);
      assert.equal(followed.url, `${other.url}/end`);
      assert.equal(other.hits[0]?.headers.authorization, undefined, 'credentials are not carried to another origin');
      const manual = await s.app.http.fetch(start(`${other.url}/`), { redirect: 'manual' });
      assert.equal(manual.status, 302);

      // A POST answered with 303 continues as a GET without the body.
      other.hits.length = 0;
      const res303 = await receiver((_req, res) => {
        res.writeHead(303, { location: `${other.url}/after` });
        res.end();
      });
      try {
        const r = await s.app.http.fetch(res303.url, { method: 'POST', body: 'payload' });
        assert.equal(r.status, 200);
        assert.equal(other.hits[0]?.method, 'GET');
        assert.equal(other.hits[0]?.body, '');
      } finally {
        await res303.close();
      }
    } finally {
      await redirector.close();
    }
  });

  it('stops after 5 redirects', async () => {
    const loop = await receiver((req, res) => {
      const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n') ?? '0');
      res.writeHead(307, { location: `/?n=${n + 1}` });
      res.end();
    });
    try {
      await allow(['127.0.0.1']);
      await assert.rejects(s.app.http.fetch(`${loop.url}/?n=0`), code('outbound_failed', /more than 5 redirects/));
      assert.equal(loop.hits.length, 6);
      await assert.rejects(s.app.http.fetch(`${loop.url}/?n=0`, { maxRedirects: 1 }), code('outbound_failed', /more than 1 redirects/));
    } finally {
      await loop.close();
    }
  });

  it('times out a receiver that never answers, per attempt', async () => {
    const silent = await receiver(() => {
      /* never responds */
    });
    try {
      await allow(['127.0.0.1']);
      const started = Date.now();
      await assert.rejects(s.app.http.fetch(silent.url, { timeout: 200, retries: 0 }), code('outbound_timeout', /timed out after 200 ms/));
      assert.ok(Date.now() - started < 2000, 'the timeout fired promptly');
      assert.equal(silent.hits.length, 1);
      await assert.rejects(s.app.http.fetch(silent.url, { timeout: 150, retries: 1, backoff: 10 }), code('outbound_timeout'));
      assert.equal(silent.hits.length, 3, 'a timed-out GET is retried');
      // The caller's own signal aborts with its reason, not a timeout.
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('caller gave up')), 50);
      await assert.rejects(s.app.http.fetch(silent.url, { signal: ac.signal }), /caller gave up/);
    } finally {
      await silent.close();
    }
  });

  it('retries 5xx, 429 and dropped connections for idempotent methods, then succeeds', async () => {
    const flaky = await receiver((req, res, hit) => {
      const mode = new URL(req.url ?? '/', 'http://x').pathname;
      if (mode === '/drop' && hit % 3 !== 0) return void req.socket.destroy();
      if (mode === '/limited' && hit % 3 !== 0) {
        res.writeHead(429, { 'retry-after': '0' });
        return void res.end();
      }
      if (mode !== '/drop' && mode !== '/limited' && hit % 3 !== 0) {
        res.statusCode = 503;
        return void res.end('busy');
      }
      res.end(`done after ${hit}`);
    });
    try {
      await allow(['127.0.0.1']);
      const ok = await s.app.http.fetch(`${flaky.url}/`, { backoff: 5 });
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'done after 3');

      flaky.hits.length = 0;
      const post = await s.app.http.fetch(`${flaky.url}/`, { method: 'POST', body: 'x', backoff: 5 });
      assert.equal(post.status, 503, 'POST is not retried by default: the final 5xx is returned');
      assert.equal(await post.text(), 'busy');
      assert.equal(flaky.hits.length, 1);

      flaky.hits.length = 0;
      const postRetried = await s.app.http.fetch(`${flaky.url}/`, { method: 'POST', body: 'x', retries: 2, backoff: 5 });
      assert.equal(postRetried.status, 200, 'an explicit retries count applies to any method');
      assert.equal(flaky.hits.filter((h) => h.body === 'x').length, 3, 'the body is resent on every attempt');

      flaky.hits.length = 0;
      assert.equal((await s.app.http.fetch(`${flaky.url}/limited`, { backoff: 5 })).status, 200);
      flaky.hits.length = 0;
      assert.equal(await (await s.app.http.fetch(`${flaky.url}/drop`, { backoff: 5 })).text(), 'done after 3');

      flaky.hits.length = 0;
      await assert.rejects(s.app.http.fetch(`${flaky.url}/drop`, { retries: 1, backoff: 5 }), code('outbound_failed', /failed: /));
      assert.equal(flaky.hits.length, 2);
    } finally {
      await flaky.close();
    }
  });

  it('keepAlive reuses one connection per checked target; without it every request has its own', async () => {
    const ports: number[] = [];
    const r = await receiver((req, res) => {
      ports.push(req.socket.remotePort ?? 0);
      res.end('ok');
    });
    try {
      await allow(['127.0.0.1']);
      for (let i = 0; i < 3; i++) assert.equal(await (await s.app.http.fetch(r.url, { method: 'POST', body: 'x', keepAlive: true })).text(), 'ok');
      assert.equal(new Set(ports).size, 1, `one connection for three keep-alive requests: ${ports.join(', ')}`);
      ports.length = 0;
      for (let i = 0; i < 3; i++) await (await s.app.http.fetch(r.url, { method: 'POST', body: 'x' })).text();
      assert.equal(new Set(ports).size, 3, 'a new connection per request by default');
      // Still checked on every request: once the allow-list no longer lists it, a kept connection is not used.
      await allow([]);
      await assert.rejects(s.app.http.fetch(r.url, { method: 'POST', body: 'x', keepAlive: true }), code('outbound_refused', /refused: /));
    } finally {
      await r.close();
    }
  });

  it('caps the response body (declared, chunked and decompressed sizes)', async () => {
    const big = 'x'.repeat(300_000);
    const sender = await receiver((req, res) => {
      const path = req.url ?? '/';
      if (path === '/declared') {
        res.setHeader('content-length', String(big.length));
        return void res.end(big);
      }
      if (path === '/gzip') {
        res.setHeader('content-encoding', 'gzip');
        return void res.end(gzipSync(Buffer.alloc(11 * 1024 * 1024))); // ~11 kB on the wire, 11 MiB decoded
      }
      if (path === '/small-gzip') {
        res.setHeader('content-encoding', 'gzip');
        return void res.end(gzipSync('hello gzip'));
      }
      res.write(big.slice(0, 150_000)); // chunked, no length
      setTimeout(() => res.end(big.slice(150_000)), 20);
    });
    try {
      await allow(['127.0.0.1']);
      for (const p of ['/declared', '/chunked', '/gzip']) {
        await assert.rejects(
          s.app.http.fetch(`${sender.url}${p}`, { maxResponseBytes: 100_000 }),
          code('outbound_response_too_large', /larger than 100000 bytes/),
          p,
        );
      }
      assert.equal((await (await s.app.http.fetch(`${sender.url}/declared`, { maxResponseBytes: 300_000 })).text()).length, 300_000);
      assert.equal(await (await s.app.http.fetch(`${sender.url}/small-gzip`)).text(), 'hello gzip');
      await assert.rejects(s.app.http.fetch(`${sender.url}/gzip`), code('outbound_response_too_large'), 'the default cap is 10 MiB of decoded bytes');
    } finally {
      await sender.close();
    }
  });
});

describe('HttpClient with its own resolver', () => {
  it('refuses a name that resolves to a private address, and pins the connection to the checked address', async () => {
    const rx = await receiver((req, res) => res.end(`host=${req.headers.host}`));
    try {
      let allowedHosts: string[] = [];
      const answers: Record<string, string[]> = {
        'intranet.example.test': ['10.20.30.40'],
        'mixed.example.test': ['93.184.216.34', '192.168.1.1'],
        'rebind.example.test': ['127.0.0.1'],
      };
      const client = new HttpClient({
        settings: () => ({ allowedHosts }),
        resolver: async (name) => (answers[name] ?? []).map((address) => ({ address, family: 4 as const })),
      });
      await assert.rejects(
        client.fetch('http://intranet.example.test/'),
        code('outbound_refused', /intranet\.example\.test resolves to 10\.20\.30\.40 is a private address/),
      );
      await assert.rejects(
        client.fetch('http://mixed.example.test/'),
        code('outbound_refused', /192\.168\.1\.1/),
        'one private address among public ones is enough',
      );
      // rebind.example.test exists only in this resolver: the request can only succeed if the socket went to
      // the address the guard checked (the system resolver would not know the name).
      allowedHosts = ['127.0.0.1'];
      const res = await client.fetch(`http://rebind.example.test:${rx.port}/`);
      assert.equal(await res.text(), `host=rebind.example.test:${rx.port}`, 'the Host header keeps the name');
      answers['rebind.example.test'] = ['169.254.169.254'];
      await assert.rejects(
        client.fetch(`http://rebind.example.test:${rx.port}/`),
        code('outbound_refused', /169\.254\.169\.254/),
        'a changed DNS answer is checked again',
      );
      assert.equal(rx.hits.length, 1);
    } finally {
      await rx.close();
    }
  });

  it('https: connects to the pinned address while TLS verifies the host name (SNI)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-tls-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=secure.example.test',
          '-addext',
          'subjectAltName=DNS:secure.example.test',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      const cert = readFileSync(join(dir, 'cert.pem'));
      const seen: string[] = [];
      const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
        seen.push(`${(req.socket as import('node:tls').TLSSocket).servername}|${req.headers.host}`);
        res.end('secure');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      try {
        const client = new HttpClient({
          settings: () => ({ allowedHosts: ['127.0.0.1'] }),
          resolver: async (name) => (name.endsWith('.example.test') ? [{ address: '127.0.0.1', family: 4 as const }] : []),
        });
        const res = await client.fetch(`https://secure.example.test:${port}/`, { ca: cert });
        assert.equal(await res.text(), 'secure');
        assert.deepEqual(seen, [`secure.example.test|secure.example.test:${port}`]);
        // The certificate is checked against the URL's name, not the address: another name on the same IP fails.
        await assert.rejects(client.fetch(`https://other.example.test:${port}/`, { ca: cert }), code('outbound_failed', /ERR_TLS_CERT_ALTNAME_INVALID/));
        await assert.rejects(client.fetch(`https://secure.example.test:${port}/`), code('outbound_failed'), 'an untrusted certificate fails');
      } finally {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('IPv6 literals: [::1] is refused unless listed, then reached with its Host header', async () => {
    const server = createServer((req, res) => res.end(`host=${req.headers.host}`));
    await new Promise<void>((r) => server.listen(0, '::1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      let allowedHosts: string[] = [];
      const client = new HttpClient({ settings: () => ({ allowedHosts }) });
      await assert.rejects(client.fetch(`http://[::1]:${port}/`), code('outbound_refused', /::1 is a loopback address/));
      allowedHosts = ['::1'];
      assert.equal(await (await client.fetch(`http://[::1]:${port}/`)).text(), `host=[::1]:${port}`);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe("HttpClient.sendOnce (the webhook deliveries' single attempt)", () => {
  it('goes through the same guard and pinning, answers redirects instead of following them, and caps the body', async () => {
    const rx = await receiver((req, res) => {
      if (req.url === '/redirect') {
        res.statusCode = 307;
        res.setHeader('location', 'http://169.254.169.254/');
        return res.end();
      }
      if (req.url === '/big') return res.end('x'.repeat(5000));
      res.setHeader('X-Echo', String(req.headers['x-custom'] ?? ''));
      res.end(`${req.method} ${req.headers['content-type']} ${req.headers['content-length']} ${req.headers.host}`);
    });
    try {
      let allowedHosts: string[] = [];
      const answers: Record<string, string[]> = { 'hooks.example.test': ['127.0.0.1'] };
      const refused: string[] = [];
      const client = new HttpClient({
        settings: () => ({ allowedHosts }),
        resolver: async (name) => (answers[name] ?? []).map((address) => ({ address, family: 4 as const })),
        onRefused: (m) => refused.push(m),
      });
      const post = (path: string, maxResponseBytes = 1024 * 1024) =>
        client.sendOnce(`http://hooks.example.test:${rx.port}${path}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Custom': 'yes', host: 'evil.test', 'content-length': '1' },
          body: '{"a":1}',
          timeout: 2000,
          maxResponseBytes,
          keepAlive: true,
        });
      await assert.rejects(post('/'), code('outbound_refused', /hooks\.example\.test resolves to 127\.0\.0\.1/));
      assert.equal(refused.length, 1, 'the refusal is reported like fetch reports it');
      assert.equal(rx.hits.length, 0);
      allowedHosts = ['127.0.0.1'];
      const ok = await post('/');
      assert.equal(ok.status, 200);
      // framing headers are the client's own: the caller's Host and Content-Length are dropped
      assert.equal(ok.body.toString(), `POST application/json 7 hooks.example.test:${rx.port}`);
      assert.deepEqual(
        ok.headers.find(([k]) => k === 'x-echo'),
        ['x-echo', 'yes'],
        'mixed-case header names are sent (lower-cased) and answer headers come back lower-cased',
      );
      const redirected = await post('/redirect');
      assert.equal(redirected.status, 307, 'a redirect is answered, not followed');
      assert.equal(rx.hits.filter((h) => h.url === '/redirect').length, 1);
      await assert.rejects(post('/big', 100), code('outbound_response_too_large'));
    } finally {
      await rx.close();
    }
  });

  it('times out with outbound_timeout and fails a refused connection with outbound_failed, without retrying', async () => {
    const silent = await receiver(() => {
      /* never responds */
    });
    const closedPort = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    try {
      const client = new HttpClient({ settings: () => ({ allowedHosts: ['127.0.0.1'] }) });
      const req = { method: 'POST', headers: {}, body: 'x', timeout: 200, maxResponseBytes: 1000 };
      const started = Date.now();
      await assert.rejects(client.sendOnce(silent.url, req), code('outbound_timeout', /timed out after 200 ms/));
      assert.ok(Date.now() - started < 2000);
      assert.equal(silent.hits.length, 1, 'one attempt only');
      await assert.rejects(client.sendOnce(`http://127.0.0.1:${closedPort}/`, req), code('outbound_failed', /ECONNREFUSED/));
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('shutting down')), 50);
      await assert.rejects(client.sendOnce(silent.url, { ...req, timeout: 5000, signal: ac.signal }), /shutting down/);
    } finally {
      await silent.close();
    }
  });
});
