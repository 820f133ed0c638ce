/** Small helpers the route files share. */
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../errors/index.js';
import { isSuperuser, type RequestContext, type RequestInfo } from '../../rules/request-info.js';
import { buildRequestInfo } from '../request-info.js';

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
