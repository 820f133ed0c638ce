/**
 * /api/files: PocketBase's file download (`GET|HEAD /api/files/{collection}/{record}/{filename}`, with
 * `?thumb=`, `?download=`, `?token=` and Range) and `POST /api/files/token`. Every miss — unknown
 * collection, record or file, a failed protected-file check — is the same 404.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { issueToken, peekClaims, verifyToken } from '../../auth/tokens.js';
import { isMultiValued, SUPERUSERS_COLLECTION_ID, type AuthCollection, type Collection, type FileField } from '../../collections/model.js';
import { ident, sql } from '../../db/sql.js';
import { AppError } from '../../errors/index.js';
import {
  allowedThumb,
  baseMime,
  cacheControl,
  contentDisposition,
  decideRange,
  detectFileType,
  FILE_RESPONSE_HEADERS,
  fileFields,
  fileKey,
  isDownloadParam,
  isSafeFileName,
  S3Error,
  SNIFF_BYTES,
  THUMBABLE_TYPES,
  type FileStorage,
  type ObjectInfo,
} from '../../files/index.js';
import type { AuthState } from '../../rules/request-info.js';
import { buildRequestInfo, queryOf } from '../request-info.js';
import { superuserIpAllowed } from '../superuser-ips.js';
import type { FileDownloadRequestEvent } from '../../hooks/index.js';
import { param, runHooked, sendResult } from './helpers.js';
import { collectionTags, eventResult } from './record-actions.js';

/** The verified record behind a file token, or null for anything invalid. */
export async function resolveFileToken(app: App, req: FastifyRequest, token: string): Promise<AuthState | null> {
  const claims = peekClaims(token.trim());
  if (!claims || claims.type !== 'file') return null;
  const collection = app.collections.find(claims.collectionId);
  if (!collection || collection.type !== 'auth' || collection.id !== claims.collectionId) return null;
  const record = await app.reader.findById(collection, claims.id);
  if (!record) return null;
  const ok = await verifyToken(token.trim(), collection as AuthCollection, { tokenKey: String(record.tokenKey ?? '') }, 'file');
  if (!ok) return null;
  // Outside settings.superuserIPs a superuser's file token counts for nothing (PocketBase drops it too).
  if (collection.id === SUPERUSERS_COLLECTION_ID && !superuserIpAllowed(req, app.settings.get())) return null;
  return { collection: collection as AuthCollection, record };
}

/** Protected files: the view rule, evaluated for the token's record in the `protectedFile` context. */
async function mayReadProtected(app: App, req: FastifyRequest, collection: Collection, recordId: string): Promise<boolean> {
  const token = queryOf(req).token ?? '';
  const auth = token ? await resolveFileToken(app, req, token) : null;
  try {
    await app.reader.findVisible(collection, recordId, 'viewRule', buildRequestInfo(req, auth, 'protectedFile'));
    return true;
  } catch (err) {
    if (err instanceof AppError) return false; // 403 (locked rule) and 404 alike: PocketBase answers 404
    throw err;
  }
}

function names(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
}

/** The type to serve: the one stored with the object, else detected from its first bytes (and stored name). */
async function contentTypeOf(storage: FileStorage, key: string, info: ObjectInfo): Promise<string> {
  if (info.contentType) return info.contentType;
  if (info.size === 0) return (await detectFileType(Buffer.alloc(0), key)).type;
  const stream = await storage.read(key, { start: 0, end: Math.min(info.size, SNIFF_BYTES) - 1 });
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return (await detectFileType(Buffer.concat(chunks), key, info.size <= SNIFF_BYTES)).type;
}

function isMissing(err: unknown): boolean {
  return (err instanceof S3Error && err.status === 404) || (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

async function download(app: App, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const collection = app.collections.find(param(req, 'collection'));
  if (!collection) throw AppError.notFound();
  await req.server.rateLimiter.checkTag(req, collection.name, 'file'); // PocketBase's `users:file` / `*:file` tags
  const record = await app.reader.findById(collection, param(req, 'recordId'));
  if (!record) throw AppError.notFound();
  const name = param(req, 'filename');
  if (!isSafeFileName(name)) throw AppError.notFound();
  const field: FileField | undefined = fileFields(collection).find((f) => names(record[f.name]).includes(name));
  if (!field) throw AppError.notFound();
  // A view's protected file is guarded by the view's own rule, as in PocketBase.
  if (field.protected && !(await mayReadProtected(app, req, collection, String(record.id)))) throw AppError.notFound();
  // A view record's file lives in its source record's folder.
  const owner = collection.type === 'view' ? await viewFileOwner(app, collection, name) : { collectionId: collection.id, recordId: String(record.id) };
  if (!owner) throw AppError.notFound();

  const hook = app.hooks.onFileDownloadRequest;
  if (hook.length === 0) return serveFile(app, req, reply, owner, record, field, name);
  const e: FileDownloadRequestEvent = {
    tags: collectionTags(collection),
    collection,
    request: buildRequestInfo(req, req.auth),
    record,
    fileField: field.name,
    servedName: name,
  };
  let sent: FastifyReply | undefined;
  await app.hooks.runRequest(hook, e, async (ev) => {
    // A handler may serve another file of the same field, never one the checks above did not cover.
    if (!names(record[field.name]).includes(ev.servedName) || !isSafeFileName(ev.servedName)) throw AppError.notFound();
    sent = await serveFile(app, req, reply, owner, record, field, ev.servedName);
  });
  // A handler that did not call next() answers with `response` (204 without one).
  return sent ?? sendResult(reply, eventResult(e));
}

/** Streams a checked file (Range, thumbnails, the inert-media headers) from its owner's folder. */
async function serveFile(
  app: App,
  req: FastifyRequest,
  reply: FastifyReply,
  owner: { collectionId: string; recordId: string },
  record: Record<string, unknown>,
  field: FileField,
  name: string,
): Promise<FastifyReply> {
  const query = queryOf(req);
  const storage = app.files.storage();
  let key = fileKey(owner.collectionId, owner.recordId, name);
  let servedName = name;
  let info = await storage.stat(key);
  if (!info) throw AppError.notFound();
  const type = await contentTypeOf(storage, key, info);

  const thumb = allowedThumb(field, query.thumb);
  if (thumb && THUMBABLE_TYPES.has(baseMime(type))) {
    const made = await app.files.thumbnail(storage, owner.collectionId, owner.recordId, name, thumb, baseMime(type));
    if (made) {
      ({ key, info } = made);
      servedName = `${thumb.size}_${name}`;
    }
  }

  const ifRange = req.headers['if-range'];
  const decision = decideRange(req.headers.range, info.size, Array.isArray(ifRange) ? ifRange.join(',') : ifRange);
  const range = decision.kind === 'partial' ? decision.range : undefined;
  const length = range ? range.end - range.start + 1 : info.size;
  // Open the body before any header is set, so a failure still gets a clean error response.
  let body: Readable | null = null;
  if (decision.kind !== 'unsatisfiable' && req.method !== 'HEAD' && length > 0) {
    try {
      body = await storage.read(key, range);
    } catch (err) {
      if (isMissing(err)) throw AppError.notFound();
      throw err;
    }
  }

  // Uploaded files may be embedded anywhere (PocketBase drops the global X-Frame-Options here too).
  reply.removeHeader('X-Frame-Options');
  reply.headers(FILE_RESPONSE_HEADERS);
  reply.header('Cache-Control', cacheControl(field.protected));
  reply.header('Content-Disposition', contentDisposition(type, servedName, isDownloadParam(query.download)));
  reply.type(type);
  if (decision.kind === 'unsatisfiable') {
    return reply.code(416).header('Content-Range', `bytes */${info.size}`).header('Content-Length', '0').send();
  }
  if (range) reply.code(206).header('Content-Range', `bytes ${range.start}-${range.end}/${info.size}`);
  reply.header('Content-Length', String(length));
  return body ? reply.send(body) : reply.send();
}

/**
 * The record that owns a file shown through a view (PocketBase's FindRecordByViewFile): a record of a
 * collection the view's query names whose file field holds `name`. Only runs for view downloads.
 */
async function viewFileOwner(app: App, view: Collection, name: string): Promise<{ collectionId: string; recordId: string } | undefined> {
  const text = view.type === 'view' ? view.viewQuery.toLowerCase() : '';
  for (const c of app.collections.all()) {
    if (c.type === 'view' || !text.includes(c.name.toLowerCase())) continue;
    for (const f of fileFields(c)) {
      const col = ident('_f', f.name);
      const match = isMultiValued(f)
        ? sql`EXISTS (SELECT 1 FROM ${app.db.dialect.fn.jsonEach(col)} AS ${ident('_je')} WHERE ${ident('_je', 'value')} = ${name})`
        : sql`${col} = ${name}`;
      const row = await app.db.get<{ id: string }>(sql`SELECT ${ident('_f', 'id')} AS id FROM ${ident(c.name)} AS ${ident('_f')} WHERE ${match} LIMIT 1`);
      if (row) return { collectionId: c.id, recordId: String(row.id) };
    }
  }
  return undefined;
}

/** Registers the file routes. */
export function registerFileRoutes(server: FastifyInstance, app: App): void {
  server.post('/api/files/token', async (req, reply) => {
    if (!req.auth) throw AppError.unauthorized('Missing auth context.');
    const issue = async (auth: NonNullable<typeof req.auth>) => ({
      token: await issueToken(auth.collection, { id: String(auth.record.id), tokenKey: String(auth.record.tokenKey ?? '') }, { type: 'file' }),
    });
    const hook = app.hooks.onFileTokenRequest;
    if (hook.length === 0) return issue(req.auth);
    return runHooked(app, reply, hook, { tags: collectionTags(req.auth.collection), request: buildRequestInfo(req, req.auth) }, async (ev) => {
      if (!ev.request.auth) throw AppError.unauthorized('Missing auth context.');
      return { status: 200, body: await issue(ev.request.auth) };
    });
  });
  const path = '/api/files/:collection/:recordId/:filename';
  // HEAD first and explicit: Fastify's automatic HEAD would read the whole file to throw it away.
  server.head(path, (req, reply) => download(app, req, reply));
  server.get(path, (req, reply) => download(app, req, reply));
}
