/**
 * Request ids: every answer carries `X-Request-Id`, the same id is in the request log entry, in error log lines,
 * in the slow-query log and in the body of 5xx answers (`requestId`, docs/pocketbase-compatibility.md).
 *
 * An id the client or a proxy sent is kept when it is sane (1–128 characters of `A-Za-z0-9._:+/=-`, one header),
 * whether or not a trusted proxy is configured: the id only correlates log lines and grants nothing, and the
 * charset keeps it harmless in headers and logs. Anything else is replaced by a fresh id, never refused. Behind a
 * proxy that makes its own ids (nginx `$request_id`), let the proxy set the header so a client cannot pick it.
 */
import { randomBytes } from 'node:crypto';

export const REQUEST_ID_HEADER = 'x-request-id';

const SANE = /^[A-Za-z0-9._:+/=-]{1,128}$/;

let pool = Buffer.alloc(0);
let at = 0;

/** A fresh 16-character id (96 random bits, base64url), from a pooled CSPRNG buffer. */
export function newRequestId(): string {
  if (at + 12 > pool.length) {
    pool = randomBytes(12 * 256);
    at = 0;
  }
  const id = pool.toString('base64url', at, at + 12);
  at += 12;
  return id;
}

/** The request's id: the incoming header's when sane, else a fresh one. */
export function requestIdFor(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE.test(header) ? header : newRequestId();
}
