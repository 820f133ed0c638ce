/**
 * POST /api/batch: several record writes in ONE transaction, in order; any failure rolls every one back
 * (PocketBase's transactional batch). Sub-requests run the same actions as the record routes, with the
 * outer request's auth and the `batch` request context.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { AppError, fieldError } from '../../errors/index.js';
import type { Collection } from '../../collections/model.js';
import type { Executor } from '../../db/dialect.js';
import type { BatchRequestEvent } from '../../hooks/index.js';
import type { RequestInfo } from '../../rules/request-info.js';
import { pickFields } from '../../records/pick-fields.js';
import type { ParsedBody, UploadedFile } from '../body-parser.js';
import { toAppError } from '../error-mapping.js';
import { bodyOf, requestInfo } from './helpers.js';
import { createAction, deleteAction, eventResult, updateAction, type ActionResult } from './record-actions.js';

interface SubRequest {
  method: string;
  url: string;
  body: Record<string, unknown>;
}

const ROUTES: Array<{ method: string; re: RegExp; action: 'create' | 'update' | 'delete' | 'upsert' }> = [
  { method: 'POST', re: /^\/api\/collections\/([^/?]+)\/records\/?$/, action: 'create' },
  { method: 'PUT', re: /^\/api\/collections\/([^/?]+)\/records\/?$/, action: 'upsert' },
  { method: 'PATCH', re: /^\/api\/collections\/([^/?]+)\/records\/([^/?]+)\/?$/, action: 'update' },
  { method: 'DELETE', re: /^\/api\/collections\/([^/?]+)\/records\/([^/?]+)\/?$/, action: 'delete' },
];

/** PocketBase's message for a malformed batch form. */
const INVALID_BATCH = 'Invalid batch request data.';

function parseRequests(raw: unknown, max: number): SubRequest[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw AppError.validation(INVALID_BATCH, { requests: fieldError('validation_required', 'Cannot be blank.') });
  }
  if (raw.length > max) {
    throw AppError.validation(INVALID_BATCH, {
      requests: fieldError('validation_length_too_long', `The length must be no more than ${max}`, { max }),
    });
  }
  return raw.map((item, i) => {
    const r = item as Partial<SubRequest> | null;
    if (typeof r !== 'object' || r === null || typeof r.method !== 'string' || typeof r.url !== 'string') {
      throw AppError.validation(INVALID_BATCH, {
        requests: { [String(i)]: fieldError('validation_invalid_value', 'Each request needs a method and a url') },
      });
    }
    const body = r.body === undefined || r.body === null ? {} : r.body;
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw AppError.validation(INVALID_BATCH, {
        requests: { [String(i)]: fieldError('validation_invalid_value', 'The body must be an object') },
      });
    }
    return { method: r.method.toUpperCase(), url: r.url, body: body as Record<string, unknown> };
  });
}

/** Files sent as `requests.N.field` or `requests[N].field` belong to sub-request N, under `field`. */
function filesFor(index: number, files: UploadedFile[]): UploadedFile[] {
  const prefixes = [`requests.${index}.`, `requests[${index}].`];
  return files.flatMap((f) => {
    const p = prefixes.find((x) => f.field.startsWith(x));
    return p ? [{ ...f, field: f.field.slice(p.length) }] : [];
  });
}

/** A sub-request URL's path segment, decoded; malformed percent-encoding is the client's error (400). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw AppError.badRequest('Invalid batch request url: malformed percent-encoding.');
  }
}

function parseUrl(raw: string): URL {
  try {
    return new URL(raw, 'http://batch.local');
  } catch {
    throw AppError.badRequest('Invalid batch request url.');
  }
}

async function runOne(app: App, req: FastifyRequest, sub: SubRequest, files: UploadedFile[], tx: Executor): Promise<ActionResult> {
  const url = parseUrl(sub.url);
  const route = ROUTES.find((r) => r.method === sub.method && r.re.test(url.pathname));
  if (!route) throw AppError.badRequest(`Unknown batch request action: ${sub.method} ${url.pathname.slice(0, 200)}.`);
  const m = route.re.exec(url.pathname)!;
  const collection = app.collections.require(decodeSegment(m[1] as string));
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (!(k in query)) query[k] = v;
  const body: ParsedBody = { data: sub.body, files };
  const info = { ...requestInfo(req, 'batch'), method: sub.method, query, body: sub.body };
  const result = await dispatch(app, route.action, collection, m, sub, body, info, tx);
  // `?fields=` in a sub-request's URL picks from that sub-response, as PocketBase does.
  if (query.fields && result.body && typeof result.body === 'object') result.body = pickFields(result.body, query.fields);
  return result;
}

async function dispatch(
  app: App,
  action: 'create' | 'update' | 'delete' | 'upsert',
  collection: Collection,
  m: RegExpExecArray,
  sub: SubRequest,
  body: ParsedBody,
  info: RequestInfo,
  tx: Executor,
): Promise<ActionResult> {
  switch (action) {
    case 'create':
      return createAction(app, collection, body, info, tx);
    case 'update':
      return updateAction(app, collection, decodeSegment(m[2] as string), body, info, tx);
    case 'delete':
      return deleteAction(app, collection, decodeSegment(m[2] as string), info, tx);
    case 'upsert': {
      const id = typeof sub.body.id === 'string' ? sub.body.id : '';
      const exists = id !== '' && (await app.reader.findById(collection, id, tx));
      return exists ? updateAction(app, collection, id, body, info, tx) : createAction(app, collection, body, info, tx);
    }
  }
}

export function registerBatchRoutes(server: FastifyInstance, app: App): void {
  server.post('/api/batch', async (req, reply) => {
    const settings = app.settings.get().batch;
    if (!settings.enabled || settings.maxRequests <= 0) throw AppError.forbidden('Batch requests are not allowed.');
    const parsed = bodyOf(req);
    const requests = parseRequests(parsed.data.requests, settings.maxRequests);
    const run = async (subs: SubRequest[]) => {
      const deadline = settings.timeout > 0 ? Date.now() + settings.timeout * 1000 : Infinity;
      const results: ActionResult[] = [];
      await app.db.transaction(async (tx) => {
        for (const [i, sub] of subs.entries()) {
          // PocketBase: a timeout fails the whole transaction, not one sub-request.
          if (Date.now() > deadline) throw AppError.badRequest('Batch transaction failed.');
          try {
            results.push(await runOne(app, req, sub, filesFor(i, parsed.files), tx));
          } catch (err) {
            // Mapped and logged like a top-level request's error (database and storage failures get their codes).
            const appError = toAppError(err, app);
            if (appError.status >= 500) app.logger.error({ err, method: sub.method, url: sub.url.slice(0, 200) }, 'batch request failed');
            const response = appError.toEnvelope();
            throw AppError.validation('Batch transaction failed.', {
              requests: { [String(i)]: { code: 'batch_request_failed', message: 'Batch request failed.', response } as never },
            });
          }
        }
      });
      return results.map((r) => ({ status: r.status, body: r.status === 204 ? null : r.body }));
    };
    const hook = app.hooks.onBatchRequest;
    if (hook.length === 0) return run(requests);
    // onBatchRequest: handlers may change or refuse the sub-requests; each sub-request then fires its own
    // record request hooks inside the batch's transaction.
    const e: BatchRequestEvent = { tags: [], request: requestInfo(req), requests };
    await app.hooks.runRequest(hook, e, async (ev) => {
      ev.response = await run(parseRequests(ev.requests, settings.maxRequests));
    });
    const result = eventResult(e);
    return result.status === 204 ? reply.code(204).send() : reply.code(result.status).send(result.body);
  });
}
