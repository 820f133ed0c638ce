/**
 * Reading records: list/search and view, with the collection's rules applied as SQL conditions.
 */
import type { Collection } from '../collections/model.js';
import type { CollectionStore } from '../collections/store.js';
import type { Database, Executor } from '../db/dialect.js';
import { ident, join, param, slot, sql, SqlTemplate, type Sql } from '../db/sql.js';
import { AppError } from '../errors/index.js';
import type { HookBus, RecordData } from '../hooks/index.js';
import { enrichRecords } from './enrich.js';
import { compileFilter, compileSort } from '../rules/index.js';
import { isSuperuser, type RequestInfo } from '../rules/request-info.js';
import { ROOT_ALIAS, ruleCondition } from './access.js';
import { expandRecords, parseExpand } from './expand.js';
import { publicRecord, rowToRecord, viewerOf } from './record-io.js';
import { TimingGuard } from './timing-guard.js';

export const DEFAULT_PER_PAGE = 30;
export const MAX_PER_PAGE = 1000;

export interface ListParams {
  page: number;
  perPage: number;
  sort: string;
  filter: string;
  skipTotal: boolean;
  expand: string;
}

export interface ListResult {
  items: Record<string, unknown>[];
  page: number;
  perPage: number;
  totalItems: number;
  totalPages: number;
}

const TRUE_VALUES = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_VALUES = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Parses list query params the way PocketBase does (integers required; clamps; Go ParseBool). */
export function parseListParams(query: Record<string, string | undefined>): ListParams {
  const int = (name: string, fallback: number): number => {
    const raw = query[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^[+-]?\d{1,15}$/.test(raw.trim())) throw new AppError('invalid_query_param', `Invalid "${name}" query parameter: must be an integer.`);
    return Number(raw.trim());
  };
  let page = int('page', 1);
  if (page <= 0) page = 1;
  let perPage = int('perPage', DEFAULT_PER_PAGE);
  if (perPage <= 0) perPage = DEFAULT_PER_PAGE;
  if (perPage > MAX_PER_PAGE) perPage = MAX_PER_PAGE;
  const skipRaw = query.skipTotal;
  let skipTotal = false;
  if (skipRaw !== undefined && skipRaw !== '') {
    if (TRUE_VALUES.has(skipRaw)) skipTotal = true;
    else if (!FALSE_VALUES.has(skipRaw)) throw new AppError('invalid_query_param', 'Invalid "skipTotal" query parameter: must be a boolean.');
  }
  return { page, perPage, sort: query.sort ?? '', filter: query.filter ?? '', skipTotal, expand: query.expand ?? '' };
}

/** The by-id reads, built and compiled once per collection name (bounded): they run on nearly every request. */
interface ByIdQueries {
  /** `SELECT _r.* FROM "name" AS _r WHERE _r.id = `, for a read under a rule condition. */
  head: Sql;
  /** `… WHERE _r.id = ? LIMIT 1`, for a read the rule lets through unconditionally. */
  plain: SqlTemplate;
  /** `SELECT * FROM "name" WHERE "id" = ? LIMIT 1`, the internal read with no rule. */
  internal: SqlTemplate;
}

const byIdQueries = new Map<string, ByIdQueries>();

function byIdQueriesFor(name: string): ByIdQueries {
  let queries = byIdQueries.get(name);
  if (!queries) {
    const root = ident(ROOT_ALIAS);
    const head = sql`SELECT ${root}.* FROM ${ident(name)} AS ${root} WHERE ${ident(ROOT_ALIAS, 'id')} = `;
    queries = {
      head,
      plain: new SqlTemplate(sql`${head}${slot(0, '')} LIMIT 1`),
      internal: new SqlTemplate(sql`SELECT * FROM ${ident(name)} WHERE ${ident('id')} = ${slot(0, '')} LIMIT 1`),
    };
    if (byIdQueries.size >= 1000) byIdQueries.clear();
    byIdQueries.set(name, queries);
  }
  return queries;
}

export class RecordReader {
  private readonly timingGuard = new TimingGuard();

  constructor(
    private readonly db: Database,
    private readonly schema: CollectionStore,
    private readonly hooks?: HookBus,
  ) {}

  /**
   * GET /records: the list rule (403 if locked) ANDed with the client filter, sorted, paged. `client` (the
   * requester's IP) keys the anti-timing guard.
   */
  async list(collection: Collection, params: ListParams, req: RequestInfo, exec: Executor = this.db, client = '', enrich = true): Promise<ListResult> {
    const dialect = this.db.dialect;
    const rule = ruleCondition(collection, 'listRule', req, this.schema, dialect);
    const conditions: Sql[] = [];
    if (rule.kind === 'where') conditions.push(rule.condition);
    const opts = { collection, schema: this.schema, dialect, rootAlias: ROOT_ALIAS, request: req, mode: 'client' as const };
    if (params.filter.trim() !== '') conditions.push(compileFilter(params.filter, opts));
    const orderBy = params.sort.trim() !== '' ? compileSort(params.sort, opts) : null;

    const root = ident(ROOT_ALIAS);
    const from = sql`FROM ${ident(collection.name)} AS ${root}`;
    const where = conditions.length
      ? sql` WHERE ${join(
          conditions.map((c) => sql`(${c})`),
          sql` AND `,
        )}`
      : sql``;
    const order = orderBy ? sql` ORDER BY ${orderBy}` : sql``;
    const offset = (params.page - 1) * params.perPage;
    const rows = await exec.all(sql`SELECT ${root}.* ${from}${where}${order} LIMIT ${params.perPage} OFFSET ${offset}`);

    let totalItems = -1;
    let totalPages = -1;
    if (!params.skipTotal) {
      const count = await exec.get<{ n: number }>(sql`SELECT COUNT(*) AS n ${from}${where}`);
      totalItems = Number(count?.n ?? 0);
      totalPages = Math.ceil(totalItems / params.perPage);
    }
    if (rows.length === 0 && rule.kind === 'where' && params.filter.trim() !== '') {
      await this.timingGuard.emptyResult(collection.id, client);
    }
    const records = rows.map((row) => rowToRecord(collection, row));
    const items = await this.serialise(collection, records, params.expand, req, exec, enrich);
    return { items, page: params.page, perPage: params.perPage, totalItems, totalPages };
  }

  /** GET /records/{id}: the view rule as a condition; a miss is a 404 like an unknown id. */
  async view(collection: Collection, id: string, req: RequestInfo, expand = '', exec: Executor = this.db): Promise<Record<string, unknown>> {
    const record = await this.findVisible(collection, id, 'viewRule', req, exec);
    // The common case (nothing to expand, no manageRule to consult) needs no further async step.
    if (expand === '' && !mayManage(collection, req) && !this.hooks?.onRecordEnrich.length) return publicRecord(collection, record, viewerOf(req));
    const [out] = await this.serialise(collection, [record], expand, req, exec);
    return out as Record<string, unknown>;
  }

  /**
   * Loads one record if `rule` lets the requester see it; answers 403 for a locked rule and 404 for a miss.
   */
  async findVisible(
    collection: Collection,
    id: string,
    rule: 'viewRule' | 'updateRule' | 'deleteRule',
    req: RequestInfo,
    exec: Executor = this.db,
  ): Promise<RecordData> {
    const cond = ruleCondition(collection, rule, req, this.schema, this.db.dialect);
    const queries = byIdQueriesFor(collection.name);
    const row = await exec.get(cond.kind === 'where' ? sql`${queries.head}${id} AND (${cond.condition}) LIMIT 1` : queries.plain.bind(id));
    if (!row) throw AppError.notFound();
    return rowToRecord(collection, row);
  }

  /** Loads a record by id with no rule (internal use). */
  async findById(collection: Collection, id: string, exec: Executor = this.db): Promise<RecordData | undefined> {
    const row = await exec.get(byIdQueriesFor(collection.name).internal.bind(id));
    return row ? rowToRecord(collection, row) : undefined;
  }

  /**
   * Records → public JSON for the requester, with `?expand=` applied, then `onRecordEnrich` (unless
   * `enrich` is false: the hooks' own record API reads data, it does not answer a caller).
   */
  async serialise(
    collection: Collection,
    records: RecordData[],
    expand: string,
    req: RequestInfo,
    exec: Executor = this.db,
    enrich = true,
  ): Promise<Record<string, unknown>[]> {
    const viewer = viewerOf(req);
    // Both steps below are async only when they can matter; skipping the call saves a promise per request.
    if (mayManage(collection, req)) {
      const managed = await this.managedIds(collection, records, req, exec);
      if (managed.size) viewer.manages = (id) => managed.has(id);
    }
    const tree = expand === '' ? null : parseExpand(expand);
    const expanded = tree?.size ? await expandRecords(collection, records, tree, { exec, dialect: this.db.dialect, schema: this.schema, req, viewer }) : [];
    const items = records.map((r, i) => publicRecord(collection, r, viewer, expanded[i]));
    const hook = this.hooks?.onRecordEnrich;
    if (enrich && hook && hook.length > 0) await enrichRecords(hook, this.schema, collection, items, req);
    return items;
  }

  /**
   * Ids among `records` the requester manages (passes the auth collection's manageRule): managers see
   * those records' emails even when hidden. One query for the whole page, only when it can matter.
   */
  private async managedIds(collection: Collection, records: RecordData[], req: RequestInfo, exec: Executor): Promise<Set<string>> {
    const rule = collection.type === 'auth' ? collection.manageRule : null;
    if (!rule || !mayManage(collection, req)) return new Set();
    const hidden = records.filter((r) => r.emailVisibility !== true && r.id !== req.auth?.record.id).map((r) => r.id as string);
    if (hidden.length === 0) return new Set();
    const dialect = this.db.dialect;
    const cond = compileFilter(rule, { collection, schema: this.schema, dialect, rootAlias: ROOT_ALIAS, request: req, mode: 'rule' });
    const rows = await exec.all<{ id: string }>(
      sql`SELECT ${ident(ROOT_ALIAS, 'id')} AS id FROM ${ident(collection.name)} AS ${ident(ROOT_ALIAS)}
          WHERE ${ident(ROOT_ALIAS, 'id')} IN (SELECT value FROM ${dialect.fn.jsonEach(param(JSON.stringify(hidden)))}) AND (${cond})`,
    );
    return new Set(rows.map((r) => r.id));
  }
}

/** Whether the requester could pass the auth collection's manageRule at all (else no query is needed). */
function mayManage(collection: Collection, req: RequestInfo): boolean {
  const rule = collection.type === 'auth' ? collection.manageRule : null;
  return Boolean(rule && rule.trim() !== '' && req.auth && !isSuperuser(req));
}
