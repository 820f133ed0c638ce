/**
 * Webhook signatures (node:crypto only):
 * - Standard Webhooks (what Plinth sends, and the `standard` inbound verifier): secret `whsec_<base64>`,
 *   signed content `${id}.${timestamp}.${body}`, HMAC-SHA256, header `webhook-signature: v1,<base64>`
 *   (several space-separated during a secret rotation).
 * - Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`, HMAC-SHA256 hex of `${t}.${body}` with the
 *   endpoint secret as given (`whsec_…` used verbatim as the key, as Stripe does).
 * - GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 hex of the body.
 * Every comparison is constant-time; timestamps outside the tolerance window (default 300 s) fail.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A new signing secret: `whsec_` + 24 random bytes in base64 (Svix's format). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString('base64');
}

/** The HMAC key of a Standard Webhooks secret (`whsec_` prefix optional, base64 body). */
export function secretKey(secret: string): Buffer {
  const body = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(body, 'base64');
}

/** `v1,<base64>` for one secret. */
export function signStandard(secret: string, id: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export type VerifyResult = { ok: true; id: string | null } | { ok: false; reason: string };

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function timestampProblem(ts: number, toleranceSeconds: number, now: number): string | null {
  if (!Number.isSafeInteger(ts)) return 'the timestamp is not a number';
  if (Math.abs(now / 1000 - ts) > toleranceSeconds) return 'the timestamp is outside the tolerance window';
  return null;
}

/** Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`; any of `secrets` may match. */
export function verifyStandard(
  secrets: readonly string[],
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
  now = Date.now(),
): VerifyResult {
  const id = header(headers, 'webhook-id');
  const ts = header(headers, 'webhook-timestamp');
  const sig = header(headers, 'webhook-signature');
  if (!id || !ts || !sig) return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature header' };
  const t = /^\d{1,12}$/.test(ts) ? Number(ts) : Number.NaN;
  const problem = timestampProblem(t, toleranceSeconds, now);
  if (problem) return { ok: false, reason: problem };
  const given = sig.split(' ').filter((s) => s.startsWith('v1,'));
  for (const secret of secrets) {
    const expected = signStandard(secret, id, t, body);
    if (given.some((g) => safeEqual(g, expected))) return { ok: true, id };
  }
  return { ok: false, reason: 'no signature matches' };
}

/** Stripe: `Stripe-Signature: t=…,v1=…`; the dedup id is the event's `id` from the body (filled by the caller). */
export function verifyStripe(
  secrets: readonly string[],
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
  now = Date.now(),
): VerifyResult {
  const sig = header(headers, 'stripe-signature');
  if (!sig) return { ok: false, reason: 'missing Stripe-Signature header' };
  let t = Number.NaN;
  const v1: string[] = [];
  for (const part of sig.split(',')) {
    const eq = part.indexOf('=');
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't' && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1') v1.push(v);
  }
  const problem = timestampProblem(t, toleranceSeconds, now);
  if (problem) return { ok: false, reason: problem };
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
    if (v1.some((g) => safeEqual(g, expected))) return { ok: true, id: null };
  }
  return { ok: false, reason: 'no signature matches' };
}

/** GitHub: `X-Hub-Signature-256: sha256=<hex>`; the dedup id is `X-GitHub-Delivery`. GitHub sends no timestamp. */
export function verifyGithub(secrets: readonly string[], headers: Record<string, string | string[] | undefined>, body: Buffer): VerifyResult {
  const sig = header(headers, 'x-hub-signature-256');
  if (!sig) return { ok: false, reason: 'missing X-Hub-Signature-256 header' };
  for (const secret of secrets) {
    const expected = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    if (safeEqual(sig, expected)) return { ok: true, id: header(headers, 'x-github-delivery') ?? null };
  }
  return { ok: false, reason: 'no signature matches' };
}
