/**
 * Outbound webhooks with guaranteed delivery (docs/webhooks.md).
 *
 * - Endpoints live in `_webhooks` (secrets sealed with the SecretBox), cached in memory; every change is
 *   announced on the cluster bus, and on PostgreSQL a cheap version check (count + latest `updated`) every
 *   few seconds catches a missed announcement.
 * - Capture: while at least one enabled endpoint may match a record event, a handler sits on
 *   onRecordCreate/Update/Delete (innermost, right around the SQL write). After the write it evaluates each
 *   matching endpoint's filter against the written row IN the transaction and inserts the `_webhookMessages`
 *   rows (one per endpoint, one statement) through the same transaction: a rolled-back write sends nothing, a
 *   committed one is never lost. That insert is all the capture writes: no job row. With no such endpoint
 *   the handlers are unbound, so the write path is exactly what it is without webhooks (no transaction is even
 *   opened for them).
 * - Delivery (delivery.ts): nodes claim due messages straight from `_webhookMessages` (a lease on the row,
 *   SKIP LOCKED on PostgreSQL), POST them, and record the outcomes in batches; a failed attempt's retry is the
 *   same row with a later `nextAttempt`. A crash after the POST but before its outcome is recorded repeats the
 *   POST (same `webhook-id`): delivery is at-least-once, receivers dedupe on the id.
 */
import type { Collection } from '../collections/model.js';
import type { CollectionStore } from '../collections/store.js';
import type { ClusterBus } from '../cluster/bus.js';
import type { Database, Executor } from '../db/dialect.js';
import { join, sql, type Sql } from '../db/sql.js';
import { AppError, isAppError } from '../errors/index.js';
import type { HookBus, RecordData, RecordEvent } from '../hooks/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Mailer } from '../mail/index.js';
import type { HttpClient } from '../outbound/index.js';
import { parseOutboundUrl } from '../outbound/index.js';
import { canAccessRecord } from '../realtime/access.js';
import { ROOT_ALIAS } from '../records/access.js';
import { publicRecord, virtualRow } from '../records/record-io.js';
import { systemRequest } from '../records/system-request.js';
import { compileFilter, type RequestInfo } from '../rules/index.js';
import { formatDateTime } from '../util/datetime.js';
import type { Logger } from '../util/logger.js';
import { LOWER_ALPHANUMERIC_ALPHABET, randomString } from '../util/random.js';
import { messageId } from './ids.js';
import type { SecretBox } from '../util/secret-box.js';
import { tracer } from '../tracing/index.js';
import { customTypeError, matches, mayMatchRecords, patternError, recordCollectionsOf, TEST_EVENT, type RecordAction } from './events.js';
import { InboundWebhooks, type InboundOptions } from './inbound.js';
import { generateSecret, signStandard } from './signing.js';
import { MessageDelivery, type AttemptOutcome, type MessageRow } from './delivery.js';

/** Svix's schedule: the first attempt at once, then these waits after each failure (8 attempts in all). */
export const DEFAULT_SCHEDULE_MS: readonly number[] = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

export interface WebhookOptions {
  /** Wait before each attempt (the first is usually 0); its length is the number of attempts. */
  scheduleMs?: readonly number[];
  /** An attempt that has no 2xx answer within this many ms fails (default 15,000). */
  timeoutMs?: number;
  /** An endpoint failing without a success for this long is disabled (default 5 days). */
  disableAfterMs?: number;
  /** Deliveries in flight at once on this node (default 32). */
  concurrency?: number;
  /** How often PostgreSQL nodes check the endpoint table for changes they missed (default 5,000 ms). */
  versionCheckMs?: number;
  /** How often a node looks for due messages it was not woken for (ms; App passes its job queue's `pollMs`, default 1000). */
  pollMs?: number;
  /** How long a commit's wake-up or an attempt's outcome waits to share its database write with others (ms, default 5). */
  lingerMs?: number;
  /** A claimed message's lease (ms, renewed while its attempt runs; App passes the job queue's `leaseMs`, default 30,000). */
  leaseMs?: number;
  /** On close, how long attempts in flight may finish before their claims are released (ms; default 5000). */
  shutdownGraceMs?: number;
}

export interface EmitOptions {
  /** Write the messages through this transaction: they exist (and are sent) only if it commits. */
  tx?: Executor;
}

export interface EndpointInfo {
  id: string;
  url: string;
  description: string;
  events: string[];
  filter: string;
  headers: Record<string, string>;
  enabled: boolean;
  disabledReason: string;
  failingSince: string;
  /** How many secrets currently sign (2 during a rotation's overlap). */
  activeSecrets: number;
  created: string;
  updated: string;
}

export interface MessageInfo {
  id: string;
  endpoint: string;
  type: string;
  payload: unknown;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttempt: string;
  created: string;
  updated: string;
}

export interface AttemptInfo {
  id: string;
  message: string;
  attempt: number;
  time: string;
  statusCode: number;
  latencyMs: number;
  response: string;
  error: string;
}

interface Secret {
  secret: string;
  /** ms since epoch after which it no longer signs; null for the current one. */
  expires: number | null;
}

interface Endpoint {
  id: string;
  url: string;
  description: string;
  events: string[];
  filter: string;
  headers: Record<string, string>;
  enabled: boolean;
  secrets: Secret[];
  disabledReason: string;
  failingSince: number | null;
  created: number;
  updated: number;
}

interface EndpointRow {
  id: string;
  url: string;
  description: string;
  events: string;
  filter: string;
  headers: string;
  enabled: number | boolean;
  secrets: string;
  disabledReason: string | null;
  failingSince: number | string | null;
  created: number | string;
  updated: number | string;
}

/** The job name deliveries used before they were claimed straight from the messages (old queued rows are dropped at start). */
export const DELIVER_JOB = 'webhooks.deliver';
const BUS_TOPIC = 'webhooks';
const HOOK_ID = 'plinth:webhooks';
const MAX_URL = 2000;
const MAX_EVENTS = 100;
const MAX_HEADERS = 50;
const MAX_DESCRIPTION = 1000;
const RESERVED_HEADERS = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'content-type',
  'content-length',
  'host',
  'connection',
  'transfer-encoding',
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
const STATUSES = ['pending', 'delivered', 'failed'] as const;

export class WebhookService {
  /**
   * Delivery attempts made on this node (metrics): the endpoint answered 2xx (`delivered`), did not (`failed`:
   * another status, a network error or a timeout), or the message was dropped because its endpoint is
   * disabled or deleted (`dropped`).
   */
  readonly deliveryCounts = { delivered: 0, failed: 0, dropped: 0 };
  private endpoints = new Map<string, Endpoint>();
  /** Enabled endpoints, and per event type the ones whose patterns match it (rebuilt on change). */
  private enabled: Endpoint[] = [];
  private byType = new Map<string, Endpoint[]>();
  private hooked = false;
  /** Create events whose INSERT was allowed to wait for the commit (records/write.ts `deferrable`). */
  private readonly mayBeDeferred = new WeakSet<RecordEvent>();
  private versionTimer: NodeJS.Timeout | null = null;
  private version = '';
  private readonly schedule: number[];
  private readonly timeoutMs: number;
  private readonly disableAfterMs: number;
  private readonly versionCheckMs: number;
  private readonly delivery: MessageDelivery;
  private superReq: RequestInfo | null = null;
  /** Verified inbound webhooks (see inbound.ts). */
  readonly inbounds: InboundWebhooks;

  constructor(
    private readonly deps: {
      db: Database;
      bus: ClusterBus;
      hooks: HookBus;
      collections: CollectionStore;
      jobs: JobQueue;
      http: HttpClient;
      mailer: Mailer;
      logger: Logger;
      box: () => SecretBox;
    },
    options: WebhookOptions = {},
  ) {
    const schedule = options.scheduleMs ?? DEFAULT_SCHEDULE_MS;
    if (schedule.length === 0 || schedule.some((d) => !Number.isFinite(d) || d < 0))
      throw new Error('webhooks: scheduleMs must be a non-empty list of delays ≥ 0.');
    this.schedule = [...schedule];
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.disableAfterMs = options.disableAfterMs ?? 5 * 86_400_000;
    this.versionCheckMs = options.versionCheckMs ?? 5_000;
    this.inbounds = new InboundWebhooks(deps.db, deps.jobs);
    this.delivery = new MessageDelivery({
      db: deps.db,
      nodeId: deps.bus.nodeId,
      shared: deps.bus.shared,
      logger: deps.logger,
      schedule: this.schedule,
      concurrency: options.concurrency ?? 32,
      pollMs: options.pollMs ?? 1000,
      lingerMs: options.lingerMs ?? 5,
      leaseMs: options.leaseMs ?? 30_000,
      shutdownGraceMs: options.shutdownGraceMs ?? 5000,
      attempt: (msg, n, signal) => this.attempt(msg, n, signal),
      recorded: (msg, outcome) => this.recorded(msg, outcome),
    });
  }

  /** Mounts `POST /api/webhooks/inbound/{name}`: verified, deduplicated, handled as a job. */
  inbound(name: string, options: InboundOptions): void {
    this.inbounds.register(name, options);
  }

  /** Unmounts an inbound webhook (its route answers 404 again); a hook file's reload re-registers it. */
  removeInbound(name: string): void {
    this.inbounds.unregister(name);
  }

  // ——— lifecycle ———

  async init(): Promise<void> {
    const { db } = this.deps;
    await db.transaction(async (tx) => {
      if (db.dialect.name === 'postgres') await tx.run(sql`SELECT pg_advisory_xact_lock(7201148903)`);
      await tx.run(sql`CREATE TABLE IF NOT EXISTS "_webhooks" (
        id TEXT PRIMARY KEY NOT NULL,
        url TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        events TEXT NOT NULL,
        filter TEXT NOT NULL DEFAULT '',
        headers TEXT NOT NULL DEFAULT '{}',
        enabled INTEGER NOT NULL DEFAULT 1,
        secrets TEXT NOT NULL,
        "disabledReason" TEXT,
        "failingSince" BIGINT,
        created BIGINT NOT NULL,
        updated BIGINT NOT NULL
      )`);
      await tx.run(sql`CREATE TABLE IF NOT EXISTS "_webhookMessages" (
        id TEXT PRIMARY KEY NOT NULL,
        endpoint TEXT NOT NULL,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        round INTEGER NOT NULL DEFAULT 0,
        "nextAttempt" BIGINT,
        created BIGINT NOT NULL,
        updated BIGINT NOT NULL,
        "lockedBy" TEXT,
        "lockedUntil" BIGINT,
        traceparent TEXT
      )`);
      await tx.run(sql`CREATE INDEX IF NOT EXISTS "_webhookMessages_endpoint" ON "_webhookMessages" (endpoint, created)`);
      await tx.run(sql`CREATE INDEX IF NOT EXISTS "_webhookMessages_status" ON "_webhookMessages" (endpoint, status)`);
      await tx.run(sql`CREATE TABLE IF NOT EXISTS "_webhookAttempts" (
        id TEXT PRIMARY KEY NOT NULL,
        message TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        time BIGINT NOT NULL,
        "statusCode" INTEGER NOT NULL,
        latency INTEGER NOT NULL,
        response TEXT NOT NULL,
        error TEXT NOT NULL
      )`);
      await tx.run(sql`CREATE INDEX IF NOT EXISTS "_webhookAttempts_message" ON "_webhookAttempts" (message, time)`);
      // The capture's table (delivery.ts moveOutbox): one B-tree, appended to, so a write pays one page for it.
      const seq = db.dialect.name === 'postgres' ? sql`seq BIGSERIAL PRIMARY KEY` : sql`seq INTEGER PRIMARY KEY`;
      await tx.run(sql`CREATE TABLE IF NOT EXISTS "_webhookOutbox" (
        ${seq},
        id TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        "nextAttempt" BIGINT NOT NULL,
        created BIGINT NOT NULL,
        traceparent TEXT
      )`);
      await tx.run(sql`CREATE TABLE IF NOT EXISTS "_webhookInbound" (
        name TEXT NOT NULL,
        id TEXT NOT NULL,
        received BIGINT NOT NULL,
        PRIMARY KEY (name, id)
      )`);
    });
    // Tables made before deliveries were claimed from the messages: add the claim columns, drop the old jobs.
    const columns = await db.columnNames('_webhookMessages');
    if (!columns.includes('lockedBy') || !columns.includes('lockedUntil')) {
      const ifMissing = db.dialect.name === 'postgres' ? sql`IF NOT EXISTS ` : sql``;
      await db.transaction(async (tx) => {
        if (!columns.includes('lockedBy')) await tx.run(sql`ALTER TABLE "_webhookMessages" ADD COLUMN ${ifMissing}"lockedBy" TEXT`);
        if (!columns.includes('lockedUntil')) await tx.run(sql`ALTER TABLE "_webhookMessages" ADD COLUMN ${ifMissing}"lockedUntil" BIGINT`);
      });
      await db.run(sql`DELETE FROM "_jobs" WHERE name = ${DELIVER_JOB} AND status IN ('queued', 'running')`);
    }
    // Tables made before traces: the span a message was captured under (tracing on), for its delivery spans.
    if (!columns.includes('traceparent')) {
      const ifMissing = db.dialect.name === 'postgres' ? sql`IF NOT EXISTS ` : sql``;
      await db.run(sql`ALTER TABLE "_webhookMessages" ADD COLUMN ${ifMissing}traceparent TEXT`);
    }
    // The claim's index: only pending messages are in it, so delivered ones cost it nothing.
    await db.run(sql`CREATE INDEX IF NOT EXISTS "_webhookMessages_due" ON "_webhookMessages" ("nextAttempt") WHERE status = 'pending'`);
    this.deps.bus.onMessage((m) => {
      if (m.topic === BUS_TOPIC) void this.reload().catch((err) => this.deps.logger.error({ err }, 'webhooks: could not reload the endpoints'));
    });
    await this.delivery.start();
    await this.reload();
    if (this.deps.bus.shared) {
      this.versionTimer = setInterval(() => void this.checkVersion(), this.versionCheckMs);
      this.versionTimer.unref();
    }
  }

  /** Delivers on this node (the default). */
  resumeDelivery(): void {
    this.delivery.resume();
  }

  /** Stops delivering on this node (messages keep being captured; other nodes, or resumeDelivery, send them). */
  pauseDelivery(): void {
    this.delivery.pause();
  }

  /** Stops capturing and delivering (attempts in flight get a grace period; see delivery.ts). */
  async close(): Promise<void> {
    if (this.versionTimer) clearInterval(this.versionTimer);
    this.versionTimer = null;
    this.unhook();
    await this.delivery.close();
  }

  private async checkVersion(): Promise<void> {
    try {
      if ((await this.currentVersion()) !== this.version) await this.reload();
    } catch (err) {
      this.deps.logger.error({ err }, 'webhooks: could not check the endpoints for changes');
    }
  }

  private async currentVersion(): Promise<string> {
    const row = await this.deps.db.get<{ n: number; u: number | null }>(sql`SELECT COUNT(*) AS n, MAX(updated) AS u FROM "_webhooks"`);
    return `${Number(row?.n ?? 0)}:${Number(row?.u ?? 0)}`;
  }

  /** Reads every endpoint into the cache and (un)binds the record hooks. */
  async reload(): Promise<void> {
    const version = await this.currentVersion();
    const rows = await this.deps.db.all<EndpointRow>(sql`SELECT * FROM "_webhooks" ORDER BY created, id`);
    const next = new Map<string, Endpoint>();
    for (const row of rows) {
      try {
        next.set(row.id, this.fromRow(row));
      } catch (err) {
        this.deps.logger.error({ err, endpoint: row.id }, 'webhooks: an endpoint could not be read (its secret does not open?); it is skipped');
      }
    }
    this.endpoints = next;
    this.enabled = [...next.values()].filter((e) => e.enabled);
    this.byType.clear();
    this.version = version;
    if (this.enabled.some((e) => mayMatchRecords(e.events))) this.hook();
    else this.unhook();
  }

  private fromRow(row: EndpointRow): Endpoint {
    const secrets = JSON.parse(this.deps.box().open(row.secrets)) as Secret[];
    return {
      id: row.id,
      url: row.url,
      description: row.description ?? '',
      events: JSON.parse(row.events) as string[],
      filter: row.filter ?? '',
      headers: JSON.parse(row.headers || '{}') as Record<string, string>,
      enabled: Boolean(Number(row.enabled)),
      secrets,
      disabledReason: row.disabledReason ?? '',
      failingSince: row.failingSince === null || row.failingSince === undefined ? null : Number(row.failingSince),
      created: Number(row.created),
      updated: Number(row.updated),
    };
  }

  private async changed(): Promise<void> {
    await this.reload();
    await this.deps.bus.publish(BUS_TOPIC, 'changed');
  }

  /** Whether the record hooks are bound (some enabled endpoint may match a record event). */
  get capturing(): boolean {
    return this.hooked;
  }

  private hook(): void {
    if (this.hooked) return;
    this.hooked = true;
    const { hooks } = this.deps;
    // A high priority number runs last, i.e. innermost: right around the write, after user hooks changed the record.
    const opts = { id: HOOK_ID, priority: 1_000_000 };
    hooks.onRecordCreate.bind(
      async (e, next) => {
        await next();
        await this.capture('create', e);
      },
      // Without a filter the capture needs only the record, not the written row: on PostgreSQL the INSERT may
      // then travel with the outbox row and the COMMIT (records/write.ts).
      {
        ...opts,
        deferWrite: (e) => {
          if (!this.targets(`${e.collection.name}.create`).every((t) => t.filter === '')) return false;
          this.mayBeDeferred.add(e);
          return true;
        },
      },
    );
    hooks.onRecordUpdate.bind(async (e, next) => {
      await next();
      await this.capture('update', e);
    }, opts);
    hooks.onRecordDelete.bind(async (e, next) => {
      await next();
      await this.capture('delete', e);
    }, opts);
  }

  private unhook(): void {
    if (!this.hooked) return;
    this.hooked = false;
    this.deps.hooks.onRecordCreate.unbind(HOOK_ID);
    this.deps.hooks.onRecordUpdate.unbind(HOOK_ID);
    this.deps.hooks.onRecordDelete.unbind(HOOK_ID);
  }

  private targets(type: string): Endpoint[] {
    let list = this.byType.get(type);
    if (!list) {
      list = this.enabled.filter((e) => e.events.some((p) => matches(p, type)));
      if (this.byType.size > 10_000) this.byType.clear();
      this.byType.set(type, list);
    }
    return list;
  }

  private superuser(): RequestInfo {
    this.superReq ??= systemRequest(this.deps.collections);
    return this.superReq;
  }

  // ——— capture ———

  private async capture(action: RecordAction, e: RecordEvent): Promise<void> {
    const collection = e.collection;
    const type = `${collection.name}.${action}`;
    const targets = this.targets(type);
    if (targets.length === 0 || !e.tx) return;
    const tx = e.tx;
    let chosen: Endpoint[] = targets;
    if (targets.some((t) => t.filter !== '')) {
      chosen = [];
      const ctx = {
        exec: tx,
        dialect: this.deps.db.dialect,
        schema: this.deps.collections,
        // A deleted row is gone, and a create told it could defer its INSERT may not have written it yet (an
        // endpoint with a filter can appear in between): both are evaluated on the record's values.
        ...(action === 'delete' || this.mayBeDeferred.has(e) ? { row: virtualRow(collection, e.record) } : {}),
      };
      for (const t of targets) {
        if (t.filter === '') {
          chosen.push(t);
          continue;
        }
        try {
          if (await canAccessRecord(ctx, collection, String(e.record.id), null, this.superuser(), t.filter)) chosen.push(t);
        } catch (err) {
          // A filter that no longer compiles (a field was removed): that endpoint gets nothing; say so once per event.
          this.deps.logger.warn({ err, endpoint: t.id }, 'webhooks: an endpoint filter does not apply to this collection any more');
        }
      }
      if (chosen.length === 0) return;
    }
    const data: Record<string, unknown> = { collection: collection.name, record: webhookRecord(collection, e.record) };
    if (action === 'update' && e.previous) data.changes = changesOf(collection, e.previous, e.record);
    await this.insertMessages(tx, chosen, type, data);
  }

  /**
   * The messages for `targets`, in one statement written at `tx`'s commit into the outbox (moved to
   * `_webhookMessages` by the deliverer, delivery.ts); this node's deliverer is woken after it.
   */
  private async insertMessages(tx: Executor, targets: readonly Endpoint[], type: string, data: unknown): Promise<string[]> {
    const now = Date.now();
    const body = JSON.stringify({ type, timestamp: new Date(now).toISOString(), data });
    const delay = this.schedule[0] ?? 0;
    const ids = targets.map(() => messageId(now));
    const traceparent = tracer ? tracer.traceparent() : null; // the capturing span, continued by the deliveries
    const values = targets.map((t, i) => sql`(${ids[i] as string}, ${t.id}, ${type}, ${body}, ${now + delay}, ${now}, ${traceparent})`);
    // At the commit: on PostgreSQL it then travels with the COMMIT, so capturing costs the write no round trip.
    await tx.runAtCommit(sql`INSERT INTO "_webhookOutbox" (id, endpoint, type, payload, "nextAttempt", created, traceparent) VALUES ${join(values)}`);
    tx.afterCommit(() => this.delivery.due(delay));
    return ids;
  }

  /**
   * Sends a custom event to every enabled endpoint subscribed to `type`. With `tx`, only if that transaction
   * commits. Resolves to the message ids (one per endpoint).
   */
  async emit(type: string, payload: unknown, options: EmitOptions = {}): Promise<string[]> {
    const problem = customTypeError(type);
    if (problem) throw AppError.badRequest(`Cannot emit the webhook event: ${problem}.`);
    let text: string | undefined;
    try {
      text = JSON.stringify(payload ?? null);
    } catch (err) {
      throw AppError.badRequest(`The webhook payload is not JSON-serialisable: ${(err as Error).message}`);
    }
    if (text === undefined) throw AppError.badRequest('The webhook payload is not JSON-serialisable.');
    if (text.length > 1_000_000) throw AppError.badRequest('The webhook payload is too big (max 1,000,000 characters of JSON).');
    const targets = this.targets(type);
    if (targets.length === 0) return [];
    const data = JSON.parse(text) as unknown;
    if (options.tx) return this.insertMessages(options.tx, targets, type, data);
    return this.deps.db.transaction((tx) => this.insertMessages(tx, targets, type, data));
  }

  // ——— delivery ———

  /** Attempt `n` of a claimed message (delivery.ts records the outcome, then calls `recorded`). */
  private async attempt(msg: MessageRow, n: number, signal: AbortSignal): Promise<AttemptOutcome> {
    let endpoint = this.endpoints.get(msg.endpoint);
    if (!endpoint) {
      const row = await this.deps.db.get<EndpointRow>(sql`SELECT * FROM "_webhooks" WHERE id = ${msg.endpoint}`);
      if (row) endpoint = this.fromRow(row);
    }
    if (!endpoint || !endpoint.enabled) {
      this.deliveryCounts.dropped++;
      const error = endpoint ? 'The endpoint is disabled.' : 'The endpoint was deleted.';
      return { posted: false, statusCode: 0, latency: 0, response: '', error, ok: false, final: true };
    }
    const target = endpoint;
    const outcome = tracer
      ? await tracer.span(
          'webhook delivery',
          {
            parent: msg.traceparent ?? null,
            attributes: {
              'plinth.webhook.endpoint': target.id,
              'plinth.webhook.message': msg.id,
              'plinth.webhook.attempt': n,
              'plinth.webhook.event': msg.type,
            },
          },
          async (span) => {
            const o = await this.post(target, msg, signal);
            span.set('http.response.status_code', o.statusCode || undefined);
            if (o.error) span.fail(o.error);
            return o;
          },
        )
      : await this.post(target, msg, signal);
    const ok = outcome.statusCode >= 200 && outcome.statusCode < 300;
    if (ok) this.deliveryCounts.delivered++;
    else this.deliveryCounts.failed++;
    if (!ok) {
      this.deps.logger.debug?.(
        { endpoint: endpoint.id, message: msg.id, attempt: n, status: outcome.statusCode, error: outcome.error },
        'webhook attempt failed',
      );
    }
    return { ...outcome, posted: true, ok, final: outcome.abort === true };
  }

  /** After an attempt's outcome was recorded: the endpoint's failure bookkeeping (a POST was made). */
  private async recorded(msg: MessageRow, outcome: AttemptOutcome): Promise<void> {
    const endpoint = this.endpoints.get(msg.endpoint);
    if (endpoint && outcome.posted) await this.health(endpoint, outcome.ok);
  }

  private async post(
    endpoint: Endpoint,
    msg: MessageRow,
    signal: AbortSignal,
  ): Promise<{ statusCode: number; latency: number; response: string; error: string; abort?: boolean }> {
    const now = Date.now();
    const ts = Math.floor(now / 1000);
    const signatures = endpoint.secrets
      .filter((s) => s.expires === null || s.expires > now)
      .map((s) => signStandard(s.secret, msg.id, ts, msg.payload))
      .join(' ');
    const headers: Record<string, string> = {
      ...endpoint.headers,
      'content-type': 'application/json',
      'webhook-id': msg.id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signatures,
      'user-agent': 'Plinth-Webhooks',
    };
    const t0 = performance.now();
    try {
      // One attempt, no fetch objects (they were most of a delivery's CPU); redirects are answered, not followed.
      const res = await this.deps.http.sendOnce(endpoint.url, {
        method: 'POST',
        headers,
        body: msg.payload,
        timeout: this.timeoutMs,
        keepAlive: true, // one connection per receiver, reused: a new one per POST cost more than the rest of the delivery
        maxResponseBytes: 1024 * 1024,
        signal,
      });
      const latency = Math.round(performance.now() - t0);
      const text = res.body.subarray(0, 4096).toString('utf8').slice(0, 1024);
      const header = (name: string) => res.headers.find(([k]) => k === name)?.[1];
      const ok = res.status >= 200 && res.status < 300;
      const abort = !ok && header('webhook-delivery')?.toLowerCase() === 'abort-message';
      let error = '';
      const location = header('location');
      if (res.status >= 300 && res.status < 400) error = `Redirects are not followed (status ${res.status}${location ? ` to ${location.slice(0, 200)}` : ''}).`;
      else if (!ok) error = `The endpoint answered ${res.status}.`;
      if (abort) error += ' It asked to stop retrying this message (webhook-delivery: abort-message).';
      return { statusCode: res.status, latency, response: text, error, abort };
    } catch (err) {
      const latency = Math.round(performance.now() - t0);
      const message = isAppError(err) ? err.message : err instanceof Error ? err.message : String(err);
      if (signal.aborted && !isAppError(err)) throw err; // shutdown or job timeout: the queue puts the job back
      return { statusCode: 0, latency, response: '', error: message.slice(0, 1000) };
    }
  }

  /** failingSince bookkeeping; an endpoint failing for disableAfterMs is disabled and the superusers told. */
  private async health(endpoint: Endpoint, ok: boolean): Promise<void> {
    const { db } = this.deps;
    const now = Date.now();
    if (ok) {
      if (endpoint.failingSince === null) return;
      endpoint.failingSince = null;
      await db.run(sql`UPDATE "_webhooks" SET "failingSince" = NULL WHERE id = ${endpoint.id}`);
      return;
    }
    if (endpoint.failingSince === null) {
      endpoint.failingSince = now;
      await db.run(sql`UPDATE "_webhooks" SET "failingSince" = ${now} WHERE id = ${endpoint.id} AND "failingSince" IS NULL`);
      return;
    }
    if (now - endpoint.failingSince < this.disableAfterMs || !endpoint.enabled) return;
    const days = Math.round((now - endpoint.failingSince) / 86_400_000);
    const reason = `Disabled automatically on ${formatDateTime(new Date(now))}: every delivery failed since ${formatDateTime(new Date(endpoint.failingSince))}${days >= 1 ? ` (${days} days)` : ''}.`;
    // Conditional on the stored failingSince: another node may have delivered successfully meanwhile.
    const res = await db.run(
      sql`UPDATE "_webhooks" SET enabled = 0, "disabledReason" = ${reason}, updated = ${Math.max(now, endpoint.updated + 1)} WHERE id = ${endpoint.id} AND enabled = 1 AND "failingSince" IS NOT NULL AND "failingSince" <= ${now - this.disableAfterMs}`,
    );
    if (res.changes !== 1) {
      const row = await db.get<{ f: number | string | null }>(sql`SELECT "failingSince" AS f FROM "_webhooks" WHERE id = ${endpoint.id}`);
      endpoint.failingSince = row?.f === null || row?.f === undefined ? null : Number(row.f);
      return;
    }
    endpoint.enabled = false;
    await this.changed();
    await this.notifyDisabled(endpoint, reason);
  }

  private async notifyDisabled(endpoint: Endpoint, reason: string): Promise<void> {
    const { mailer, logger, db } = this.deps;
    logger.warn({ endpoint: endpoint.id, url: endpoint.url }, `webhooks: endpoint ${endpoint.url} was disabled. ${reason}`);
    if (!mailer.enabled) return;
    const rows = await db.all<{ email: string }>(sql`SELECT email FROM "_superusers"`);
    for (const { email } of rows) {
      try {
        await mailer.send({
          to: email,
          subject: `Webhook endpoint disabled: ${endpoint.url}`,
          text: `The webhook endpoint ${endpoint.url} (${endpoint.id}) was disabled.\n\n${reason}\n\nFix the receiver, enable the endpoint again and replay the failed messages from the dashboard.`,
          html: `<p>The webhook endpoint <code>${escape(endpoint.url)}</code> (${escape(endpoint.id)}) was disabled.</p><p>${escape(reason)}</p><p>Fix the receiver, enable the endpoint again and replay the failed messages from the dashboard.</p>`,
        });
      } catch (err) {
        logger.error({ err }, 'webhooks: could not mail a superuser about a disabled endpoint');
      }
    }
  }

  // ——— the superusers' API ———

  private info(e: Endpoint): EndpointInfo {
    const now = Date.now();
    return {
      id: e.id,
      url: e.url,
      description: e.description,
      events: e.events,
      filter: e.filter,
      headers: e.headers,
      enabled: e.enabled,
      disabledReason: e.disabledReason,
      failingSince: e.failingSince === null ? '' : formatDateTime(new Date(e.failingSince)),
      activeSecrets: e.secrets.filter((s) => s.expires === null || s.expires > now).length,
      created: formatDateTime(new Date(e.created)),
      updated: formatDateTime(new Date(e.updated)),
    };
  }

  private require(id: string): Endpoint {
    const e = this.endpoints.get(id);
    if (!e) throw AppError.notFound('Missing or invalid webhook endpoint.');
    return e;
  }

  /** Read afresh (health fields change on whichever node delivers, without an announcement). */
  async list(): Promise<EndpointInfo[]> {
    await this.reload();
    return [...this.endpoints.values()].map((e) => this.info(e));
  }

  async get(id: string): Promise<EndpointInfo> {
    await this.reload();
    return this.info(this.require(id));
  }

  /** Checks and normalises an endpoint's editable fields (a 400 with field errors otherwise). */
  private async validate(
    input: Record<string, unknown>,
    base: Endpoint | null,
  ): Promise<Pick<Endpoint, 'url' | 'description' | 'events' | 'filter' | 'headers' | 'enabled'>> {
    const errors: Record<string, { code: `validation_${string}`; message: string }> = {};
    const bad = (field: string, message: string): void => {
      errors[field] ??= { code: 'validation_invalid_value', message };
    };
    const known = new Set(['url', 'description', 'events', 'filter', 'headers', 'enabled']);
    for (const k of Object.keys(input)) if (!known.has(k)) bad(k, `Unknown field "${k.slice(0, 100)}".`);

    let url = base?.url ?? '';
    if (input.url !== undefined || !base) {
      if (typeof input.url !== 'string' || input.url.trim() === '') bad('url', 'The URL is required.');
      else if (input.url.length > MAX_URL) bad('url', `The URL is too long (max ${MAX_URL} characters).`);
      else {
        try {
          url = parseOutboundUrl(input.url.trim()).toString();
          await this.deps.http.check(url);
        } catch (err) {
          bad('url', isAppError(err) ? err.message : 'Invalid URL.');
        }
      }
    }
    let description = base?.description ?? '';
    if (input.description !== undefined) {
      if (typeof input.description !== 'string' || input.description.length > MAX_DESCRIPTION)
        bad('description', `Must be a text of at most ${MAX_DESCRIPTION} characters.`);
      else description = input.description;
    }
    let events = base?.events ?? [];
    if (input.events !== undefined || !base) {
      if (!Array.isArray(input.events) || input.events.length === 0) bad('events', 'Give at least one event, e.g. ["posts.create"] or ["*"].');
      else if (input.events.length > MAX_EVENTS) bad('events', `At most ${MAX_EVENTS} events.`);
      else {
        const problem = input.events.map((p) => patternError(p, (name) => this.collectionByName(name) !== undefined)).find((p) => p !== null);
        if (problem) bad('events', `Invalid event: ${problem}.`);
        else events = [...new Set(input.events as string[])];
      }
    }
    let filter = base?.filter ?? '';
    if (input.filter !== undefined) {
      if (typeof input.filter !== 'string' || input.filter.length > 3500) bad('filter', 'Must be a filter expression of at most 3,500 characters.');
      else filter = input.filter.trim();
    }
    if (filter !== '' && !errors.events) {
      const names = recordCollectionsOf(events);
      if (!names || names.length === 0)
        bad('filter', 'A filter needs events that name collections (e.g. "posts.create" or "posts.*"), so it can be checked against their fields.');
      else {
        for (const name of names) {
          const collection = this.collectionByName(name);
          if (!collection) continue;
          try {
            compileFilter(filter, {
              collection,
              schema: this.deps.collections,
              dialect: this.deps.db.dialect,
              rootAlias: ROOT_ALIAS,
              request: this.superuser(),
              mode: 'client',
            });
          } catch (err) {
            bad('filter', `Invalid filter for "${name}": ${isAppError(err) ? err.message : String(err)}`);
          }
        }
      }
    }
    let headers = base?.headers ?? {};
    if (input.headers !== undefined) {
      const h = input.headers;
      if (h === null || typeof h !== 'object' || Array.isArray(h)) bad('headers', 'Must be an object of header names to values.');
      else {
        const entries = Object.entries(h as Record<string, unknown>);
        if (entries.length > MAX_HEADERS) bad('headers', `At most ${MAX_HEADERS} headers.`);
        const out: Record<string, string> = {};
        for (const [k, v] of entries) {
          if (!HEADER_NAME.test(k)) bad('headers', `"${k.slice(0, 100)}" is not a valid header name.`);
          else if (RESERVED_HEADERS.has(k.toLowerCase())) bad('headers', `The header "${k}" is set by Plinth and cannot be overridden.`);
          else if (typeof v !== 'string' || v.length > 4000 || /[\r\n\0]/.test(v))
            bad('headers', `The value of "${k.slice(0, 100)}" must be a single-line text of at most 4,000 characters.`);
          else out[k] = v;
        }
        headers = out;
      }
    }
    let enabled = base?.enabled ?? true;
    if (input.enabled !== undefined) {
      if (typeof input.enabled !== 'boolean') bad('enabled', 'Must be true or false.');
      else enabled = input.enabled;
    }
    if (Object.keys(errors).length) throw AppError.validation('Invalid webhook endpoint.', errors);
    return { url, description, events, filter, headers, enabled };
  }

  private collectionByName(name: string): Collection | undefined {
    const c = this.deps.collections.find(name);
    return c && c.name === name && c.type !== 'view' ? c : undefined;
  }

  /** Creates an endpoint; the answer is the only time its secret is shown. */
  async create(input: Record<string, unknown>): Promise<EndpointInfo & { secret: string }> {
    const v = await this.validate(input, null);
    const now = Date.now();
    const id = `ep_${randomString(20, LOWER_ALPHANUMERIC_ALPHABET)}`;
    const secret = generateSecret();
    const sealed = this.deps.box().seal(JSON.stringify([{ secret, expires: null }] satisfies Secret[]));
    await this.deps.db.run(
      sql`INSERT INTO "_webhooks" (id, url, description, events, filter, headers, enabled, secrets, "disabledReason", "failingSince", created, updated) VALUES (${id}, ${v.url}, ${v.description}, ${JSON.stringify(v.events)}, ${v.filter}, ${JSON.stringify(v.headers)}, ${v.enabled ? 1 : 0}, ${sealed}, NULL, NULL, ${now}, ${now})`,
    );
    await this.changed();
    return { ...this.info(this.require(id)), secret };
  }

  async update(id: string, input: Record<string, unknown>): Promise<EndpointInfo> {
    if (!this.endpoints.has(id)) await this.checkVersion();
    const base = this.require(id);
    const v = await this.validate(input, base);
    const now = Math.max(Date.now(), base.updated + 1);
    // Enabling again clears the automatic disabling.
    const reenabled = v.enabled && !base.enabled;
    await this.deps.db.run(
      sql`UPDATE "_webhooks" SET url = ${v.url}, description = ${v.description}, events = ${JSON.stringify(v.events)}, filter = ${v.filter}, headers = ${JSON.stringify(v.headers)}, enabled = ${v.enabled ? 1 : 0}, ${reenabled ? sql`"disabledReason" = NULL, "failingSince" = NULL,` : sql``} updated = ${now} WHERE id = ${id}`,
    );
    await this.changed();
    return this.info(this.require(id));
  }

  async delete(id: string): Promise<void> {
    if (!this.endpoints.has(id)) await this.checkVersion();
    this.require(id);
    await this.deps.db.transaction(async (tx) => {
      await tx.run(sql`DELETE FROM "_webhookAttempts" WHERE endpoint = ${id}`);
      await tx.run(sql`DELETE FROM "_webhookMessages" WHERE endpoint = ${id}`);
      await tx.run(sql`DELETE FROM "_webhookOutbox" WHERE endpoint = ${id}`);
      await tx.run(sql`DELETE FROM "_webhooks" WHERE id = ${id}`);
    });
    await this.changed();
  }

  /** A new current secret; the previous ones keep signing for `overlapHours` (default 24, 0 = stop at once). */
  async rotateSecret(id: string, overlapHours: unknown = 24): Promise<EndpointInfo & { secret: string }> {
    if (!this.endpoints.has(id)) await this.checkVersion();
    const base = this.require(id);
    if (typeof overlapHours !== 'number' || !Number.isFinite(overlapHours) || overlapHours < 0 || overlapHours > 720) {
      throw AppError.validation('Invalid rotation.', {
        overlapHours: { code: 'validation_invalid_value', message: 'Must be a number of hours from 0 to 720.' },
      });
    }
    const now = Date.now();
    const until = now + Math.round(overlapHours * 3_600_000);
    const secret = generateSecret();
    const kept = base.secrets
      .filter((s) => s.expires === null || s.expires > now)
      .map((s) => ({ secret: s.secret, expires: s.expires === null ? until : Math.min(s.expires, until) }))
      .filter((s) => s.expires > now);
    const secrets: Secret[] = [{ secret, expires: null }, ...kept];
    await this.deps.db.run(
      sql`UPDATE "_webhooks" SET secrets = ${this.deps.box().seal(JSON.stringify(secrets))}, updated = ${Math.max(now, base.updated + 1)} WHERE id = ${id}`,
    );
    await this.changed();
    return { ...this.info(this.require(id)), secret };
  }

  async messages(
    id: string,
    q: { status?: string; type?: string; since?: string; page?: string; perPage?: string },
  ): Promise<{ page: number; perPage: number; totalItems: number; totalPages: number; items: MessageInfo[] }> {
    await this.get(id);
    const page = intParam(q.page, 1, 1, 1_000_000, 'page');
    const perPage = intParam(q.perPage, 30, 1, 1000, 'perPage');
    const where: Sql[] = [sql`endpoint = ${id}`];
    if (q.status) {
      if (!(STATUSES as readonly string[]).includes(q.status)) throw AppError.badRequest(`Invalid status filter: use one of ${STATUSES.join(', ')}.`);
      where.push(sql`status = ${q.status}`);
    }
    if (q.type) where.push(sql`type = ${q.type.slice(0, 800)}`);
    if (q.since) where.push(sql`created >= ${timeParam(q.since, 'since')}`);
    const cond = join(where, sql` AND `);
    await this.delivery.moveOutbox(); // what was captured and not moved yet is listed too
    const rows = await this.deps.db.all<MessageRow>(
      sql`SELECT * FROM "_webhookMessages" WHERE ${cond} ORDER BY created DESC, id DESC LIMIT ${perPage} OFFSET ${(page - 1) * perPage}`,
    );
    const count = await this.deps.db.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM "_webhookMessages" WHERE ${cond}`);
    const totalItems = Number(count?.n ?? 0);
    return { page, perPage, totalItems, totalPages: Math.ceil(totalItems / perPage), items: rows.map(messageInfo) };
  }

  private async message(endpoint: string, msgId: string): Promise<MessageRow> {
    const find = () => this.deps.db.get<MessageRow>(sql`SELECT * FROM "_webhookMessages" WHERE id = ${msgId} AND endpoint = ${endpoint}`);
    let row = await find();
    if (!row) {
      await this.delivery.moveOutbox(); // captured a moment ago, still in the outbox
      row = await find();
    }
    if (!row) throw AppError.notFound('Missing or invalid webhook message.');
    return row;
  }

  async attempts(endpoint: string, msgId: string): Promise<AttemptInfo[]> {
    await this.message(endpoint, msgId);
    const rows = await this.deps.db.all<Record<string, unknown>>(sql`SELECT * FROM "_webhookAttempts" WHERE message = ${msgId} ORDER BY time, attempt`);
    return rows.map((r) => ({
      id: String(r.id),
      message: String(r.message),
      attempt: Number(r.attempt),
      time: formatDateTime(new Date(Number(r.time))),
      statusCode: Number(r.statusCode),
      latencyMs: Number(r.latency),
      response: String(r.response ?? ''),
      error: String(r.error ?? ''),
    }));
  }

  /** Sends a message again from its first attempt (a new round; the same webhook-id). */
  async replay(endpoint: string, msgId: string): Promise<MessageInfo> {
    const row = await this.message(endpoint, msgId);
    await this.deps.db.transaction((tx) => this.restart(tx, row));
    return messageInfo(await this.message(endpoint, msgId));
  }

  /** A new round from the first attempt; an attempt of the old round still in flight is not recorded (round check). */
  private async restart(tx: Executor, row: MessageRow): Promise<void> {
    const now = Date.now();
    const round = Number(row.round) + 1;
    await tx.run(
      sql`UPDATE "_webhookMessages" SET status = 'pending', attempts = 0, round = ${round}, "nextAttempt" = ${now}, "lockedBy" = NULL, "lockedUntil" = NULL, updated = ${now} WHERE id = ${row.id}`,
    );
    tx.afterCommit(() => this.delivery.due(0));
  }

  /** Replays every failed message of the endpoint created since `since` (default: all). */
  async replayFailed(endpoint: string, since?: unknown): Promise<{ replayed: number }> {
    await this.get(endpoint);
    const from = since === undefined || since === null || since === '' ? 0 : timeParam(since, 'since');
    let replayed = 0;
    for (;;) {
      const rows = await this.deps.db.all<MessageRow>(
        sql`SELECT * FROM "_webhookMessages" WHERE endpoint = ${endpoint} AND status = 'failed' AND created >= ${from} ORDER BY created LIMIT 500`,
      );
      if (rows.length === 0) break;
      await this.deps.db.transaction(async (tx) => {
        for (const row of rows) await this.restart(tx, row);
      });
      replayed += rows.length;
    }
    return { replayed };
  }

  /** A `webhook.test` event to this endpoint only (whatever its events), through the normal delivery path. */
  async test(id: string): Promise<MessageInfo> {
    if (!this.endpoints.has(id)) await this.checkVersion();
    const e = this.require(id);
    if (!e.enabled) throw AppError.badRequest('The endpoint is disabled: enable it to send a test event.');
    const [msgId] = await this.deps.db.transaction((tx) => this.insertMessages(tx, [e], TEST_EVENT, { message: 'A test event from Plinth.', endpoint: id }));
    return messageInfo(await this.message(id, msgId as string));
  }

  /** Deletes finished messages (and their attempts) and inbound delivery ids older than `maxAgeMs` (default 30 days). */
  async prune(maxAgeMs = 30 * 86_400_000): Promise<number> {
    const before = Date.now() - maxAgeMs;
    const { db } = this.deps;
    await db.run(sql`DELETE FROM "_webhookAttempts" WHERE message IN (SELECT id FROM "_webhookMessages" WHERE status <> 'pending' AND updated < ${before})`);
    const res = await db.run(sql`DELETE FROM "_webhookMessages" WHERE status <> 'pending' AND updated < ${before}`);
    await this.inbounds.prune(maxAgeMs);
    return res.changes;
  }

  async stats(): Promise<Array<{ endpoint: string; url: string; pending: number; delivered: number; failed: number }>> {
    await this.delivery.moveOutbox(); // captured messages not moved yet are pending too
    const rows = await this.deps.db.all<{ endpoint: string; status: string; n: number }>(
      sql`SELECT endpoint, status, COUNT(*) AS n FROM "_webhookMessages" GROUP BY endpoint, status`,
    );
    const out = new Map<string, { endpoint: string; url: string; pending: number; delivered: number; failed: number }>();
    for (const e of this.endpoints.values()) out.set(e.id, { endpoint: e.id, url: e.url, pending: 0, delivered: 0, failed: 0 });
    for (const r of rows) {
      const s = out.get(r.endpoint);
      if (s && (STATUSES as readonly string[]).includes(r.status)) s[r.status as (typeof STATUSES)[number]] = Number(r.n);
    }
    return [...out.values()];
  }
}

/** The record as a superuser sees it, minus hidden fields (passwords and token keys are never printed). */
export function webhookRecord(collection: Collection, record: RecordData): Record<string, unknown> {
  const out = publicRecord(collection, record, { superuser: true, authId: null, authCollectionId: null });
  for (const f of collection.fields) if (f.hidden) delete out[f.name];
  return out;
}

function changesOf(collection: Collection, previous: RecordData, record: RecordData): { fields: string[]; previous: Record<string, unknown> } {
  const fields: string[] = [];
  const before: Record<string, unknown> = {};
  for (const f of collection.fields) {
    if (f.hidden || f.type === 'password' || (f.name === 'tokenKey' && f.system)) continue;
    if (JSON.stringify(previous[f.name]) !== JSON.stringify(record[f.name])) {
      fields.push(f.name);
      before[f.name] = previous[f.name];
    }
  }
  return { fields, previous: before };
}

function messageInfo(r: MessageRow): MessageInfo {
  let payload: unknown = null;
  try {
    payload = JSON.parse(r.payload);
  } catch {
    // a damaged row still lists
  }
  return {
    id: r.id,
    endpoint: r.endpoint,
    type: r.type,
    payload,
    status: r.status,
    attempts: Number(r.attempts),
    nextAttempt: r.nextAttempt === null || r.nextAttempt === undefined ? '' : formatDateTime(new Date(Number(r.nextAttempt))),
    created: formatDateTime(new Date(Number(r.created))),
    updated: formatDateTime(new Date(Number(r.updated))),
  };
}

function intParam(v: string | undefined, fallback: number, min: number, max: number, name: string): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw AppError.badRequest(`Invalid "${name}": must be an integer from ${min} to ${max}.`);
  return n;
}

function timeParam(v: unknown, name: string): number {
  const s = typeof v === 'string' ? v.trim() : '';
  const t = s === '' ? Number.NaN : Date.parse(s.includes(' ') && !s.includes('T') ? s.replace(' ', 'T') : s);
  if (!Number.isFinite(t)) throw AppError.badRequest(`Invalid "${name}": give a date-time such as 2026-01-31 12:00:00.000Z.`);
  return t;
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
