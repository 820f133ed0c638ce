/**
 * Tracing through `plinth serve` as a user turns it on: without OTEL_EXPORTER_OTLP_ENDPOINT no
 * @opentelemetry module is ever loaded (the process's module cache, read over IPC after serving requests);
 * with it, the modules load, spans reach a local OTLP/HTTP receiver with OTEL_SERVICE_NAME and the
 * OTEL_EXPORTER_OTLP_HEADERS headers, and the spans still queued at SIGTERM are flushed before the exit. A
 * malformed endpoint is a usage error. Credentials in the endpoint URL are never printed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BIN, freePort } from '../helpers/cli.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

/** `plinth serve` in a child that answers an IPC message with the @opentelemetry files it has loaded. */
const CHILD = `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { main } = await import(${JSON.stringify(pathToFileURL(resolve('dist/src/cli/main.js')).href)});
process.on('message', () => process.send(Object.keys(require.cache).filter((file) => file.includes('@opentelemetry'))));
void main(process.argv.slice(2));
`;

interface Served {
  url: string;
  /** The @opentelemetry files in the child's module cache. */
  loaded(): Promise<string[]>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  output(): string;
}

/** Env without any OTEL_* of the parent's, plus `extra`. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTEL_')) env[k] = v;
  return { ...env, ...extra };
}

async function serve(script: string, dataDir: string, env: NodeJS.ProcessEnv): Promise<Served> {
  const port = await freePort();
  const child = spawn(process.execPath, [script, 'serve', `--dir=${dataDir}`, `--http=127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const end = Date.now() + 30_000;
  while (!out.includes('Server started at')) {
    if (Date.now() > end || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`plinth serve did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    loaded: () =>
      new Promise((r) => {
        child.once('message', (files) => r(files as string[]));
        child.send('modules?');
      }),
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
    output: () => out,
  };
}

describe('plinth serve with and without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  let dir: string;
  let script: string;
  let receiver: OtlpReceiver;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-tracing-cli-'));
    script = join(dir, 'child.mjs');
    writeFileSync(script, CHILD);
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('off by default: requests are served and no @opentelemetry module is loaded', async () => {
    const served = await serve(script, join(dir, 'off'), envWith({}));
    try {
      assert.equal((await fetch(`${served.url}/api/health`)).status, 200);
      assert.equal((await fetch(`${served.url}/api/collections/_superusers/records`)).status, 403);
      assert.deepEqual(await served.loaded(), []);
      assert.doesNotMatch(served.output(), /Traces:/);
    } finally {
      assert.equal(await served.stop(), 0);
    }
  });

  it('on with the endpoint: OpenTelemetry loads, spans arrive named and with the headers, and are flushed on SIGTERM', async () => {
    const served = await serve(
      script,
      join(dir, 'on'),
      envWith({
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: 'my-plinth',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-key=k123',
        OTEL_BSP_SCHEDULE_DELAY: '60000', // only the shutdown flush sends anything
      }),
    );
    let code: number | null;
    try {
      assert.match(served.output(), new RegExp(`Traces: OTLP/HTTP to ${receiver.tracesUrl}`));
      assert.equal((await fetch(`${served.url}/api/health`)).status, 200);
      const files = await served.loaded();
      for (const pkg of ['api', 'sdk-trace-base', 'exporter-trace-otlp-http', 'resources', 'core']) {
        assert.ok(
          files.some((f) => f.includes(`@opentelemetry/${pkg}/`)),
          `@opentelemetry/${pkg} is loaded`,
        );
      }
      assert.equal(receiver.spans.length, 0, 'nothing sent yet (the batch waits a minute)');
    } finally {
      code = await served.stop();
    }
    assert.equal(code, 0);
    // Sent during shutdown: nothing was lost by stopping.
    const health = receiver.spans.find((s) => s.name === 'GET /api/health');
    assert.ok(health, `the queued span was flushed at exit:\n${served.output()}`);
    assert.equal(health.resource['service.name'], 'my-plinth');
    assert.equal(receiver.requests.at(-1)?.['x-collector-key'], 'k123');
    assert.match(String(receiver.requests.at(-1)?.['content-type']), /application\/json/);
  });

  it('a malformed endpoint is a usage error (exit 2), before anything starts', () => {
    const r = spawnPlinthWithEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://127.0.0.1:4317' }, join(dir, 'bad'));
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.*http:\/\/ or https:\/\//);
    const withCredentials = spawnPlinthWithEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://tenant:otlp-pass-1@127.0.0.1:4317' }, join(dir, 'bad2'));
    assert.equal(withCredentials.code, 2, withCredentials.err);
    assert.match(withCredentials.err, /grpc:\/\/\*\*\*@127\.0\.0\.1:4317/);
    assert.doesNotMatch(withCredentials.err, /otlp-pass-1/, 'the credentials in the endpoint are not printed');
  });

  it('credentials in the endpoint (user info, ?api-key=) are never printed in the banner or the logs', async () => {
    const endpoint = receiver.url.replace('http://', 'http://tenant:otlp-pass-2@');
    const served = await serve(
      script,
      join(dir, 'creds'),
      envWith({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/v1/traces?api-key=otlp-key-3`, OTEL_BSP_SCHEDULE_DELAY: '60000' }),
    );
    let code: number | null;
    try {
      assert.match(served.output(), /Traces: OTLP\/HTTP to http:\/\/\*\*\*@127\.0\.0\.1:\d+\/v1\/traces\?api-key=\*\*\*/);
      assert.equal((await fetch(`${served.url}/api/health`)).status, 200);
    } finally {
      code = await served.stop();
    }
    assert.equal(code, 0);
    assert.doesNotMatch(served.output(), /otlp-pass-2|otlp-key-3/);
  });
});

/** `plinth serve` with extra environment, run to completion (it fails at once here). */
function spawnPlinthWithEnv(extra: Record<string, string>, dataDir: string): { code: number | null; err: string } {
  const r = spawnSync(process.execPath, [BIN, 'serve', `--dir=${dataDir}`, '--http=127.0.0.1:0'], { encoding: 'utf8', timeout: 60_000, env: envWith(extra) });
  return { code: r.status, err: r.stderr };
}
