/**
 * A local OTLP/HTTP trace receiver for tests: an HTTP server accepting `POST /v1/traces` in OTLP's JSON
 * encoding (what @opentelemetry/exporter-trace-otlp-http sends), keeping every span it decodes.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type AttrValue = string | number | boolean;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's numbers: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, AttrValue>;
  /** 0 unset, 1 ok, 2 error. */
  status: number;
  /** Start and end, in ms since the epoch. */
  start: number;
  end: number;
  /** The resource's attributes (service.name, …). */
  resource: Record<string, AttrValue>;
}

export interface OtlpReceiver {
  url: string;
  /** The traces endpoint (`…/v1/traces`). */
  tracesUrl: string;
  spans: ReceivedSpan[];
  /** Headers of every export request. */
  requests: IncomingHttpHeaders[];
  /** Waits until `predicate` holds for the received spans (polls; fails after `ms`). */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, ms?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

function attrs(list: OtlpKeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const { key, value } of list ?? []) {
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
  }
  return out;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      requests.push(req.headers);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: Array<{
          resource?: { attributes?: OtlpKeyValue[] };
          scopeSpans: Array<{
            spans: Array<{
              traceId: string;
              spanId: string;
              parentSpanId?: string;
              name: string;
              kind: number;
              attributes?: OtlpKeyValue[];
              status?: { code?: number };
              startTimeUnixNano: string | number;
              endTimeUnixNano: string | number;
            }>;
          }>;
        }>;
      };
      for (const rs of body.resourceSpans) {
        const resource = attrs(rs.resource?.attributes);
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: s.kind,
              attributes: attrs(s.attributes),
              status: s.status?.code ?? 0,
              start: Number(BigInt(s.startTimeUnixNano) / 1000n) / 1000,
              end: Number(BigInt(s.endTimeUnixNano) / 1000n) / 1000,
              resource,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    tracesUrl: `${url}/v1/traces`,
    spans,
    requests,
    async waitFor(predicate, ms = 15_000, what = 'the expected spans') {
      const end = Date.now() + ms;
      while (!predicate(spans)) {
        if (Date.now() > end) {
          throw new Error(`${what} did not arrive; received:\n${spans.map((s) => `  ${s.name} ${s.traceId} ${s.spanId} ← ${s.parentSpanId}`).join('\n')}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
