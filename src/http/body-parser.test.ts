import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { AppError, fromUnknown } from '../errors/index.js';
import { assertSafeJson, parseJsonBody, parseMultipartFieldsToData, registerBodyParsers, requestBody, type ParsedBody } from './body-parser.js';

const LIMIT = 64 * 1024;
const MAX_FILE = 16 * 1024;

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test convenience
}

let app: FastifyInstance;
let port = 0;

before(async () => {
  app = Fastify({ bodyLimit: 1024 * 1024 });
  registerBodyParsers(app, { bodyLimit: LIMIT, maxFileSize: MAX_FILE });
  // The same mapping the real server uses: every error becomes PocketBase's envelope.
  app.setErrorHandler((err, _req, reply) => {
    const e = fromUnknown(err);
    void reply.code(e.status).send(e.toEnvelope());
  });
  const echo = async (req: Parameters<typeof requestBody>[0]) => {
    const b: ParsedBody = requestBody(req);
    return {
      data: b.data,
      files: b.files.map((f) => ({ field: f.field, filename: f.filename, mimetype: f.mimetype, size: f.size, text: f.data.toString('latin1') })),
    };
  };
  app.all('/echo', echo);
  app.post('/small', { bodyLimit: 10 }, echo);
  app.post('/big', { bodyLimit: 4 * 1024 * 1024 }, echo);
  app.get('/accessor', async (req) => requestBody(req));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  port = typeof addr === 'object' && addr ? addr.port : 0;
});
after(() => app.close());

const url = (path = '/echo') => `http://127.0.0.1:${port}${path}`;

async function send(method: string, body: RequestInit['body'], headers: Record<string, string> = {}, path = '/echo'): Promise<Res> {
  const r = await fetch(url(path), { method, body, headers });
  const text = await r.text();
  return { status: r.status, headers: Object.fromEntries(r.headers), body: text === '' ? undefined : JSON.parse(text) };
}
const postJson = (raw: string, path?: string) => send('POST', raw, { 'content-type': 'application/json' }, path);
const postForm = (raw: string) => send('POST', raw, { 'content-type': 'application/x-www-form-urlencoded' });

interface RawOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string | number>;
  /** Chunks written in order (chunked encoding unless a content-length header is given). */
  chunks?: Array<string | Buffer>;
  /** Keep writing `chunk` forever until the response arrives (bounded by `timeoutMs`). */
  endless?: Buffer;
  /** Leave the request unfinished after the chunks (the server must answer anyway). */
  keepOpen?: boolean;
  timeoutMs?: number;
}

/** A raw node:http request so tests control framing: chunked, lying Content-Length, endless or truncated bodies. */
function raw(opts: RawOptions): Promise<Res & { elapsedMs: number; bytesSent: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let bytesSent = 0;
    let answered = false;
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path ?? '/echo', headers: opts.headers ?? {} });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no response within ${opts.timeoutMs ?? 5000} ms (sent ${bytesSent} bytes)`));
    }, opts.timeoutMs ?? 5000);
    req.on('error', (err) => {
      // The server closes the connection after answering an oversized body; that is expected.
      if (!answered) {
        clearTimeout(timer);
        reject(err);
      }
    });
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        const text = Buffer.concat(chunks).toString();
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text === '' ? undefined : JSON.parse(text),
          elapsedMs: Date.now() - started,
          bytesSent,
        });
      });
    });
    for (const c of opts.chunks ?? []) {
      bytesSent += Buffer.byteLength(c);
      req.write(c);
    }
    if (opts.endless) {
      const chunk = opts.endless;
      const pump = (): void => {
        while (!answered && !req.destroyed) {
          bytesSent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
      };
      pump();
    } else if (!opts.keepOpen) {
      req.end();
    }
  });
}

function multipartBody(boundary: string, parts: Array<{ name: string; value: string; filename?: string; type?: string }>): string {
  let out = '';
  for (const p of parts) {
    out += `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}\r\n`;
    if (p.type) out += `Content-Type: ${p.type}\r\n`;
    out += `\r\n${p.value}\r\n`;
  }
  return `${out}--${boundary}--\r\n`;
}

function assertNotPolluted(): void {
  const probe = {} as Record<string, unknown>;
  assert.equal(probe.polluted, undefined);
  assert.equal(probe.x, undefined);
  assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
}

describe('JSON bodies', () => {
  it('parses an object', async () => {
    const r = await postJson('{"a":1,"b":{"c":[true,null,"x"]}}');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, { a: 1, b: { c: [true, null, 'x'] } });
    assert.deepEqual(r.body.files, []);
  });

  it('accepts a charset parameter, a BOM and +json types', async () => {
    assert.deepEqual((await send('POST', '\ufeff{"a":1}', { 'content-type': 'application/json; charset=utf-8' })).body.data, { a: 1 });
    assert.deepEqual((await send('POST', '{"a":2}', { 'content-type': 'application/merge-patch+json' })).body.data, { a: 2 });
  });

  it('treats an empty or blank body as {} (the SDK sends application/json on every request)', async () => {
    assert.deepEqual((await postJson('')).body, { data: {}, files: [] });
    assert.deepEqual((await postJson('  \n\t ')).body, { data: {}, files: [] });
    assert.deepEqual((await send('DELETE', undefined, { 'content-type': 'application/json' })).body, { data: {}, files: [] });
    assert.deepEqual((await send('GET', undefined, { 'content-type': 'application/json' })).body, { data: {}, files: [] });
    assert.deepEqual((await send('POST', undefined)).body, { data: {}, files: [] });
    const chunkedEmpty = await raw({ headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } });
    assert.deepEqual(chunkedEmpty.body, { data: {}, files: [] });
  });

  it('treats a JSON null like an empty body (Go leaves the map untouched)', async () => {
    assert.deepEqual((await postJson('null')).body.data, {});
  });

  it('rejects a non-object top level with 400', async () => {
    for (const body of ['[1,2]', '"str"', '12', 'true']) {
      const r = await postJson(body);
      assert.equal(r.status, 400, body);
      assert.equal(r.body.message, 'The request body must be a JSON object.');
      assert.deepEqual(r.body.data, {});
    }
  });

  it('rejects malformed JSON with 400 invalid_json and a clear message', async () => {
    for (const body of ['{', '{"a":}', '{"a":1} trailing', "{'a':1}"]) {
      const r = await postJson(body);
      assert.equal(r.status, 400, body);
      assert.match(r.body.message, /^Invalid JSON body: /);
    }
  });

  it('rejects __proto__ / constructor / prototype keys at any depth, and nothing is polluted', async () => {
    const payloads: Array<[string, string]> = [
      ['{"__proto__":{"polluted":1}}', '__proto__'],
      ['{"a":{"b":[{"c":{"__proto__":{"polluted":1}}}]}}', '__proto__'],
      ['{"constructor":{"prototype":{"polluted":1}}}', 'constructor'],
      ['{"a":[[{"prototype":{"polluted":1}}]]}', 'prototype'],
    ];
    for (const [body, key] of payloads) {
      const r = await postJson(body);
      assert.equal(r.status, 400, body);
      assert.equal(r.body.message, `The key "${key}" is not allowed in the request body.`);
    }
    assertNotPolluted();
  });

  it('caps nesting depth at 64', async () => {
    const nest = (n: number) => '{"a":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1);
    assert.equal((await postJson(nest(64))).status, 200);
    const r = await postJson(nest(65));
    assert.equal(r.status, 400);
    assert.match(r.body.message, /nested too deeply \(max 64 levels\)/);
    // Deep arrays (a few hundred KB of brackets) are refused just as fast.
    const deep = `{"a":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    assert.equal((await postJson(deep)).status, 400);
  });

  it('caps the total number of keys at 10,000', async () => {
    const obj = (n: number) => JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])));
    assert.equal((await send('POST', obj(10_000), { 'content-type': 'application/json' }, '/big')).status, 200);
    const r = await send('POST', JSON.stringify({ a: JSON.parse(obj(10_000)) }), { 'content-type': 'application/json' }, '/big');
    assert.equal(r.status, 400);
    assert.match(r.body.message, /too many keys \(max 10000\)/);
  });
});

describe('urlencoded bodies', () => {
  it('infers types and turns repeated keys into arrays', async () => {
    const r = await postForm('a=12&b=true&c=0001&d=&e=1.5&e=x&e=false&f=hello+world&g=%C3%A9');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, { a: 12, b: true, c: '0001', d: '', e: [1.5, 'x', false], f: 'hello world', g: 'é' });
  });

  it('merges @jsonPayload like multipart', async () => {
    const r = await postForm(`a=1&%40jsonPayload=${encodeURIComponent('{"a":{"n":2},"b":[1]}')}`);
    assert.deepEqual(r.body.data, { a: { n: 2 }, b: [1] });
  });

  it('rejects forbidden keys, also as path segments', async () => {
    for (const body of ['__proto__[polluted]=1', 'a[__proto__][x]=1', 'constructor.prototype.polluted=1', 'a.prototype=1']) {
      const r = await postForm(body);
      assert.equal(r.status, 400, body);
      assert.match(r.body.message, /The key "(__proto__|constructor|prototype)" is not allowed/);
    }
    assertNotPolluted();
  });

  it('caps the number of pairs with 413', async () => {
    const body = Array.from({ length: 1001 }, (_, i) => `k${i}=1`).join('&');
    assert.equal((await postForm(body)).status, 413);
  });
});

describe('multipart bodies', () => {
  it('infers plain fields, collects files and keeps batch-style names', async () => {
    const fd = new FormData();
    fd.append('title', 'Hello');
    fd.append('views', '12');
    fd.append('ok', 'true');
    fd.append('code', '0001');
    fd.append('tags', 'a');
    fd.append('tags', '2');
    fd.append('empty', '');
    fd.append('doc', new Blob(['hello'], { type: 'text/plain' }), 'hello.txt');
    fd.append('doc', new Blob([Buffer.from([0, 1, 2, 255])], { type: 'application/octet-stream' }), 'b.bin');
    fd.append('requests.0.avatar', new Blob(['x'], { type: 'image/png' }), 'a.png');
    fd.append('requests[1].avatar', new Blob(['y'], { type: 'image/png' }), '../../etc/passwd');
    const r = await send('POST', fd);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, { title: 'Hello', views: 12, ok: true, code: '0001', tags: ['a', 2], empty: '' });
    assert.deepEqual(r.body.files, [
      { field: 'doc', filename: 'hello.txt', mimetype: 'text/plain', size: 5, text: 'hello' },
      { field: 'doc', filename: 'b.bin', mimetype: 'application/octet-stream', size: 4, text: '\u0000\u0001\u0002\u00ff' },
      { field: 'requests.0.avatar', filename: 'a.png', mimetype: 'image/png', size: 1, text: 'x' },
      // Paths in filenames are dropped, like Go's multipart reader does.
      { field: 'requests[1].avatar', filename: 'passwd', mimetype: 'image/png', size: 1, text: 'y' },
    ]);
  });

  it('merges several @jsonPayload parts over the form, in order (the SDK sends one per nested value)', async () => {
    const fd = new FormData();
    fd.append('@jsonPayload', JSON.stringify({ meta: { a: 1 }, title: 'from json' }));
    fd.append('title', 'plain');
    fd.append('count', '5');
    fd.append('@jsonPayload', JSON.stringify({ list: [1, 'two'], meta: { b: 2 } }));
    fd.append('@jsonPayload', 'null');
    fd.append('file', new Blob(['f']), 'f.txt');
    const r = await send('POST', fd);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, { title: 'from json', count: 5, meta: { b: 2 }, list: [1, 'two'] });
    assert.equal(r.body.files.length, 1);
  });

  it('handles the SDK batch shape (one @jsonPayload with requests + files under requests.N.field)', async () => {
    const fd = new FormData();
    const requests = [{ method: 'POST', url: '/api/collections/posts/records', body: { title: 'a' } }];
    fd.append('@jsonPayload', JSON.stringify({ requests }));
    fd.append('requests.0.document', new Blob(['pdf']), 'doc.pdf');
    const r = await send('POST', fd);
    assert.deepEqual(r.body.data, { requests });
    assert.equal(r.body.files[0].field, 'requests.0.document');
  });

  it('rejects an invalid or non-object @jsonPayload with 400', async () => {
    for (const [payload, re] of [
      ['{bad', /^Invalid @jsonPayload: /],
      ['[1]', /must be a JSON object/],
      ['"x"', /must be a JSON object/],
    ] as const) {
      const fd = new FormData();
      fd.append('@jsonPayload', payload);
      const r = await send('POST', fd);
      assert.equal(r.status, 400, payload);
      assert.match(r.body.message, re);
    }
  });

  it('rejects forbidden keys in field names, file names and @jsonPayload at depth', async () => {
    const cases: Array<(fd: FormData) => void> = [
      (fd) => fd.append('__proto__', 'x'),
      (fd) => fd.append('a.constructor.prototype.polluted', '1'),
      (fd) => fd.append('requests.0.__proto__', new Blob(['x']), 'x.txt'),
      (fd) => fd.append('@jsonPayload', '{"a":{"b":{"__proto__":{"polluted":true}}}}'),
      (fd) => fd.append('@jsonPayload', '{"constructor":{"prototype":{"polluted":true}}}'),
    ];
    for (const build of cases) {
      const fd = new FormData();
      fd.append('ok', '1');
      build(fd);
      const r = await send('POST', fd);
      assert.equal(r.status, 400);
      assert.match(r.body.message, /The key "(__proto__|constructor|prototype)" is not allowed/);
    }
    assertNotPolluted();
  });

  it('answers 10,000 parts with 413 (default cap 1,000)', async () => {
    const fd = new FormData();
    for (let i = 0; i < 10_000; i++) fd.append(`f${i}`, 'v');
    const r = await send('POST', fd, {}, '/big');
    assert.equal(r.status, 413);
    assert.match(r.body.message, /Too many multipart parts \(max 1000\)/);
  });

  it('accepts exactly 1,000 parts', async () => {
    const fd = new FormData();
    for (let i = 0; i < 1_000; i++) fd.append('f', String(i));
    const r = await send('POST', fd, {}, '/big');
    assert.equal(r.status, 200);
    assert.equal(r.body.data.f.length, 1000);
  });

  it('rejects an over-long field name with 400', async () => {
    const fd = new FormData();
    fd.append('n'.repeat(600), 'v');
    const r = await send('POST', fd);
    assert.equal(r.status, 400);
    assert.match(r.body.message, /too long \(max 512 bytes\)/);
  });

  it('rejects a file over maxFileSize with 413', async () => {
    const fd = new FormData();
    fd.append('file', new Blob([Buffer.alloc(MAX_FILE + 1)]), 'big.bin');
    const r = await send('POST', fd);
    assert.equal(r.status, 413);
    assert.match(r.body.message, /File "big.bin" is too large/);
  });

  it('stops an oversized multipart body at the limit with 413', async () => {
    const fd = new FormData();
    for (let i = 0; i < 10; i++) fd.append('file', new Blob([Buffer.alloc(10_000)]), `f${i}.bin`);
    assert.equal((await send('POST', fd)).status, 413);
  });

  it('treats a part without filename as a plain field and skips nameless parts (Go semantics)', async () => {
    const body = multipartBody('XyZ', [
      { name: 'a', value: '7', type: 'application/octet-stream' },
      { name: 'b', value: '', filename: '' },
      { name: '', value: 'nameless' },
    ]);
    const r = await send('POST', body, { 'content-type': 'multipart/form-data; boundary=XyZ' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { data: { a: 7, b: '' }, files: [] });
  });

  it('answers malformed multipart with 400, never 500 or a hang', async () => {
    const cases: Array<[string, string]> = [
      ['multipart/form-data', multipartBody('abc', [{ name: 'a', value: '1' }])], // no boundary parameter
      ['multipart/form-data; boundary=abc', 'not multipart at all'],
      ['multipart/form-data; boundary=abc', '--abc\r\nContent-Disposition: form-data; name="a"\r\n\r\ntruncated'],
      ['multipart/form-data; boundary=abc', '--abc\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\ntrunc'],
      ['multipart/form-data; boundary=zzz', multipartBody('abc', [{ name: 'a', value: '1' }])], // wrong boundary
    ];
    for (const [ct, body] of cases) {
      const r = await raw({ headers: { 'content-type': ct, 'content-length': Buffer.byteLength(body) }, chunks: [body] });
      assert.equal(r.status, 400, `${ct} ${JSON.stringify(body.slice(0, 30))}`);
      assert.match(r.body.message, /^Invalid multipart body: /);
    }
  });

  it('treats an empty multipart body as empty data', async () => {
    const r = await send('POST', '', { 'content-type': 'multipart/form-data; boundary=abc' });
    assert.deepEqual(r.body, { data: {}, files: [] });
  });
});

describe('size limits and hostile framing', () => {
  it('answers a declared oversized body with 413 before reading it', async () => {
    const r = await raw({ headers: { 'content-type': 'application/json', 'content-length': 2 * 1024 ** 3 }, chunks: ['{"a":'], keepOpen: true });
    assert.equal(r.status, 413);
    assert.equal(r.headers.connection, 'close');
    assert.ok(r.elapsedMs < 2000);
  });

  it('answers an oversized chunked JSON body with 413', async () => {
    const chunks = Array.from({ length: 10 }, () => Buffer.alloc(10_000, 0x20));
    const r = await raw({ headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunks });
    assert.equal(r.status, 413);
    assert.match(r.body.message, /Request entity too large \(max 65536 bytes\)/);
  });

  for (const ct of ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=abc']) {
    it(`stops an endless chunked ${ct.split(';')[0]} body at the limit with a quick 413`, async () => {
      const r = await raw({ headers: { 'content-type': ct, 'transfer-encoding': 'chunked' }, endless: Buffer.alloc(16 * 1024, 0x61), timeoutMs: 5000 });
      assert.equal(r.status, 413);
      assert.equal(r.headers.connection, 'close');
      assert.ok(r.elapsedMs < 3000, `took ${r.elapsedMs} ms`);
    });
  }

  it('answers 404 for unknown routes whatever the body (routing comes first)', async () => {
    assert.equal((await send('POST', '{bad', { 'content-type': 'application/json' }, '/nope')).status, 404);
    assert.equal((await send('POST', 'x', { 'content-type': 'text/plain' }, '/nope')).status, 404);
  });

  it('honours a route-level bodyLimit', async () => {
    assert.equal((await postJson('{"a":"0123456789"}', '/small')).status, 413);
    assert.equal((await postJson('{"a":1}', '/small')).status, 200);
  });

  it('answers unsupported content types with 415, but lets empty bodies through', async () => {
    for (const ct of ['text/plain', 'application/xml', 'application/octet-stream']) {
      const r = await send('POST', 'hello', { 'content-type': ct });
      assert.equal(r.status, 415, ct);
      assert.match(r.body.message, /is not supported/);
    }
    assert.deepEqual((await send('POST', '', { 'content-type': 'text/plain' })).body, { data: {}, files: [] });
    const noType = await raw({ headers: { 'content-length': 5 }, chunks: ['hello'] });
    assert.equal(noType.status, 415);
    const endlessText = await raw({ headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' }, endless: Buffer.alloc(1024) });
    assert.equal(endlessText.status, 415);
  });

  it('survives clients that abort mid-body', async () => {
    for (const ct of ['application/json', 'multipart/form-data; boundary=abc']) {
      await new Promise<void>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/echo', headers: { 'content-type': ct, 'content-length': 1000 } });
        req.on('error', () => resolve());
        req.write('--abc\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\npartial');
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50);
      });
    }
    assert.equal((await postJson('{"still":"alive"}')).status, 200);
  });
});

describe('requestBody accessor', () => {
  it('returns the parsed body, or an empty one', async () => {
    assert.deepEqual((await send('GET', undefined, {}, '/accessor')).body, { data: {}, files: [] });
    assert.deepEqual(requestBody({ body: undefined } as Parameters<typeof requestBody>[0]), { data: {}, files: [] });
  });
});

describe('parseMultipartFieldsToData (pure)', () => {
  it('infers, groups repeated names and merges payloads in order over plain fields', () => {
    const data = parseMultipartFieldsToData([
      ['@jsonPayload', '{"a":"json","obj":{"x":1}}'],
      ['a', 'plain'],
      ['n', '1'],
      ['n', '2'],
      ['@jsonPayload', '{"obj":{"y":2}}'],
    ]);
    assert.deepEqual(data, { a: 'json', n: [1, 2], obj: { y: 2 } });
  });

  it('throws AppError for bad payloads and forbidden names', () => {
    const isBad = (re: RegExp) => (err: unknown) => err instanceof AppError && err.status === 400 && re.test(err.message);
    assert.throws(() => parseMultipartFieldsToData([['@jsonPayload', '{']]), isBad(/Invalid @jsonPayload/));
    assert.throws(() => parseMultipartFieldsToData([['@jsonPayload', '[]']]), isBad(/must be a JSON object/));
    assert.throws(() => parseMultipartFieldsToData([['x[__proto__]', '1']]), isBad(/__proto__/));
    assert.throws(() => parseMultipartFieldsToData([['@jsonPayload', '{"a":{"prototype":1}}']]), isBad(/prototype/));
    assertNotPolluted();
  });

  it('stores an own key named like a prototype accessor only as data', () => {
    const data = parseMultipartFieldsToData([
      ['toString', 'x'],
      ['hasOwnProperty', '1'],
    ]);
    assert.deepEqual(Object.keys(data), ['toString', 'hasOwnProperty']);
    assert.equal(data.toString, 'x');
  });
});

describe('parseJsonBody / assertSafeJson (pure)', () => {
  it('applies custom limits', () => {
    assert.throws(() => parseJsonBody('{"a":{"b":1}}', { maxDepth: 1, maxKeys: 10 }), /nested too deeply/);
    assert.throws(() => parseJsonBody('{"a":1,"b":2}', { maxDepth: 5, maxKeys: 1 }), /too many keys/);
    assert.doesNotThrow(() => assertSafeJson([[[1]]], { maxDepth: 3, maxKeys: 0 }));
  });

  it('reports JSON syntax errors as invalid_json', () => {
    assert.throws(
      () => parseJsonBody('{"a":'),
      (err: unknown) => err instanceof AppError && err.code === 'invalid_json',
    );
  });
});
