/**
 * Runtime settings: PocketBase's settings object, stored as one JSON row in `_params`, cached in memory,
 * validated on every change. Secrets are write-only: GET never returns them, and a PATCH that omits (or
 * sends an empty) secret keeps the stored one.
 */
import { AppError, fieldError, type FieldErrors } from '../errors/index.js';
import { ipOrSubnetError } from '../util/ip-list.js';
import { allowedHostError } from '../util/host-list.js';
import { Cron } from 'croner';

export interface RateLimitRule {
  label: string;
  audience: '' | '@guest' | '@auth';
  duration: number;
  maxRequests: number;
}

/** File storage (`s3`) and backup storage (`backups.s3`) share one shape. */
export interface S3Settings {
  enabled: boolean;
  bucket: string;
  region: string;
  endpoint: string;
  accessKey: string;
  secret: string;
  forcePathStyle: boolean;
}

export interface Settings {
  meta: {
    appName: string;
    appURL: string;
    senderName: string;
    senderAddress: string;
    hideControls: boolean;
  };
  smtp: {
    enabled: boolean;
    host: string;
    port: number;
    username: string;
    password: string;
    authMethod: string;
    tls: boolean;
    localName: string;
  };
  s3: S3Settings;
  backups: { cron: string; cronMaxKeep: number; s3: S3Settings };
  batch: { enabled: boolean; maxRequests: number; timeout: number; maxBodySize: number };
  rateLimits: { enabled: boolean; rules: RateLimitRule[]; excludedIPs: string[] };
  trustedProxy: { headers: string[]; useLeftmostIP: boolean };
  logs: { maxDays: number; minLevel: number; logIP: boolean; logAuthId: boolean };
  superuserIPs: string[];
  /** Plinth's addition: outbound HTTP from server code (`app.http.fetch`, docs/outbound.md). */
  outbound: {
    /** Exceptions to the SSRF guard: host names (`*.example.com` for subdomains), IP addresses or CIDR subnets. */
    allowedHosts: string[];
  };
  /**
   * Plinth's addition: who may scrape `GET /api/metrics` besides superusers (docs/operations.md): a bearer
   * token (write-only, 16+ characters; '' = none) and client addresses or CIDR subnets.
   */
  metrics: { token: string; allowedIps: string[] };
  /** Plinth's addition: payments (docs/payments.md). */
  payments: { stripe: StripeSettings };
}

/** `payments.stripe`: the secret key and the webhook secret are write-only and encrypted at rest (SECRET_PATHS). */
export interface StripeSettings {
  enabled: boolean;
  secretKey: string;
  webhookSecret: string;
  publishableKey: string;
  /** Where Checkout sends the buyer back; `{CHECKOUT_SESSION_ID}` is replaced by Stripe. Empty: the app URL. */
  successUrl: string;
  cancelUrl: string;
  /** Lower-case ISO 4217 codes a price may use; a price in another currency is refused at checkout. */
  currencies: string[];
}

/**
 * Every default in one literal. Rate limiting ships ON for authentication (PocketBase ships it off):
 * password guessing is the one abuse every deployment meets. General API limits stay opt-in, because
 * behind a proxy without `trustedProxy` every user shares one IP.
 */
export function defaultSettings(): Settings {
  const s3: S3Settings = { enabled: false, bucket: '', region: '', endpoint: '', accessKey: '', secret: '', forcePathStyle: false };
  return {
    meta: { appName: 'Plinth', appURL: 'http://127.0.0.1:8090', senderName: 'Support', senderAddress: 'support@example.com', hideControls: false },
    smtp: { enabled: false, host: 'smtp.example.com', port: 587, username: '', password: '', authMethod: '', tls: false, localName: '' },
    s3: { ...s3 },
    backups: { cron: '', cronMaxKeep: 3, s3: { ...s3 } },
    batch: { enabled: false, maxRequests: 50, timeout: 3, maxBodySize: 0 },
    rateLimits: {
      enabled: true,
      rules: [{ label: '*:auth', audience: '', duration: 3, maxRequests: 2 }],
      excludedIPs: [],
    },
    trustedProxy: { headers: [], useLeftmostIP: false },
    logs: { maxDays: 5, minLevel: 0, logIP: true, logAuthId: false },
    superuserIPs: [],
    outbound: { allowedHosts: [] },
    payments: {
      stripe: { enabled: false, secretKey: '', webhookSecret: '', publishableKey: '', successUrl: '', cancelUrl: '', currencies: [] },
    },
    metrics: { token: '', allowedIps: [] },
  };
}

/**
 * THE list of secret settings, one line each: write-only (GET never returns them; an empty PATCH value keeps
 * the stored one) and encrypted at rest in the settings row (settings/index.ts, docs/security.md).
 */
export const SECRET_PATHS: ReadonlyArray<readonly string[]> = [
  ['smtp', 'password'],
  ['s3', 'secret'],
  ['backups', 's3', 'secret'],
  ['payments', 'stripe', 'secretKey'],
  ['payments', 'stripe', 'webhookSecret'],
  ['metrics', 'token'],
];

/** A copy safe to send to clients: secrets removed (PocketBase omits them). */
export function redactSettings(settings: Settings): Record<string, unknown> {
  const copy = structuredClone(settings) as unknown as Record<string, Record<string, unknown>>;
  for (const path of SECRET_PATHS) {
    let obj: Record<string, unknown> | undefined = copy;
    for (const key of path.slice(0, -1)) obj = obj?.[key] as Record<string, unknown> | undefined;
    if (obj) delete obj[path[path.length - 1] as string];
  }
  return copy;
}

type Shape = 'string' | 'number' | 'boolean' | 'stringArray' | 'rules' | { [key: string]: Shape };

/** The schema PATCH bodies are checked against; derived from the defaults' shape plus the rate-limit rules. */
function shapeOf(value: unknown): Shape {
  if (Array.isArray(value)) return 'stringArray';
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, Shape> = {};
    for (const [k, v] of Object.entries(value)) out[k] = shapeOf(v);
    return out;
  }
  return typeof value as 'string' | 'number' | 'boolean';
}
const SHAPE: Record<string, Shape> = (() => {
  const s = shapeOf(defaultSettings()) as Record<string, Shape>;
  (s.rateLimits as Record<string, Shape>).rules = 'rules';
  return s;
})();

/**
 * Merges a PATCH body into the current settings, checking every value's type and range.
 * Unknown keys are rejected (a typo should not silently do nothing).
 */
export function mergeSettings(current: Settings, patch: unknown): Settings {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw AppError.badRequest('The settings body must be a JSON object.');
  }
  const errors: FieldErrors = {};
  const next = structuredClone(current) as unknown as Record<string, unknown>;
  mergeInto(next, patch as Record<string, unknown>, SHAPE, errors, []);
  const merged = next as unknown as Settings;
  validateRanges(merged, errors);
  if (Object.keys(errors).length) throw AppError.validation('Failed to update the settings.', errors);
  return merged;
}

function setError(errors: FieldErrors, path: string[], code: `validation_${string}`, message: string): void {
  let node: FieldErrors = errors;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as FieldErrors;
  node[path[path.length - 1] as string] = fieldError(code, message);
}

function mergeInto(target: Record<string, unknown>, patch: Record<string, unknown>, shape: Record<string, Shape>, errors: FieldErrors, path: string[]): void {
  for (const [key, value] of Object.entries(patch)) {
    const here = [...path, key];
    const expected = Object.hasOwn(shape, key) ? shape[key] : undefined;
    if (expected === undefined) {
      setError(errors, here, 'validation_unknown_field', `Unknown setting "${key}"`);
      continue;
    }
    if (typeof expected === 'object') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        setError(errors, here, 'validation_invalid_value', 'Must be an object');
        continue;
      }
      mergeInto(target[key] as Record<string, unknown>, value as Record<string, unknown>, expected, errors, here);
      continue;
    }
    const isSecret = SECRET_PATHS.some((p) => p.join('.') === here.join('.'));
    if (isSecret && (value === '' || value === null || value === undefined)) continue; // keep the stored secret
    if (expected === 'stringArray') {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        setError(errors, here, 'validation_invalid_value', 'Must be a list of strings');
        continue;
      }
    } else if (expected === 'rules') {
      const err = checkRateLimitRules(value);
      if (err) {
        setError(errors, here, 'validation_invalid_value', err);
        continue;
      }
    } else if (typeof value !== expected || (expected === 'number' && !Number.isFinite(value))) {
      setError(errors, here, 'validation_invalid_value', `Must be a ${expected}`);
      continue;
    }
    target[key] = value;
  }
}

function checkRateLimitRules(value: unknown): string | null {
  if (!Array.isArray(value)) return 'Must be a list of rules';
  for (const [i, r] of value.entries()) {
    const rule = r as Partial<RateLimitRule>;
    if (typeof rule !== 'object' || rule === null) return `Rule ${i} must be an object`;
    if (typeof rule.label !== 'string' || rule.label.trim() === '' || rule.label.length > 255) return `Rule ${i} needs a label`;
    if (!['', '@guest', '@auth'].includes(rule.audience ?? '')) return `Rule ${i} has an invalid audience`;
    if (!Number.isInteger(rule.duration) || (rule.duration as number) < 1) return `Rule ${i} needs a duration of at least 1 second`;
    if (!Number.isInteger(rule.maxRequests) || (rule.maxRequests as number) < 1) return `Rule ${i} needs maxRequests of at least 1`;
  }
  return null;
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '';
  } catch {
    return false;
  }
}

function validateRanges(s: Settings, errors: FieldErrors): void {
  if (s.batch.maxRequests < 0 || !Number.isInteger(s.batch.maxRequests))
    setError(errors, ['batch', 'maxRequests'], 'validation_invalid_value', 'Must be a whole number ≥ 0');
  if (s.batch.timeout < 0) setError(errors, ['batch', 'timeout'], 'validation_invalid_value', 'Must be ≥ 0');
  if (s.batch.maxBodySize < 0) setError(errors, ['batch', 'maxBodySize'], 'validation_invalid_value', 'Must be ≥ 0');
  if (s.logs.maxDays < 0) setError(errors, ['logs', 'maxDays'], 'validation_invalid_value', 'Must be ≥ 0');
  if (s.meta.appName.trim() === '' || s.meta.appName.length > 255) setError(errors, ['meta', 'appName'], 'validation_required', 'Missing required value');
  if (s.smtp.port < 0 || s.smtp.port > 65535) setError(errors, ['smtp', 'port'], 'validation_invalid_value', 'Must be a port number');
  for (const [path, endpoint] of [
    [['s3', 'endpoint'], s.s3.endpoint],
    [['backups', 's3', 'endpoint'], s.backups.s3.endpoint],
  ] as const) {
    // A bad endpoint would otherwise surface as a failure on every file request.
    if (endpoint !== '' && !isHttpUrl(endpoint)) setError(errors, [...path], 'validation_invalid_url', 'Must be an http(s) URL, e.g. https://s3.amazonaws.com');
  }
  if (s.backups.cron.trim() !== '') {
    try {
      new Cron(s.backups.cron.trim(), { paused: true, utcOffset: 0 }).stop();
    } catch {
      setError(errors, ['backups', 'cron'], 'validation_invalid_cron', 'Invalid cron expression');
    }
    if (!Number.isInteger(s.backups.cronMaxKeep) || s.backups.cronMaxKeep < 1) {
      setError(errors, ['backups', 'cronMaxKeep'], 'validation_min_greater_equal_than_required', 'Must be a whole number ≥ 1');
    }
  }
  const ipLists: Array<[string[], string[]]> = [
    [['superuserIPs'], s.superuserIPs],
    [['rateLimits', 'excludedIPs'], s.rateLimits.excludedIPs],
    [['metrics', 'allowedIps'], s.metrics.allowedIps],
  ];
  for (const [path, entries] of ipLists) {
    const problem = entries.map(ipOrSubnetError).find((p) => p !== null);
    if (problem) setError(errors, path, 'validation_invalid_value', `Must be IP addresses or subnets: ${problem}`);
  }
  // plk_ is the API keys' prefix: such a token would be checked (and refused) as an API key.
  if (s.metrics.token !== '' && (!/^[\x21-\x7e]{16,512}$/.test(s.metrics.token) || s.metrics.token.startsWith('plk_'))) {
    setError(errors, ['metrics', 'token'], 'validation_invalid_value', 'Must be 16 to 512 visible ASCII characters (no spaces), not starting with plk_');
  }
  const badHost = s.outbound.allowedHosts.map(allowedHostError).find((p) => p !== null);
  if (badHost) setError(errors, ['outbound', 'allowedHosts'], 'validation_invalid_value', `Must be host names, IP addresses or subnets: ${badHost}`);
  const stripe = s.payments.stripe;
  for (const key of ['successUrl', 'cancelUrl'] as const) {
    if (stripe[key] !== '' && !isHttpUrl(stripe[key].replace('{CHECKOUT_SESSION_ID}', 'x')))
      setError(errors, ['payments', 'stripe', key], 'validation_invalid_url', 'Must be an http(s) URL');
  }
  const badCurrency = stripe.currencies.find((c) => !/^[a-z]{3}$/.test(c));
  if (badCurrency !== undefined)
    setError(
      errors,
      ['payments', 'stripe', 'currencies'],
      'validation_invalid_value',
      `Must be lower-case ISO 4217 codes such as "usd" (got "${badCurrency.slice(0, 20)}")`,
    );
  // A publishable key pasted as the secret key (or the other way round) is the classic mistake: refused here.
  if (stripe.secretKey !== '' && !/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/.test(stripe.secretKey))
    setError(errors, ['payments', 'stripe', 'secretKey'], 'validation_invalid_value', 'Must be a secret or restricted key (sk_test_…, sk_live_…, rk_…)');
  if (stripe.webhookSecret !== '' && !/^whsec_[A-Za-z0-9_+/=-]+$/.test(stripe.webhookSecret))
    setError(errors, ['payments', 'stripe', 'webhookSecret'], 'validation_invalid_value', 'Must be a webhook signing secret (whsec_…)');
  if (stripe.publishableKey !== '' && !/^pk_(test|live)_\w+$/.test(stripe.publishableKey))
    setError(errors, ['payments', 'stripe', 'publishableKey'], 'validation_invalid_value', 'Must be a publishable key (pk_test_… or pk_live_…)');
  if (stripe.enabled) {
    if (stripe.secretKey === '') setError(errors, ['payments', 'stripe', 'secretKey'], 'validation_required', 'Payments need the Stripe secret key');
    if (stripe.webhookSecret === '')
      setError(errors, ['payments', 'stripe', 'webhookSecret'], 'validation_required', 'Payments need the webhook signing secret (whsec_…)');
    if (stripe.currencies.length === 0)
      setError(errors, ['payments', 'stripe', 'currencies'], 'validation_required', 'List the currencies prices may use, e.g. ["usd"]');
  }
  for (const h of s.trustedProxy.headers) {
    if (!/^[A-Za-z0-9-]{1,100}$/.test(h)) setError(errors, ['trustedProxy', 'headers'], 'validation_invalid_value', `Invalid header name "${h.slice(0, 100)}"`);
  }
}
