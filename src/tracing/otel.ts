/**
 * The OpenTelemetry side of tracing/index.ts, loaded only when tracing is on: the SDK's tracer provider with a
 * batch span processor and the OTLP/HTTP (JSON) exporter, W3C trace-context propagation, and an
 * AsyncLocalStorage context manager so spans started anywhere below a request (SQL statements, hooks, outbound
 * calls) find their parent without it being passed down.
 *
 * Requests never wait on the exporter: spans are queued (bounded) and sent in batches from a timer; a failed or
 * timed-out export drops its batch. Every dropped span is counted (`droppedSpans()`) and the first drop is logged.
 *
 * The SDK reads its own standard variables: OTEL_TRACES_SAMPLER / _ARG (default parentbased_always_on),
 * OTEL_EXPORTER_OTLP_HEADERS / _TIMEOUT / _COMPRESSION, OTEL_BSP_*, OTEL_RESOURCE_ATTRIBUTES.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  context,
  defaultTextMapGetter,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type ContextManager,
  type Span,
} from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type Span as SdkSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { maskUrlCredentials } from '../util/mask-url.js';
import type { RequestSpan, SpanAttributes, SpanHandle, SpanKindName, SpanOptions, Tracer, TracingConfig } from './index.js';

/** The batch queue's bound (OTEL_BSP_MAX_QUEUE_SIZE's default): past it, spans are dropped and counted. */
const MAX_QUEUE = 2048;
/** Statement texts longer than this are cut (rule filters can compile to long SQL). */
const MAX_STATEMENT = 4096;

const KINDS: Record<SpanKindName, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

/**
 * The active context per async chain. AsyncLocalStorage is created here, so with tracing off it does not exist
 * (and costs nothing); with tracing on it is what lets a SQL span deep in records/ find the request's span.
 */
class AsyncLocalContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const run = (self: unknown, args: unknown[]) => this.with(ctx, () => (target as (...a: unknown[]) => unknown).apply(self, args));
    return function (this: unknown, ...args: unknown[]) {
      return run(this, args);
    } as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

/** Counts what never reaches the collector and logs the first loss. */
class DropCounter {
  dropped = 0;
  /** Spans handed to the batch processor and not yet given to the exporter. */
  queued = 0;
  private warned = false;
  constructor(
    private readonly url: string,
    private readonly logger: TracingConfig['logger'],
  ) {}
  drop(n: number, why: string): void {
    this.dropped += n;
    if (this.warned) return;
    this.warned = true;
    this.logger?.warn(
      { endpoint: maskUrlCredentials(this.url), reason: why, dropped: n },
      'tracing: spans could not be exported and were dropped (is the OTLP endpoint up?); further drops are only counted',
    );
  }
}

/** The OTLP exporter, counting the spans of every batch that failed. */
class CountingExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly counter: DropCounter,
  ) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.counter.queued -= spans.length;
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.counter.drop(spans.length, result.error?.message ?? 'export failed');
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** The batch processor behind a bound we count (its own bound drops silently). */
class CountingProcessor implements SpanProcessor {
  constructor(
    private readonly inner: SpanProcessor,
    private readonly counter: DropCounter,
  ) {}
  onStart(span: SdkSpan, parent: Context): void {
    this.inner.onStart(span, parent);
  }
  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.counter.queued >= MAX_QUEUE) return this.counter.drop(1, 'the span queue is full');
    this.counter.queued++;
    this.inner.onEnd(span);
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
}

function clean(attributes: SpanAttributes | undefined): Attributes | undefined {
  if (!attributes) return undefined;
  const out: Attributes = {};
  for (const k in attributes) {
    const v = attributes[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function handle(span: Span): SpanHandle {
  return {
    set: (key, value) => {
      if (value !== undefined) span.setAttribute(key, value);
    },
    fail: (message) => span.setStatus({ code: SpanStatusCode.ERROR, message }),
  };
}

function failed(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException(e);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
  span.setAttribute('error.type', (err as { code?: unknown })?.code !== undefined ? String((err as { code: unknown }).code) : e.name);
}

function isPromise(value: unknown): value is Promise<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/** The operation a statement starts with (`SELECT`, `INSERT`, `WITH`…): the span's name. */
function operation(text: string): string {
  const m = /^\s*([A-Za-z]+)/.exec(text);
  return m ? (m[1] as string).toUpperCase() : 'SQL';
}

export function createTracer(config: TracingConfig): Tracer {
  const counter = new DropCounter(config.url, config.logger);
  const exporter = new OTLPTraceExporter({ url: config.url, ...(config.exportTimeoutMs ? { timeoutMillis: config.exportTimeoutMs } : {}) });
  const processor = new CountingProcessor(new BatchSpanProcessor(new CountingExporter(exporter, counter), { maxQueueSize: MAX_QUEUE }), counter);
  const resource = resourceFromAttributes({
    'service.name': config.serviceName ?? 'plinth',
    ...(config.serviceVersion ? { 'service.version': config.serviceVersion } : {}),
  }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  const propagator = new W3CTraceContextPropagator();
  // Registered globally, as an instrumented application does: code using @opentelemetry/api sees the same context.
  context.setGlobalContextManager(new AsyncLocalContextManager());
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(propagator);
  const otel = provider.getTracer('plinth', config.serviceVersion);

  /**
   * The active context, unless its span has ended: a timer or interval created lazily during a request keeps
   * that request's context for good, and what it runs later is not part of the request.
   */
  const activeParent = (): Context => {
    const ctx = context.active();
    return (trace.getSpan(ctx) as { ended?: boolean } | undefined)?.ended === true ? ROOT_CONTEXT : ctx;
  };
  const parentOf = (traceparent: string | null | undefined): Context =>
    traceparent === undefined ? activeParent() : traceparent === null ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);

  /** Runs fn in `span`'s context and ends the span when fn's result settles. */
  const within = <T>(span: Span, parent: Context, fn: (span: SpanHandle) => T): T => {
    let result: T;
    try {
      result = context.with(trace.setSpan(parent, span), fn, undefined, handle(span));
    } catch (err) {
      failed(span, err);
      span.end();
      throw err;
    }
    if (!isPromise(result)) {
      span.end();
      return result;
    }
    return result.then(
      (value) => {
        span.end();
        return value;
      },
      (err: unknown) => {
        failed(span, err);
        span.end();
        throw err;
      },
    ) as T;
  };

  return {
    span(name, options: SpanOptions, fn) {
      const parent = parentOf(options.parent);
      const span = otel.startSpan(name, { kind: KINDS[options.kind ?? 'internal'], attributes: clean(options.attributes) }, parent);
      return within(span, parent, fn);
    },
    sql(system, text, fn) {
      const parent = context.active();
      // Only inside a live, sampled span: no root spans for polls, none under a request that already ended.
      if (!trace.getSpan(parent)?.isRecording()) return fn();
      const span = otel.startSpan(
        operation(text),
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system': system,
            'db.system.name': system,
            'db.operation.name': operation(text),
            'db.query.text': text.length > MAX_STATEMENT ? `${text.slice(0, MAX_STATEMENT)}…` : text,
          },
        },
        parent,
      );
      return within(span, parent, fn);
    },
    request(name, headers, attributes): RequestSpan {
      const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
      const span = otel.startSpan(name, { kind: SpanKind.SERVER, attributes: clean(attributes) }, parent);
      const ctx = trace.setSpan(parent, span);
      const h = handle(span);
      let ended = false;
      return {
        ...h,
        run: (fn) => context.with(ctx, fn),
        rename: (n) => span.updateName(n),
        end: () => {
          if (ended) return;
          ended = true;
          span.end();
        },
      };
    },
    detached: (fn) => context.with(ROOT_CONTEXT, fn),
    inject(headers) {
      propagator.inject(context.active(), headers, { set: (carrier, key, value) => carrier.set(key, value) });
    },
    traceparent() {
      const carrier: Record<string, string> = {};
      propagator.inject(activeParent(), carrier, { set: (c, k, v) => (c[k] = v) });
      return carrier.traceparent ?? null;
    },
    droppedSpans: () => counter.dropped,
    flush: () => provider.forceFlush().catch(() => undefined),
    async shutdown() {
      await provider.shutdown().catch(() => undefined);
      context.disable();
      trace.disable();
      propagation.disable();
    },
  };
}
