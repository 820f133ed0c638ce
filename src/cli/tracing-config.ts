/**
 * Whether `plinth serve` traces, from OpenTelemetry's standard variables (docs/tracing.md): on when
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is) or OTEL_EXPORTER_OTLP_ENDPOINT (`/v1/traces` appended) is
 * set, unless OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. Everything else (sampler, headers,
 * timeouts, batching) the OpenTelemetry SDK reads itself.
 */
import type { TracingConfig } from '../tracing/index.js';
import { maskUrlCredentials } from '../util/mask-url.js';
import { UsageError } from './args.js';

export function tracingConfigFromEnv(env: NodeJS.ProcessEnv = process.env): Omit<TracingConfig, 'logger' | 'serviceVersion'> | null {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return null;
  const signal = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const name = signal ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  const raw = signal || base;
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`Invalid ${name} "${maskUrlCredentials(raw)}": expected an http(s) URL such as http://127.0.0.1:4318.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`Invalid ${name} "${maskUrlCredentials(raw)}": Plinth exports traces over OTLP/HTTP, so the URL must start with http:// or https://.`);
  }
  const traces = signal ? url.href : `${url.href.replace(/\/+$/, '')}/v1/traces`;
  const serviceName = env.OTEL_SERVICE_NAME?.trim();
  return { url: traces, ...(serviceName ? { serviceName } : {}) };
}
