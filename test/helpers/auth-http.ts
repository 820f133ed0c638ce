/** Small raw-HTTP helpers the auth tests share (status + parsed body, no SDK in between). */
import type PocketBase from 'pocketbase';
import type { TestServer } from './server.js';

/** A response as the tests look at it. */
export interface RawResponse {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** POSTs JSON (any value, so tests can send type-confused bodies) with an optional Authorization. */
export async function postJson(s: TestServer, path: string, body: unknown, token?: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const res = await s.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers, ...(token ? { authorization: token } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** GETs a path with an optional Authorization. */
export async function getJson(s: TestServer, path: string, token?: string): Promise<RawResponse> {
  const res = await s.fetch(path, { headers: token ? { authorization: token } : {} });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

/** Creates a user through the API (as a guest signs up) and returns its id. */
export async function signUp(s: TestServer, email: string, password = 'password123', extra: Record<string, unknown> = {}): Promise<string> {
  const rec = await s
    .client()
    .collection('users')
    .create({ email, password, passwordConfirm: password, ...extra });
  return rec.id;
}

/** A logged-in SDK client. */
export async function login(s: TestServer, email: string, password = 'password123', collection = 'users'): Promise<PocketBase> {
  const pb = s.client();
  await pb.collection(collection).authWithPassword(email, password);
  return pb;
}

/** The decoded (unverified) payload of a JWT. */
export function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Median of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Whether two timing samples look alike "within noise": their medians are within `maxRatio` of each other,
 * or differ by less than `floorMs` (on a shared 2-core machine a millisecond of scheduling noise can double
 * a 1 ms median). A real enumeration leak — skipping an 80 ms password hash — fails both checks by far.
 */
export function similarTimes(a: number[], b: number[], maxRatio: number, floorMs: number): { ok: boolean; detail: string } {
  const ma = median(a);
  const mb = median(b);
  const ratio = Math.max(ma, mb) / Math.max(Math.min(ma, mb), 1e-6);
  return { ok: ratio <= maxRatio || Math.abs(ma - mb) < floorMs, detail: `medians ${ma.toFixed(2)} ms vs ${mb.toFixed(2)} ms` };
}

/** Runs `fn` n times at once and counts the statuses. */
export async function parallel(n: number, fn: () => Promise<number>): Promise<Map<number, number>> {
  const statuses = await Promise.all(Array.from({ length: n }, fn));
  const counts = new Map<number, number>();
  for (const st of statuses) counts.set(st, (counts.get(st) ?? 0) + 1);
  return counts;
}
