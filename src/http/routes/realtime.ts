/**
 * `GET /api/realtime` (the SSE stream) and `POST /api/realtime` (set subscriptions), as PocketBase serves
 * them. The stream is written on the raw response (hijacked from Fastify): it lives for minutes and is
 * fed by the realtime service, not by a handler's return value.
 */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { parseSubscribeForm, responseTarget } from '../../realtime/index.js';
import { bodyOf } from './helpers.js';
import { logRequest } from './logs.js';

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-store',
  // Tells nginx-style proxies not to buffer the stream.
  'X-Accel-Buffering': 'no',
};

export function registerRealtimeRoutes(server: FastifyInstance, app: App): void {
  // No HEAD twin: a HEAD request would otherwise hold a client (and a socket) open until the idle timeout.
  server.get('/api/realtime', { exposeHeadRoute: false }, (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    const socket = req.raw.socket;
    if (socket.destroyed) return;
    // Headers set by the onRequest hooks (CORS, security) are not sent for hijacked replies unless we do.
    res.writeHead(200, { ...reply.getHeaders(), ...SSE_HEADERS } as Record<string, string>);
    // A hijacked reply never goes through onSend: the stream is logged when it ends, as before.
    res.once('finish', () => logRequest(app, req, res.statusCode));
    socket.setNoDelay(true);
    // Sends the headers now; frames then go straight to the socket (see responseTarget).
    app.realtime.connect(responseTarget(res, socket), req.ip);
  });

  server.post('/api/realtime', async (req, reply) => {
    const form = parseSubscribeForm(bodyOf(req).data);
    app.realtime.setSubscriptions(form, req.auth, req.ip);
    return reply.code(204).send();
  });

  // Open streams would keep `server.close()` waiting for their connections: end them first.
  server.addHook('preClose', (done) => {
    app.realtime.disconnectAll();
    done();
  });
}
