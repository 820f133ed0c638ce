#!/usr/bin/env node
// Hand-written baseline for `npm run bench:postgres`: node:http + pg (node-postgres), nothing else.
//
// The same routes, parsing and JSON as bench/baseline-server.js (both use baseline-http.js); the
// database is a `posts` table in PostgreSQL laid out as Plinth lays it out (schema.js
// createBaselinePgSchema). One pg.Pool of --pool-size connections (default 10, Plinth's default),
// named (server-side prepared) parameterised statements only; a list runs its page and its count
// concurrently on two pooled connections.
//
// Usage: node bench/baseline-pg-server.js --port=8092 [--host=127.0.0.1] --db=postgres://… [--pool-size=10] [--seed=100000]
//   (env PORT / HOST / BASELINE_PG_URL also work). --seed loads that many generated rows if the table is empty.
import pg from 'pg';
import { COLLECTION, createBaselinePgSchema, loadRowsPg } from './schema.js';
import { parseFlags, pbNow, randomId, send, sendDuplicateId, sendList, sendNotFound, serve, toRecord } from './baseline-http.js';

const args = parseFlags(process.argv.slice(2));
const HOST = args.host ?? process.env.HOST ?? '127.0.0.1';
const PORT = Number(args.port ?? process.env.PORT ?? 8092);
const DB_URL = args.db ?? process.env.BASELINE_PG_URL;
const POOL_SIZE = Number(args['pool-size'] ?? 10);
const COLLECTION_ID = args['collection-id'] ?? 'pbc_bench_posts';
if (!DB_URL) {
  console.error('baseline-pg-server: --db=postgres://… is required');
  process.exit(2);
}

// --- database ------------------------------------------------------------------------------
const pool = new pg.Pool({ connectionString: DB_URL, max: POOL_SIZE });
pool.on('error', (err) => console.error('pg pool:', err.message));
{
  const client = await pool.connect();
  try {
    await createBaselinePgSchema(client);
    if (args.seed && (await client.query(`SELECT COUNT(*)::int AS n FROM ${COLLECTION}`)).rows[0].n === 0) {
      const { inserted, ms } = await loadRowsPg(client, Number(args.seed));
      await client.query(`ANALYZE ${COLLECTION}`);
      console.log(`baseline: seeded ${inserted} rows in ${ms.toFixed(0)} ms`);
    }
  } finally {
    client.release();
  }
}

const RULE = `status = 'published'`;
const Q = {
  view: { name: 'view', text: `SELECT * FROM ${COLLECTION} WHERE id = $1 LIMIT 1` },
  listByAuthor: { name: 'listByAuthor', text: `SELECT * FROM ${COLLECTION} WHERE (${RULE}) AND (author = $1) LIMIT $2 OFFSET $3` },
  countByAuthor: { name: 'countByAuthor', text: `SELECT COUNT(*)::int AS n FROM ${COLLECTION} WHERE (${RULE}) AND (author = $1)` },
  listAll: { name: 'listAll', text: `SELECT * FROM ${COLLECTION} WHERE (${RULE}) LIMIT $1 OFFSET $2` },
  countAll: { name: 'countAll', text: `SELECT COUNT(*)::int AS n FROM ${COLLECTION} WHERE (${RULE})` },
  insert: {
    name: 'insert',
    text: `INSERT INTO ${COLLECTION} (id, title, body, author, status, views, created, updated)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
  },
};
const run = (q, values) => pool.query({ name: q.name, text: q.text, values });

// --- handlers (asynchronous: pg) ----------------------------------------------------------
serve({
  host: HOST,
  port: PORT,
  description: `pg pool ${POOL_SIZE}`,
  async view(res, id) {
    const { rows } = await run(Q.view, [id]);
    if (rows.length === 0) return sendNotFound(res);
    send(res, 200, toRecord(rows[0], COLLECTION_ID));
  },
  async list(res, q) {
    const page = q.author === null ? run(Q.listAll, [q.perPage, q.offset]) : run(Q.listByAuthor, [q.author, q.perPage, q.offset]);
    const count = q.skipTotal ? null : q.author === null ? run(Q.countAll, []) : run(Q.countByAuthor, [q.author]);
    const [{ rows }, counted] = await Promise.all([page, count]);
    sendList(res, q, rows, counted ? counted.rows[0].n : -1, COLLECTION_ID);
  },
  async create(res, input) {
    const now = pbNow();
    for (let attempt = 0; ; attempt++) {
      const id = input.explicitId ? input.id : randomId();
      try {
        const { rows } = await run(Q.insert, [id, input.title, input.body, input.author, input.status, input.views, now, now]);
        return send(res, 200, toRecord(rows[0], COLLECTION_ID));
      } catch (err) {
        if (err && err.code === '23505') {
          if (input.explicitId || attempt >= 3) return sendDuplicateId(res);
          continue;
        }
        throw err;
      }
    }
  },
  close: () => pool.end(),
});
