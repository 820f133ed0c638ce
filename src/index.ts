/**
 * The public entry: `import … from 'plinth'`. Everything a user's hook files, routes, jobs and migrations
 * use comes from here, with types; nothing else under src/ is a public API.
 */
import type { PlinthApp } from './extend/api.js';

export type { MigrationApi } from './migrations/migrations.js';
export { ApiError } from './errors/index.js';
export type {
  Caller,
  HookEvent,
  ListOptions,
  ListResult,
  MailInput,
  PlinthApp,
  RecordModel,
  RecordOf,
  RecordsApi,
  RouteOptionsLike as RouteOptions,
} from './extend/api.js';
export type { JsonSchema, RouteOpenApi } from './openapi/index.js';
export type {
  CollectionChangeEvent,
  MailerMessage,
  MailerSendEvent,
  RecordEnrichEvent,
  RecordEvent,
  ServeEvent,
  SettingsChangeEvent,
  TerminateEvent,
} from './hooks/index.js';

/**
 * Record types by collection name, for `app.records<'posts'>('posts')`. Empty here; `plinth typegen`
 * writes `declare module 'plinth' { interface CollectionRecords { posts: PostsRecord; … } }`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: augmented by generated types
export interface CollectionRecords {}

/** A hook file's default export, typed: `export default defineHooks((app) => { app.onRecordCreate(…) })`. */
export function defineHooks(fn: (app: PlinthApp) => void | Promise<void>): (app: PlinthApp) => void | Promise<void> {
  return fn;
}

// Background jobs (docs/jobs.md): what `app.jobs` handlers receive and accept.
export { JobTimeoutError } from './jobs/index.js';
export type { EnqueueOptions, JobContext, JobHandler, JobInfo, JobOptions, JobStatus } from './jobs/index.js';

// Outbound HTTP (docs/outbound.md): `app.http.fetch` and the SSRF guard's verdicts.
export { checkUrl, classifyAddress } from './outbound/index.js';
export type { AddressClass, CheckedTarget, FetchOptions, HttpClient } from './outbound/index.js';

// Types from the schema (docs/typegen.md), for programmatic use.
export { generateTypes } from './typegen/index.js';
