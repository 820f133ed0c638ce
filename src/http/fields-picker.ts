/** The `?fields=` picker as a Fastify hook: applied to every 2xx JSON response, as PocketBase does. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pickFields } from '../records/pick-fields.js';

/**
 * A Fastify `preSerialization` hook applying {@link pickFields} to every 2xx JSON payload when the request has a
 * non-empty `fields` query parameter (the first one if repeated). Error responses are left alone, as in PocketBase.
 */
export function fieldsPickerHook(): (
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  done: (err: Error | null, payload?: unknown) => void,
) => void {
  // Callback style on purpose: this runs on every response, and most carry no `fields`.
  return (request, reply, payload, done) => {
    const status = reply.statusCode;
    if (status < 200 || status > 299) return done(null, payload);
    const fields = firstQueryValue(request.query, 'fields');
    if (fields === undefined || fields === '') return done(null, payload);
    try {
      done(null, pickFields(payload, fields));
    } catch (err) {
      done(err as Error);
    }
  };
}

/** The first value of a possibly repeated query parameter (Go's `Query().Get`). */
function firstQueryValue(query: unknown, name: string): string | undefined {
  if (typeof query !== 'object' || query === null || !Object.hasOwn(query, name)) return undefined;
  const v = (query as Record<string, unknown>)[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : undefined;
}
