// The HTTP half of the hand-written baselines (bench/baseline-server.js: better-sqlite3,
// bench/baseline-pg-server.js: pg): routing, query/body parsing, validation and the PocketBase-shaped
// JSON. Each baseline supplies only its database calls, so both answer exactly alike.
//
//   GET  /api/collections/posts/records/:id   → record JSON, 404 if missing (viewRule '' = public)
//   GET  /api/collections/posts/records?filter=author='x'&perPage=20[&page=N][&skipTotal=1]
//        → list rule `status = 'published'` AND author = ?, no ORDER BY, LIMIT/OFFSET, plus COUNT(*)
//        → {page, perPage, totalItems, totalPages, items}
//   POST /api/collections/posts/records   JSON {title, body, author, status, views} → 200 record JSON
//   GET  /api/health
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { COLLECTION } from './schema.js';

const MAX_BODY = 1 << 20;
const PREFIX = `/api/collections/${COLLECTION}/records`;

/** `--name=value` flags (a bare `--name` is 'true'). */
export function parseFlags(argv) {
  return Object.fromEntries(
    argv.map((a) => {
      const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
      return m ? [m[1], m[2] ?? 'true'] : [a, 'true'];
    }),
  );
}

/** A database row (COLUMNS) as PocketBase's record JSON. */
export function toRecord(row, collectionId) {
  return {
    collectionId,
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

export function send(res, status, obj) {
  const s = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
  res.end(s);
}

export function sendError(res, status, message, data = {}) {
  send(res, status, { data, message, status });
}

export const sendNotFound = (res) => sendError(res, 404, "The requested resource wasn't found.");

export function sendDuplicateId(res) {
  sendError(res, 400, 'Failed to create record.', {
    id: { code: 'validation_not_unique', message: 'The record primary key is invalid or already exists.' },
  });
}

/** 500 (or a dropped connection if the answer had started) for an unexpected error. */
export function fail(res, err) {
  console.error(err);
  if (!res.headersSent) sendError(res, 500, 'Something went wrong while processing your request.');
  else res.destroy();
}

// Random 15-char [a-z0-9] ids from a pooled random buffer (rejection sampling keeps it unbiased).
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
let pool = randomBytes(4096);
let poolPos = 0;
export function randomId() {
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

export function pbNow() {
  return new Date().toISOString().replace('T', ' ');
}

// author = 'x' / author="x", optionally parenthesised; that's all the baselines need to understand.
const AUTHOR_FILTER = /^\s*\(?\s*author\s*=\s*(['"])((?:\\.|(?!\1).)*)\1\s*\)?\s*$/;

/**
 * The list query string → {author (null: no filter), page, perPage, offset, skipTotal}, or null after
 * answering 400 for a filter the baseline does not understand.
 */
export function parseListQuery(res, query) {
  const params = new URLSearchParams(query);
  const filter = params.get('filter') ?? '';
  let author = null;
  if (filter.trim() !== '') {
    const m = AUTHOR_FILTER.exec(filter);
    if (!m) {
      sendError(res, 400, 'Something went wrong while processing your request. Invalid filter parameters.');
      return null;
    }
    author = m[2].replace(/\\(.)/g, '$1');
  }
  let page = Number.parseInt(params.get('page') ?? '1', 10);
  if (!(page >= 1)) page = 1;
  let perPage = Number.parseInt(params.get('perPage') ?? '30', 10);
  if (!(perPage >= 1)) perPage = 30;
  if (perPage > 1000) perPage = 1000;
  const skipTotal = params.get('skipTotal') === '1' || params.get('skipTotal') === 'true';
  return { author, page, perPage, offset: (page - 1) * perPage, skipTotal };
}

/** The list answer from the page's rows and the total (ignored when skipTotal). */
export function sendList(res, q, rows, total, collectionId) {
  const items = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) items[i] = toRecord(rows[i], collectionId);
  const totalItems = q.skipTotal ? -1 : total;
  const totalPages = q.skipTotal ? -1 : Math.ceil(total / q.perPage);
  send(res, 200, { page: q.page, perPage: q.perPage, totalItems, totalPages, items });
}

function textValue(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * Reads and validates a create body; calls onInput(res, {id, explicitId, title, body, author, status,
 * views}) or answers 400/413 itself.
 */
function readCreate(req, res, onInput) {
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
      const input = validateCreate(res, chunks, size);
      if (input) onInput(res, input);
    } catch (err) {
      fail(res, err);
    }
  });
}

function validateCreate(res, chunks, size) {
  let input;
  try {
    input = size === 0 ? {} : JSON.parse(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
  } catch {
    sendError(res, 400, 'Failed to load the submitted data due to invalid formatting.');
    return null;
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    sendError(res, 400, 'Failed to load the submitted data due to invalid formatting.');
    return null;
  }
  const errors = {};
  const title = textValue(input.title);
  const body = textValue(input.body);
  const author = textValue(input.author);
  const status = textValue(input.status);
  for (const [k, v] of [
    ['title', title],
    ['body', body],
    ['author', author],
    ['status', status],
  ]) {
    if (v === undefined) errors[k] = { code: 'validation_invalid_value', message: 'Invalid value.' };
  }
  let views = input.views ?? 0;
  if (typeof views === 'string' && views.trim() !== '') views = Number(views);
  if (typeof views !== 'number' || !Number.isFinite(views)) {
    errors.views = { code: 'validation_invalid_number', message: 'Must be a valid number.' };
  }
  const id = input.id;
  if (id !== undefined && id !== '' && (typeof id !== 'string' || !/^[a-z0-9]{15}$/.test(id))) {
    errors.id = { code: 'validation_invalid_format', message: 'Invalid value format.' };
  }
  if (Object.keys(errors).length > 0) {
    sendError(res, 400, 'Failed to create record.', errors);
    return null;
  }
  const explicitId = typeof id === 'string' && id !== '';
  return { id: explicitId ? id : undefined, explicitId, title, body, author, status, views };
}

/**
 * Starts the HTTP server. handlers: view(res, id), list(res, query) (query = parseListQuery's result),
 * create(res, input), close() on SIGTERM/SIGINT. view/list/create may answer synchronously or return
 * a promise; a throw or a rejection answers 500.
 */
export function serve({ host, port, description, view, list, create, close }) {
  const guard = (res, ret) => {
    if (ret && typeof ret.then === 'function') ret.then(undefined, (err) => fail(res, err));
  };
  const onCreate = (res, input) => guard(res, create(res, input));

  const server = http.createServer((req, res) => {
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const method = req.method;

      if (path === PREFIX || path === PREFIX + '/') {
        if (method === 'GET') {
          const parsed = parseListQuery(res, q === -1 ? '' : url.slice(q + 1));
          return parsed && guard(res, list(res, parsed));
        }
        if (method === 'POST') return readCreate(req, res, onCreate);
        return sendError(res, 405, 'Method not allowed.');
      }
      if (path.startsWith(PREFIX + '/')) {
        const rest = path.slice(PREFIX.length + 1);
        if (rest.includes('/')) return sendNotFound(res);
        if (method === 'GET') return guard(res, view(res, decodeURIComponent(rest)));
        return sendError(res, 405, 'Method not allowed.');
      }
      if (path === '/api/health') return send(res, 200, { message: 'API is healthy.', code: 200, data: {} });
      sendNotFound(res);
    } catch (err) {
      fail(res, err);
    }
  });
  server.keepAliveTimeout = 65_000;

  server.listen(port, host, () => {
    const addr = server.address();
    console.log(`baseline listening on http://${host}:${typeof addr === 'object' && addr ? addr.port : port} (${description})`);
  });

  let closing = false;
  async function shutdown() {
    if (closing) return;
    closing = true;
    server.close();
    server.closeAllConnections();
    try {
      await close?.();
    } catch {
      // ignore
    }
    process.exit(0);
  }
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  return server;
}
