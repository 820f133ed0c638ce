/**
 * AWS Signature Version 4 for S3 requests (header form). Small and dependency-free, like PocketBase's own
 * client: canonical request → string to sign → HMAC chain → `Authorization`. Checked against the examples
 * in AWS's S3 documentation (see sigv4.test.ts).
 */
import { createHash, createHmac } from 'node:crypto';

/** `x-amz-content-sha256` for a payload the signature does not cover (streams, or by choice). */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** SHA-256 of the empty string: the payload hash of GET/HEAD/DELETE. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Credentials and scope of a signature. */
export interface SigningKey {
  accessKey: string;
  secret: string;
  region: string;
  /** Default `s3`. */
  service?: string;
}

/** What gets signed. `path` is the raw (decoded) object path; it is encoded here exactly once. */
export interface SignInput {
  method: string;
  host: string;
  path: string;
  query?: Record<string, string>;
  /** Extra headers to send and sign (names any case). */
  headers?: Record<string, string>;
  /** Hex SHA-256 of the body, or {@link UNSIGNED_PAYLOAD}. */
  payloadHash: string;
  /** Signing time (default now). */
  date?: Date;
}

/** Lower-case hex SHA-256. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Uint8Array | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** RFC 3986 percent-encoding as SigV4 wants it (unreserved characters kept; `/` kept when `keepSlash`). */
export function uriEncode(value: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** `20130524T000000Z`. */
export function amzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Canonical query string: keys and values encoded, sorted by key then value, `k=` for empty values. */
export function canonicalQuery(query: Record<string, string>): string {
  return Object.entries(query)
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/**
 * Signs a request: returns every header to send (lower-case names), `authorization`, `x-amz-date` and
 * `x-amz-content-sha256` included. `host` is signed but not returned (fetch sets it from the URL).
 */
export function signRequest(input: SignInput, key: SigningKey): Record<string, string> {
  const date = input.date ?? new Date();
  const stamp = amzDate(date);
  const day = stamp.slice(0, 8);
  const service = key.service ?? 's3';
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers ?? {})) headers[k.toLowerCase()] = v;
  headers['x-amz-date'] = stamp;
  headers['x-amz-content-sha256'] = input.payloadHash;
  const signed: Record<string, string> = { ...headers, host: input.host };
  const names = Object.keys(signed).sort();
  const canonicalHeaders = names.map((n) => `${n}:${String(signed[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    input.method.toUpperCase(),
    uriEncode(input.path.startsWith('/') ? input.path : `/${input.path}`, true),
    canonicalQuery(input.query ?? {}),
    canonicalHeaders,
    signedHeaders,
    input.payloadHash,
  ].join('\n');
  const scope = `${day}/${key.region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', stamp, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${key.secret}`, day), key.region), service), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${key.accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}
