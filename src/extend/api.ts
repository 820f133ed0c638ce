/**
 * The app API hook files receive (`PlinthApp`): every `Hook` of the HookBus as `app.onX(handler, ...tags)`,
 * records of any collection as a caller (rules apply) or as the system (rules bypassed), transactions that
 * later calls join, mail, realtime, settings (read-only), a logger, cron, and the providers other modules
 * add (routes, jobs, outbound HTTP).
 *
 * One API object exists per (hook file, executor): `e.app` inside a record hook is bound to the event's
 * transaction, so everything done through it joins that transaction; `app.transaction(fn)` hands `fn`
 * one bound to the new transaction (nested: a savepoint). Registrations belong to the file's `Scope`, so
 * `--dev` can unbind a file's previous generation and bind the next one in one synchronous step.
 */
import { Cron } from 'croner';
import type { App } from '../app.js';
import type { Collection } from '../collections/model.js';
import type { Executor } from '../db/dialect.js';
import { AppError } from '../errors/index.js';
import { Hook, type HookBus, type HookHandler } from '../hooks/index.js';
import { escapeHtml, htmlToText } from '../mail/index.js';
import { parseListParams } from '../records/query.js';
import { systemRequest } from '../records/system-request.js';
import { guestRequest, type AuthState, type RequestInfo } from '../rules/request-info.js';
import type { Settings } from '../settings/index.js';
import type { InboundOptions } from '../webhooks/index.js';
import type { RouteOpenApi } from '../openapi/index.js';
import { formatDateTime } from '../util/datetime.js';
import type { Logger } from '../util/logger.js';
import type { CollectionRecords } from '../index.js';

// ---------------------------------------------------------------------------------------------------
// Providers: modules built beside this one (routes, jobs, outbound HTTP). Small structural interfaces so
// this file does not depend on them; src/cli wires the real ones in.

export type RouteMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** A route handler: its context is the custom-routes module's (`c.request`, `c.reply`, `c.app`). */
export type RouteHandlerLike = (c: any) => unknown;
/** The options of `app.routes.*` (docs/routes.md). */
export interface RouteOptionsLike {
  /** Who may call the route: 'public' (default), 'guest', 'any', 'superuser' or `{ collection: 'users' }`. */
  auth?: 'public' | 'guest' | 'any' | 'superuser' | { collection: string | readonly string[] };
  /** A settings.rateLimits label applied to the route (e.g. 'shop:checkout'). */
  rateLimit?: string;
  /** Max request body bytes. */
  bodyLimit?: number;
  /** User-code timeout in ms (0 = none). */
  timeout?: number;
  /** How the route appears in GET /api/openapi.json (docs/openapi.md); without it, a minimal entry. */
  openapi?: RouteOpenApi;
}
export type RouteRegistryLike = Record<RouteMethod, (path: string, handler: RouteHandlerLike, options?: any) => unknown> & {
  source?: string | undefined;
  /** Replaces a registered route's `openapi` option (`check`: validate only). */
  describe?(method: string, path: string, openapi: RouteOpenApi | undefined, check?: boolean): boolean;
};

export interface JobContextLike<P = unknown> {
  id: string;
  name: string;
  payload: P;
  attempt: number;
  signal: AbortSignal;
}
export interface JobQueueLike {
  define(name: string, handler: (job: JobContextLike<any>) => unknown, options?: Record<string, unknown>): void;
  enqueue(name: string, payload: unknown, options?: Record<string, unknown>): Promise<{ id: string; created: boolean }>;
}
export interface HttpClientLike {
  fetch(url: string | URL, init?: RequestInit & { timeout?: number; retries?: number }): Promise<Response>;
}

export interface Providers {
  routes?: RouteRegistryLike;
  jobs?: JobQueueLike;
  http?: HttpClientLike;
}

// ---------------------------------------------------------------------------------------------------
// Public types

/** A record as the API hands it out: PocketBase's public JSON shape (`expand` when asked). */
export interface RecordModel {
  id: string;
  collectionId: string;
  collectionName: string;
  [field: string]: unknown;
}

/** The record type of collection `K`: from `CollectionRecords` (typegen) when known, else RecordModel. */
export type RecordOf<K> = K extends keyof CollectionRecords ? CollectionRecords[K] & RecordModel : RecordModel;

export interface ListOptions {
  /** PocketBase's filter language; `{:name}` placeholders are bound from `params`. */
  filter?: string;
  params?: Record<string, unknown>;
  sort?: string;
  page?: number;
  perPage?: number;
  expand?: string;
  skipTotal?: boolean;
}

export interface ListResult<R> {
  items: R[];
  page: number;
  perPage: number;
  totalItems: number;
  totalPages: number;
}

/**
 * Who a record call acts for: `null` (a guest), a request's auth state or request info (`e.request`,
 * `c.request.auth`), or an auth record (`{ collectionId | collectionName, id }`, loaded fresh).
 */
export type Caller = null | undefined | { auth: AuthState | null } | AuthState | { id: string; collectionId?: string; collectionName?: string };

export interface RecordsApi<R = RecordModel> {
  /** One record by id (404 when missing or hidden from the caller). */
  find(id: string, options?: { expand?: string }): Promise<R>;
  list(options?: ListOptions): Promise<ListResult<R>>;
  /** The first record matching `filter`, or null. */
  first(filter: string, params?: Record<string, unknown>): Promise<R | null>;
  create(data: Partial<R> | Record<string, unknown>): Promise<R>;
  update(id: string, data: Partial<R> | Record<string, unknown>): Promise<R>;
  delete(id: string): Promise<void>;
  /** The same calls with the rules bypassed (Plinth itself acting). */
  asSystem(): RecordsApi<R>;
  /** The same calls as `caller`: its collection rules apply (list filtered, view/update/delete 404, create 400). */
  as(caller: Caller): RecordsApi<R>;
}

export interface MailInput {
  to: string;
  subject: string;
  /** At least one of html / text; the other is derived. */
  html?: string;
  text?: string;
}

/** A hook event as user code sees it: the event's fields plus `next()` and `app`. */
export type HookEvent<E> = Omit<E, 'tx'> & {
  /** Continues the chain (and, at its end, the operation itself). Call it once. */
  next(): Promise<void>;
  /** The app API; inside a record hook it is bound to the write's transaction. */
  app: PlinthApp;
};

type HookName = { [K in keyof HookBus]: HookBus[K] extends Hook<any> ? K : never }[keyof HookBus];
type EventOf<K extends HookName> = HookBus[K] extends Hook<infer E> ? E : never;

/** `app.onRecordCreate(handler, ...collections)` and so on: one method per hook of the bus. */
export type HookMethods = {
  [K in HookName]: (handler: (e: HookEvent<EventOf<K>>) => unknown, ...tags: string[]) => void;
};

export interface PlinthApp extends HookMethods {
  /** Records of one collection; calls run as a guest until `.as(caller)` or `.asSystem()` say otherwise. */
  records<K extends keyof CollectionRecords | (string & {})>(collection: K): RecordsApi<RecordOf<K>>;
  /** Rules bypassed, explicitly: `app.system.records('posts')` = `app.records('posts').asSystem()`. */
  readonly system: { records<K extends keyof CollectionRecords | (string & {})>(collection: K): RecordsApi<RecordOf<K>> };
  /** Runs `fn` in a transaction; everything done through `txApp` joins it. Nested calls are savepoints. */
  transaction<T>(fn: (txApp: PlinthApp) => Promise<T>): Promise<T>;
  /** Whether this object is bound to a transaction. */
  readonly inTransaction: boolean;
  readonly mail: { send(message: MailInput): Promise<void> };
  readonly realtime: { publish(topic: string, data: unknown): void };
  /** A read-only copy of the settings, secrets removed. */
  settings(): DeepReadonly<Settings>;
  readonly logger: Logger;
  readonly cron: { add(id: string, expression: string, fn: () => unknown): void; remove(id: string): void };
  readonly jobs: {
    define<P = unknown>(name: string, handler: (job: JobContextLike<P>) => unknown, options?: Record<string, unknown>): void;
    enqueue<P = unknown>(name: string, payload: P, options?: Record<string, unknown>): Promise<{ id: string; created: boolean }>;
  };
  readonly http: HttpClientLike;
  /**
   * Webhooks (docs/webhooks.md): `emit` a custom event to the endpoints that subscribe to it (inside a
   * transaction-bound API object, e.g. a record hook's `e.app`, only if that transaction commits), and
   * `inbound(name, options)` to receive verified webhooks at `POST /api/webhooks/inbound/{name}`.
   */
  readonly webhooks: {
    emit(type: string, payload: unknown): Promise<string[]>;
    inbound(name: string, options: InboundOptions): void;
  };
  readonly routes: Record<RouteMethod, (path: string, handler: RouteHandlerLike, options?: RouteOptionsLike) => void>;
}

type DeepReadonly<T> = { readonly [K in keyof T]: T[K] extends object ? DeepReadonly<T[K]> : T[K] };

// ---------------------------------------------------------------------------------------------------
// Scopes: what one hook file registered.

/** Record hooks whose handler must call `next()` (else the write would silently not happen). */
const MUST_CALL_NEXT = new Set(['onRecordCreate', 'onRecordUpdate', 'onRecordDelete']);

export class Scope {
  private pending: Array<() => () => void> = [];
  private disposers: Array<() => void> = [];
  state: 'collecting' | 'active' | 'disposed' = 'collecting';
  readonly root: AppApi;

  constructor(
    readonly ctx: ExtensionContext,
    /** Path relative to the hooks dir (messages). */
    readonly file: string,
    readonly priority: number,
  ) {
    this.root = new AppApi(ctx, this, ctx.app.db);
  }

  /** Registers something: bound at once when active, at `activate()` while collecting, never once disposed. */
  add(bind: () => () => void): void {
    if (this.state === 'active') this.disposers.push(bind());
    else if (this.state === 'collecting') this.pending.push(bind);
    else this.ctx.logger.warn({ file: this.file }, 'hooks: a reloaded file registered something after it was replaced; ignored');
  }

  activate(): void {
    this.state = 'active';
    const pending = this.pending;
    this.pending = [];
    for (const bind of pending) this.disposers.push(bind());
  }

  dispose(): void {
    this.state = 'disposed';
    this.pending = [];
    for (const d of this.disposers.reverse()) {
      try {
        d();
      } catch (err) {
        this.ctx.logger.warn({ err, file: this.file }, 'hooks: could not unregister');
      }
    }
    this.disposers = [];
  }
}

/** Shared by every API object of one loaded hooks directory. */
export class ExtensionContext {
  /** Custom routes: one registration per method+path at the registry, dispatching to the current handler. */
  readonly routeTargets = new Map<string, { scope: Scope; handler: RouteHandlerLike }>();
  readonly jobTargets = new Map<string, { scope: Scope; handler: (job: JobContextLike<any>) => unknown }>();
  private readonly registeredRoutes = new Set<string>();
  private readonly watchdog: Watchdog | null;
  private readonly definedJobs = new Set<string>();

  constructor(
    readonly app: App,
    readonly providers: Providers,
    readonly logger: Logger,
    /** Upper bound for one hook handler (and what it awaits); 0 = none. */
    readonly hookTimeoutMs: number,
  ) {
    installHookMethods(app.hooks);
    this.watchdog = hookTimeoutMs > 0 ? new Watchdog(hookTimeoutMs) : null;
  }

  get jobsProvider(): JobQueueLike | undefined {
    return this.providers.jobs ?? (this.app as unknown as { jobs?: JobQueueLike }).jobs;
  }

  get httpProvider(): HttpClientLike | undefined {
    return this.providers.http ?? (this.app as unknown as { http?: HttpClientLike }).http;
  }

  bindHook(scope: Scope, name: string, handler: (e: any) => unknown, tags: string[]): void {
    const hook = (this.app.hooks as unknown as Record<string, unknown>)[name];
    if (!(hook instanceof Hook)) throw new TypeError(`app.${name} is not a hook`);
    if (typeof handler !== 'function') throw new TypeError(`app.${name}(handler): handler must be a function`);
    for (const t of tags) if (typeof t !== 'string' || t === '') throw new TypeError(`app.${name}: collection names must be non-empty strings`);
    const wrapped = this.wrap(scope, name, handler);
    scope.add(() => {
      const id = hook.bind(wrapped, { priority: scope.priority, ...(tags.length ? { tags } : {}) });
      return () => hook.unbind(id);
    });
  }

  /** The user handler as a bus handler: `e` = the event plus next/app, a time bound, and the next() check. */
  private wrap(scope: Scope, name: string, handler: (e: any) => unknown): HookHandler<any> {
    const mustCallNext = MUST_CALL_NEXT.has(name);
    const watchdog = this.watchdog;
    const db = this.app.db;
    return async (event: { tx?: Executor }, next) => {
      let called = false;
      let rest: Promise<void> | undefined;
      const nextOnce = () => {
        called = true;
        return (rest = next());
      };
      const api = event.tx && event.tx !== db ? scope.root.withExec(event.tx) : scope.root;
      const e = new Proxy(event, {
        get: (target, prop, receiver) => (prop === 'next' ? nextOnce : prop === 'app' ? api : Reflect.get(target, prop, receiver)),
      });
      try {
        const run = handler(e);
        if (run && typeof (run as Promise<unknown>).then === 'function') {
          await (watchdog ? watchdog.bound(run as Promise<unknown>, name, scope.file) : run);
        }
      } catch (err) {
        // The handler's error is the one that counts; the chain it may have started must not go unhandled.
        rest?.catch(() => undefined);
        throw err;
      }
      // A handler that called e.next() without awaiting or returning it: the rest of the chain (the write
      // itself) still finishes before the transaction may go on.
      if (rest) await rest;
      if (mustCallNext && !called) {
        throw new Error(`${name} handler in ${scope.file} returned without calling e.next() (throw an ApiError to refuse the write)`);
      }
    };
  }

  registerRoute(scope: Scope, method: RouteMethod, path: string, handler: RouteHandlerLike, options?: RouteOptionsLike): void {
    const registry = this.providers.routes;
    if (!registry) throw notAvailable('app.routes', 'custom routes');
    if (typeof handler !== 'function') throw new TypeError(`app.routes.${method}(path, handler): handler must be a function`);
    const key = `${method.toUpperCase()} ${path}`;
    if (!this.registeredRoutes.has(key)) {
      // Registered once with a trampoline, so a reloaded file can swap the handler behind it.
      registry.source = scope.file;
      registry[method](
        path,
        (c: unknown) => {
          const target = this.routeTargets.get(key);
          if (!target) throw AppError.notFound();
          return target.handler(c);
        },
        options,
      );
      this.registeredRoutes.add(key);
    } else registry.describe?.(method, path, options?.openapi, true); // a reload: a bad option fails the file now
    // The document follows the generation that serves the route (and drops a route no generation serves).
    const openapi = options?.openapi;
    scope.add(() => {
      this.routeTargets.set(key, { scope, handler });
      registry.describe?.(method, path, openapi);
      return () => {
        if (this.routeTargets.get(key)?.scope !== scope) return;
        this.routeTargets.delete(key);
        registry.describe?.(method, path, { ...openapi, exclude: true });
      };
    });
  }

  /** Which scope's registration of an inbound webhook name is the current one (a reload replaces it). */
  private readonly inboundOwners = new Map<string, Scope>();

  registerInbound(scope: Scope, name: string, options: InboundOptions): void {
    scope.add(() => {
      this.app.webhooks.inbound(name, options);
      this.inboundOwners.set(name, scope);
      return () => {
        if (this.inboundOwners.get(name) !== scope) return;
        this.inboundOwners.delete(name);
        this.app.webhooks.removeInbound(name);
      };
    });
  }

  defineJob(scope: Scope, name: string, handler: (job: JobContextLike<any>) => unknown, options?: Record<string, unknown>): void {
    const jobs = this.jobsProvider;
    if (!jobs) throw notAvailable('app.jobs', 'the job queue');
    if (typeof handler !== 'function') throw new TypeError('app.jobs.define(name, handler): handler must be a function');
    if (!this.definedJobs.has(name)) {
      jobs.define(
        name,
        (job) => {
          const target = this.jobTargets.get(name);
          if (!target) throw new Error(`job "${name}" has no handler (its hook file was removed)`);
          return target.handler(job);
        },
        options,
      );
      this.definedJobs.add(name);
    }
    scope.add(() => {
      this.jobTargets.set(name, { scope, handler });
      return () => {
        if (this.jobTargets.get(name)?.scope === scope) this.jobTargets.delete(name);
      };
    });
  }
}

function notAvailable(what: string, feature: string): Error {
  return new Error(`${what} is not available: this Plinth was started without ${feature}`);
}

interface Inflight {
  deadline: number;
  reject: (err: unknown) => void;
  what: string;
}

/**
 * The time bound of hook handlers: one unref'd watchdog timer per context checks the handlers in flight,
 * instead of a timer per call (a create with a hook bound stays within a few µs of one without).
 */
class Watchdog {
  private readonly inflight = new Set<Inflight>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly ms: number) {}

  /** `p`, or a rejection (503) once it has run longer than the limit; the handler itself keeps running. */
  bound<T>(p: Promise<T>, name: string, file: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Inflight = { deadline: Date.now() + this.ms, reject, what: `${name} handler in ${file}` };
      this.inflight.add(entry);
      if (!this.timer) {
        this.timer = setInterval(() => this.check(), Math.max(10, Math.min(1000, this.ms / 2)));
        this.timer.unref();
      }
      p.then(
        (v) => {
          this.inflight.delete(entry);
          resolve(v);
        },
        (err) => {
          this.inflight.delete(entry);
          reject(err);
        },
      );
    });
  }

  private check(): void {
    const now = Date.now();
    for (const entry of this.inflight) {
      if (entry.deadline > now) continue;
      this.inflight.delete(entry);
      entry.reject(
        new AppError('unavailable', 'A server hook did not finish in time.', undefined, { cause: new Error(`${entry.what} ran longer than ${this.ms} ms`) }),
      );
    }
    if (this.inflight.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

let installedOn: object | null = null;

/** Puts `onX(handler, ...tags)` on AppApi's prototype for every Hook property of the bus (once). */
function installHookMethods(bus: HookBus): void {
  if (installedOn) return;
  installedOn = bus;
  for (const name of Object.keys(bus)) {
    if (!((bus as unknown as Record<string, unknown>)[name] instanceof Hook)) continue;
    Object.defineProperty(AppApi.prototype, name, {
      configurable: true,
      value(this: AppApi, handler: (e: unknown) => unknown, ...tags: string[]) {
        this.scope.ctx.bindHook(this.scope, name, handler, tags);
      },
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// The API object

export class AppApi {
  constructor(
    readonly ctx: ExtensionContext,
    readonly scope: Scope,
    readonly exec: Executor,
  ) {}

  /** The same API bound to another executor (a transaction). */
  withExec(exec: Executor): AppApi {
    return exec === this.exec ? this : new AppApi(this.ctx, this.scope, exec);
  }

  get inTransaction(): boolean {
    return this.exec !== this.ctx.app.db;
  }

  records(collection: string): RecordsApiImpl {
    return new RecordsApiImpl(this, collection, null);
  }

  get system() {
    return { records: (collection: string) => new RecordsApiImpl(this, collection, SYSTEM) };
  }

  transaction<T>(fn: (txApp: AppApi) => Promise<T>): Promise<T> {
    return this.exec.transaction((tx) => fn(this.withExec(tx)));
  }

  get mail() {
    return {
      send: async (message: MailInput): Promise<void> => {
        const m = mailMessage(message);
        // Inside a transaction the mail goes once it commits (and not at all if it rolls back).
        if (this.inTransaction) {
          this.exec.afterCommit(
            () => void this.ctx.app.mailer.send(m).catch((err) => this.ctx.logger.error({ err, file: this.scope.file }, 'hooks: mail after commit failed')),
          );
          return;
        }
        await this.ctx.app.mailer.send(m);
      },
    };
  }

  get realtime() {
    return {
      publish: (topic: string, data: unknown): void => {
        if (typeof topic !== 'string' || topic === '') throw new TypeError('app.realtime.publish(topic, data): topic must be a non-empty string');
        this.exec.afterCommit(() => void this.ctx.app.realtime.publish(topic, data));
      },
    };
  }

  settings(): Readonly<Record<string, unknown>> {
    return deepFreeze(this.ctx.app.settings.redacted());
  }

  get logger(): Logger {
    return this.ctx.logger;
  }

  get cron() {
    const { app } = this.ctx;
    return {
      add: (id: string, expression: string, fn: () => unknown): void => {
        if (typeof fn !== 'function') throw new TypeError('app.cron.add(id, expression, fn): fn must be a function');
        // Checked now (a bad id or expression is the caller's error), bound with the file's generation.
        if (typeof id !== 'string' || !/^[\w.:-]{1,100}$/.test(id)) throw new TypeError(`app.cron.add: invalid job id "${String(id).slice(0, 100)}"`);
        try {
          new Cron(String(expression).trim(), { paused: true, utcOffset: 0 }).stop();
        } catch (err) {
          throw new TypeError(`app.cron.add: invalid cron expression "${String(expression).slice(0, 100)}": ${(err as Error).message}`);
        }
        this.scope.add(() => {
          app.cron.add(id, expression, async () => void (await fn()));
          return () => {
            if (app.cron.list().some((j) => j.id === id)) app.cron.remove(id);
          };
        });
      },
      remove: (id: string): void => app.cron.remove(id),
    };
  }

  get jobs() {
    return {
      define: (name: string, handler: (job: JobContextLike<any>) => unknown, options?: Record<string, unknown>): void =>
        this.ctx.defineJob(this.scope, name, handler, options),
      enqueue: (name: string, payload: unknown, options: Record<string, unknown> = {}): Promise<{ id: string; created: boolean }> => {
        const jobs = this.ctx.jobsProvider;
        if (!jobs) return Promise.reject(notAvailable('app.jobs', 'the job queue'));
        // Inside a transaction the job is part of it: it exists only if the transaction commits.
        return jobs.enqueue(name, payload, this.inTransaction ? { ...options, tx: this.exec } : options);
      },
    };
  }

  get http(): HttpClientLike {
    return {
      fetch: (url, init) => {
        const http = this.ctx.httpProvider;
        if (!http) return Promise.reject(notAvailable('app.http', 'the outbound HTTP client'));
        return http.fetch(url, init);
      },
    };
  }

  get webhooks() {
    return {
      emit: (type: string, payload: unknown): Promise<string[]> =>
        // Inside a transaction the message is part of it: it exists (and is sent) only if the transaction commits.
        this.ctx.app.webhooks.emit(type, payload, this.inTransaction ? { tx: this.exec } : {}),
      inbound: (name: string, options: InboundOptions): void => this.ctx.registerInbound(this.scope, name, options),
    };
  }

  get routes(): Record<RouteMethod, (path: string, handler: RouteHandlerLike, options?: RouteOptionsLike) => void> {
    const reg = (method: RouteMethod) => (path: string, handler: RouteHandlerLike, options?: RouteOptionsLike) =>
      this.ctx.registerRoute(this.scope, method, path, handler, options);
    return { get: reg('get'), post: reg('post'), put: reg('put'), patch: reg('patch'), delete: reg('delete') };
  }
}

const SYSTEM = Symbol('system');

class RecordsApiImpl {
  constructor(
    private readonly api: AppApi,
    private readonly name: string,
    private readonly caller: Caller | typeof SYSTEM,
  ) {
    if (typeof name !== 'string' || name === '') throw new TypeError('app.records(name): name must be a collection name or id');
  }

  asSystem(): RecordsApiImpl {
    return new RecordsApiImpl(this.api, this.name, SYSTEM);
  }

  as(caller: Caller): RecordsApiImpl {
    return new RecordsApiImpl(this.api, this.name, caller ?? null);
  }

  private get app(): App {
    return this.api.ctx.app;
  }

  private collection(): Collection {
    return this.app.collections.require(this.name);
  }

  /** The request the rules see: the caller's auth, `@request.method` as the matching HTTP call would have. */
  private async request(method: 'GET' | 'POST' | 'PATCH' | 'DELETE'): Promise<RequestInfo> {
    const caller = this.caller;
    if (caller === SYSTEM) return { ...systemRequest(this.app.collections), method };
    if (caller === null || caller === undefined) return guestRequest({ method });
    if (typeof caller !== 'object') throw new TypeError('app.records(…).as(caller): caller must be an auth record, a request or null');
    if ('auth' in caller && !('record' in caller)) return guestRequest({ method, auth: (caller as { auth: AuthState | null }).auth ?? null });
    if ('record' in caller && 'collection' in caller) return guestRequest({ method, auth: caller as AuthState });
    const ref = caller as { id?: unknown; collectionId?: unknown; collectionName?: unknown };
    const col = this.app.collections.find(String(ref.collectionId ?? ref.collectionName ?? ''));
    if (!col || col.type !== 'auth' || typeof ref.id !== 'string') {
      throw new TypeError('app.records(…).as(caller): caller must be an auth record (with id and collectionId), a request auth or null');
    }
    const record = await this.app.reader.findById(col, ref.id, this.api.exec);
    if (!record) throw AppError.notFound('The caller record was not found.');
    return guestRequest({ method, auth: { collection: col, record } as AuthState });
  }

  private async out(collection: Collection, records: Record<string, unknown>[], expand: string, req: RequestInfo): Promise<any[]> {
    return this.app.reader.serialise(collection, records, expand, req, this.api.exec, false);
  }

  async find(id: string, options: { expand?: string } = {}): Promise<unknown> {
    const collection = this.collection();
    const req = await this.request('GET');
    const record = await this.app.reader.findVisible(collection, String(id), 'viewRule', req, this.api.exec);
    const [out] = await this.out(collection, [record], options.expand ?? '', req);
    return out;
  }

  async list(options: ListOptions = {}): Promise<unknown> {
    const collection = this.collection();
    const req = await this.request('GET');
    const params = parseListParams({
      ...(options.page !== undefined ? { page: String(options.page) } : {}),
      ...(options.perPage !== undefined ? { perPage: String(options.perPage) } : {}),
      ...(options.skipTotal ? { skipTotal: 'true' } : {}),
      sort: options.sort ?? '',
      filter: bindFilterParams(options.filter ?? '', options.params),
      expand: options.expand ?? '',
    });
    return this.app.reader.list(collection, params, req, this.api.exec, '', false);
  }

  async first(filter: string, params?: Record<string, unknown>): Promise<unknown> {
    const res = (await this.list({ filter, ...(params ? { params } : {}), perPage: 1, skipTotal: true })) as ListResult<unknown>;
    return res.items[0] ?? null;
  }

  async create(data: Record<string, unknown>): Promise<unknown> {
    const collection = this.collection();
    const req = await this.request('POST');
    const record = await this.app.writer.create(collection, { data: { ...(data ?? {}) } }, req, this.api.exec);
    const [out] = await this.out(collection, [record], '', req);
    return out;
  }

  async update(id: string, data: Record<string, unknown>): Promise<unknown> {
    const collection = this.collection();
    const req = await this.request('PATCH');
    const record = await this.app.writer.update(collection, String(id), { data: { ...(data ?? {}) } }, req, this.api.exec);
    const [out] = await this.out(collection, [record], '', req);
    return out;
  }

  async delete(id: string): Promise<void> {
    const collection = this.collection();
    const req = await this.request('DELETE');
    await this.app.writer.delete(collection, String(id), req, this.api.exec);
  }
}

/**
 * `{:name}` placeholders → filter literals (PocketBase's bound params). Values become quoted strings,
 * numbers, booleans or null in the filter text, which the filter compiler then binds as SQL parameters;
 * a string that cannot be quoted safely is refused rather than guessed at.
 */
export function bindFilterParams(filter: string, params: Record<string, unknown> | undefined): string {
  if (!filter.includes('{:')) return filter;
  return filter.replace(/\{:(\w+)\}/g, (_m, name: string) => {
    if (!params || !Object.hasOwn(params, name)) throw AppError.badRequest(`Missing filter parameter "${name}".`);
    return filterLiteral(params[name], name);
  });
}

function filterLiteral(value: unknown, name: string): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw AppError.badRequest(`Filter parameter "${name}" is not a finite number.`);
    return String(value);
  }
  const text = value instanceof Date ? formatDateTime(value) : typeof value === 'string' ? value : JSON.stringify(value);
  for (const q of ["'", '"']) {
    if (text.endsWith('\\') || text.includes(`\\${q}`)) continue;
    return q + text.split(q).join(`\\${q}`) + q;
  }
  throw AppError.badRequest(`Filter parameter "${name}" cannot be quoted (a backslash before a quote).`);
}

function mailMessage(input: MailInput): { to: string; subject: string; html: string; text: string } {
  if (!input || typeof input.to !== 'string' || input.to.trim() === '') throw new TypeError('app.mail.send: "to" must be an address');
  if (typeof input.subject !== 'string') throw new TypeError('app.mail.send: "subject" must be a string');
  const html = input.html ?? (input.text !== undefined ? escapeHtml(input.text).replace(/\n/g, '<br>\n') : undefined);
  const text = input.text ?? (input.html !== undefined ? htmlToText(input.html) : undefined);
  if (html === undefined || text === undefined) throw new TypeError('app.mail.send: give "html" or "text"');
  return { to: input.to, subject: input.subject, html, text };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
