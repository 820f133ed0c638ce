/**
 * Answers that never reach a route still use PocketBase's `{data, message, status}` envelope: requests Node's
 * HTTP parser refuses (`clientError`: malformed request line or headers, bad Content-Length, a header or URL
 * over the limit, a request that took too long), URLs Fastify's router cannot decode (`frameworkErrors`:
 * bad percent-escapes, over-long parameters), `CONNECT` (Node would close the socket without a word) and an
 * `Expect` header Plinth cannot meet (Node would answer a bare 417).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../errors/index.js';
import { newRequestId, REQUEST_ID_HEADER } from './request-id.js';

/** The headers every answer carries (server.ts sends them from its onRequest hook for routed requests). */
export const DEFAULT_HEADERS = {
  'access-control-allow-origin': '*',
  // So a browser app on another origin can read the answer's X-Request-Id (request-id.ts).
  'access-control-expose-headers': 'X-Request-Id',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'x-xss-protection': '1; mode=block',
} as const;

/** Methods Plinth serves (the `Allow` header of the CONNECT answer). */
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
};

/** A complete HTTP/1.1 response (status line, headers, envelope body) for writing straight to a socket; the connection closes after it. */
export function rawEnvelopeResponse(error: AppError, extraHeaders: Record<string, string> = {}): string {
  const body = JSON.stringify(error.toEnvelope());
  const headers: Record<string, string> = {
    ...DEFAULT_HEADERS,
    [REQUEST_ID_HEADER]: newRequestId(),
    ...extraHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  return `HTTP/1.1 ${error.status} ${REASONS[error.status] ?? 'Error'}\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** The AppError for a request Node's HTTP parser refused (err.code is Node's/llhttp's). */
export function clientErrorToAppError(err: NodeJS.ErrnoException): AppError {
  const code = err.code ?? '';
  const pick = (c: ErrorCode, message?: string) => new AppError(c, message, undefined, { cause: err });
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT') return pick('request_timeout');
  if (code === 'HPE_HEADER_OVERFLOW') return pick('headers_too_large');
  if (code === 'HPE_INVALID_METHOD') return pick('bad_request', 'Malformed HTTP request: unknown method.');
  if (code === 'HPE_INVALID_CONTENT_LENGTH' || code === 'HPE_UNEXPECTED_CONTENT_LENGTH') {
    return pick('bad_request', 'Malformed HTTP request: invalid Content-Length.');
  }
  if (code === 'HPE_INVALID_TRANSFER_ENCODING' || code === 'HPE_INVALID_CHUNK_SIZE') {
    return pick('bad_request', 'Malformed HTTP request: invalid chunked body.');
  }
  if (code === 'HPE_INVALID_HEADER_TOKEN' || code === 'HPE_INVALID_HEADER_VALUE' || code === 'HPE_LF_EXPECTED' || code === 'HPE_CR_EXPECTED') {
    return pick('bad_request', 'Malformed HTTP request: invalid header.');
  }
  if (code === 'HPE_INVALID_URL') return pick('bad_request', 'Malformed HTTP request: invalid URL.');
  return pick('bad_request', 'Malformed HTTP request.');
}

/** Fastify's `clientErrorHandler`: the envelope on the raw socket, then close (as Node's own handler does). */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) socket.end(rawEnvelopeResponse(clientErrorToAppError(err)));
  else socket.destroy();
}

/** Fastify's `frameworkErrors`: router-level failures before any hook ran (bad URL encoding, over-long parameter). */
export function frameworkErrorHandler(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  let appError: AppError;
  if (err.code === 'FST_ERR_BAD_URL') appError = AppError.badRequest('The request URL is malformed (invalid percent-encoding).');
  // Route params longer than this are never ids or names (routes/helpers.ts `param` says 404 past 255).
  else if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') appError = AppError.notFound();
  else appError = new AppError('internal', undefined, undefined, { cause: err });
  void reply
    .code(appError.status)
    .headers(DEFAULT_HEADERS)
    .header(REQUEST_ID_HEADER, newRequestId())
    .header('connection', 'close')
    .type('application/json')
    .send(appError.toEnvelope());
}

/**
 * Node-level answers Fastify never sees: `CONNECT` (405, Plinth is no proxy) and an `Expect` other than
 * `100-continue` (417), both in the envelope.
 */
export function installSocketGuards(server: Server): void {
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => {});
    const error = new AppError('method_not_allowed', 'The CONNECT method is not supported.');
    socket.end(rawEnvelopeResponse(error, { allow: ALLOWED_METHODS }));
  });
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const error = new AppError('expectation_failed');
    const body = JSON.stringify(error.toEnvelope());
    res.writeHead(417, {
      ...DEFAULT_HEADERS,
      [REQUEST_ID_HEADER]: newRequestId(),
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    res.end(body);
  });
}
