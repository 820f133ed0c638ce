/**
 * The record CRUD actions as plain functions (collection, body, query, request info → status + body), so
 * the HTTP routes and `/api/batch` sub-requests run exactly the same code, request hooks included
 * (`onRecordsListRequest` … `onRecordDeleteRequest`; inside a batch they run in its transaction and their
 * event carries it as `tx`). Query parameters (`expand`, list params) come from `info.query`, the one parsed copy.
 *
 * A hook without handlers costs one `length` check: the action then runs exactly as without hooks.
 */
import type { App } from '../../app.js';
import type { Collection } from '../../collections/model.js';
import type { Executor } from '../../db/dialect.js';
import type {
  RecordCreateRequestEvent,
  RecordDeleteRequestEvent,
  RecordUpdateRequestEvent,
  RecordViewRequestEvent,
  RecordsListRequestEvent,
  RequestEvent,
} from '../../hooks/index.js';
import { parseListParams } from '../../records/query.js';
import type { RequestInfo } from '../../rules/request-info.js';
import type { ParsedBody } from '../body-parser.js';

export interface ActionResult {
  status: number;
  body: unknown;
}

/** A request event's tags: the collection's id and name (what handlers filter on). */
export function collectionTags(collection: Collection): readonly string[] {
  return [collection.id, collection.name];
}

/** What a request event answers once its chain ran: its response (200 unless changed), or 204 when there is none. */
export function eventResult(e: RequestEvent): ActionResult {
  if (e.response === undefined || e.response === null) return { status: e.status ?? 204, body: null };
  return { status: e.status ?? 200, body: e.response };
}

/** The event's request with `body` as the body's values (a handler may have replaced `body.data`). */
function infoWithBody(info: RequestInfo, body: ParsedBody): RequestInfo {
  return info.body === body.data ? info : { ...info, body: body.data };
}

/** `client` is the requester's IP (the anti-timing guard's key). */
export async function listAction(app: App, collection: Collection, info: RequestInfo, exec: Executor = app.db, client = ''): Promise<ActionResult> {
  const hook = app.hooks.onRecordsListRequest;
  if (hook.length === 0) return { status: 200, body: await app.reader.list(collection, parseListParams(info.query), info, exec, client) };
  const e: RecordsListRequestEvent = { tags: collectionTags(collection), collection, request: info };
  if (exec !== app.db) e.tx = exec;
  await app.hooks.runRequest(hook, e, async (ev) => {
    ev.response = await app.reader.list(collection, parseListParams(ev.request.query), ev.request, exec, client);
  });
  return eventResult(e);
}

export async function viewAction(app: App, collection: Collection, id: string, info: RequestInfo, exec: Executor = app.db): Promise<ActionResult> {
  const hook = app.hooks.onRecordViewRequest;
  if (hook.length === 0) return { status: 200, body: await app.reader.view(collection, id, info, info.query.expand ?? '', exec) };
  const e: RecordViewRequestEvent = { tags: collectionTags(collection), collection, request: info, id };
  if (exec !== app.db) e.tx = exec;
  await app.hooks.runRequest(hook, e, async (ev) => {
    ev.response = await app.reader.view(collection, ev.id, ev.request, ev.request.query.expand ?? '', exec);
  });
  return eventResult(e);
}

async function created(app: App, collection: Collection, body: ParsedBody, info: RequestInfo, exec: Executor) {
  const record = await app.writer.create(collection, body, info, exec);
  const [out] = await app.reader.serialise(collection, [record], info.query.expand ?? '', info, exec);
  return { record, out };
}

export async function createAction(app: App, collection: Collection, body: ParsedBody, info: RequestInfo, exec: Executor = app.db): Promise<ActionResult> {
  const hook = app.hooks.onRecordCreateRequest;
  if (hook.length === 0) {
    // The code path from before request hooks, unchanged (no event, no extra promise).
    const record = await app.writer.create(collection, body, info, exec);
    const [out] = await app.reader.serialise(collection, [record], info.query.expand ?? '', info, exec);
    return { status: 200, body: out };
  }
  const e: RecordCreateRequestEvent = { tags: collectionTags(collection), collection, request: info, body };
  if (exec !== app.db) e.tx = exec;
  await app.hooks.runRequest(hook, e, async (ev) => {
    const { record, out } = await created(app, collection, ev.body, infoWithBody(ev.request, ev.body), exec);
    ev.record = record;
    ev.response = out;
  });
  return eventResult(e);
}

async function updated(app: App, collection: Collection, id: string, body: ParsedBody, info: RequestInfo, exec: Executor) {
  const record = await app.writer.update(collection, id, body, info, exec);
  const [out] = await app.reader.serialise(collection, [record], info.query.expand ?? '', info, exec);
  return { record, out };
}

export async function updateAction(
  app: App,
  collection: Collection,
  id: string,
  body: ParsedBody,
  info: RequestInfo,
  exec: Executor = app.db,
): Promise<ActionResult> {
  const hook = app.hooks.onRecordUpdateRequest;
  if (hook.length === 0) {
    const record = await app.writer.update(collection, id, body, info, exec);
    const [out] = await app.reader.serialise(collection, [record], info.query.expand ?? '', info, exec);
    return { status: 200, body: out };
  }
  const e: RecordUpdateRequestEvent = { tags: collectionTags(collection), collection, request: info, id, body };
  if (exec !== app.db) e.tx = exec;
  await app.hooks.runRequest(hook, e, async (ev) => {
    const { record, out } = await updated(app, collection, ev.id, ev.body, infoWithBody(ev.request, ev.body), exec);
    ev.record = record;
    ev.response = out;
  });
  return eventResult(e);
}

export async function deleteAction(app: App, collection: Collection, id: string, info: RequestInfo, exec: Executor = app.db): Promise<ActionResult> {
  const hook = app.hooks.onRecordDeleteRequest;
  if (hook.length === 0) {
    await app.writer.delete(collection, id, info, exec);
    return { status: 204, body: null };
  }
  const e: RecordDeleteRequestEvent = { tags: collectionTags(collection), collection, request: info, id };
  if (exec !== app.db) e.tx = exec;
  await app.hooks.runRequest(hook, e, async (ev) => {
    await app.writer.delete(collection, ev.id, ev.request, exec);
  });
  return eventResult(e);
}
