/**
 * User code in the server process (docs/hooks.md): the hook-file loader (dev reload included), the app
 * API object hook files receive, and `plinth hooks check`.
 */
export { HooksLoader, loadHooks, installProcessGuards, describeLoadError, HOOK_FILE, type LoadHooksOptions, type ReloadReport } from './loader.js';
export {
  bindFilterParams,
  type Caller,
  type HookEvent,
  type HttpClientLike,
  type JobContextLike,
  type JobQueueLike,
  type ListOptions,
  type ListResult,
  type MailInput,
  type PlinthApp,
  type Providers,
  type RecordModel,
  type RecordsApi,
  type RouteRegistryLike,
} from './api.js';
