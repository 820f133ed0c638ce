/**
 * Verified inbound webhooks: `app.webhooks.inbound(name, { verify, secret, tolerance?, handler })` answers
 * `POST /api/webhooks/inbound/{name}` (src/http/routes/webhooks.ts). The raw body is kept for the check,
 * which runs before anything else; a verified delivery is recorded under its id in `_webhookInbound` and
 * its handler enqueued as a job in the same transaction, then the sender gets a fast 200. The handler runs
 * at least once per delivery id; a repeated id (the sender retrying) answers 200 `{duplicate: true}` without
 * a new run, as Svix/Stripe/GitHub receivers should, so the sender stops retrying.
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../db/dialect.js';
import { sql } from '../db/sql.js';
import { AppError } from '../errors/index.js';
import type { JobContext, JobQueue } from '../jobs/index.js';
import { DEFAULT_TOLERANCE_SECONDS, verifyGithub, verifyStandard, verifyStripe, type VerifyResult } from './signing.js';

export interface InboundRequest {
  name: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

export interface InboundEvent {
  /** The endpoint name. */
  name: string;
  /** The delivery id used for deduplication (webhook-id, the Stripe event id, X-GitHub-Delivery…). */
  id: string;
  /** The parsed JSON body. */
  body: unknown;
  /** The body exactly as received. */
  rawBody: string;
  /** The request headers (lower-case names). */
  headers: Record<string, string>;
  attempt: number;
}

export type InboundVerifier = 'standard' | 'stripe' | 'github' | ((req: InboundRequest) => boolean | Promise<boolean>);

export interface InboundOptions {
  verify: InboundVerifier;
  /** The signing secret(s) (several during the sender's rotation). Not needed with a custom verifier. */
  secret?: string | string[];
  /** Timestamp tolerance in seconds (default 300; Standard Webhooks and Stripe). */
  tolerance?: number;
  /** Largest accepted body in bytes (default 1 MiB); larger answers 413. */
  maxBytes?: number;
  /** With a custom verifier: the delivery id (default: the `webhook-id` header, else none, so no dedup). */
  idOf?: (req: InboundRequest & { body: unknown }) => string | undefined;
  /** Runs as a job (at least once per id; a throw retries it with the job queue's backoff). */
  handler: (event: InboundEvent) => unknown;
  /** Job retries of the handler (default 5). */
  retries?: number;
}

interface Registration extends Required<Pick<InboundOptions, 'verify' | 'tolerance' | 'maxBytes' | 'handler'>> {
  secrets: string[];
  idOf?: InboundOptions['idOf'];
}

export const INBOUND_JOB = 'webhooks.inbound';
const NAME = /^[A-Za-z0-9_-]{1,100}$/;
const DEFAULT_MAX_BYTES = 1024 * 1024;
const KEPT_HEADERS = /^(content-type|user-agent|webhook-|stripe-|x-github-|x-hub-)/;

export class InboundWebhooks {
  private readonly registrations = new Map<string, Registration>();
  private defined = false;

  constructor(
    private readonly db: Database,
    private readonly jobs: JobQueue,
  ) {}

  register(name: string, options: InboundOptions): void {
    if (typeof name !== 'string' || !NAME.test(name)) throw AppError.badRequest('An inbound webhook name is 1-100 letters, digits, "_" or "-".');
    const { verify, handler } = options ?? ({} as InboundOptions);
    if (typeof handler !== 'function') throw AppError.badRequest(`The inbound webhook "${name}" needs a handler function.`);
    if (typeof verify !== 'function' && verify !== 'standard' && verify !== 'stripe' && verify !== 'github') {
      throw AppError.badRequest(`The inbound webhook "${name}": verify must be "standard", "stripe", "github" or a function.`);
    }
    const secrets = options.secret === undefined ? [] : Array.isArray(options.secret) ? options.secret : [options.secret];
    if (typeof verify !== 'function' && (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s === ''))) {
      throw AppError.badRequest(`The inbound webhook "${name}" needs its signing secret.`);
    }
    const tolerance = options.tolerance ?? DEFAULT_TOLERANCE_SECONDS;
    if (typeof tolerance !== 'number' || !(tolerance > 0)) throw AppError.badRequest('The tolerance is a number of seconds > 0.');
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > 32 * 1024 * 1024) throw AppError.badRequest('maxBytes is an integer from 1 to 32 MiB.');
    this.registrations.set(name, { verify, tolerance, maxBytes, handler, secrets, idOf: options.idOf });
    if (!this.defined) {
      this.defined = true;
      this.jobs.define<InboundJob>(INBOUND_JOB, (job) => this.run(job), { retries: options.retries ?? 5, concurrency: 4 });
    }
  }

  unregister(name: string): void {
    this.registrations.delete(name);
  }

  /** The body limit for a name (the route reads no more than this), or null for an unknown name. */
  limitFor(name: string): number | null {
    return this.registrations.get(name)?.maxBytes ?? null;
  }

  has(name: string): boolean {
    return this.registrations.has(name);
  }

  /** Verifies and records one delivery; resolves to what the route answers. */
  async receive(req: InboundRequest, contentType: string): Promise<{ received: true; duplicate: boolean; id: string }> {
    const reg = this.registrations.get(req.name);
    if (!reg) throw AppError.notFound('Unknown inbound webhook.');
    const media = (contentType.split(';')[0] ?? '').trim().toLowerCase();
    if (media !== 'application/json' && !media.endsWith('+json')) {
      throw new AppError('unsupported_media_type', 'Inbound webhooks must be sent as application/json.');
    }
    if (req.rawBody.length > reg.maxBytes) throw new AppError('payload_too_large', `The webhook body is larger than ${reg.maxBytes} bytes.`);
    let result: VerifyResult;
    if (reg.verify === 'standard') result = verifyStandard(reg.secrets, req.headers, req.rawBody, reg.tolerance);
    else if (reg.verify === 'stripe') result = verifyStripe(reg.secrets, req.headers, req.rawBody, reg.tolerance);
    else if (reg.verify === 'github') result = verifyGithub(reg.secrets, req.headers, req.rawBody);
    else {
      let ok = false;
      try {
        ok = (await reg.verify(req)) === true;
      } catch {
        ok = false;
      }
      result = ok ? { ok: true, id: null } : { ok: false, reason: 'the verifier refused it' };
    }
    if (!result.ok) throw AppError.unauthorized(`Invalid webhook signature: ${result.reason}.`);
    const text = req.rawBody.toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new AppError('invalid_json', 'The webhook body is not valid JSON.');
    }
    let id = result.id;
    if (reg.verify === 'stripe')
      id = body && typeof body === 'object' && typeof (body as { id?: unknown }).id === 'string' ? (body as { id: string }).id : null;
    else if (typeof reg.verify === 'function') {
      const h = req.headers['webhook-id'];
      id = reg.idOf?.({ ...req, body }) ?? (typeof h === 'string' ? h : null);
    }
    if (id !== null && (id === '' || id.length > 255)) throw AppError.badRequest('The webhook delivery id must be 1-255 characters.');
    const dedup = id ?? `anon_${randomUUID()}`;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (KEPT_HEADERS.test(k) && typeof v === 'string') headers[k] = v;
    const created = await this.db.transaction(async (tx) => {
      const res = await tx.run(sql`INSERT INTO "_webhookInbound" (name, id, received) VALUES (${req.name}, ${dedup}, ${Date.now()}) ON CONFLICT DO NOTHING`);
      if (res.changes !== 1) return false;
      await this.jobs.enqueue<InboundJob>(INBOUND_JOB, { name: req.name, id: dedup, body: text, headers }, { tx, key: `${req.name}:${dedup}` });
      return true;
    });
    return { received: true, duplicate: !created, id: dedup };
  }

  private async run(job: JobContext<InboundJob>): Promise<void> {
    const { name, id, body, headers } = job.payload;
    const reg = this.registrations.get(name);
    // Registered on another node or not yet (a restart): a failed attempt, retried later.
    if (!reg) throw new Error(`No inbound webhook "${name}" is registered on this node.`);
    await reg.handler({ name, id, body: JSON.parse(body) as unknown, rawBody: body, headers, attempt: job.attempt });
  }

  /** Forgets delivery ids older than `maxAgeMs` (default 30 days); called by the housekeeping job. */
  async prune(maxAgeMs = 30 * 86_400_000): Promise<number> {
    return (await this.db.run(sql`DELETE FROM "_webhookInbound" WHERE received < ${Date.now() - maxAgeMs}`)).changes;
  }
}

interface InboundJob {
  name: string;
  id: string;
  body: string;
  headers: Record<string, string>;
}
