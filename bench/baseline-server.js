#!/usr/bin/env node
// Hand-written baseline for `npm run bench`: node:http + better-sqlite3, nothing else.
//
// It does the same work Plinth does for the `posts` collection, with the same JSON shapes
// (PocketBase wire format), as fast as a straightforward hand-written server can:
//   GET  /api/collections/posts/records/:id   → record JSON, 404 if missing (viewRule '' = public)
//   GET  /api/collections/posts/records?filter=author='x'&perPage=20[&page=N][&skipTotal=1]
//        → list rule `status = 'published'` AND author = ?, no ORDER BY, LIMIT/OFFSET, plus COUNT(*)
//        → {page, perPage, totalItems, totalPages, items}
//   POST /api/collections/posts/records   JSON {title, body, author, status, views} → 200 record JSON
//   GET  /api/health
// SQLite: WAL, synchronous=NORMAL (plus the rest of PocketBase's/Plinth's pragmas), one writer
// connection, one read-only reader connection, prepared statements only.
//
// Usage: node bench/baseline-server.js --port=8091 [--host=127.0.0.1] (--dir=DIR | --db=FILE) [--seed=100000]
//   (env PORT / HOST / BASELINE_DB also work). --seed loads that many generated rows if the table is empty.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import Database from 'better-sqlite3';
import { COLLECTION, createBaselineSchema, loadRows } from './schema.js';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    return m ? [m[1], m[2] ?? 'true'] : [a, 'true'];
  }),
);
const HOST = args.host ?? process.env.HOST ?? '127.0.0.1';
const PORT = Number(args.port ?? process.env.PORT ?? 8091);
const DB_FILE = args.db ?? process.env.BASELINE_DB ?? join(args.dir ?? 'bench-baseline-data', 'baseline.db');
const COLLECTION_ID = args['collection-id'] ?? 'pbc_bench_posts';
const MAX_BODY = 1 << 20;

// --- database ------------------------------------------------------------------------------
const PRAGMAS = [
  'busy_timeout = 10000',
  'journal_size_limit = 200000000',
  'synchronous = NORMAL',
  'foreign_keys = ON',
  'temp_store = MEMORY',
  'cache_size = -32000',
];
mkdirSync(dirname(DB_FILE), { recursive: true });
const writer = new Database(DB_FILE);
writer.pragma('journal_mode = WAL');
for (const p of PRAGMAS) writer.pragma(p);
createBaselineSchema(writer);
if (args.seed && writer.prepare(`SELECT COUNT(*) FROM ${COLLECTION}`).pluck().get() === 0) {
  const { inserted, ms } = loadRows(writer, Number(args.seed));
  console.log(`baseline: seeded ${inserted} rows in ${ms.toFixed(0)} ms`);
}
const reader = new Database(DB_FILE, { readonly: true });
for (const p of PRAGMAS) reader.pragma(p);
reader.pragma('query_only = ON');

const RULE = `status = 'published'`;
const stmts = {
  view: reader.prepare(`SELECT * FROM ${COLLECTION} WHERE id = ? LIMIT 1`),
  listByAuthor: reader.prepare(`SELECT * FROM ${COLLECTION} WHERE (${RULE}) AND (author = ?) LIMIT ? OFFSET ?`),
  countByAuthor: reader.prepare(`SELECT COUNT(*) FROM ${COLLECTION} WHERE (${RULE}) AND (author = ?)`).pluck(),
  listAll: reader.prepare(`SELECT * FROM ${COLLECTION} WHERE (${RULE}) LIMIT ? OFFSET ?`),
  countAll: reader.prepare(`SELECT COUNT(*) FROM ${COLLECTION} WHERE (${RULE})`).pluck(),
  insert: writer.prepare(
    `INSERT INTO ${COLLECTION} (id, title, body, author, status, views, created, updated)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  ),
};

// --- helpers -------------------------------------------------------------------------------
function toRecord(row) {
  return {
    collectionId: COLLECTION_ID,
    collectionName: COLLECTION,
    id: row.id,
    title: row.title,
    body: row.body,
    author: row.author,
    status: row.status,
    views: row.views,
    created: row.created,
    updated: row.updated,
  };
}

function send(res, status, obj) {
  const s = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
  res.end(s);
}

function sendError(res, status, message, data = {}) {
  send(res, status, { data, message, status });
}

// Random 15-char [a-z0-9] ids from a pooled random buffer (rejection sampling keeps it unbiased).
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
let pool = randomBytes(4096);
let poolPos = 0;
function randomId() {
  let id = '';
  while (id.length < 15) {
    if (poolPos >= pool.length) {
      pool = randomBytes(4096);
      poolPos = 0;
    }
    const b = pool[poolPos++];
    if (b < 252) id += ALPHABET[b % 36];
  }
  return id;
}

function pbNow() {
  return new Date().toISOString().replace('T', ' ');
}

// author = 'x' / author="x", optionally parenthesised; that's all the baseline needs to understand.
const AUTHOR_FILTER = /^\s*\(?\s*author\s*=\s*(['"])((?:\\.|(?!\1).)*)\1\s*\)?\s*$/;

// --- handlers ------------------------------------------------------------------------------
function handleView(res, id) {
  const row = stmts.view.get(id);
  if (!row) return sendError(res, 404, "The requested resource wasn't found.");
  send(res, 200, toRecord(row));
}

function handleList(res, query) {
  const params = new URLSearchParams(query);
  const filter = params.get('filter') ?? '';
  let author = null;
  if (filter.trim() !== '') {
    const m = AUTHOR_FILTER.exec(filter);
    if (!m) return sendError(res, 400, 'Something went wrong while processing your request. Invalid filter parameters.');
    author = m[2].replace(/\\(.)/g, '$1');
  }
  let page = Number.parseInt(params.get('page') ?? '1', 10);
  if (!(page >= 1)) page = 1;
  let perPage = Number.parseInt(params.get('perPage') ?? '30', 10);
  if (!(perPage >= 1)) perPage = 30;
  if (perPage > 1000) perPage = 1000;
  const skipTotal = params.get('skipTotal') === '1' || params.get('skipTotal') === 'true';
  const offset = (page - 1) * perPage;

  const rows = author === null ? stmts.listAll.all(perPage, offset) : stmts.listByAuthor.all(author, perPage, offset);
  const items = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) items[i] = toRecord(rows[i]);
  let totalItems = -1;
  let totalPages = -1;
  if (!skipTotal) {
    totalItems = author === null ? stmts.countAll.get() : stmts.countByAuthor.get(author);
    totalPages = Math.ceil(totalItems / perPage);
  }
  send(res, 200, { page, perPage, totalItems, totalPages, items });
}

function textValue(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function handleCreate(req, res) {
  const ct = req.headers['content-type'] ?? '';
  if (ct && !ct.startsWith('application/json')) {
    return sendError(res, 400, 'Failed to load the submitted data due to invalid formatting.');
  }
  const chunks = [];
  let size = 0;
  let aborted = false;
  req.on('data', (c) => {
    if (aborted) return;
    size += c.length;
    if (size > MAX_BODY) {
      aborted = true;
      sendError(res, 413, 'Request entity too large.');
      req.resume();
      return;
    }
    chunks.push(c);
  });
  req.on('end', () => {
    if (aborted) return;
    try {
      finishCreate(res, chunks, size);
    } catch (err) {
      console.error(err);
      if (!res.headersSent) sendError(res, 500, 'Something went wrong while processing your request.');
      else res.destroy();
    }
  });
}

function finishCreate(res, chunks, size) {
  let input;
  try {
    input = size === 0 ? {} : JSON.parse(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
  } catch {
    return sendError(res, 400, 'Failed to load the submitted data due to invalid formatting.');
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return sendError(res, 400, 'Failed to load the submitted data due to invalid formatting.');
  }
  const errors = {};
  const title = textValue(input.title);
  const body = textValue(input.body);
  const author = textValue(input.author);
  const status = textValue(input.status);
  for (const [k, v] of [['title', title], ['body', body], ['author', author], ['status', status]]) {
    if (v === undefined) errors[k] = { code: 'validation_invalid_value', message: 'Invalid value.' };
  }
  let views = input.views ?? 0;
  if (typeof views === 'string' && views.trim() !== '') views = Number(views);
  if (typeof views !== 'number' || !Number.isFinite(views)) {
    errors.views = { code: 'validation_invalid_number', message: 'Must be a valid number.' };
  }
  let id = input.id;
  if (id !== undefined && id !== '' && (typeof id !== 'string' || !/^[a-z0-9]{15}$/.test(id))) {
    errors.id = { code: 'validation_invalid_format', message: 'Invalid value format.' };
  }
  if (Object.keys(errors).length > 0) return sendError(res, 400, 'Failed to create record.', errors);

  const explicitId = typeof id === 'string' && id !== '';
  const now = pbNow();
  for (let attempt = 0; ; attempt++) {
    if (!explicitId) id = randomId();
    try {
      const row = stmts.insert.get(id, title, body, author, status, views, now, now);
      return send(res, 200, toRecord(row));
    } catch (err) {
      if (err && err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        if (explicitId || attempt >= 3) {
          return sendError(res, 400, 'Failed to create record.', {
            id: { code: 'validation_not_unique', message: 'The record primary key is invalid or already exists.' },
          });
        }
        continue;
      }
      throw err;
    }
  }
}

// --- server --------------------------------------------------------------------------------
const PREFIX = `/api/collections/${COLLECTION}/records`;

const server = http.createServer((req, res) => {
  try {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    const method = req.method;

    if (path === PREFIX || path === PREFIX + '/') {
      if (method === 'GET') return handleList(res, query);
      if (method === 'POST') return handleCreate(req, res);
      return sendError(res, 405, 'Method not allowed.');
    }
    if (path.startsWith(PREFIX + '/')) {
      const rest = path.slice(PREFIX.length + 1);
      if (rest.includes('/')) return sendError(res, 404, "The requested resource wasn't found.");
      if (method === 'GET') return handleView(res, decodeURIComponent(rest));
      return sendError(res, 405, 'Method not allowed.');
    }
    if (path === '/api/health') return send(res, 200, { message: 'API is healthy.', code: 200, data: {} });
    sendError(res, 404, "The requested resource wasn't found.");
  } catch (err) {
    console.error(err);
    if (!res.headersSent) sendError(res, 500, 'Something went wrong while processing your request.');
    else res.destroy();
  }
});
server.keepAliveTimeout = 65_000;

server.listen(PORT, HOST, () => {
  const addr = server.address();
  console.log(`baseline listening on http://${HOST}:${typeof addr === 'object' && addr ? addr.port : PORT} (db ${DB_FILE})`);
});

function shutdown() {
  server.close();
  server.closeAllConnections();
  try {
    reader.close();
    writer.close();
  } catch {
    // ignore
  }
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
