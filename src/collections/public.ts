/** A collection as clients (and migration files) see it: COLLECTION_SECRET_PATHS (token and OAuth2 client secrets) removed. */
import { deleteSecretPaths } from '../util/secret-box.js';
import type { Collection } from './model.js';
import { COLLECTION_SECRET_PATHS } from './secret-paths.js';

export function publicCollection(c: Collection): Record<string, unknown> {
  const out = structuredClone(c) as unknown as Record<string, unknown>;
  deleteSecretPaths(out, COLLECTION_SECRET_PATHS);
  return out;
}
