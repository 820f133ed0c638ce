// Shared dataset definition for `npm run bench`.
//
// One `posts` collection, the same rows for the baseline server and for Plinth:
//   title (text), body (text), author (text, indexed), status (text: draft|published),
//   views (number), created / updated (autodate, 'YYYY-MM-DD HH:MM:SS.sssZ').
// Rows are generated deterministically (seeded PRNG), so the orchestrator can regenerate the
// same ids to pick from without keeping 100k objects around.

/** Table / collection name. */
export const COLLECTION = 'posts';
/** Default number of preloaded rows. */
export const ROW_COUNT = 100_000;
/** Distinct authors: `author_0` .. `author_999` (~100 rows each, ~50 of them published). */
export const AUTHOR_COUNT = 1_000;
/** List rule used by both servers (the baseline hard-codes its SQL equivalent). */
export const LIST_RULE = "status = 'published'";
/** Default seed for the generator. */
export const SEED = 0x5eed;

/** Column order used for inserts (into the baseline DB and into Plinth's data.db or PostgreSQL table). */
export const COLUMNS = ['id', 'title', 'body', 'author', 'status', 'views', 'created', 'updated'];

/** The body of `POST /api/collections` that creates the collection in Plinth (PocketBase shape). */
export function collectionCreateBody() {
  return {
    name: COLLECTION,
    type: 'base',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'body', type: 'text' },
      { name: 'author', type: 'text' },
      { name: 'status', type: 'text' },
      { name: 'views', type: 'number' },
      { name: 'created', type: 'autodate', onCreate: true, onUpdate: false },
      { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
    ],
    indexes: [`CREATE INDEX idx_${COLLECTION}_author ON ${COLLECTION} (author)`],
    listRule: LIST_RULE,
    viewRule: '',
    createRule: '',
  };
}

/**
 * The baseline's table: the same column types/defaults PocketBase uses for a base collection
 * (id TEXT PK, text → TEXT DEFAULT '' NOT NULL, number → NUMERIC DEFAULT 0 NOT NULL,
 * autodate → TEXT DEFAULT '' NOT NULL) plus the index on author.
 * @param {import('better-sqlite3').Database} db
 */
export function createBaselineSchema(db) {
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${COLLECTION} (
      id      TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL,
      title   TEXT DEFAULT '' NOT NULL,
      body    TEXT DEFAULT '' NOT NULL,
      author  TEXT DEFAULT '' NOT NULL,
      status  TEXT DEFAULT '' NOT NULL,
      views   NUMERIC DEFAULT 0 NOT NULL,
      created TEXT DEFAULT '' NOT NULL,
      updated TEXT DEFAULT '' NOT NULL
    );
    CREATE INDEX IF NOT EXISTS idx_${COLLECTION}_author ON ${COLLECTION} (author);
  `);
}

/** mulberry32: tiny, fast, deterministic 32-bit PRNG returning floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const WORDS = (
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore ' +
  'et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ' +
  'ea commodo consequat duis aute irure in reprehenderit voluptate velit esse cillum fugiat nulla pariatur ' +
  'excepteur sint occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est laborum'
).split(' ');

function words(rand, min, max) {
  const n = min + Math.floor(rand() * (max - min + 1));
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = WORDS[Math.floor(rand() * WORDS.length)];
  return out.join(' ');
}

/** PocketBase datetime format: 'YYYY-MM-DD HH:MM:SS.sssZ'. */
export function pbDate(ms) {
  return new Date(ms).toISOString().replace('T', ' ');
}

/** Author name for index n. */
export function authorName(n) {
  return `author_${n}`;
}

const BASE_TIME = Date.UTC(2024, 0, 1);

/**
 * Deterministic rows. Yields plain objects with the COLUMNS keys.
 * @param {number} [count]
 * @param {number} [seed]
 */
export function* generateRows(count = ROW_COUNT, seed = SEED) {
  const rand = prng(seed);
  const seen = new Set();
  for (let i = 0; i < count; i++) {
    let id;
    do {
      id = '';
      for (let k = 0; k < 15; k++) id += ID_ALPHABET[Math.floor(rand() * 36)];
    } while (seen.has(id));
    seen.add(id);
    const createdMs = BASE_TIME + i * 60_000 + Math.floor(rand() * 60_000);
    const updatedMs = createdMs + Math.floor(rand() * 7 * 86_400_000);
    yield {
      id,
      title: `Post ${i}: ${words(rand, 3, 8)}`,
      body: words(rand, 20, 60),
      author: authorName(Math.floor(rand() * AUTHOR_COUNT)),
      status: rand() < 0.5 ? 'published' : 'draft',
      views: Math.floor(rand() * 10_000),
      created: pbDate(createdMs),
      updated: pbDate(updatedMs),
    };
  }
}

/** Only the ids of generateRows(count, seed), in the same order. */
export function generateIds(count = ROW_COUNT, seed = SEED) {
  const ids = new Array(count);
  let i = 0;
  for (const row of generateRows(count, seed)) ids[i++] = row.id;
  return ids;
}

/**
 * Insert the generated rows into `table` of an open better-sqlite3 connection, in one transaction.
 * Only the COLUMNS present in the table are written; throws if any is missing.
 * @param {import('better-sqlite3').Database} db
 * @returns {{ inserted: number, ms: number }}
 */
export function loadRows(db, count = ROW_COUNT, seed = SEED, table = COLLECTION) {
  const t0 = performance.now();
  const present = new Set(
    db
      .prepare(`SELECT name FROM pragma_table_info(?)`)
      .all(table)
      .map((r) => r.name),
  );
  if (present.size === 0) throw new Error(`table "${table}" does not exist`);
  const missing = COLUMNS.filter((c) => !present.has(c));
  if (missing.length) throw new Error(`table "${table}" lacks column(s): ${missing.join(', ')}`);
  const stmt = db.prepare(`INSERT INTO "${table}" (${COLUMNS.map((c) => `"${c}"`).join(', ')}) VALUES (${COLUMNS.map((c) => '@' + c).join(', ')})`);
  let inserted = 0;
  db.transaction(() => {
    for (const row of generateRows(count, seed)) {
      stmt.run(row);
      inserted++;
    }
  })();
  return { inserted, ms: performance.now() - t0 };
}

// --- PostgreSQL (`npm run bench:postgres`) ---------------------------------------------------

/**
 * The PostgreSQL baseline's table, laid out as Plinth's PostgreSQL dialect lays out a base collection
 * (src/db/dialects/postgres/postgres-dialect.ts COLUMN_TYPES: id → TEXT COLLATE "C" PRIMARY KEY,
 * text/autodate → TEXT COLLATE "C" DEFAULT '' NOT NULL, number → DOUBLE PRECISION DEFAULT 0 NOT NULL)
 * plus the index on author.
 * @param {{ query(text: string): Promise<unknown> }} client a connected pg Client or Pool
 */
export async function createBaselinePgSchema(client) {
  const text = `TEXT COLLATE "C" DEFAULT '' NOT NULL`;
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${COLLECTION} (
      id      TEXT COLLATE "C" PRIMARY KEY NOT NULL,
      title   ${text},
      body    ${text},
      author  ${text},
      status  ${text},
      views   DOUBLE PRECISION DEFAULT 0 NOT NULL,
      created ${text},
      updated ${text}
    );
    CREATE INDEX IF NOT EXISTS idx_${COLLECTION}_author ON ${COLLECTION} (author);
  `);
}

/**
 * loadRows for PostgreSQL: the same generated rows into `table`, in multi-row INSERTs of `batch` rows
 * inside one transaction. Throws if a COLUMNS column is missing.
 * @param {{ query(text: string | object, values?: unknown[]): Promise<{ rows: any[] }> }} client a connected pg Client
 * @returns {Promise<{ inserted: number, ms: number }>}
 */
export async function loadRowsPg(client, count = ROW_COUNT, seed = SEED, table = COLLECTION, batch = 1000) {
  const t0 = performance.now();
  const { rows } = await client.query(`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, [
    table,
  ]);
  const present = new Set(rows.map((r) => r.name));
  if (present.size === 0) throw new Error(`table "${table}" does not exist`);
  const missing = COLUMNS.filter((c) => !present.has(c));
  if (missing.length) throw new Error(`table "${table}" lacks column(s): ${missing.join(', ')}`);
  const head = `INSERT INTO "${table}" (${COLUMNS.map((c) => `"${c}"`).join(', ')}) VALUES `;
  const tuples = (n) => Array.from({ length: n }, (_, r) => `(${COLUMNS.map((_c, k) => `$${r * COLUMNS.length + k + 1}`).join(', ')})`).join(', ');
  const fullText = head + tuples(batch);
  let inserted = 0;
  let values = [];
  const flush = async () => {
    const n = values.length / COLUMNS.length;
    if (n === 0) return;
    await client.query(n === batch ? fullText : head + tuples(n), values);
    inserted += n;
    values = [];
  };
  await client.query('BEGIN');
  try {
    for (const row of generateRows(count, seed)) {
      for (const c of COLUMNS) values.push(row[c]);
      if (values.length === batch * COLUMNS.length) await flush();
    }
    await flush();
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
  return { inserted, ms: performance.now() - t0 };
}
