/**
 * Outbound HTTP for server code (`app.http.fetch`): fetch's signature and `Response`, plus
 *
 * - the SSRF guard (./guard.ts): only http(s), no credentials in URLs, DNS resolved here and every address
 *   checked (private, loopback, link-local/metadata, CGNAT, multicast, reserved, IPv4-mapped forms), unless
 *   `settings.outbound.allowedHosts` lists the host or address;
 * - connections pinned to the checked addresses (a custom `lookup`; TLS still verifies the host name), so DNS
 *   rebinding cannot swap the address between check and connect;
 * - redirects followed by hand (at most `maxRedirects`, default 5), each hop checked again;
 * - a per-attempt timeout (default 15 s), retries with exponential backoff and jitter on network errors, 5xx
 *   and 429 (idempotent methods by default: 2 retries; other methods only with an explicit `retries`);
 * - a response body cap (default 10 MiB, counted after decompression); the body is read in full before
 *   `fetch` resolves, so every failure is an error from `fetch` itself.
 *
 * Failures are AppErrors: `outbound_refused` (the guard), `outbound_timeout`, `outbound_response_too_large`,
 * `outbound_failed` (network errors after the last retry). A final 5xx/429 is returned, not thrown.
 */
import type * as HttpModule from 'node:http';
import type * as HttpsModule from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import type * as ZlibModule from 'node:zlib';
import { AppError, isAppError } from '../errors/index.js';
import { checkUrl, systemResolver, type CheckedTarget, type Resolver } from './guard.js';
import { tracer, type SpanAttributes } from '../tracing/index.js';

export { checkUrl, parseOutboundUrl, systemResolver, type CheckedTarget, type ResolvedAddress, type Resolver } from './guard.js';
export { classifyAddress, blockedHostName, type AddressClass } from './address.js';
export { allowedHostError } from '../util/host-list.js';

export interface OutboundSettings {
  /** Host names (`api.example.com`, `*.example.com`), IP addresses or CIDR subnets the guard lets through. */
  allowedHosts: readonly string[];
}

export interface HttpClientOptions {
  /** Read on every request, so a settings change applies at once. */
  settings: () => OutboundSettings;
  /** DNS resolution (default: the system resolver). Tests point names at chosen addresses. */
  resolver?: Resolver;
  /** Told about refused requests (the operator may want to allow-list them); the message names the origin only. */
  onRefused?: (message: string) => void;
}

export interface FetchOptions extends RequestInit {
  /** Milliseconds per attempt (connect, headers and body); default 15,000. */
  timeout?: number;
  /** Retries after the first attempt; default 2 for GET/HEAD/OPTIONS/PUT/DELETE, 0 otherwise. */
  retries?: number;
  /** Base backoff in ms: attempt n waits about backoff·2ⁿ (±50 % jitter), or Retry-After up to 30 s; default 300. */
  backoff?: number;
  /** Largest response body in bytes (after decompression); default 10 MiB. */
  maxResponseBytes?: number;
  /** Redirects followed at most; default 5. */
  maxRedirects?: number;
  /** https: the certificate authorities to trust instead of Node's defaults (PEM), e.g. a company CA. */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Reuse connections (keep-alive) to the same checked target; default false (a new connection per request).
   * A request on a connection the server closed meanwhile fails like any dropped connection (and is retried only
   * as the `retries` say). Webhook delivery uses it.
   */
  keepAlive?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_REDIRECTS = 5;
const DEFAULT_RETRIES = 2;
const DEFAULT_BACKOFF_MS = 300;
const MAX_RETRY_AFTER_MS = 30_000;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers the client sets itself; a caller's value would be wrong (framing) or confusing (Host). */
const DROPPED_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'trailer', 'proxy-connection']);
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

interface RawResponse {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  body: Buffer | null;
  url: URL;
  /** Whether a redirect led here. */
  redirected?: boolean;
}

/** One request of `HttpClient.sendOnce`: headers as a plain object, the body already text or bytes. */
export interface RawRequest {
  method: string;
  /** Names in any case (sent lower-cased); `host`, `content-length` and the other framing headers are the client's own. */
  headers: Record<string, string>;
  body: string | Buffer | null;
  /** Milliseconds for the attempt (connect, headers and body). */
  timeout: number;
  maxResponseBytes: number;
  signal?: AbortSignal;
  keepAlive?: boolean;
}

/** What `HttpClient.sendOnce` answers: the status, the headers (lower-case names) and the whole body. */
export interface RawResult {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** A network-level failure worth another attempt. */
class RetryableError extends Error {}

export class HttpClient {
  private readonly resolver: Resolver;

  constructor(private readonly options: HttpClientOptions) {
    this.resolver = options.resolver ?? systemResolver;
  }

  /** Checks a URL against the guard without fetching it (e.g. a webhook URL before it is saved). */
  async check(url: string | URL): Promise<CheckedTarget> {
    return checkUrl(url, this.options.settings().allowedHosts, this.resolver);
  }

  /**
   * One attempt behind the same guard, pinning, timeout and body cap as `fetch`, without fetch's objects (Request,
   * Headers, Response: most of a small request's cost): no retries, redirects not followed (a 3xx is answered),
   * network failures and timeouts thrown as AppErrors (`outbound_failed`, `outbound_timeout`, `outbound_refused`).
   * For Plinth's own hot paths (webhook deliveries); user code gets `fetch`.
   */
  async sendOnce(url: string | URL, req: RawRequest): Promise<RawResult> {
    const headers: Record<string, string> = { accept: '*/*', 'user-agent': 'Plinth' };
    for (const k in req.headers) {
      const name = k.toLowerCase();
      if (!DROPPED_HEADERS.has(name)) headers[name] = req.headers[k] as string;
    }
    const body = req.body === null ? null : typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
    const run = async (): Promise<RawResult> => {
      if (tracer) tracer.inject({ set: (k: string, v: string) => void (headers[k] = v) });
      // One controller, one timer and one listener: AbortSignal.timeout and AbortSignal.any cost a delivery more
      // than its signature.
      const controller = new AbortController();
      const { signal } = controller;
      const caller = req.signal;
      if (caller?.aborted) throw caller.reason;
      const onAbort = () => controller.abort(caller?.reason);
      caller?.addEventListener('abort', onAbort, { once: true });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new DOMException('The operation timed out.', 'TimeoutError'));
      }, req.timeout);
      const failure = (err: unknown, where: string | URL): unknown => {
        if (timedOut) return new AppError('outbound_timeout', `Outbound request to ${originOf(where)} timed out after ${req.timeout} ms.`);
        if (caller?.aborted) return caller.reason;
        return unwrap(err);
      };
      try {
        let target: CheckedTarget;
        try {
          target = await raceAbort(this.check(url), signal);
        } catch (err) {
          if (isAppError(err) && err.code === 'outbound_refused') this.options.onRefused?.(err.message);
          throw failure(err, url);
        }
        try {
          const res = await send(target, req.method, headers, body, signal, req.maxResponseBytes, undefined, req.keepAlive === true);
          return { status: res.status, headers: res.headers, body: res.body ?? Buffer.alloc(0) };
        } catch (err) {
          throw failure(err, target.url);
        }
      } finally {
        clearTimeout(timer);
        caller?.removeEventListener('abort', onAbort);
      }
    };
    return tracer ? clientSpan(req.method, url, run) : run();
  }

  fetch(url: string | URL, init: FetchOptions = {}): Promise<Response> {
    if (!tracer) return this.send(url, init);
    // Tracing on: a client span around the call (retries and redirects included), its context sent along.
    return clientSpan(String(init.method ?? 'GET').toUpperCase(), url, () => this.send(url, init));
  }

  private async send(url: string | URL, init: FetchOptions): Promise<Response> {
    const timeout = positive(init.timeout, 'timeout', DEFAULT_TIMEOUT_MS);
    const maxBytes = positive(init.maxResponseBytes, 'maxResponseBytes', DEFAULT_MAX_RESPONSE_BYTES);
    const maxRedirects = wholeNumber(init.maxRedirects, 'maxRedirects', DEFAULT_MAX_REDIRECTS);
    const backoff = wholeNumber(init.backoff, 'backoff', DEFAULT_BACKOFF_MS);
    // Request normalises the method, headers and every body type fetch accepts (string, bytes, Blob,
    // FormData, URLSearchParams, streams); the body is buffered once so retries and 307/308 can resend it.
    const { timeout: _t, retries: _r, backoff: _b, maxResponseBytes: _m, maxRedirects: _x, ca, signal, redirect, keepAlive, ...rest } = init;
    const template = new Request('http://plinth.invalid/', { ...rest, ...(rest.body ? { duplex: 'half' } : {}) } as RequestInit);
    const method = template.method;
    const body = template.body ? Buffer.from(await template.arrayBuffer()) : null;
    const headers = new Headers();
    for (const [k, v] of template.headers) if (!DROPPED_HEADERS.has(k)) headers.append(k, v);
    if (!headers.has('accept')) headers.set('accept', '*/*');
    if (!headers.has('user-agent')) headers.set('user-agent', 'Plinth');
    if (!headers.has('accept-encoding')) headers.set('accept-encoding', 'gzip, deflate, br');
    if (tracer) tracer.inject(headers); // traceparent (and tracestate) of the client span
    const retries = wholeNumber(init.retries, 'retries', IDEMPOTENT.has(method) ? DEFAULT_RETRIES : 0);
    const mode = (redirect ?? 'follow') as 'follow' | 'manual' | 'error';

    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      let outcome: RawResponse | Error;
      try {
        outcome = await this.chain(url, { method, headers, body, signal, mode, timeout, maxBytes, maxRedirects, ca, keepAlive: keepAlive === true });
      } catch (err) {
        if (!(err instanceof RetryableError)) throw err;
        outcome = err;
      }
      const last = attempt >= retries;
      if (outcome instanceof Error) {
        if (last) throw unwrap(outcome);
        await sleep(jittered(backoff, attempt), signal);
        continue;
      }
      if (!last && (outcome.status >= 500 || outcome.status === 429)) {
        const after = retryAfterMs(outcome.headers);
        if (after === null || after <= MAX_RETRY_AFTER_MS) {
          await sleep(after ?? jittered(backoff, attempt), signal);
          continue;
        }
      }
      return toResponse(outcome, method);
    }
  }

  /** One attempt: the request and its redirects, every hop checked. */
  private async chain(
    start: string | URL,
    req: {
      method: string;
      headers: Headers;
      body: Buffer | null;
      signal: AbortSignal | null | undefined;
      mode: 'follow' | 'manual' | 'error';
      timeout: number;
      maxBytes: number;
      maxRedirects: number;
      ca: FetchOptions['ca'];
      keepAlive: boolean;
    },
  ): Promise<RawResponse> {
    const timer = AbortSignal.timeout(req.timeout);
    const signal = req.signal ? AbortSignal.any([req.signal, timer]) : timer;
    let { method, body } = req;
    const headers = new Headers(req.headers);
    let current: string | URL = start;
    let previous: string | undefined;
    for (let hop = 0; ; hop++) {
      let target: CheckedTarget;
      try {
        target = await raceAbort(this.check(current), signal);
      } catch (err) {
        if (isAppError(err) && err.code === 'outbound_refused') {
          const refusal = hop > 0 && previous ? new AppError('outbound_refused', `${err.message} It was the target of a redirect from ${previous}.`) : err;
          this.options.onRefused?.(refusal.message);
          throw refusal;
        }
        throw this.aborted(err, signal, timer, current, req.timeout);
      }
      let res: RawResponse;
      try {
        res = await send(target, method, headers, body, signal, req.maxBytes, req.ca, req.keepAlive);
      } catch (err) {
        throw this.aborted(err, signal, timer, target.url, req.timeout);
      }
      const location = res.headers.find(([k]) => k === 'location')?.[1];
      if (!REDIRECTS.has(res.status) || location === undefined || req.mode === 'manual') return { ...res, redirected: hop > 0 };
      if (req.mode === 'error')
        throw new AppError('outbound_failed', `Outbound request to ${target.url.origin} was redirected (status ${res.status}) and redirect is "error".`);
      if (hop >= req.maxRedirects)
        throw new AppError('outbound_failed', `Outbound request to ${target.url.origin} failed: more than ${req.maxRedirects} redirects.`);
      let next: URL;
      try {
        next = new URL(location, target.url);
      } catch {
        throw new AppError('outbound_failed', `Outbound request to ${target.url.origin} failed: invalid redirect location.`);
      }
      // As fetch: 303 (and 301/302 after POST) continue as GET without a body.
      if ((res.status === 303 && method !== 'HEAD') || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = null;
        for (const h of ['content-type', 'content-encoding', 'content-language', 'content-location']) headers.delete(h);
      }
      if (next.origin !== target.url.origin) for (const h of CREDENTIAL_HEADERS) headers.delete(h);
      previous = target.url.origin;
      current = next;
    }
  }

  /** Maps an error thrown while a signal may have fired: our timeout → outbound_timeout; the caller's abort → its reason. */
  private aborted(err: unknown, signal: AbortSignal, timer: AbortSignal, url: string | URL, timeout: number): unknown {
    if (timer.aborted) {
      return new RetryableTimeout(new AppError('outbound_timeout', `Outbound request to ${originOf(url)} timed out after ${timeout} ms.`));
    }
    if (signal.aborted) return signal.reason;
    return err;
  }
}

/** A timeout: retried like a network error, reported as `outbound_timeout` after the last attempt. */
class RetryableTimeout extends RetryableError {
  constructor(readonly error: AppError) {
    super(error.message, { cause: error });
  }
}

function positive(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0)) throw new TypeError(`app.http.fetch: ${name} must be a positive number`);
  return value;
}

function wholeNumber(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > 100_000) throw new TypeError(`app.http.fetch: ${name} must be a whole number ≥ 0`);
  return value;
}

function jittered(base: number, attempt: number): number {
  return Math.round(base * 2 ** attempt * (0.5 + Math.random()));
}

/** `run` inside a client span for `method url` (tracing on), its answer's status recorded, 5xx as an error. */
function clientSpan<T extends { status: number }>(method: string, url: string | URL, run: () => Promise<T>): Promise<T> {
  return (tracer as NonNullable<typeof tracer>).span(method, { kind: 'client', attributes: clientAttributes(method, url) }, async (span) => {
    const res = await run();
    span.set('http.response.status_code', res.status);
    if (res.status >= 500) {
      span.set('error.type', String(res.status));
      span.fail(`HTTP ${res.status}`);
    }
    return res;
  });
}

/** A client span's attributes: the target without its query string or credentials. */
function clientAttributes(method: string, url: string | URL): SpanAttributes {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    return { 'http.request.method': method };
  }
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  return { 'http.request.method': method, 'url.full': `${u.origin}${u.pathname}`, 'server.address': u.hostname, 'server.port': port };
}

function retryAfterMs(headers: Array<[string, string]>): number | null {
  const v = headers.find(([k]) => k === 'retry-after')?.[1]?.trim();
  if (!v) return null;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

function sleep(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A `lookup` for net.connect that answers only with the checked addresses. */
function pinnedLookup(addresses: CheckedTarget['addresses']): LookupFunction {
  return ((_host: string, opts: { family?: number | string; all?: boolean }, cb: (...args: unknown[]) => void) => {
    const fam = opts.family === 4 || opts.family === 'IPv4' ? 4 : opts.family === 6 || opts.family === 'IPv6' ? 6 : 0;
    const list = fam ? addresses.filter((a) => a.family === fam) : addresses;
    const first = list[0];
    if (!first) {
      cb(Object.assign(new Error(`no IPv${fam} address for the host`), { code: 'ENOTFOUND' }));
      return;
    }
    if (opts.all)
      cb(
        null,
        list.map((a) => ({ address: a.address, family: a.family })),
      );
    else cb(null, first.address, first.family);
  }) as unknown as LookupFunction;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);
const TLS_FAILURE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HPE_|ERR_INVALID_|Z_)/;

/**
 * Keep-alive agents (`keepAlive: true`), one per checked target: the origin plus the addresses the guard approved
 * for this request. A connection is reused only by a request whose own, fresh check gave the same addresses, so
 * pinning holds (a changed DNS answer or allow-list gives another key, or a refusal before any connection). Not
 * with a custom `ca`. Idle connections do not keep the process alive (Node unrefs them) and close after
 * IDLE_SOCKET_MS, below Node servers' default 5 s keep-alive (and sooner when a server announces a shorter one).
 */
const AGENTS = new Map<string, HttpModule.Agent>();
const MAX_AGENTS = 100;
const IDLE_SOCKET_MS = 4000;

function agentFor(mod: typeof HttpModule | typeof HttpsModule, target: CheckedTarget, ca: FetchOptions['ca']): HttpModule.Agent | false {
  if (ca !== undefined) return false;
  const key = `${target.url.protocol}//${target.url.host}|${target.addresses.map((a) => a.address).join(',')}`;
  let agent = AGENTS.get(key);
  if (!agent) {
    if (AGENTS.size >= MAX_AGENTS) {
      const [oldest, old] = AGENTS.entries().next().value as [string, HttpModule.Agent];
      AGENTS.delete(oldest);
      old.destroy();
    }
    // As many idle sockets kept as may be open: a burst of deliveries then reuses them all (fewer free sockets
    // meant closing the rest after every burst and connecting again for the next).
    agent = new mod.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64, timeout: IDLE_SOCKET_MS });
    AGENTS.set(key, agent);
  }
  return agent;
}

/** Sends one request to a checked target and reads the whole (decoded, capped) body. */
async function send(
  target: CheckedTarget,
  method: string,
  headers: Headers | Record<string, string>,
  body: Buffer | null,
  signal: AbortSignal,
  maxBytes: number,
  ca: FetchOptions['ca'],
  keepAlive: boolean,
): Promise<RawResponse> {
  const { url } = target;
  const outHeaders: Record<string, string> = {};
  if (headers instanceof Headers) for (const [k, v] of headers) outHeaders[k] = v;
  else Object.assign(outHeaders, headers);
  if (body) outHeaders['content-length'] = String(body.length);
  else if (method === 'POST' || method === 'PUT' || method === 'PATCH') outHeaders['content-length'] = '0';
  // node:https (and so tls) and node:zlib load on the first outbound call, not at start (idle RSS).
  const mod: typeof HttpModule | typeof HttpsModule = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const agent = keepAlive ? agentFor(mod, target, ca) : false;
  const zlib: typeof ZlibModule = await import('node:zlib');
  const origin = `${url.protocol}//${url.host}`;
  return new Promise<RawResponse>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const req = mod.request(
      {
        protocol: url.protocol,
        host: target.host,
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method,
        headers: outHeaders,
        lookup: pinnedLookup(target.addresses),
        agent,
        signal,
        ...(ca !== undefined && url.protocol === 'https:' ? { ca } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const pairs: Array<[string, string]> = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) pairs.push([(res.rawHeaders[i] as string).toLowerCase(), res.rawHeaders[i + 1] as string]);
        const declared = Number(res.headers['content-length']);
        const tooLarge = () =>
          new AppError('outbound_response_too_large', `Outbound request to ${origin} failed: the response body is larger than ${maxBytes} bytes.`);
        if (Number.isFinite(declared) && declared > maxBytes && !res.headers['content-encoding']) {
          fail(tooLarge()); // first: destroying emits 'aborted'
          res.destroy();
          return;
        }
        let stream: Readable = res;
        const encoding = String(res.headers['content-encoding'] ?? '')
          .trim()
          .toLowerCase();
        if (method !== 'HEAD' && status !== 204 && status !== 304) {
          if (encoding === 'gzip' || encoding === 'x-gzip') stream = res.pipe(zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH }));
          else if (encoding === 'deflate') stream = res.pipe(zlib.createInflate({ finishFlush: zlib.constants.Z_SYNC_FLUSH }));
          else if (encoding === 'br') stream = res.pipe(zlib.createBrotliDecompress());
        }
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            fail(tooLarge()); // first: destroying emits 'aborted'
            res.destroy();
            if (stream !== res) stream.destroy();
            return;
          }
          chunks.push(chunk);
        });
        stream.on('error', (err) => fail(networkError(err, origin)));
        res.on('error', (err) => fail(networkError(err, origin)));
        res.on('aborted', () => fail(new RetryableError(`Outbound request to ${origin} failed: the connection closed mid-response.`)));
        stream.on('end', () => {
          if (settled) return;
          if (!res.complete) return fail(new RetryableError(`Outbound request to ${origin} failed: the connection closed mid-response.`));
          settled = true;
          resolve({ status, statusText: res.statusMessage ?? '', headers: pairs, body: chunks.length || size ? Buffer.concat(chunks) : Buffer.alloc(0), url });
        });
      },
    );
    req.on('error', (err) => fail(networkError(err, origin)));
    if (body) req.end(body);
    else req.end();
  });
}

/** The origin of a URL for an error message (the text itself when it does not parse). */
function originOf(url: string | URL): string {
  try {
    return new URL(String(url)).origin;
  } catch {
    return String(url);
  }
}

/** A retryable failure (a network failure, a timeout) as the AppError it ends with after the last attempt. */
function unwrap(err: unknown): unknown {
  if (err instanceof RetryableTimeout) return err.error;
  if (err instanceof RetryableError) return new AppError('outbound_failed', err.message, undefined, { cause: err.cause ?? err });
  return err;
}

function networkError(err: unknown, origin: string): unknown {
  if (isAppError(err)) return err;
  const code = (err as { code?: string }).code ?? '';
  if ((err as Error).name === 'AbortError') return err; // mapped by the caller (timeout vs caller's abort)
  const msg = `Outbound request to ${origin} failed: ${code || (err as Error).message || 'network error'}.`;
  // A certificate, protocol or decoding problem will not fix itself on a second try; a dropped connection may.
  if (TLS_FAILURE.test(code) && !NETWORK_CODES.has(code)) return new AppError('outbound_failed', msg, undefined, { cause: err });
  return new RetryableError(msg, { cause: err });
}

const NULL_BODY = new Set([101, 204, 205, 304]);

function toResponse(raw: RawResponse, method: string): Response {
  if (raw.status < 200 || raw.status > 599) {
    throw new AppError('outbound_failed', `Outbound request to ${raw.url.origin} failed: invalid status ${raw.status}.`);
  }
  const headers = new Headers();
  for (const [k, v] of raw.headers) {
    try {
      headers.append(k, v);
    } catch {
      /* a header fetch would not accept either */
    }
  }
  const body = NULL_BODY.has(raw.status) || method === 'HEAD' ? null : raw.body;
  let res: Response;
  try {
    res = new Response(body, { status: raw.status, statusText: raw.statusText, headers });
  } catch {
    res = new Response(body, { status: raw.status, headers });
  }
  Object.defineProperty(res, 'url', { value: raw.url.href });
  Object.defineProperty(res, 'redirected', { value: raw.redirected === true });
  return res;
}
