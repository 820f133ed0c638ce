/**
 * The internal hook bus: typed events realtime, files, webhooks and user code subscribe to.
 *
 * - `onRecord{Create,Update,Delete}` run INSIDE the write transaction around the SQL write: a handler may
 *   change `event.record`, throw to abort (the transaction rolls back), or call `next()` and then act on
 *   the written row.
 * - `onRecordAfter{Create,Update,Delete}Commit` run AFTER the transaction committed. They cannot change
 *   the outcome; their errors are logged, never sent to the client. `afterCommit()` returns a promise
 *   tests can await.
 * - `onCollectionChange` and `onSettingsChange` fire after a schema/settings change committed.
 * - `onRecordEnrich` runs for every record turned into public JSON for a caller (list, view, create,
 *   update and auth responses, realtime messages): a handler may change `event.record` (the JSON). Nothing
 *   is done per record while no handler is bound.
 * - `onMailerSend` runs around every outgoing mail: a handler may change `event.message`, or cancel the
 *   mail by returning without calling `next()`.
 * - `onPaymentSucceeded|Failed|Refunded|RefundFailed|Disputed` and `onSubscriptionChanged` fire once per payment transition,
 *   inside the transaction that records it (src/payments/).
 * - `onServe` fires once the HTTP server listens; `onTerminate` when it is shutting down (before the
 *   server and the app close).
 *
 * User code (hook files, src/extend/) binds through the same `Hook`s; every `Hook` property here is
 * exposed to it as `app.<name>(handler, ...tags)`, so adding a property publishes a new hook.
 */
import type { Collection } from '../collections/model.js';
import type { Executor } from '../db/dialect.js';
import type { RequestInfo } from '../rules/request-info.js';
import { Hook } from './hook.js';
import type * as R from './request-events.js';
import { DEFAULT_REQUEST_TIMEOUT, triggerWithin } from './request-timeout.js';

export { Hook, type HookHandler, type HookOptions } from './hook.js';
export type * from './request-events.js';
export { DEFAULT_REQUEST_TIMEOUT } from './request-timeout.js';

/** A record as the records layer holds it: field name → value (after fromDb), hidden fields included. */
export type RecordData = Record<string, unknown>;

export interface RecordEvent {
  tags: readonly string[];
  collection: Collection;
  record: RecordData;
  /** The stored record before an update/delete. */
  previous?: RecordData;
  /** The transaction the write runs in (record hooks only; undefined after commit). */
  tx?: Executor;
  /** The request that caused it, when there is one. */
  request?: RequestInfo;
}

export interface CollectionChangeEvent {
  tags: readonly string[];
  action: 'create' | 'update' | 'delete';
  collection: Collection;
  previous?: Collection;
}

export interface SettingsChangeEvent {
  tags?: readonly string[];
  settings: unknown;
}

export interface RecordEnrichEvent {
  tags: readonly string[];
  collection: Collection;
  /** The public JSON the caller is about to receive (mutable; add, change or delete keys). */
  record: Record<string, unknown>;
  /** Who receives it (realtime: the subscriber's identity; `context` is 'realtime'). */
  request: RequestInfo;
}

/** One outgoing mail, as handed to SMTP (html and text are alternatives of one body). */
export interface MailerMessage {
  to: string;
  subject: string;
  html: string;
  text: string;
}

export interface MailerSendEvent {
  tags?: readonly string[];
  /** Mutable: change the recipient, subject or bodies before `next()` sends it. */
  message: MailerMessage;
}

export interface ServeEvent {
  tags?: readonly string[];
  /** `http://host:port` the server listens on. */
  address: string;
}

export interface TerminateEvent {
  tags?: readonly string[];
  /** The signal that asked for the shutdown, when there was one. */
  signal?: string;
}

/** Before a backup is made (`name` is its key) or restored; throwing cancels it (PocketBase's OnBackupCreate/OnBackupRestore). */
export interface BackupEvent {
  tags?: readonly string[];
  name: string;
}

/**
 * A payment transition (docs/payments.md): fired inside the transaction that records the provider's event, once
 * per transition (a re-delivered or stale event fires nothing). A throwing handler rolls the transition back and
 * the webhook answers 500, so the provider delivers it again; writes through `e.app` join the transaction.
 */
export interface PaymentEvent {
  tags: readonly string[];
  /** The `orders` record after the transition. */
  order: RecordData;
  /** Its status before. */
  previousStatus: string;
  /** The provider event that caused it (null when a Plinth endpoint did, e.g. a refund). */
  providerEvent: { id: string; type: string } | null;
  tx?: Executor;
}

/** A subscription created or changed (status, period, cancel-at-period-end), inside the same kind of transaction. */
export interface SubscriptionChangeEvent {
  tags: readonly string[];
  subscription: RecordData;
  /** The record before (null when this event created it). */
  previous: RecordData | null;
  providerEvent: { id: string; type: string } | null;
  tx?: Executor;
}

export class HookBus {
  readonly onRecordCreate = new Hook<RecordEvent>();
  readonly onRecordUpdate = new Hook<RecordEvent>();
  readonly onRecordDelete = new Hook<RecordEvent>();
  readonly onRecordAfterCreateCommit = new Hook<RecordEvent>();
  readonly onRecordAfterUpdateCommit = new Hook<RecordEvent>();
  readonly onRecordAfterDeleteCommit = new Hook<RecordEvent>();
  readonly onCollectionChange = new Hook<CollectionChangeEvent>();
  readonly onSettingsChange = new Hook<SettingsChangeEvent>();
  readonly onRecordEnrich = new Hook<RecordEnrichEvent>();
  readonly onMailerSend = new Hook<MailerSendEvent>();
  readonly onServe = new Hook<ServeEvent>();
  readonly onTerminate = new Hook<TerminateEvent>();
  readonly onBackupCreate = new Hook<BackupEvent>();
  readonly onBackupRestore = new Hook<BackupEvent>();
  readonly onPaymentSucceeded = new Hook<PaymentEvent>();
  readonly onPaymentFailed = new Hook<PaymentEvent>();
  readonly onPaymentRefunded = new Hook<PaymentEvent>();
  readonly onPaymentRefundFailed = new Hook<PaymentEvent>();
  readonly onPaymentDisputed = new Hook<PaymentEvent>();
  readonly onSubscriptionChanged = new Hook<SubscriptionChangeEvent>();

  // Request-level hooks (PocketBase's JSVM names; events in request-events.ts). The routes fire them only when
  // they have handlers: a hook with none costs its route one `length` check.
  readonly onRecordsListRequest = new Hook<R.RecordsListRequestEvent>();
  readonly onRecordViewRequest = new Hook<R.RecordViewRequestEvent>();
  readonly onRecordCreateRequest = new Hook<R.RecordCreateRequestEvent>();
  readonly onRecordUpdateRequest = new Hook<R.RecordUpdateRequestEvent>();
  readonly onRecordDeleteRequest = new Hook<R.RecordDeleteRequestEvent>();
  readonly onRecordAuthRequest = new Hook<R.RecordAuthRequestEvent>();
  readonly onRecordAuthWithPasswordRequest = new Hook<R.RecordAuthWithPasswordRequestEvent>();
  readonly onRecordAuthWithOAuth2Request = new Hook<R.RecordAuthWithOAuth2RequestEvent>();
  readonly onRecordAuthWithOTPRequest = new Hook<R.RecordAuthWithOTPRequestEvent>();
  readonly onRecordAuthRefreshRequest = new Hook<R.RecordAuthRefreshRequestEvent>();
  readonly onRecordRequestOTPRequest = new Hook<R.RecordRequestOTPRequestEvent>();
  readonly onRecordRequestVerificationRequest = new Hook<R.RecordEmailRequestEvent>();
  readonly onRecordConfirmVerificationRequest = new Hook<R.RecordConfirmRequestEvent>();
  readonly onRecordRequestPasswordResetRequest = new Hook<R.RecordEmailRequestEvent>();
  readonly onRecordConfirmPasswordResetRequest = new Hook<R.RecordConfirmRequestEvent>();
  readonly onRecordRequestEmailChangeRequest = new Hook<R.RecordRequestEmailChangeRequestEvent>();
  readonly onRecordConfirmEmailChangeRequest = new Hook<R.RecordConfirmRequestEvent>();
  readonly onFileDownloadRequest = new Hook<R.FileDownloadRequestEvent>();
  readonly onBatchRequest = new Hook<R.BatchRequestEvent>();
  readonly onSettingsListRequest = new Hook<R.SettingsListRequestEvent>();
  readonly onSettingsUpdateRequest = new Hook<R.SettingsUpdateRequestEvent>();
  readonly onRealtimeConnectRequest = new Hook<R.RealtimeConnectRequestEvent>();
  readonly onRealtimeSubscribeRequest = new Hook<R.RealtimeSubscribeRequestEvent>();
  readonly onFileTokenRequest = new Hook<R.FileTokenRequestEvent>();
  readonly onCollectionsListRequest = new Hook<R.CollectionsListRequestEvent>();
  readonly onCollectionViewRequest = new Hook<R.CollectionViewRequestEvent>();
  readonly onCollectionCreateRequest = new Hook<R.CollectionCreateRequestEvent>();
  readonly onCollectionUpdateRequest = new Hook<R.CollectionUpdateRequestEvent>();
  readonly onCollectionDeleteRequest = new Hook<R.CollectionDeleteRequestEvent>();

  /**
   * Budget (ms) of user-code time per request hook chain and per custom route handler; past it the request
   * answers 504 `timeout`. 0 = no limit. Set from `ServerOptions.hookTimeout`.
   */
  requestTimeout = DEFAULT_REQUEST_TIMEOUT;

  private pending = new Set<Promise<void>>();

  constructor(private readonly logError: (err: unknown, msg: string) => void = () => {}) {}

  /** Fires an after-commit hook without letting its failure reach the caller. */
  afterCommit<E extends { tags?: readonly string[] }>(hook: Hook<E>, event: E): void {
    if (hook.length === 0) return;
    const p = hook
      .trigger(event)
      .catch((err) => this.logError(err, 'after-commit hook failed'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /**
   * Runs a request hook's chain around `final` (the built-in action) within {@link requestTimeout}: a handler
   * that hangs makes the request a 504, the action's own time does not count.
   */
  runRequest<E extends { tags?: readonly string[] }>(hook: Hook<E>, event: E, final: (event: E) => Promise<void> | void): Promise<void> {
    return triggerWithin(hook, event, final, this.requestTimeout);
  }

  /** Resolves when every after-commit handler started so far has finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}
