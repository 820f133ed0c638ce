// The one PocketBase SDK client the UI uses: the public API only, exactly as any SDK user would.
import PocketBase, { ClientResponseError } from 'pocketbase';

/** The API lives at the site root; the UI at `<root>/_/`. */
function apiBase(): string {
  const path = location.pathname.replace(/\/_(\/.*)?$/, '/');
  return location.origin + path;
}

export const pb = new PocketBase(apiBase());
pb.autoCancellation(false);

export { ClientResponseError };

/** A readable sentence for any failure (an API error envelope, a network failure, anything else). */
export function errorMessage(err: unknown): string {
  if (err instanceof ClientResponseError) {
    if (err.status === 0) return 'The server cannot be reached.';
    const data = err.response?.data as Record<string, { message?: string }> | undefined;
    const first = data && Object.entries(data).find(([, v]) => v && typeof v === 'object' && typeof v.message === 'string');
    const base = err.response?.message || err.message || 'Request failed.';
    return first ? `${base} ${first[0]}: ${first[1].message}` : base;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Field errors of a validation failure, flattened to `path → message` (e.g. `fields.2.name`). */
export function fieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(err instanceof ClientResponseError)) return out;
  const walk = (node: unknown, path: string) => {
    if (!node || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    if (typeof obj.code === 'string' && typeof obj.message === 'string') {
      out[path] = obj.message;
      return;
    }
    for (const [k, v] of Object.entries(obj)) walk(v, path ? `${path}.${k}` : k);
  };
  walk(err.response?.data, '');
  return out;
}

/** True when an endpoint this UI would like is not there (an older or partial server). */
export function isMissingEndpoint(err: unknown): boolean {
  return err instanceof ClientResponseError && (err.status === 404 || err.status === 405);
}
