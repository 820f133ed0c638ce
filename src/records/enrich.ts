/**
 * `onRecordEnrich`: the last step before a record's public JSON reaches a caller (list, view, create,
 * update, auth responses, realtime messages). Each record, and each record inside its `expand`, goes
 * through the hook with the caller's request, in order. Callers skip this entirely while no handler is
 * bound (`hook.length === 0`), so the common path costs nothing.
 */
import type { CollectionStore } from '../collections/store.js';
import type { Collection } from '../collections/model.js';
import type { Hook, RecordEnrichEvent } from '../hooks/index.js';
import type { RequestInfo } from '../rules/request-info.js';

export async function enrichRecords(
  hook: Hook<RecordEnrichEvent>,
  schema: CollectionStore,
  collection: Collection,
  items: Record<string, unknown>[],
  req: RequestInfo,
): Promise<void> {
  for (let i = 0; i < items.length; i++) {
    items[i] = await enrichOne(hook, schema, collection, items[i] as Record<string, unknown>, req, 0);
  }
}

async function enrichOne(
  hook: Hook<RecordEnrichEvent>,
  schema: CollectionStore,
  collection: Collection,
  json: Record<string, unknown>,
  req: RequestInfo,
  depth: number,
): Promise<Record<string, unknown>> {
  const expand = json.expand;
  if (expand && typeof expand === 'object' && depth < 6) {
    for (const [key, value] of Object.entries(expand as Record<string, unknown>)) {
      if (Array.isArray(value)) {
        const out: unknown[] = [];
        for (const v of value) out.push(await enrichNested(hook, schema, v, req, depth));
        (expand as Record<string, unknown>)[key] = out;
      } else (expand as Record<string, unknown>)[key] = await enrichNested(hook, schema, value, req, depth);
    }
  }
  const event: RecordEnrichEvent = { tags: [collection.id, collection.name], collection, record: json, request: req };
  await hook.trigger(event);
  return event.record;
}

async function enrichNested(hook: Hook<RecordEnrichEvent>, schema: CollectionStore, value: unknown, req: RequestInfo, depth: number): Promise<unknown> {
  if (!value || typeof value !== 'object') return value;
  const id = (value as { collectionId?: unknown }).collectionId;
  const collection = typeof id === 'string' ? schema.find(id) : undefined;
  return collection ? enrichOne(hook, schema, collection, value as Record<string, unknown>, req, depth + 1) : value;
}
