import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from './args.js';
import { tracingConfigFromEnv } from './tracing-config.js';

describe('tracing configuration from OTEL_* variables', () => {
  it('off without an endpoint, or when the SDK or the traces exporter is switched off', () => {
    assert.equal(tracingConfigFromEnv({}), null);
    assert.equal(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }), null);
    assert.equal(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'TRUE' }), null);
    assert.equal(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }), null);
  });

  it('the base endpoint gets /v1/traces; the traces endpoint is used as is and wins', () => {
    assert.deepEqual(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), { url: 'http://collector:4318/v1/traces' });
    assert.deepEqual(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/base/' }), {
      url: 'https://otlp.example.com/base/v1/traces',
    });
    assert.deepEqual(
      tracingConfigFromEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:9999/custom/path',
        OTEL_SERVICE_NAME: 'shop',
      }),
      { url: 'http://collector:9999/custom/path', serviceName: 'shop' },
    );
  });

  it('a URL that is not http(s) is a usage error naming the variable', () => {
    assert.throws(
      () => tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }),
      (e: unknown) => e instanceof UsageError && /OTEL_EXPORTER_OTLP_ENDPOINT/.test(e.message),
    );
    assert.throws(
      () => tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://c:4317' }),
      (e: unknown) => e instanceof UsageError && /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.*http:\/\//.test(e.message),
    );
  });
});
