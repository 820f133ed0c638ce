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
} from './extend/api.js';
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
