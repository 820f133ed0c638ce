/**
 * The HTTP calls to an OAuth2 provider: short timeouts, no redirects, a response size cap and strict JSON
 * objects. Any deviation (status, content, shape) is an error, so a provider that answers garbage can
 * only ever fail the login, never map it to some user (threat model §1d, Supabase "U0").
 */

/** Failure talking to the provider; the message is for logs, clients get a generic 400. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';

  constructor(
    message: string,
    /** Which step failed: the code exchange or fetching the user (PocketBase answers differently). */
    readonly stage: 'token' | 'user' = 'user',
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 15_000;
const MAX_BYTES = 1024 * 1024;

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new ProviderError('provider response too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Sends a request and returns the parsed JSON value of a 2xx answer. */
export async function fetchJson(url: string, init: RequestInit & { label: string }): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new ProviderError(`${init.label}: request failed (${(err as Error).message})`);
  }
  const text = await readCapped(res);
  if (res.status < 200 || res.status >= 300) throw new ProviderError(`${init.label}: HTTP ${res.status}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProviderError(`${init.label}: the response is not JSON`);
  }
}

/** Like fetchJson, but the value must be a JSON object without an OAuth2 `error` member. */
export async function fetchObject(url: string, init: RequestInit & { label: string }): Promise<Record<string, unknown>> {
  const value = await fetchJson(url, init);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProviderError(`${init.label}: the response is not a JSON object`);
  const obj = value as Record<string, unknown>;
  if (obj.error !== undefined && obj.error !== null && obj.error !== '')
    throw new ProviderError(`${init.label}: provider error ${String(obj.error).slice(0, 100)}`);
  return obj;
}

/** A string member, or '' (numbers are accepted and stringified: GitHub ids are numbers). */
export function str(obj: Record<string, unknown>, key: string): string {
  const v = obj[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return '';
}
