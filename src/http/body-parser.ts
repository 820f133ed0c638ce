/**
 * Request body parsing with PocketBase's semantics (`tools/router/event.go BindBody`): JSON, urlencoded and
 * multipart bodies all become one `ParsedBody` (`data` + uploaded `files`), plain form values are type-inferred,
 * `@jsonPayload` parts are merged over the form, and every body is bounded (size, parts, nesting, keys) and
 * screened for prototype-pollution keys before any route sees it.
 */
import type { Readable } from 'node:stream';
import { Busboy } from '@fastify/busboy';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import { AppError, unstorableHitError, unstorableTextError } from '../errors/index.js';
import { findUnstorable, unstorableReason } from '../util/storable-text.js';
import { inferValues } from './value-inference.js';

/** One file part of a multipart body, fully buffered. `mimetype` is what the client declared: never trust it. */
export interface UploadedFile {
  field: string;
  filename: string;
  mimetype: string;
  data: Buffer;
  size: number;
}

/** What `request.body` is for every route once {@link registerBodyParsers} ran. */
export interface ParsedBody {
  data: Record<string, unknown>;
  files: UploadedFile[];
}

/** Bounds applied to JSON bodies and `@jsonPayload` parts. */
export interface JsonLimits {
  /** Deepest allowed nesting of objects/arrays; the top-level object is depth 1. */
  maxDepth: number;
  /** Most object keys allowed in one JSON document, summed over all nesting levels. */
  maxKeys: number;
}

/** Options of {@link registerBodyParsers}. Only `bodyLimit` is required. */
export interface BodyParserOptions {
  /** Max body bytes (PocketBase's default is 32 MiB). A route's own `bodyLimit` option takes precedence. */
  bodyLimit: number;
  /** Max multipart parts, and max urlencoded pairs (default 1,000). Exceeding it is a 413. */
  maxParts?: number;
  /** Max bytes of one uploaded file (default: the body limit). Exceeding it is a 413. */
  maxFileSize?: number;
  /** Max bytes of a form field name (default 512). Exceeding it is a 400. */
  maxFieldNameLength?: number;
  /** JSON nesting limit (default 64). */
  maxJsonDepth?: number;
  /** JSON total-keys limit (default 10,000). */
  maxJsonKeys?: number;
  /** Per-request limit override (e.g. PocketBase's per-collection limit); `undefined` falls back to the rules above. */
  limitFor?: (request: FastifyRequest) => number | undefined;
}

/** The multipart/urlencoded key whose values are JSON objects merged over the form (the JS SDK relies on it). */
export const JSON_PAYLOAD_KEY = '@jsonPayload';

/** Keys that could reach an object's prototype if some later code merged or assigned them naively. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: 64, maxKeys: 10_000 };
const DEFAULT_MAX_PARTS = 1_000;
const DEFAULT_MAX_FIELD_NAME = 512;

/** A fresh empty body; what bodyless requests (GET, Content-Length 0) get. */
export function emptyBody(): ParsedBody {
  return { data: {}, files: [] };
}

/** The request's parsed body, or an empty one for requests that had none (or routes registered before the hook). */
export function requestBody(request: FastifyRequest): ParsedBody {
  const b = request.body as Partial<ParsedBody> | null | undefined;
  return b && typeof b === 'object' && b.data && Array.isArray(b.files) ? (b as ParsedBody) : emptyBody();
}

/**
 * Replaces every Fastify content-type parser with Plinth's, so `request.body` is always a {@link ParsedBody}.
 * Call it on the root instance BEFORE registering routes (its `preValidation` hook only reaches later routes) and
 * do not also register `@fastify/multipart`. Unsupported non-empty bodies are a 415.
 */
export function registerBodyParsers<Logger extends FastifyBaseLogger = FastifyBaseLogger>(
  // Generic over the logger so an instance built with a custom `loggerInstance` (pino) needs no cast.
  app: FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, Logger>,
  opts: BodyParserOptions,
): void {
  const settings: Settings = {
    maxParts: opts.maxParts ?? DEFAULT_MAX_PARTS,
    maxFileSize: opts.maxFileSize,
    maxFieldNameLength: opts.maxFieldNameLength ?? DEFAULT_MAX_FIELD_NAME,
    json: { maxDepth: opts.maxJsonDepth ?? DEFAULT_JSON_LIMITS.maxDepth, maxKeys: opts.maxJsonKeys ?? DEFAULT_JSON_LIMITS.maxKeys },
  };
  app.removeAllContentTypeParsers();
  // '*' is also the parser Fastify uses for a body sent without any Content-Type.
  app.addContentTypeParser('*', async (request: FastifyRequest, payload: Readable) => parseBody(request, payload, limitOf(request, opts), settings));
  // Bodyless requests (GET, DELETE without body...) skip the parser and keep `body` undefined: readers
  // go through requestBody()/bodyOf(), which answer an empty body then (no hook on every request).
}

interface Settings {
  maxParts: number;
  maxFileSize: number | undefined;
  maxFieldNameLength: number;
  json: JsonLimits;
}

/** Effective byte limit: `limitFor`, else a route-level `bodyLimit`, else the configured one. */
function limitOf(request: FastifyRequest, opts: BodyParserOptions): number {
  const custom = opts.limitFor?.(request);
  if (custom !== undefined) return custom;
  // routeOptions.bodyLimit falls back to Fastify's server-wide default, which is not ours: only a value that
  // differs from it was set on the route.
  const route = request.routeOptions.bodyLimit;
  return route !== request.server.initialConfig.bodyLimit ? route : opts.bodyLimit;
}

async function parseBody(request: FastifyRequest, payload: Readable, limit: number, s: Settings): Promise<ParsedBody> {
  const header = request.headers['content-type'] ?? '';
  const mediaType = (header.split(';')[0] ?? '').trim().toLowerCase();
  const declared = Number(request.headers['content-length']);
  if (declared === 0) return emptyBody();
  // Refuse a declared oversize body before reading a byte of it.
  if (declared > limit) throw tooLarge(limit);
  // No route matched: answer 404 like PocketBase (routing comes before binding), still bounded by the limit.
  if (request.is404) {
    await readAll(payload, limit, () => tooLarge(limit));
    return emptyBody();
  }

  if (mediaType === 'multipart/form-data') return assertStorableBody(await parseMultipart(payload, header, limit, s));
  const isJson = mediaType === 'application/json' || mediaType.endsWith('+json');
  const isForm = mediaType === 'application/x-www-form-urlencoded';
  // An unsupported type is only an error if a body actually arrives (a chunked body may well be empty).
  const buf =
    isJson || isForm
      ? await readAll(payload, limit, () => tooLarge(limit))
      : await readAll(payload, 0, () => new AppError('unsupported_media_type', unsupportedMessage(header)));
  if (buf.length === 0) return emptyBody();
  if (isJson) {
    const text = buf.toString('utf8');
    const data = parseJsonBody(text, s.json);
    // NUL and lone surrogates can only reach a parsed JSON string through a \u escape (raw control
    // characters are invalid JSON, invalid UTF-8 decodes to U+FFFD): most bodies skip the walk.
    if (text.includes('\\u')) assertStorableBody({ data, files: [] });
    return { data, files: [] };
  }
  if (isForm) return assertStorableBody({ data: parseUrlEncoded(buf.toString('utf8'), s), files: [] });
  throw new AppError('unsupported_media_type', unsupportedMessage(header));
}

/**
 * Refuses (400 `invalid_characters`, naming the field) any string in the body, key or value at any depth,
 * and any uploaded file name that neither database can store: NUL or an unpaired UTF-16 surrogate
 * (util/storable-text.ts). Both dialects answer alike instead of PostgreSQL failing with 22021.
 */
export function assertStorableBody(body: ParsedBody): ParsedBody {
  const hit = findUnstorable(body.data);
  if (hit) throw unstorableHitError(hit);
  for (const f of body.files) {
    const reason = unstorableReason(f.field) ?? unstorableReason(f.filename);
    if (reason) throw unstorableTextError('field', f.field, reason);
  }
  return body;
}

function unsupportedMessage(header: string): string {
  const what = header === '' ? 'A request body without Content-Type' : `Content-Type "${header.slice(0, 100)}"`;
  return `${what} is not supported; use application/json, multipart/form-data or application/x-www-form-urlencoded.`;
}

function tooLarge(limit: number): AppError {
  return new AppError('payload_too_large', `Request entity too large (max ${limit} bytes).`);
}

/**
 * Parses a JSON request body: blank → `{}`, `null` → `{}` (Go's decoder leaves the map untouched), any other
 * non-object → 400, malformed → 400 `invalid_json`. The result is checked with {@link assertSafeJson}.
 */
export function parseJsonBody(text: string, limits: JsonLimits = DEFAULT_JSON_LIMITS): Record<string, unknown> {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') return {};
  const value = parseJson(body, 'Invalid JSON body');
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw AppError.badRequest('The request body must be a JSON object.');
  }
  assertSafeJson(value, limits);
  return value as Record<string, unknown>;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // V8's message names the position and a short excerpt; it only echoes the client's own input.
    const why = err instanceof Error ? err.message : String(err);
    throw new AppError('invalid_json', `${what}: ${why.slice(0, 200)}`);
  }
}

/**
 * Throws a 400 when `value` has a `__proto__`/`constructor`/`prototype` key at any depth, nests deeper than
 * `maxDepth`, or has more than `maxKeys` object keys in total. Such keys are refused rather than stripped so a
 * client learns its payload was not stored as sent.
 */
export function assertSafeJson(value: unknown, limits: JsonLimits = DEFAULT_JSON_LIMITS): void {
  let keys = 0;
  // Recursion is bounded by maxDepth (JSON.parse itself copes with any depth, our walk stops early).
  const walk = (v: unknown, depth: number): void => {
    if (typeof v !== 'object' || v === null) return;
    if (depth > limits.maxDepth) {
      throw AppError.badRequest(`The JSON body is nested too deeply (max ${limits.maxDepth} levels).`);
    }
    if (Array.isArray(v)) {
      for (const item of v) walk(item, depth + 1);
      return;
    }
    for (const k of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(k)) throw forbiddenKey(k);
      if (++keys > limits.maxKeys) throw AppError.badRequest(`The JSON body has too many keys (max ${limits.maxKeys}).`);
      walk((v as Record<string, unknown>)[k], depth + 1);
    }
  };
  walk(value, 1);
}

function forbiddenKey(key: string): AppError {
  return AppError.badRequest(`The key "${key}" is not allowed in the request body.`);
}

/**
 * Refuses a form field name that is too long or that contains a forbidden key as a path segment
 * (`a.__proto__`, `requests[0][constructor]`): later code may split names like batch's `requests.N.field`.
 */
export function assertSafeFieldName(name: string, maxLength = DEFAULT_MAX_FIELD_NAME): void {
  if (Buffer.byteLength(name) > maxLength) {
    throw AppError.badRequest(`Form field name "${name.slice(0, 40)}…" is too long (max ${maxLength} bytes).`);
  }
  for (const segment of name.split(/[.[\]]/)) if (FORBIDDEN_KEYS.has(segment)) throw forbiddenKey(segment);
}

/**
 * Turns plain form fields (multipart or urlencoded, in arrival order) into record data like PocketBase's
 * `UnmarshalRequestData`: values are type-inferred, a repeated name becomes an array, then every `@jsonPayload`
 * value (a JSON object; `null` is ignored) is shallow-merged over the result in order. Names are checked with
 * {@link assertSafeFieldName} and payloads with {@link assertSafeJson}.
 */
export function parseMultipartFieldsToData(
  fields: Iterable<readonly [name: string, value: string]>,
  limits: JsonLimits = DEFAULT_JSON_LIMITS,
  maxFieldNameLength = DEFAULT_MAX_FIELD_NAME,
): Record<string, unknown> {
  const grouped = new Map<string, string[]>();
  const payloads: string[] = [];
  for (const [name, value] of fields) {
    if (name === JSON_PAYLOAD_KEY) {
      payloads.push(value);
      continue;
    }
    assertSafeFieldName(name, maxFieldNameLength);
    const list = grouped.get(name);
    if (list) list.push(value);
    else grouped.set(name, [value]);
  }
  const data: Record<string, unknown> = {};
  for (const [name, values] of grouped) setOwn(data, name, inferValues(values));
  for (const raw of payloads) {
    const obj = parseJson(raw, `Invalid ${JSON_PAYLOAD_KEY}`);
    if (obj === null) continue;
    if (typeof obj !== 'object' || Array.isArray(obj)) {
      throw AppError.badRequest(`Each ${JSON_PAYLOAD_KEY} value must be a JSON object.`);
    }
    assertSafeJson(obj, limits);
    for (const [k, v] of Object.entries(obj)) setOwn(data, k, v);
  }
  return data;
}

/** Own data property even for unusual keys; forbidden keys were already refused, this is defence in depth. */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

function parseUrlEncoded(text: string, s: Settings): Record<string, unknown> {
  const pairs: Array<[string, string]> = [];
  for (const pair of new URLSearchParams(text)) {
    if (pairs.length >= s.maxParts) throw new AppError('payload_too_large', `Too many form fields (max ${s.maxParts}).`);
    pairs.push(pair);
  }
  return parseMultipartFieldsToData(pairs, s.json, s.maxFieldNameLength);
}

/** Where a body stream's bytes go; `fail` is called at most once and ends the reading. */
interface Sink {
  data(chunk: Buffer): void;
  end(): void;
  fail(err: AppError): void;
}

/**
 * Feeds `stream` to `sink`, counting bytes: past `limit` it stops with `overLimit()` (413 by default) without
 * buffering the rest, which keeps flowing to nowhere until Fastify closes the connection (it answers parser errors
 * with `Connection: close`). A client that aborts mid-body gets a 400 instead of a hang. Returns `detach`, after
 * which the stream keeps being read and dropped.
 */
function pump(stream: Readable, limit: number, sink: Sink, overLimit: () => AppError): () => void {
  let received = 0;
  let done = false;
  const detach = (): void => {
    if (done) return;
    done = true;
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onError);
    stream.off('close', onClose);
    // Keep one listener so a late stream error can never become an uncaught exception, and drain the rest.
    stream.on('error', () => {});
    stream.resume();
  };
  const onData = (chunk: Buffer | string): void => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    received += buf.length;
    if (received > limit) {
      detach();
      sink.fail(overLimit());
      return;
    }
    sink.data(buf);
  };
  const onEnd = (): void => {
    detach();
    sink.end();
  };
  const onError = (): void => {
    detach();
    sink.fail(AppError.badRequest('The request body could not be read completely.'));
  };
  const onClose = (): void => {
    // 'close' before 'end' means the client went away mid-body.
    if (!done) onError();
  };
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onError);
  stream.on('close', onClose);
  stream.resume();
  return detach;
}

/** Buffers a whole body of at most `limit` bytes (also for raw-body parsers: signed webhooks). */
export function readAll(stream: Readable, limit: number, overLimit: () => AppError): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    pump(stream, limit, { data: (c) => chunks.push(c), end: () => resolve(Buffer.concat(chunks)), fail: reject }, overLimit);
  });
}

/**
 * Streams a multipart body through busboy: plain fields are collected for {@link parseMultipartFieldsToData},
 * file parts are buffered (each at most `maxFileSize`), and the first problem (size, part count, field name,
 * malformed framing) ends the parse with an AppError.
 */
function parseMultipart(stream: Readable, contentType: string, limit: number, s: Settings): Promise<ParsedBody> {
  return new Promise((resolve, reject) => {
    const fields: Array<[string, string]> = [];
    const files: UploadedFile[] = [];
    let busboy: ReturnType<typeof Busboy> | undefined;
    let settled = false;
    let pending = 0; // file parts still being read
    let inputEnded = false;

    /**
     * Ends the parse with `err`. Fastify answers a parser error with `Connection: close`, and closing a
     * socket that still has unread request bytes resets it, so a client still uploading (1,000 parts in
     * and 9,000 to go) would see ECONNRESET instead of the answer. So a problem found inside the body
     * limit is answered once the rest of the body has been read and dropped (at most `limit` bytes);
     * only the stream's own failures (over the limit, client gone) answer at once.
     */
    const fail = (err: AppError, answerNow = false): void => {
      if (settled) return;
      settled = true;
      detach();
      if (answerNow || inputEnded || stream.readableEnded || stream.destroyed) return reject(err);
      const answer = (): void => {
        stream.off('end', answer);
        stream.off('close', answer);
        reject(err);
      };
      stream.on('end', answer);
      stream.on('close', answer);
    };
    const finish = (): void => {
      if (settled) return;
      settled = true;
      try {
        resolve({ data: parseMultipartFieldsToData(fields, s.json, s.maxFieldNameLength), files });
      } catch (err) {
        reject(err);
      }
    };

    const start = (): ReturnType<typeof Busboy> => {
      const bb = Busboy({
        headers: { 'content-type': contentType },
        limits: {
          parts: s.maxParts,
          fileSize: s.maxFileSize ?? limit,
          // The whole body is capped by `limit`, so a value is never silently truncated by busboy.
          fieldSize: limit,
        },
        // Like Go's multipart reader: a part is a file only when it has a filename.
        isPartAFile: (_name, _type, filename) => filename !== undefined && filename !== '',
      });
      bb.on('field', (name, value, _nameTruncated, valueTruncated) => {
        if (settled || !name) return; // Go skips parts without a form name
        if (valueTruncated) return fail(tooLarge(limit));
        try {
          if (name !== JSON_PAYLOAD_KEY) assertSafeFieldName(name, s.maxFieldNameLength);
        } catch (err) {
          return fail(err as AppError);
        }
        fields.push([name, value]);
      });
      bb.on('file', (name, file, filename, _encoding, mimetype) => {
        file.on('error', () => fail(AppError.badRequest('Invalid multipart body: a file part ended unexpectedly.')));
        if (settled || !name) {
          file.resume();
          return;
        }
        try {
          assertSafeFieldName(name, s.maxFieldNameLength);
        } catch (err) {
          file.resume();
          return fail(err as AppError);
        }
        const entry: UploadedFile = { field: name, filename, mimetype, data: Buffer.alloc(0), size: 0 };
        files.push(entry);
        const chunks: Buffer[] = [];
        pending++;
        file.on('data', (c: Buffer) => chunks.push(c));
        file.on('limit', () => fail(new AppError('payload_too_large', `File "${filename}" is too large (max ${s.maxFileSize ?? limit} bytes).`)));
        file.on('end', () => {
          entry.data = Buffer.concat(chunks);
          entry.size = entry.data.length;
          pending--;
        });
      });
      bb.on('partsLimit', () => fail(new AppError('payload_too_large', `Too many multipart parts (max ${s.maxParts}).`)));
      bb.on('error', (err: unknown) => fail(malformed(err)));
      bb.on('finish', () => {
        if (!inputEnded || pending > 0) return fail(AppError.badRequest('Invalid multipart body: it ended unexpectedly.'));
        finish();
      });
      return bb;
    };

    const detach = pump(
      stream,
      limit,
      {
        data(chunk) {
          if (settled) return;
          try {
            busboy ??= start();
            // Respect busboy's backpressure; file data is consumed eagerly so drains come quickly.
            if (!busboy.write(chunk)) {
              stream.pause();
              busboy.once('drain', () => stream.resume());
            }
          } catch (err) {
            fail(malformed(err));
          }
        },
        end() {
          inputEnded = true;
          // An empty body is a no-op, like Content-Length: 0 (PocketBase skips binding entirely).
          if (!busboy) return finish();
          try {
            busboy.end();
          } catch (err) {
            fail(malformed(err));
          }
        },
        fail: (err) => fail(err, true),
      },
      () => tooLarge(limit),
    );
  });
}

function malformed(err: unknown): AppError {
  const why = err instanceof Error ? err.message : 'unreadable data';
  return AppError.badRequest(`Invalid multipart body: ${why.slice(0, 200)}`);
}
