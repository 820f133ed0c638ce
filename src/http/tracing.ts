/**
 * One server span per request (docs/tracing.md), registered by buildServer only when tracing is on, so a
 * server without it has none of these hooks. The span is named after the route pattern
 * (`GET /api/collections/:collection/records`; a custom route's own path), continues the request's
 * `traceparent`/`tracestate`, and ends with the response's status code (5xx marks it failed).
 *
 * The request's work runs in the span's context: the onRequest hook (registered before the one that resolves
 * auth) calls `done` inside it, and preValidation enters it again after body parsing, whose stream events
 * come from the socket's own async context.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tracer, type RequestSpan } from '../tracing/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's server span (tracing on only). */
    traceSpan: RequestSpan | null;
  }
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Registered when tracing is on at start; the tracer is looked up per request (tests restart it). */
export function traceRequests(server: FastifyInstance): void {
  server.decorateRequest('traceSpan', null);
  server.addHook('onRequest', (req, _reply, done) => {
    if (!tracer) return done();
    const route = req.routeOptions.url;
    const span = tracer.request(route ? `${req.method} ${route}` : req.method, req.headers, {
      'http.request.method': req.method,
      'http.route': route,
      'url.path': pathOf(req.url),
      'url.scheme': 'http',
      'network.protocol.version': req.raw.httpVersion,
      'client.address': req.ip,
      'user_agent.original': req.headers['user-agent'],
    });
    req.traceSpan = span;
    span.run(done);
  });
  server.addHook('preValidation', (req, _reply, done) => {
    if (req.traceSpan) req.traceSpan.run(done);
    else done();
  });
  const finish = (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const span = req.traceSpan;
    if (span) {
      const custom = req.customRoute?.route.entry.path;
      if (custom !== undefined) {
        span.rename(`${req.method} ${custom}`);
        span.set('http.route', custom);
      }
      const status = reply.statusCode;
      span.set('http.response.status_code', status);
      if (req.requestId) span.set('plinth.request_id', req.requestId); // X-Request-Id (http/request-id.ts)
      if (status >= 500) {
        span.set('error.type', String(status));
        span.fail(`HTTP ${status}`);
      }
      span.end();
    }
    done();
  };
  server.addHook('onResponse', finish);
  server.addHook('onRequestAbort', (req, done) => {
    if (req.traceSpan) {
      req.traceSpan.fail('the client aborted the request');
      req.traceSpan.end();
    }
    done();
  });
}
