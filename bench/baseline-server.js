#!/usr/bin/env node
// Hand-written baseline for `npm run bench`: node:http + better-sqlite3, nothing else.
//
// It does the same work Plinth does for the `posts` collection, with the same JSON shapes
// (PocketBase wire format), as fast as a straightforward hand-written server can. The routes,
// parsing and JSON live in baseline-http.js (shared with the PostgreSQL baseline); this file holds
// the database side.
// SQLite: WAL, synchronous=NORMAL (plus the rest of PocketBase's/Plinth's pragmas), one writer
// connection, one read-only reader connection, prepared statements only.
//
// Usage: node bench/baseline-server.js --port=8091 [--host=127.0.0.1] (--dir=DIR | --db=FILE) [--seed=100000]
//   (env PORT / HOST / BASELINE_DB also work). --seed loads that many generated rows if the table is empty.
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import Database from 'better-sqlite3';
import { COLLECTION, createBaselineSchema, loadRows } from './schema.js';
import { parseFlags, pbNow, randomId, send, sendDuplicateId, sendList, sendNotFound, serve, toRecord } from './baseline-http.js';

const args = parseFlags(process.argv.slice(2));
const HOST = args.host ?? process.env.HOST ?? '127.0.0.1';
const PORT = Number(args.port ?? process.env.PORT ?? 8091);
const DB_FILE = args.db ?? process.env.BASELINE_DB ?? join(args.dir ?? 'bench-baseline-data', 'baseline.db');
const COLLECTION_ID = args['collection-id'] ?? 'pbc_bench_posts';

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

// --- handlers (synchronous: better-sqlite3) -----------------------------------------------
serve({
  host: HOST,
  port: PORT,
  description: `db ${DB_FILE}`,
  view(res, id) {
    const row = stmts.view.get(id);
    if (!row) return sendNotFound(res);
    send(res, 200, toRecord(row, COLLECTION_ID));
  },
  list(res, q) {
    const rows = q.author === null ? stmts.listAll.all(q.perPage, q.offset) : stmts.listByAuthor.all(q.author, q.perPage, q.offset);
    const total = q.skipTotal ? -1 : q.author === null ? stmts.countAll.get() : stmts.countByAuthor.get(q.author);
    sendList(res, q, rows, total, COLLECTION_ID);
  },
  create(res, input) {
    const now = pbNow();
    for (let attempt = 0; ; attempt++) {
      const id = input.explicitId ? input.id : randomId();
      try {
        const row = stmts.insert.get(id, input.title, input.body, input.author, input.status, input.views, now, now);
        return send(res, 200, toRecord(row, COLLECTION_ID));
      } catch (err) {
        if (err && err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
          if (input.explicitId || attempt >= 3) return sendDuplicateId(res);
          continue;
        }
        throw err;
      }
    }
  },
  close() {
    reader.close();
    writer.close();
  },
});
