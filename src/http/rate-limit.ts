/**
 * Rate limiting in PocketBase's rule format (`settings.rateLimits`): fixed windows counted per client IP.
 *
 * A rule's label is either a path (`/api/batch` exact, `/api/` prefix, `POST /api/x` with a method) or a
 * tag (`posts:create`, `*:auth`). For path rules, the most specific match applies (method+exact, exact,
 * longest prefix). Tag rules are checked by the handlers, which know the collection and the action; an
 * exact collection beats `*`. `audience` narrows a rule to guests (`@guest`) or authenticated requests
 * (`@auth`). Exceeding a rule answers 429.
 *
 * `excludedIPs` (addresses or CIDR subnets) are never limited. The client IP is the socket's peer address, or, only when `settings.trustedProxy.headers` names them,
 * the first configured proxy header present (leftmost or rightmost entry per `useLeftmostIP`). A client can
 * therefore never pick its own IP by sending `X-Forwarded-For` unless the operator said a proxy sets it.
 *
 * On one node the windows live in memory. Nodes of a cluster count in the shared database instead
 * (`SharedCounters`), so a limit holds across all of them; the checks then return a promise.
 */
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors/index.js';
import type { RateLimitRule, Settings } from '../settings/index.js';
import type { SharedCounters } from '../cluster/counters.js';
import { ipListOf } from '../util/ip-list.js';

interface Window {
  count: number;
  resetAt: number;
}

/** Buckets beyond this are swept (expired first); bounds memory under an IP-spraying flood. */
const MAX_BUCKETS = 100_000;

export class RateLimiter {
  /** Requests refused (429) per rule label since start (metrics). */
  readonly refusals = new Map<string, number>();
  private buckets = new Map<string, Window>();
  private cache: CompiledRules | null = null;
  private sweeper: NodeJS.Timeout;

  constructor(
    private readonly settings: () => Settings,
    private readonly now: () => number = Date.now,
    private readonly shared?: SharedCounters,
  ) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /** Applies the most specific path rule to the request (called once per request). */
  checkPath(req: FastifyRequest): void | Promise<void> {
    const cfg = this.settings().rateLimits;
    if (!cfg.enabled) return;
    const { pathRules } = this.compiled(cfg);
    if (pathRules.length === 0) return; // the default rules are all tags: nothing to do per request
    const path = req.url.split('?')[0] ?? '/';
    const method = req.method.toUpperCase();
    let best: { rule: RateLimitRule; score: number } | null = null;
    for (const p of pathRules) {
      if (!appliesTo(p.rule, req)) continue;
      const score = pathScore(p, method, path);
      if (score > 0 && (!best || score > best.score)) best = { rule: p.rule, score };
    }
    if (best) return this.hit(best.rule, req, cfg.excludedIPs);
  }

  /**
   * Applies the tag rule for `collection:action` (or `*:action`), and for the password/OAuth2/OTP auth
   * actions also the `auth` umbrella tag, as PocketBase does.
   */
  checkTag(req: FastifyRequest, collection: string, action: string): void | Promise<void> {
    const cfg = this.settings().rateLimits;
    if (!cfg.enabled) return;
    const { tagActions } = this.compiled(cfg);
    if (!tagActions.has(action) && !(AUTH_ACTIONS.has(action) && tagActions.has('auth'))) return;
    const actions = AUTH_ACTIONS.has(action) ? [action, 'auth'] : [action];
    const pending: Array<Promise<void>> = [];
    for (const a of actions) {
      const exact = cfg.rules.find((r) => r.label === `${collection}:${a}` && appliesTo(r, req));
      const rule = exact ?? cfg.rules.find((r) => r.label === `*:${a}` && appliesTo(r, req));
      const p = rule ? this.hit(rule, req, cfg.excludedIPs) : undefined;
      if (p) pending.push(p);
    }
    if (pending.length) return Promise.all(pending).then(() => undefined);
  }

  /**
   * A custom route's tag (`options.rateLimit`): the rule labelled exactly `tag`, else for `x:action` the
   * `*:action` rule. Only routes that declare a tag pay for the lookup.
   */
  checkCustomTag(req: FastifyRequest, tag: string): void | Promise<void> {
    const cfg = this.settings().rateLimits;
    if (!cfg.enabled) return;
    const colon = tag.lastIndexOf(':');
    const wildcard = colon >= 0 ? `*:${tag.slice(colon + 1)}` : null;
    const rule =
      cfg.rules.find((r) => r.label === tag && appliesTo(r, req)) ?? (wildcard ? cfg.rules.find((r) => r.label === wildcard && appliesTo(r, req)) : undefined);
    if (rule) return this.hit(rule, req, cfg.excludedIPs);
  }

  /** The rules split once per settings object (settings updates replace the object). */
  private compiled(cfg: RateLimitSettings): CompiledRules {
    let c = this.cache;
    if (c?.cfg !== cfg || c.rules !== cfg.rules) {
      c = compileRules(cfg);
      this.cache = c;
    }
    return c;
  }

  private hit(rule: RateLimitRule, req: FastifyRequest, excluded: string[]): void | Promise<void> {
    const ip = clientIp(req, this.settings());
    if (ipListOf(excluded).contains(ip)) return;
    const key = `${rule.label}\u001f${rule.audience}\u001f${ip}`;
    if (this.shared) {
      return this.shared.hit(key, rule.duration * 1000).then((count) => {
        if (count > rule.maxRequests) throw this.refuse(rule);
      });
    }
    const now = this.now();
    let w = this.buckets.get(key);
    if (!w || w.resetAt <= now) {
      if (!w && this.buckets.size >= MAX_BUCKETS) this.sweep(true);
      w = { count: 0, resetAt: now + rule.duration * 1000 };
      this.buckets.set(key, w);
    }
    w.count++;
    if (w.count > rule.maxRequests) {
      throw this.refuse(rule);
    }
  }

  private refuse(rule: RateLimitRule): AppError {
    this.refusals.set(rule.label, (this.refusals.get(rule.label) ?? 0) + 1);
    return new AppError('too_many_requests');
  }

  private sweep(force = false): void {
    const now = this.now();
    for (const [key, w] of this.buckets) if (w.resetAt <= now) this.buckets.delete(key);
    if (force && this.buckets.size >= MAX_BUCKETS) this.buckets.clear();
  }
}

const AUTH_ACTIONS = new Set(['authWithPassword', 'authWithOAuth2', 'authWithOTP']);

function appliesTo(rule: RateLimitRule, req: FastifyRequest): boolean {
  if (rule.audience === '@guest') return !req.auth;
  if (rule.audience === '@auth') return Boolean(req.auth);
  return true;
}

type RateLimitSettings = Settings['rateLimits'];

/** A path rule's label taken apart once: optional method, then the path pattern. */
interface PathRule {
  rule: RateLimitRule;
  method: string | null;
  pattern: string;
}

interface CompiledRules {
  cfg: RateLimitSettings;
  rules: RateLimitRule[];
  pathRules: PathRule[];
  /** The actions (`x` of `collection:x`) that have at least one tag rule. */
  tagActions: Set<string>;
}

function compileRules(cfg: RateLimitSettings): CompiledRules {
  const pathRules: PathRule[] = [];
  const tagActions = new Set<string>();
  for (const rule of cfg.rules) {
    let pattern = rule.label.trim();
    let method: string | null = null;
    const m = /^([A-Z]+)\s+(\/.*)$/.exec(pattern);
    if (m) {
      method = m[1] as string;
      pattern = m[2] as string;
    }
    if (pattern.startsWith('/')) pathRules.push({ rule, method, pattern });
    else if (!m) {
      const colon = rule.label.lastIndexOf(':');
      if (colon >= 0) tagActions.add(rule.label.slice(colon + 1));
    }
  }
  return { cfg, rules: cfg.rules, pathRules, tagActions };
}

/** How well a path rule matches: 0 = no match; exact beats prefix; a method makes it more specific. */
function pathScore(rule: PathRule, method: string, path: string): number {
  const { pattern } = rule;
  let methodBonus = 0;
  if (rule.method !== null) {
    if (rule.method !== method) return 0;
    methodBonus = 1;
  }
  if (pattern.endsWith('/')) {
    return path.startsWith(pattern) || `${path}/` === pattern ? pattern.length * 4 + methodBonus : 0;
  }
  return path === pattern ? 100_000 + pattern.length * 4 + methodBonus * 2 : 0;
}

/** The client's IP, honouring proxy headers only when settings.trustedProxy configures them. */
export function clientIp(req: FastifyRequest, settings: Settings): string {
  const { headers, useLeftmostIP } = settings.trustedProxy;
  for (const name of headers) {
    const raw = req.headers[name.toLowerCase()];
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    if (!value) continue;
    const parts = value
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const pick = useLeftmostIP ? parts[0] : parts[parts.length - 1];
    if (pick && pick.length <= 100) return pick;
  }
  return req.socket.remoteAddress ?? '';
}
