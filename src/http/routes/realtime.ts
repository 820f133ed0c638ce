/**
 * `GET /api/realtime` (the SSE stream) and `POST /api/realtime` (set subscriptions), as PocketBase serves
 * them. The stream is written on the raw response (hijacked from Fastify): it lives for minutes and is
 * fed by the realtime service, not by a handler's return value.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { parseSubscribeForm, responseTarget } from '../../realtime/index.js';
import type { RealtimeConnectRequestEvent, RealtimeSubscribeRequestEvent } from '../../hooks/index.js';
import { bodyOf, requestInfo, runHooked, sendResult } from './helpers.js';
import { eventResult } from './record-actions.js';
import { logRequest } from './logs.js';
import { recordRequest } from '../request-metrics.js';

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-store',
  // Tells nginx-style proxies not to buffer the stream.
  'X-Accel-Buffering': 'no',
};

export function registerRealtimeRoutes(server: FastifyInstance, app: App): void {
  const open = (req: FastifyRequest, reply: FastifyReply): void => {
    reply.hijack();
    const res = reply.raw;
    const socket = req.raw.socket;
    if (socket.destroyed) return;
    // Headers set by the onRequest hooks (CORS, security) are not sent for hijacked replies unless we do.
    res.writeHead(200, { ...reply.getHeaders(), ...SSE_HEADERS } as Record<string, string>);
    // A hijacked reply never goes through onSend: the stream is logged when it ends, as before.
    res.once('finish', () => logRequest(app, req, res.statusCode));
    // Counted as answered now (the stream's lifetime is no request latency; realtime clients have their own gauge).
    recordRequest(app, req, 200);
    socket.setNoDelay(true);
    // Sends the headers now; frames then go straight to the socket (see responseTarget).
    app.realtime.connect(responseTarget(res, socket), req.ip);
  };
  // No HEAD twin: a HEAD request would otherwise hold a client (and a socket) open until the idle timeout.
  server.get('/api/realtime', { exposeHeadRoute: false }, (req, reply) => {
    const hook = app.hooks.onRealtimeConnectRequest;
    if (hook.length === 0) return open(req, reply);
    // onRealtimeConnectRequest: a handler may refuse (throw) before the stream opens.
    const e: RealtimeConnectRequestEvent = { tags: [], request: requestInfo(req) };
    let opened = false;
    return app.hooks
      .runRequest(hook, e, () => {
        opened = true;
        open(req, reply);
      })
      .then(
        () => (opened ? undefined : sendResult(reply, eventResult(e))),
        (err: unknown) => {
          if (opened) app.logger.error({ err }, 'onRealtimeConnectRequest failed after the stream opened');
          else throw err;
        },
      );
  });

  server.post('/api/realtime', async (req, reply) => {
    const body = bodyOf(req).data;
    const form = parseSubscribeForm(body);
    const hook = app.hooks.onRealtimeSubscribeRequest;
    if (hook.length === 0) {
      app.realtime.setSubscriptions(form, req.auth, req.ip);
      return reply.code(204).send();
    }
    const e: RealtimeSubscribeRequestEvent = {
      tags: [],
      request: requestInfo(req),
      clientId: form.clientId,
      subscriptions: Array.isArray(body.subscriptions) ? (body.subscriptions as string[]).slice() : [],
    };
    return runHooked(app, reply, hook, e, async (ev) => {
      const changed = parseSubscribeForm({ ...body, clientId: ev.clientId, subscriptions: ev.subscriptions });
      app.realtime.setSubscriptions(changed, ev.request.auth, req.ip);
      return { status: 204, body: null };
    });
  });

  // Open streams would keep `server.close()` waiting for their connections: end them first.
  server.addHook('preClose', (done) => {
    app.realtime.disconnectAll();
    done();
  });
}
