/**
 * What `plinth serve` does before anything else, and how start-up failures read: one line, no stack.
 *
 * The TCP port is bound first, before the data dir, the database or any migration is touched, so a
 * port already in use changes nothing on disk. The bound socket is then handed to Fastify
 * (`listen({ handle })`), so no other process can take the port in between.
 */
import { createServer, type Server } from 'node:net';
import { StartupError } from '../errors/index.js';
import { newRequestId } from '../http/request-id.js';

/** `host:port` as a user would type it (IPv6 in brackets). */
export function showAddress(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** What a connection gets while the server starts (between the bind and Fastify taking the socket). */
const STARTING_BODY = JSON.stringify({ data: {}, message: 'The server is starting, please try again.', status: 503 });
const startingResponse = (): string =>
  'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nRetry-After: 1\r\n' +
  `X-Request-Id: ${newRequestId()}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(STARTING_BODY)}\r\n\r\n${STARTING_BODY}`;

/**
 * Binds host:port; the returned server's socket is then given to Fastify with `listenHandle`. Until then
 * (opening the database, migrations, hook files) a connection is answered 503 with Retry-After instead of
 * being left open with nobody reading it.
 */
export async function bindPort(host: string, port: number): Promise<Server> {
  const probe = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(startingResponse());
  });
  return new Promise((resolve, reject) => {
    probe.once('error', (err: NodeJS.ErrnoException) => reject(new StartupError(listenFailure(err, host, port), { cause: err })));
    // "localhost": the IPv4 loopback, whatever order the resolver returns (Fastify's own listen would bind
    // both loopbacks, which a handed-over socket cannot).
    probe.listen({ host: host === 'localhost' ? '127.0.0.1' : host, port, exclusive: true }, () => resolve(probe));
  });
}

/**
 * Fastify `listen` options serving on the socket `bindPort` bound. Node's `server.listen()` takes a bound
 * handle (the documented `listen(handle)` form reads the server's `_handle`).
 */
export function listenHandle(bound: Server): { host: string; port: number } {
  const address = bound.address();
  const host = typeof address === 'object' && address ? address.address : '127.0.0.1';
  // `host` set (and never "localhost") so that Fastify does not try a second binding of its own.
  return { handle: (bound as unknown as { _handle: unknown })._handle, host } as unknown as { host: string; port: number };
}

export function listenFailure(err: NodeJS.ErrnoException, host: string, port: number): string {
  const at = `Cannot listen on ${showAddress(host, port)}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return `${at}: the port is already in use (another Plinth or PocketBase?). Stop that process or choose another port with --http=${showAddress(host, port === 8090 ? 8091 : 8090)}.`;
    case 'EACCES':
    case 'EPERM':
      return `${at}: permission denied${port < 1024 ? ' (ports below 1024 need extra privileges; use a port from 1024 up, e.g. --http=127.0.0.1:8090, behind a reverse proxy)' : ''}.`;
    case 'EADDRNOTAVAIL':
      return `${at}: ${host} is not an address of this machine.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${at}: the host name ${host} does not resolve.`;
    default:
      return `${at}: ${err.message}`;
  }
}

/** A one-line description of a Node system error (fs, net), or undefined for anything else. */
export function systemErrorLine(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | null;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string' || !/^E[A-Z]+$/.test(e.code) || typeof e.syscall !== 'string') return undefined;
  return (e.message ?? String(e.code)).split('\n')[0];
}
