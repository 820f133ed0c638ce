/**
 * Custom routes: user code adds HTTP endpoints next to the built-in API.
 *
 *   const routes = new RouteRegistry({ api: (app) => userApi });      // `api` = what handlers get as `c.app`
 *   routes.get('/api/shop/orders/{id}', (c) => ({ id: c.request.params.id }), { auth: { collection: 'users' } });
 *   routes.post('/api/shop/checkout', handler, { auth: 'any', rateLimit: 'shop:checkout', bodyLimit: 1 << 20 });
 *   buildServer(app, { routes });
 *
 * Paths are PocketBase-style: `{name}` is one segment, `{name...}` (last only) the rest of the path; static
 * segments beat params, params beat the wildcard. A trailing slash is ignored. Params arrive decoded.
 *
 * THE API OTHER CODE CALLS (the hooks loader and its dev reload):
 *   get|post|put|patch|delete(path, handler, options?)  add one route; throws a clear Error on a bad path or
 *                                   guard, on a duplicate custom route, and (once the registry is attached to
 *                                   a server) on a collision with a built-in route. Returns the registry.
 *   add(method, path, handler, options?)   the same with the method as a value.
 *   remove(method, path): boolean   drop one route.
 *   clear()                         drop every route (the server keeps running; requests then get 404).
 *   list(): RouteEntry[]            a snapshot of the routes in registration order (method, path, options, source).
 *   replaceAll(entries | registry)  atomically swap in another generation of routes: all of them are validated
 *                                   first (duplicates, built-in collisions) and on any error nothing changes,
 *                                   so a reload that fails keeps the previous routes serving.
 *   source                          a label (e.g. the hook file) stamped on routes added while it is set; it
 *                                   names the route in collision errors.
 *   api                             `(app, c) => Api`: builds `c.app` (lazily, at most once per request).
 * Nothing is registered with Fastify per route: a dispatcher on `/*` (the lowest-priority pattern, so built-in
 * routes always win) matches against this registry at request time, which is what lets the routes change
 * without restarting the server.
 *
 * A request to a custom route: global onRequest (auth token, superuser IPs, path rate limits from
 * settings.rateLimits — they apply by path exactly as for built-ins) → match (404 envelope when nothing
 * matches) → access guard (before the body is read) → the route's tag rate limit → body parsing (JSON,
 * urlencoded, multipart with files: the records' parser, with the route's `bodyLimit`) → handler, within the
 * request timeout (`ServerOptions.hookTimeout`, or the route's `timeout`; 504 `timeout` on expiry, the
 * handler's later output discarded) → response. Errors: an AppError answers its envelope, anything else a
 * logged generic 500, exactly as for built-in routes.
 *
 * Access guards (`options.auth`):
 *   'public' (default)      anyone, signed in or not (PocketBase routes are public unless guarded)
 *   'guest'                 only requests WITHOUT a valid auth token (400 otherwise, PocketBase's RequireGuestOnly)
 *   'any'                   any authenticated record of any auth collection, superusers included (401 otherwise)
 *   'superuser'             superusers only (401 guest, 403 other records)
 *   { collection: 'users' } records of that auth collection (name or id; or a list) (401 guest, 403 others)
 *
 * What a handler returns is the response: a plain value → JSON (status 200 unless `c.reply.status()` set
 * one); `undefined` → 204 (unless the handler sent something itself); a Buffer/Uint8Array → bytes; a Node
 * Readable or web ReadableStream → streamed; a web `Response` → its status, headers and body. For
 * server-sent events `c.reply.sse()` opens a stream (the request timeout stops counting once it is open).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import { AppError } from '../errors/index.js';
import type { RouteOpenApi } from '../openapi/index.js';
import { Countdown, timeoutError } from '../hooks/request-timeout.js';
import type { AuthState, RequestInfo } from '../rules/request-info.js';
import { requestBody, type UploadedFile } from './body-parser.js';
import { clientIp } from './rate-limit.js';
import { buildRequestInfo, queryOf } from './request-info.js';
import { logRequest } from './routes/logs.js';
import { recordRequest } from './request-metrics.js';

export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const METHODS: readonly RouteMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export type RouteGuard = 'public' | 'guest' | 'any' | 'superuser' | { collection: string | readonly string[] };

export interface RouteOptions {
  /** Who may call the route (default 'public'). See the module comment. */
  auth?: RouteGuard;
  /**
   * A rate-limit tag: the settings.rateLimits rule whose label is exactly this tag (e.g. 'shop:checkout'),
   * else the `*:<action>` rule for a `<x>:<action>` tag, is applied to the route (429 past it).
   */
  rateLimit?: string;
  /** Max request body bytes for this route (default: the server's). */
  bodyLimit?: number;
  /** This route's user-code timeout in ms (default: the server's `hookTimeout`; 0 = none). */
  timeout?: number;
  /**
   * How the route appears in `GET /api/openapi.json` (docs/openapi.md): summary, description, tags, query
   * parameters, the JSON request body's and the answer's JSON Schemas. Without it the route is listed with
   * a minimal entry; `{ exclude: true }` leaves it out.
   */
  openapi?: RouteOpenApi;
}

export interface RouteRequest {
  readonly method: string;
  /** The path without the query string, as sent (not decoded). */
  readonly path: string;
  /** Path params by name, decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** First value of each query parameter. */
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** The parsed body's values (JSON, urlencoded or multipart fields); {} without a body. */
  readonly body: Record<string, unknown>;
  /** Uploaded files (multipart). */
  readonly files: readonly UploadedFile[];
  /** The verified auth record, or null for guests. */
  readonly auth: AuthState | null;
  /** The client IP (settings.trustedProxy decides whether proxy headers count). */
  readonly ip: string;
  /** What rules see as `@request.*` (pass it to the records layer to act as this caller). */
  readonly info: RequestInfo;
  /** The underlying Node request (advanced use). */
  readonly raw: IncomingMessage;
}

export interface SseStream {
  /** Sends one event; `data` that is not a string is sent as JSON. Returns false once the stream is closed. */
  send(data: unknown, options?: { event?: string; id?: string }): boolean;
  /** A comment line (keeps proxies from timing the stream out). */
  comment(text?: string): boolean;
  close(): void;
  readonly closed: boolean;
  /** Runs `fn` when the client goes away or close() is called. */
  onClose(fn: () => void): void;
}

export interface RouteReply {
  status(code: number): RouteReply;
  header(name: string, value: string | number | readonly string[]): RouteReply;
  /** Sends `body` as JSON now. */
  json(body: unknown, status?: number): void;
  /** Sends a string, bytes or a stream now, with `contentType` (default: text for strings, octet-stream otherwise). */
  send(body: string | Buffer | Uint8Array | NodeJS.ReadableStream | ReadableStream, contentType?: string): void;
  redirect(url: string, status?: number): void;
  /** Opens a server-sent-events stream (the request timeout stops counting). */
  sse(): SseStream;
  /** Takes over the raw Node response (the request timeout stops counting; you write and end it). */
  hijack(): ServerResponse;
  /** True once something was sent (or the reply was taken over). */
  readonly sent: boolean;
}

export interface RouteContext<Api = unknown> {
  readonly request: RouteRequest;
  readonly reply: RouteReply;
  /** The user-facing API object (the registry's `api`), built on first use. */
  readonly app: Api;
  /** Aborted when the client disconnects or the request timed out. */
  readonly signal: AbortSignal;
}

export type RouteHandler<Api = unknown> = (c: RouteContext<Api>) => unknown;

export interface RouteEntry<Api = unknown> {
  method: RouteMethod;
  path: string;
  handler: RouteHandler<Api>;
  options: RouteOptions;
  /** Where it was registered (a hook file), for error messages. */
  source?: string;
}

/** Builds `c.app`. */
export type RouteApiFactory<Api> = (app: App, c: RouteContext<Api>) => Api;

// --- path patterns ---------------------------------------------------------------------------------------

type Segment = { kind: 'static'; value: string } | { kind: 'param'; name: string } | { kind: 'wildcard'; name: string };

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses a PocketBase-style path; throws a clear Error for anything malformed. */
export function parsePath(path: string): Segment[] {
  const bad = (why: string) => new Error(`Invalid custom route path ${JSON.stringify(path)}: ${why}.`);
  if (typeof path !== 'string' || !path.startsWith('/')) throw bad('it must start with "/"');
  if (path.length > 1000) throw bad('it is longer than 1000 characters');
  if (/[?#\s]/.test(path)) throw bad('it may not contain "?", "#" or whitespace');
  const parts = path.split('/').slice(1);
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // trailing slash
  const segments: Segment[] = [];
  const names = new Set<string>();
  parts.forEach((part, i) => {
    if (part === '' && !(parts.length === 1)) throw bad('it has an empty segment ("//")');
    if (part.startsWith('{') && part.endsWith('}')) {
      let name = part.slice(1, -1);
      const wildcard = name.endsWith('...');
      if (wildcard) name = name.slice(0, -3);
      if (!PARAM_NAME.test(name)) throw bad(`"${part}" is not a valid parameter (letters, digits and _ only)`);
      if (names.has(name)) throw bad(`the parameter {${name}} appears twice`);
      names.add(name);
      if (wildcard && i !== parts.length - 1) throw bad(`the wildcard {${name}...} must be the last segment`);
      segments.push(wildcard ? { kind: 'wildcard', name } : { kind: 'param', name });
      return;
    }
    if (/[{}*]/.test(part) || part.startsWith(':')) throw bad(`"${part}": use {name} for a parameter and {name...} for the rest of the path`);
    let value = part;
    try {
      value = decodeURIComponent(part);
    } catch {
      throw bad(`"${part}" has malformed percent-encoding`);
    }
    segments.push({ kind: 'static', value });
  });
  if (segments.length === 1 && segments[0]!.kind === 'static' && (segments[0] as { value: string }).value === '') segments.pop(); // "/"
  return segments;
}

/** The route's shape with parameter names erased (two routes with the same shape are duplicates). */
function shapeOf(segments: Segment[]): string {
  return `/${segments.map((s) => (s.kind === 'static' ? s.value : s.kind === 'param' ? '{}' : '{...}')).join('/')}`;
}

/** A Fastify route pattern (`:id`, `*`) as segments. */
function fastifySegments(url: string): Segment[] {
  const parts = url.split('/').slice(1);
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 1 && parts[0] === '') return [];
  return parts.map(
    (p): Segment => (p === '*' ? { kind: 'wildcard', name: '*' } : p.startsWith(':') ? { kind: 'param', name: p.slice(1) } : { kind: 'static', value: p }),
  );
}

/** Whether some URL path matches both patterns. */
function overlaps(a: Segment[], b: Segment[], i = 0, j = 0): boolean {
  const x = a[i];
  const y = b[j];
  if (x?.kind === 'wildcard' || y?.kind === 'wildcard') return true;
  if (!x || !y) return !x && !y;
  if (x.kind === 'static' && y.kind === 'static' && x.value !== y.value) return false;
  return overlaps(a, b, i + 1, j + 1);
}

/**
 * Path prefixes that belong to Plinth (now or in coming versions) whatever the method: a custom route may
 * not live under them.
 */
export const RESERVED_PREFIXES: readonly string[] = [
  '/api/collections',
  '/api/realtime',
  '/api/batch',
  '/api/files',
  '/api/settings',
  '/api/health',
  '/api/logs',
  '/api/crons',
  '/api/backups',
  '/api/jobs',
  '/api/plinth',
  '/api/install',
  '/api/api-keys',
  '/api/oauth2-redirect',
  '/_',
];

function reservedPrefixOf(segments: Segment[]): string | undefined {
  for (const prefix of RESERVED_PREFIXES) {
    const want = prefix.split('/').slice(1);
    if (want.every((w, k) => segments[k]?.kind === 'static' && (segments[k] as { value: string }).value === w)) return prefix;
  }
  return undefined;
}

// --- the registry ----------------------------------------------------------------------------------------

interface Compiled<Api> {
  entry: RouteEntry<Api>;
  segments: Segment[];
  /** Param names in path order (wildcard last). */
  names: string[];
  guard: CompiledGuard;
}

type CompiledGuard = null | 'guest' | 'any' | 'superuser' | { collections: Set<string> };

interface Node<Api> {
  statics: Map<string, Node<Api>> | null;
  param: Node<Api> | null;
  wildcard: Compiled<Api> | null;
  route: Compiled<Api> | null;
}

const newNode = <Api>(): Node<Api> => ({ statics: null, param: null, wildcard: null, route: null });

/** A built-in route the custom ones must not collide with. */
export interface BuiltinRoute {
  method: string;
  url: string;
}

interface Table<Api> {
  routes: Compiled<Api>[];
  roots: Map<RouteMethod, Node<Api>>;
}

function describeRoute(e: Pick<RouteEntry, 'method' | 'path' | 'source'>): string {
  return `${e.method} ${e.path}${e.source ? ` (${e.source})` : ''}`;
}

function compileGuard(guard: RouteGuard | undefined, where: string): CompiledGuard {
  if (guard === undefined || guard === 'public') return null;
  if (guard === 'guest' || guard === 'any' || guard === 'superuser') return guard;
  if (typeof guard === 'object' && guard !== null) {
    const list = typeof guard.collection === 'string' ? [guard.collection] : guard.collection;
    if (Array.isArray(list) && list.length > 0 && list.every((c) => typeof c === 'string' && c !== '')) return { collections: new Set(list) };
  }
  throw new Error(`Invalid auth guard for custom route ${where}: use 'public', 'guest', 'any', 'superuser' or { collection: 'name' }.`);
}

function checkOptions(options: RouteOptions, where: string): void {
  if (options.rateLimit !== undefined && (typeof options.rateLimit !== 'string' || options.rateLimit.trim() === '' || options.rateLimit.length > 255)) {
    throw new Error(`Invalid rateLimit tag for custom route ${where}: a non-empty string of at most 255 characters.`);
  }
  for (const key of ['bodyLimit', 'timeout'] as const) {
    const v = options[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new Error(`Invalid ${key} for custom route ${where}: a number ≥ 0.`);
  }
  if (options.openapi !== undefined) checkOpenApi(options.openapi, where);
}

/** The `openapi` option: plain data that serialises to JSON (the document is JSON). */
function checkOpenApi(doc: unknown, where: string): void {
  const bad = (why: string) => new Error(`Invalid openapi option for custom route ${where}: ${why}.`);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('an object');
  const d = doc as Record<string, unknown>;
  const known = ['summary', 'description', 'tags', 'operationId', 'deprecated', 'query', 'body', 'response', 'responses', 'exclude'];
  for (const k of Object.keys(d)) if (!known.includes(k)) throw bad(`unknown key "${k}" (use ${known.join(', ')})`);
  for (const k of ['summary', 'description', 'operationId'] as const) {
    if (d[k] !== undefined && typeof d[k] !== 'string') throw bad(`${k} must be a string`);
  }
  if (d.operationId !== undefined && !/^[A-Za-z_][A-Za-z0-9_.-]{0,199}$/.test(d.operationId as string))
    throw bad('operationId: letters, digits, "_", "." and "-"');
  if (d.tags !== undefined && !(Array.isArray(d.tags) && d.tags.every((t) => typeof t === 'string' && t.trim() !== '')))
    throw bad('tags must be non-empty strings');
  for (const k of ['deprecated', 'exclude'] as const) if (d[k] !== undefined && typeof d[k] !== 'boolean') throw bad(`${k} must be a boolean`);
  const schema = (v: unknown, name: string) => {
    if (v === undefined) return;
    if (typeof v !== 'boolean' && (typeof v !== 'object' || v === null || Array.isArray(v)))
      throw bad(`${name} must be a JSON Schema (an object or a boolean)`);
    try {
      JSON.stringify(v);
    } catch {
      throw bad(`${name} must be plain JSON data`);
    }
  };
  schema(d.body, 'body');
  schema(d.response, 'response');
  for (const [group, value] of [
    ['query', d.query],
    ['responses', d.responses],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`${group} must be an object`);
    for (const [name, item] of Object.entries(value)) {
      if (group === 'responses') {
        if (!/^([1-5][0-9X]{2}|default)$/.test(name)) throw bad(`responses: "${name}" is not a status code`);
        if (typeof item !== 'object' || item === null) throw bad(`responses.${name} must be { description?, schema? }`);
        schema((item as { schema?: unknown }).schema, `responses.${name}.schema`);
      } else schema(item, `query.${name}`);
    }
  }
}

export class RouteRegistry<Api = unknown> {
  /** Label stamped on routes added while set (the hooks loader sets it to the file being loaded). */
  source: string | undefined;
  /** Builds `c.app` for handlers (default: the App itself). */
  api: RouteApiFactory<Api> | undefined;

  private table: Table<Api> = { routes: [], roots: new Map() };
  private builtins: BuiltinRoute[] | null = null;
  /** Bumped whenever the routes change (derived caches such as the OpenAPI document rebuild). */
  version = 0;

  constructor(options: { api?: RouteApiFactory<Api> } = {}) {
    this.api = options.api;
  }

  get(path: string, handler: RouteHandler<Api>, options?: RouteOptions): this {
    return this.add('GET', path, handler, options);
  }
  post(path: string, handler: RouteHandler<Api>, options?: RouteOptions): this {
    return this.add('POST', path, handler, options);
  }
  put(path: string, handler: RouteHandler<Api>, options?: RouteOptions): this {
    return this.add('PUT', path, handler, options);
  }
  patch(path: string, handler: RouteHandler<Api>, options?: RouteOptions): this {
    return this.add('PATCH', path, handler, options);
  }
  delete(path: string, handler: RouteHandler<Api>, options?: RouteOptions): this {
    return this.add('DELETE', path, handler, options);
  }

  add(method: string, path: string, handler: RouteHandler<Api>, options: RouteOptions = {}): this {
    const entry: RouteEntry<Api> = { method: method as RouteMethod, path, handler, options: { ...options } };
    if (this.source !== undefined) entry.source = this.source;
    this.table = this.build([...this.table.routes.map((c) => c.entry), entry]);
    this.version++;
    return this;
  }

  remove(method: string, path: string): boolean {
    const m = String(method).toUpperCase();
    const shape = shapeOf(parsePath(path));
    const kept = this.table.routes.filter((c) => !(c.entry.method === m && shapeOf(c.segments) === shape));
    if (kept.length === this.table.routes.length) return false;
    this.table = this.build(kept.map((c) => c.entry));
    this.version++;
    return true;
  }

  /**
   * Replaces the `openapi` option of the route `method` + `path` (a dev reload re-describing a route it keeps);
   * `check` only validates. Throws on a malformed option; false when there is no such route.
   */
  describe(method: string, path: string, openapi: RouteOpenApi | undefined, check = false): boolean {
    const m = String(method).toUpperCase();
    const where = describeRoute({ method: m as RouteMethod, path });
    if (openapi !== undefined) checkOpenApi(openapi, where);
    const shape = shapeOf(parsePath(path));
    const found = this.table.routes.find((c) => c.entry.method === m && shapeOf(c.segments) === shape);
    if (!found || check) return found !== undefined;
    if (JSON.stringify(found.entry.options.openapi) === JSON.stringify(openapi)) return true;
    if (openapi === undefined) delete found.entry.options.openapi;
    else found.entry.options.openapi = openapi;
    this.version++;
    return true;
  }

  clear(): void {
    this.table = { routes: [], roots: new Map() };
    this.version++;
  }

  list(): RouteEntry<Api>[] {
    return this.table.routes.map((c) => ({ ...c.entry, options: { ...c.entry.options } }));
  }

  get size(): number {
    return this.table.routes.length;
  }

  /** Swaps in another generation of routes, all validated first; on an error the current routes stay. */
  // biome-ignore lint/suspicious/noExplicitAny: a staging registry of any Api type may be swapped in
  replaceAll(routes: Iterable<RouteEntry<Api>> | RouteRegistry<any>): void {
    const entries: RouteEntry<Api>[] = routes instanceof RouteRegistry ? (routes.list() as RouteEntry<Api>[]) : [...routes];
    this.table = this.build(entries);
    this.version++;
  }

  /** Called once by {@link registerCustomRoutes}: from then on every route is also checked against `builtins`. */
  attach(builtins: BuiltinRoute[]): void {
    const previous = this.builtins;
    this.builtins = builtins;
    try {
      this.table = this.build(this.table.routes.map((c) => c.entry));
    } catch (err) {
      this.builtins = previous;
      throw err;
    }
  }

  /** The route for `method` + raw `path` (no query string), with decoded params; null when none matches. */
  match(method: string, path: string): { route: Compiled<Api>; params: Record<string, string> } | null {
    const root = this.table.roots.get((method === 'HEAD' ? 'GET' : method) as RouteMethod);
    if (!root) return null;
    const parts = path.split('/');
    // parts[0] is '' (the leading slash); a trailing slash leaves a final '' that is ignored.
    let end = parts.length;
    if (end > 1 && parts[end - 1] === '') end--;
    const values: string[] = [];
    const found = walk(root, parts, 1, end, values);
    if (!found) return null;
    const params: Record<string, string> = {};
    for (let k = 0; k < found.names.length; k++) params[found.names[k] as string] = values[k] as string;
    return { route: found, params };
  }

  private build(entries: RouteEntry<Api>[]): Table<Api> {
    const table: Table<Api> = { routes: [], roots: new Map() };
    const shapes = new Map<string, RouteEntry<Api>>();
    for (const entry of entries) {
      const method = String(entry.method).toUpperCase() as RouteMethod;
      const where = describeRoute({ ...entry, method });
      if (!METHODS.includes(method)) throw new Error(`Invalid method for custom route ${where}: use GET, POST, PUT, PATCH or DELETE.`);
      if (typeof entry.handler !== 'function') throw new Error(`Custom route ${where} needs a handler function.`);
      const segments = parsePath(entry.path);
      const options = entry.options ?? {};
      checkOptions(options, where);
      const guard = compileGuard(options.auth, where);
      const reserved = reservedPrefixOf(segments);
      if (reserved) throw new Error(`Custom route ${where} is under the built-in prefix ${reserved}/, which belongs to Plinth's API.`);
      if (this.builtins) {
        for (const b of this.builtins) {
          const same = b.method === method || (b.method === 'HEAD' && method === 'GET');
          if (b.method !== 'HEAD' && same && overlaps(segments, fastifySegments(b.url))) {
            throw new Error(`Custom route ${where} collides with the built-in route ${b.method} ${b.url}.`);
          }
        }
      }
      const key = `${method} ${shapeOf(segments)}`;
      const other = shapes.get(key);
      if (other) throw new Error(`Custom route ${where} duplicates the custom route ${describeRoute(other)}.`);
      shapes.set(key, { ...entry, method });
      const compiled: Compiled<Api> = {
        entry: { ...entry, method, options: { ...options } },
        segments,
        names: segments.flatMap((s) => (s.kind === 'static' ? [] : [s.name])),
        guard,
      };
      insert(table, compiled);
      table.routes.push(compiled);
    }
    return table;
  }
}

function insert<Api>(table: Table<Api>, route: Compiled<Api>): void {
  const method = route.entry.method;
  let node = table.roots.get(method);
  if (!node) {
    node = newNode<Api>();
    table.roots.set(method, node);
  }
  for (const s of route.segments) {
    if (s.kind === 'wildcard') {
      node.wildcard = route;
      return;
    }
    if (s.kind === 'param') {
      node.param ??= newNode<Api>();
      node = node.param;
    } else {
      node.statics ??= new Map();
      let next = node.statics.get(s.value);
      if (!next) {
        next = newNode<Api>();
        node.statics.set(s.value, next);
      }
      node = next;
    }
  }
  node.route = route;
}

function decodeSegment(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw AppError.badRequest('Malformed percent-encoding in the request path.');
  }
}

/** Static first, then a param, then the wildcard, backtracking as find-my-way does. */
function walk<Api>(node: Node<Api>, parts: string[], i: number, end: number, values: string[]): Compiled<Api> | null {
  if (i >= end) {
    if (node.route) return node.route;
    if (node.wildcard) {
      values.push('');
      return node.wildcard;
    }
    return null;
  }
  const raw = parts[i] as string;
  if (raw === '') return null; // "//" never matches
  const segment = decodeSegment(raw);
  const next = node.statics?.get(segment);
  if (next) {
    const found = walk(next, parts, i + 1, end, values);
    if (found) return found;
  }
  if (node.param) {
    values.push(segment);
    const found = walk(node.param, parts, i + 1, end, values);
    if (found) return found;
    values.pop();
  }
  if (node.wildcard) {
    values.push(parts.slice(i, end).map(decodeSegment).join('/'));
    return node.wildcard;
  }
  return null;
}

// --- the Fastify side ------------------------------------------------------------------------------------

interface Matched {
  route: Compiled<unknown>;
  params: Record<string, string>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The custom route this request matched (set by the dispatcher's onRequest). */
    customRoute: Matched | null;
  }
}

function checkGuard(guard: CompiledGuard, auth: AuthState | null): void {
  if (guard === null) return;
  if (guard === 'guest') {
    if (auth) throw AppError.badRequest('The request can be accessed only by guests.');
    return;
  }
  if (guard === 'superuser') {
    if (!auth) throw AppError.unauthorized('The request requires valid superuser authorization token.');
    if (auth.collection.name !== '_superusers') throw AppError.forbidden('The authorized record is not allowed to perform this action.');
    return;
  }
  if (!auth) throw AppError.unauthorized('The request requires valid record authorization token.');
  if (guard === 'any') return;
  if (!guard.collections.has(auth.collection.name) && !guard.collections.has(auth.collection.id)) {
    throw AppError.forbidden('The authorized record is not allowed to perform this action.');
  }
}

/** The `bodyLimit` of the custom route a request matched (the body parser's `limitFor`). */
export function customBodyLimit(req: FastifyRequest): number | undefined {
  return req.customRoute?.route.entry.options.bodyLimit;
}

const SSE_HEADERS = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' };

class Context<Api> implements RouteContext<Api>, RouteRequest, RouteReply {
  /** Set once the timeout answered: everything the handler does afterwards is discarded. */
  expired = false;
  /** Stops the timeout clock (once something is sent, the handler's time no longer counts). */
  onStream: (() => void) | null = null;
  private apiValue: Api | undefined;
  private apiBuilt = false;
  private controller: AbortController | null = null;
  private infoValue: RequestInfo | null = null;
  private queryValue: Record<string, string> | null = null;
  private hijacked = false;

  constructor(
    private readonly appRef: App,
    private readonly req: FastifyRequest,
    private readonly fastifyReply: FastifyReply,
    readonly params: Record<string, string>,
    private readonly makeApi: RouteApiFactory<Api> | undefined,
  ) {}

  // RouteContext
  get request(): RouteRequest {
    return this;
  }
  get reply(): RouteReply {
    return this;
  }
  get app(): Api {
    if (!this.apiBuilt) {
      this.apiValue = this.makeApi ? this.makeApi(this.appRef, this) : (this.appRef as unknown as Api);
      this.apiBuilt = true;
    }
    return this.apiValue as Api;
  }
  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.expired) controller.abort(timeoutError('a custom route'));
      else {
        // The response's 'close' (not the request's, which fires once the body was read): before it finished
        // means the client went away.
        const res = this.fastifyReply.raw;
        res.once('close', () => {
          if (!res.writableFinished) controller.abort(new Error('the client went away'));
        });
      }
    }
    return this.controller.signal;
  }
  expire(err: Error): void {
    this.expired = true;
    this.controller?.abort(err);
  }

  // RouteRequest
  get method(): string {
    return this.req.method;
  }
  get path(): string {
    const url = this.req.url;
    const q = url.indexOf('?');
    return q < 0 ? url : url.slice(0, q);
  }
  get query(): Record<string, string> {
    return (this.queryValue ??= queryOf(this.req));
  }
  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }
  get body(): Record<string, unknown> {
    return requestBody(this.req).data;
  }
  get files(): readonly UploadedFile[] {
    return requestBody(this.req).files;
  }
  get auth(): AuthState | null {
    return this.req.auth;
  }
  get ip(): string {
    return clientIp(this.req, this.appRef.settings.get());
  }
  get info(): RequestInfo {
    return (this.infoValue ??= buildRequestInfo(this.req, this.req.auth));
  }
  get raw(): IncomingMessage {
    return this.req.raw;
  }

  get isHijacked(): boolean {
    return this.hijacked;
  }

  // RouteReply
  get sent(): boolean {
    return this.hijacked || this.fastifyReply.sent;
  }
  status(code: number): RouteReply {
    if (!this.expired && !this.sent) void this.fastifyReply.code(code);
    return this;
  }
  header(name: string, value: string | number | readonly string[]): RouteReply {
    if (!this.expired && !this.sent) void this.fastifyReply.header(name, value);
    return this;
  }
  json(body: unknown, status?: number): void {
    if (this.expired || this.sent) return;
    if (status !== undefined) void this.fastifyReply.code(status);
    this.onStream?.();
    void this.fastifyReply.type('application/json; charset=utf-8').send(body === undefined ? null : body);
  }
  send(body: string | Buffer | Uint8Array | NodeJS.ReadableStream | ReadableStream, contentType?: string): void {
    if (this.expired || this.sent) return;
    const type = contentType ?? (typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream');
    if (contentType || !this.fastifyReply.hasHeader('content-type')) void this.fastifyReply.type(type);
    this.onStream?.();
    void this.fastifyReply.send(body);
  }
  redirect(url: string, status = 302): void {
    if (this.expired || this.sent) return;
    this.onStream?.();
    void this.fastifyReply.redirect(url, status);
  }
  hijack(): ServerResponse {
    if (this.expired) throw timeoutError('a custom route');
    if (this.sent) throw new Error('The reply was already sent.');
    this.hijacked = true;
    this.onStream?.();
    this.fastifyReply.hijack();
    const res = this.fastifyReply.raw;
    res.once('finish', () => logRequest(this.appRef, this.req, res.statusCode));
    res.once('close', () => recordRequest(this.appRef, this.req, res.statusCode));
    return res;
  }
  sse(): SseStream {
    const headers = { ...this.fastifyReply.getHeaders(), ...SSE_HEADERS } as Record<string, string>;
    const res = this.hijack();
    const socket = this.req.raw.socket;
    res.writeHead(200, headers);
    socket.setNoDelay(true);
    res.write(':\n\n');
    let closed = false;
    const listeners: Array<() => void> = [];
    const finish = () => {
      if (closed) return;
      closed = true;
      for (const fn of listeners.splice(0)) {
        try {
          fn();
        } catch (err) {
          this.appRef.logger.error({ err }, 'custom route SSE close handler failed');
        }
      }
    };
    res.once('close', finish);
    const write = (frame: string) => {
      if (closed || res.destroyed) return false;
      res.write(frame);
      return true;
    };
    return {
      send: (data, options = {}) => {
        const text = typeof data === 'string' ? data : JSON.stringify(data ?? null);
        let frame = '';
        if (options.id !== undefined) frame += `id:${String(options.id).replace(/[\r\n]/g, '')}\n`;
        if (options.event !== undefined) frame += `event:${String(options.event).replace(/[\r\n]/g, '')}\n`;
        for (const line of text.split(/\r\n|\r|\n/)) frame += `data:${line}\n`;
        return write(`${frame}\n`);
      },
      comment: (text = '') => write(`:${text.replace(/[\r\n]/g, ' ')}\n\n`),
      close: () => {
        if (!closed && !res.writableEnded) res.end();
        finish();
      },
      get closed() {
        return closed;
      },
      onClose: (fn) => {
        if (closed) fn();
        else listeners.push(fn);
      },
    };
  }

  /** Sends what the handler returned (unless it sent something itself). */
  respond(value: unknown): FastifyReply | undefined {
    const reply = this.fastifyReply;
    if (this.hijacked) return undefined;
    if (reply.sent) return reply;
    if (value === undefined) {
      if (reply.statusCode === 200) void reply.code(204);
      return reply.send();
    }
    if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
      if (!reply.hasHeader('content-type')) void reply.type('application/octet-stream');
      return reply.send(value);
    }
    if (isNodeStream(value) || isWebStream(value)) {
      if (!reply.hasHeader('content-type')) void reply.type('application/octet-stream');
      return reply.send(value);
    }
    if (typeof Response !== 'undefined' && value instanceof Response) return reply.send(value);
    void reply.type('application/json; charset=utf-8');
    // Fastify sends a string payload as is: a returned string must still become a JSON string.
    return reply.send(typeof value === 'string' ? JSON.stringify(value) : value);
  }
}

function isNodeStream(v: unknown): v is NodeJS.ReadableStream {
  return typeof v === 'object' && v !== null && typeof (v as { pipe?: unknown }).pipe === 'function' && typeof (v as { on?: unknown }).on === 'function';
}

function isWebStream(v: unknown): v is ReadableStream {
  return typeof ReadableStream !== 'undefined' && v instanceof ReadableStream;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Runs the handler within `ms` of user-code time (0 = no limit). A synchronous result needs no timer; once
 * something was sent (a stream, an SSE stream, a hijack, a reply) the clock stops.
 */
function runHandler<Api>(ctx: Context<Api>, entry: RouteEntry<Api>, ms: number): unknown {
  const value = entry.handler(ctx);
  if (!isThenable(value)) return value;
  if (!(ms > 0) || !Number.isFinite(ms) || ctx.sent) return value;
  return new Promise((resolve, reject) => {
    let settled = false;
    const clock = new Countdown(ms, () => {
      settled = true;
      const err = timeoutError(`custom route ${describeRoute(entry)}`);
      ctx.expire(err);
      reject(err);
    });
    ctx.onStream = () => clock.stop();
    value.then(
      (result) => {
        if (settled) return;
        settled = true;
        clock.stop();
        resolve(result);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clock.stop();
        reject(err);
      },
    );
  });
}

/**
 * Registers the dispatcher for `registry` on `server` (after the built-in routes, whose list `builtins` is);
 * `makeApi` builds the handlers' `c.app` (default: the registry's `api`, else the App).
 */
export function registerCustomRoutes<Api>(
  server: FastifyInstance,
  app: App,
  registry: RouteRegistry<Api>,
  makeApi?: RouteApiFactory<Api>,
  builtins: BuiltinRoute[] = [],
  /** Answers a GET or HEAD that no custom route takes (the public files); default a 404. */
  fallback?: (req: FastifyRequest, reply: FastifyReply) => unknown,
): void {
  registry.attach(builtins);
  /** The route for the request (404 when none), its guard checked (401/403/400). */
  const matchRequest = (req: FastifyRequest): Matched => {
    const url = req.url;
    const q = url.indexOf('?');
    const found = registry.match(req.method === 'HEAD' ? 'GET' : req.method, q < 0 ? url : url.slice(0, q)) as Matched | null;
    if (!found) throw AppError.notFound();
    checkGuard(found.route.guard, req.auth);
    req.customRoute = found;
    return found;
  };
  const limit = (req: FastifyRequest, found: Matched): void | Promise<void> => {
    const tag = found.route.entry.options.rateLimit;
    return tag === undefined ? undefined : server.rateLimiter.checkCustomTag(req, tag);
  };
  const handle = async (req: FastifyRequest, reply: FastifyReply, matched: Matched): Promise<unknown> => {
    const entry = matched.route.entry as RouteEntry<Api>;
    const ctx = new Context<Api>(app, req, reply, matched.params, makeApi ?? registry.api);
    let value: unknown;
    try {
      value = runHandler(ctx, entry, entry.options.timeout ?? app.hooks.requestTimeout);
      if (isThenable(value)) value = await value;
    } catch (err) {
      if (!ctx.sent) throw err; // the error handler answers it
      // Too late for an error answer (a stream or a reply was already sent): log it and end the response.
      app.logger.error({ err, method: req.method, url: req.url.split('?')[0] }, 'custom route failed after its response started');
      if (!reply.raw.writableEnded) reply.raw.end();
      return ctx.isHijacked ? undefined : reply;
    }
    return ctx.respond(value);
  };

  // GET (and HEAD, answered by the GET routes) has no body to guard: matching in the handler saves a hook stage
  // per request. GET and HEAD as one route: Fastify's automatic HEAD route would replace the Content-Length.
  server.route({
    method: ['GET', 'HEAD'],
    url: '/*',
    handler: async (req, reply) => {
      if (fallback) {
        const q = req.url.indexOf('?');
        if (!registry.match('GET', q < 0 ? req.url : req.url.slice(0, q))) return fallback(req, reply);
      }
      const found = matchRequest(req);
      const limiting = limit(req, found);
      if (limiting) await limiting;
      return handle(req, reply, found);
    },
  });
  // Methods with a body: matched before it is read, so unknown paths are a 404 and refused callers (guard,
  // rate limit) never make the server read a body; the route's bodyLimit then applies to the parsing.
  server.route({
    method: ['POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/*',
    onRequest: (req, _reply, done) => {
      let found: Matched;
      let limiting: void | Promise<void>;
      try {
        found = matchRequest(req);
        limiting = limit(req, found);
      } catch (err) {
        return done(err as Error);
      }
      if (limiting)
        limiting.then(
          () => done(),
          (err: Error) => done(err),
        );
      else done();
    },
    handler: (req, reply) => handle(req, reply, req.customRoute as Matched),
  });
}
