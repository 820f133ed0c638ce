/**
 * A minimal S3 REST client over `fetch` and our SigV4 signer: put, head, get (with Range), delete and
 * ListObjectsV2, which is all file storage needs. Works with AWS S3 and S3-compatible services (GCS's XML
 * API, MinIO, R2 …) by configuration: endpoint, region, path-style vs virtual-host addressing, signed or
 * `UNSIGNED-PAYLOAD` bodies. Multi-object delete is avoided on purpose: GCS does not implement it.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { canonicalQuery, EMPTY_SHA256, sha256Hex, signRequest, uriEncode, UNSIGNED_PAYLOAD } from './sigv4.js';

/** Connection settings (PocketBase's `settings.s3` plus two knobs settings do not expose). */
export interface S3Config {
  bucket: string;
  /** Signing region; default `us-east-1` (GCS accepts `auto`). */
  region: string;
  /** `https://host[:port][/base]`; empty means AWS (`https://s3.<region>.amazonaws.com`). */
  endpoint: string;
  accessKey: string;
  secret: string;
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`. */
  forcePathStyle: boolean;
  /** Send `UNSIGNED-PAYLOAD` instead of hashing request bodies (default false). */
  unsignedPayload?: boolean;
  /** Time allowed until response headers arrive (default 30 s). */
  timeoutMs?: number;
}

/** A failed S3 call, with the service's error code when it sent one. */
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'S3Error';
  }
}

/** Metadata from HEAD. */
export interface S3Head {
  size: number;
  contentType?: string;
  modified?: Date;
}

const MAX_ERROR_BODY = 64 * 1024;
const MAX_LIST_BODY = 8 * 1024 * 1024;

/** The client for one bucket. */
export class S3Client {
  private readonly origin: string;
  private readonly basePath: string;
  private readonly region: string;

  constructor(private readonly config: S3Config) {
    this.region = config.region.trim() || 'us-east-1';
    const endpoint = config.endpoint.trim() || `https://s3.${this.region}.amazonaws.com`;
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('The S3 endpoint must be an http(s) URL.');
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.origin = config.forcePathStyle ? url.origin : `${url.protocol}//${config.bucket}.${url.host}`;
  }

  /** The URL of an object (or of the bucket, for an empty key), and the path the signature covers. */
  objectUrl(key: string): { url: string; host: string; path: string } {
    const path = this.config.forcePathStyle ? `${this.basePath}/${this.config.bucket}/${key}` : `${this.basePath}/${key}`;
    return { url: this.origin + uriEncode(path, true), host: new URL(this.origin).host, path };
  }

  private async send(
    method: string,
    key: string,
    opts: { query?: Record<string, string>; headers?: Record<string, string>; body?: Buffer } = {},
  ): Promise<Response> {
    const { url, host, path } = this.objectUrl(key);
    const payloadHash = opts.body
      ? this.config.unsignedPayload
        ? UNSIGNED_PAYLOAD
        : sha256Hex(opts.body)
      : this.config.unsignedPayload
        ? UNSIGNED_PAYLOAD
        : EMPTY_SHA256;
    const headers = signRequest(
      { method, host, path, query: opts.query ?? {}, headers: opts.headers ?? {}, payloadHash },
      { accessKey: this.config.accessKey, secret: this.config.secret, region: this.region },
    );
    // The same encoding the signature used, so no server can decode it differently.
    const qs = opts.query ? canonicalQuery(opts.query) : '';
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.config.timeoutMs ?? 30_000);
    try {
      return await fetch(qs ? `${url}?${qs}` : url, {
        method,
        headers,
        ...(opts.body ? { body: opts.body } : {}),
        signal: controller.signal,
        redirect: 'manual',
      });
    } catch (err) {
      const why = controller.signal.aborted ? 'timed out' : (err as Error).message;
      throw new S3Error(0, 'NetworkError', `S3 request failed: ${why}`);
    } finally {
      // Only the wait for headers is bounded; a body streams at the client's pace.
      clearTimeout(timer);
    }
  }

  private async fail(res: Response, what: string): Promise<never> {
    const text = res.body ? await readText(res, MAX_ERROR_BODY).catch(() => '') : '';
    const code = xmlValue(text, 'Code') ?? `HTTP${res.status}`;
    const message = xmlValue(text, 'Message') ?? (res.statusText || 'request failed');
    throw new S3Error(res.status, code, `${what} failed: ${code}: ${message}`);
  }

  /** Uploads an object. */
  async put(key: string, body: Buffer, contentType: string): Promise<void> {
    const res = await this.send('PUT', key, { body, headers: { 'content-type': contentType } });
    if (!res.ok) await this.fail(res, 'PUT');
    await res.body?.cancel();
  }

  /** Object metadata, or null when it does not exist. */
  async head(key: string): Promise<S3Head | null> {
    const res = await this.send('HEAD', key);
    if (res.status === 404) return null;
    if (!res.ok) throw new S3Error(res.status, `HTTP${res.status}`, `HEAD failed with status ${res.status}`);
    const modified = res.headers.get('last-modified');
    const type = res.headers.get('content-type');
    return {
      size: Number(res.headers.get('content-length') ?? 0),
      ...(type ? { contentType: type } : {}),
      ...(modified ? { modified: new Date(modified) } : {}),
    };
  }

  /** Streams an object (or an inclusive byte range of it). */
  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const res = await this.send('GET', key, range ? { headers: { range: `bytes=${range.start}-${range.end}` } } : {});
    if (!res.ok) await this.fail(res, 'GET');
    if (!res.body) return Readable.from([]);
    return Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
  }

  /** Deletes an object; a missing one is fine. */
  async delete(key: string): Promise<void> {
    const res = await this.send('DELETE', key);
    if (!res.ok && res.status !== 404) await this.fail(res, 'DELETE');
    await res.body?.cancel();
  }

  /** Every key under `prefix` (ListObjectsV2, following continuation tokens). */
  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 10_000; page++) {
      const query: Record<string, string> = { 'list-type': '2', prefix, ...(token ? { 'continuation-token': token } : {}) };
      const res = await this.send('GET', '', { query });
      if (!res.ok) await this.fail(res, 'LIST');
      const xml = await readText(res, MAX_LIST_BODY);
      for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(decodeXml(m[1] as string));
      token = xmlValue(xml, 'NextContinuationToken');
      if (xmlValue(xml, 'IsTruncated') !== 'true' || !token) break;
    }
    return keys;
  }
}

async function readText(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > max) {
      await res.body.cancel().catch(() => undefined);
      break;
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function xmlValue(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m ? decodeXml(m[1] as string) : undefined;
}

function decodeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, e: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (named[e.toLowerCase()]) return named[e.toLowerCase()] as string;
    const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : '';
  });
}
