/**
 * The record CRUD actions as plain functions (collection, body, query, request info → status + body), so
 * the HTTP routes and `/api/batch` sub-requests run exactly the same code. Query parameters (`expand`,
 * list params) come from `info.query`, the one parsed copy.
 */
import type { App } from '../../app.js';
import type { Collection } from '../../collections/model.js';
import type { Executor } from '../../db/dialect.js';
import { parseListParams } from '../../records/query.js';
import type { RequestInfo } from '../../rules/request-info.js';
import type { ParsedBody } from '../body-parser.js';

export interface ActionResult {
  status: number;
  body: unknown;
}

/** `client` is the requester's IP (the anti-timing guard's key). */
export async function listAction(app: App, collection: Collection, info: RequestInfo, exec: Executor = app.db, client = ''): Promise<ActionResult> {
  const params = parseListParams(info.query);
  return { status: 200, body: await app.reader.list(collection, params, info, exec, client) };
}

export async function viewAction(app: App, collection: Collection, id: string, info: RequestInfo, exec: Executor = app.db): Promise<ActionResult> {
  return { status: 200, body: await app.reader.view(collection, id, info, info.query.expand ?? '', exec) };
}

export async function createAction(app: App, collection: Collection, body: ParsedBody, info: RequestInfo, exec: Executor = app.db): Promise<ActionResult> {
  const record = await app.writer.create(collection, body, info, exec);
  const [out] = await app.reader.serialise(collection, [record], info.query.expand ?? '', info, exec);
  return { status: 200, body: out };
}

export async function updateAction(app: App, collection: Collection, id: string, body: ParsedBody, info: RequestInfo, exec: Executor = app.db): Promise<ActionResult> {
  const record = await app.writer.update(collection, id, body, info, exec);
  const [out] = await app.reader.serialise(collection, [record], info.query.expand ?? '', info, exec);
  return { status: 200, body: out };
}

export async function deleteAction(app: App, collection: Collection, id: string, info: RequestInfo, exec: Executor = app.db): Promise<ActionResult> {
  await app.writer.delete(collection, id, info, exec);
  return { status: 204, body: null };
}
