/** Small helpers the route files share. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import type { Hook, RequestEvent } from '../../hooks/index.js';
import { AppError } from '../../errors/index.js';
import { isSuperuser, type RequestContext, type RequestInfo } from '../../rules/request-info.js';
import { buildRequestInfo } from '../request-info.js';
import { eventResult, type ActionResult } from './record-actions.js';

export function requestInfo(req: FastifyRequest, context: RequestContext = 'default'): RequestInfo {
  return buildRequestInfo(req, req.auth, context);
}

/** 401 for guests, 403 for non-superusers (PocketBase's requireSuperuserAuth). */
export function requireSuperuser(req: FastifyRequest): void {
  if (!req.auth) throw AppError.unauthorized('The request requires valid superuser authorization token.');
  if (!isSuperuser(req)) throw AppError.forbidden('The authorized record is not allowed to perform this action.');
}

/** The request's parsed body (empty for bodyless requests): the body parser's own accessor. */
export { requestBody as bodyOf } from '../body-parser.js';

/** First value of every query param, as strings. */
export { queryOf as query } from '../request-info.js';

/** Route params arrive URL-decoded; anything absurdly long is simply not found. */
export function param(req: FastifyRequest, name: string): string {
  const value = (req.params as Record<string, string | undefined>)[name] ?? '';
  if (value.length > 255) throw AppError.notFound();
  return value;
}

/** Sends an action result (204 without a body). */
export function sendResult(reply: FastifyReply, r: ActionResult): FastifyReply {
  return r.status === 204 ? reply.code(204).send() : reply.code(r.status).send(r.body);
}

/**
 * Runs an endpoint's `action` under its request hook (when the hook has handlers: handlers see and may change
 * the event's inputs before next(), and `response`/`status` after it) and sends the result.
 */
export async function runHooked<E extends RequestEvent>(
  app: App,
  reply: FastifyReply,
  hook: Hook<E>,
  event: E,
  action: (e: E) => Promise<ActionResult>,
): Promise<FastifyReply> {
  if (hook.length === 0) return sendResult(reply, await action(event));
  await app.hooks.runRequest(hook, event, async (ev) => {
    const r = await action(ev);
    ev.status = r.status;
    ev.response = r.body;
  });
  return sendResult(reply, eventResult(event));
}
