/**
 * OpenTelemetry traces (docs/tracing.md), off unless `plinth serve` finds an OTLP endpoint in the environment
 * (cli/tracing-config.ts) and calls `startTracing`. Then, and only then, `otel.ts` and the @opentelemetry
 * packages are loaded (dynamic import) and `tracer` is set. Instrumented code checks `if (tracer)` before doing
 * anything: with tracing off that is one null check, no allocation, no OpenTelemetry module in memory.
 *
 * This module sits beside util/ at the bottom of the import order: db/, hooks, jobs, outbound, webhooks and
 * http/ all call it. It holds process-wide state because tracing is process-wide (one exporter, one context
 * per async chain), as OpenTelemetry's own API is.
 */
import type { Logger } from '../util/logger.js';

export interface TracingConfig {
  /** The OTLP/HTTP traces URL (`…/v1/traces`); spans are sent there as JSON. */
  url: string;
  /** `service.name` (OTEL_SERVICE_NAME; default "plinth"). */
  serviceName?: string;
  serviceVersion?: string;
  /** One export's time limit in ms (default 10,000; OTEL_EXPORTER_OTLP_TIMEOUT is the exporter's own). */
  exportTimeoutMs?: number;
  /** Where the first dropped batch is reported (once). */
  logger?: Logger;
}

export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type AttributeValue = string | number | boolean;
export type SpanAttributes = Record<string, AttributeValue | undefined>;

/** The span a traced function runs in, for what it learns on the way (a status code, an id). */
export interface SpanHandle {
  set(key: string, value: AttributeValue | undefined): void;
  /** Marks the span failed (as a throw does) without throwing. */
  fail(message: string): void;
}

/** A server span, started before the request's context is known to async code and ended by hand. */
export interface RequestSpan extends SpanHandle {
  /** Runs `fn` in the span's context: everything it starts (and awaits) becomes a child. */
  run<T>(fn: () => T): T;
  rename(name: string): void;
  end(): void;
}

export interface SpanOptions {
  kind?: SpanKindName;
  attributes?: SpanAttributes;
  /**
   * A W3C `traceparent` to continue (e.g. the one a job was enqueued under) instead of the active span; null
   * starts a new trace.
   */
  parent?: string | null;
}

export interface Tracer {
  /** Runs `fn` inside a new span (a child of the active one), ended when `fn` returns or its promise settles. */
  span<T>(name: string, options: SpanOptions, fn: (span: SpanHandle) => T): T;
  /** One SQL statement (text with placeholders, never values) as a child span; none outside a traced operation. */
  sql<T>(system: 'sqlite' | 'postgresql', text: string, fn: () => T): T;
  /** A server span for an incoming request, continuing its `traceparent`/`tracestate` when it has one. */
  request(name: string, headers: Record<string, string | string[] | undefined>, attributes: SpanAttributes): RequestSpan;
  /** Runs `fn` outside any span (background work a request only woke up, such as a job claim). */
  detached<T>(fn: () => T): T;
  /** Writes the active span's `traceparent` (and `tracestate`) into outgoing headers. */
  inject(headers: { set(name: string, value: string): void }): void;
  /** The active span as a `traceparent` value, or null outside any span (stored with enqueued jobs). */
  traceparent(): string | null;
  /** Spans lost so far: export failures (endpoint down, timeout, refused) and a full queue. */
  droppedSpans(): number;
  /** Exports what is queued now (tests; shutdown does it too). */
  flush(): Promise<void>;
  /** Flushes what is queued (within the export time limit) and stops. */
  shutdown(): Promise<void>;
}

/** The active tracer, or null when tracing is off (the default). */
export let tracer: Tracer | null = null;

/** Loads OpenTelemetry and starts exporting; a second call replaces the first tracer. */
export async function startTracing(config: TracingConfig): Promise<Tracer> {
  const { createTracer } = await import('./otel.js');
  if (tracer) await tracer.shutdown();
  tracer = createTracer(config);
  return tracer;
}

/** Flushes and stops (shutdown); tracing is off afterwards. */
export async function stopTracing(): Promise<void> {
  const t = tracer;
  tracer = null;
  await t?.shutdown();
}

/** Spans dropped since tracing started (0 when off): for the metrics endpoint to publish. */
export function droppedSpans(): number {
  return tracer?.droppedSpans() ?? 0;
}
