/** Settings persistence: one JSON row in `_params`, cached; changes announced on the hook bus. */
import type { Database } from '../db/dialect.js';
import { sql } from '../db/sql.js';
import type { HookBus } from '../hooks/index.js';
import { defaultSettings, mergeSettings, redactSettings, type Settings } from './settings.js';

export { defaultSettings, mergeSettings, redactSettings, type Settings, type RateLimitRule, type S3Settings, type StripeSettings } from './settings.js';

const SETTINGS_KEY = 'settings';

export class SettingsStore {
  private current: Settings = defaultSettings();
  /**
   * Turns the secrets of a PATCH body into their sealed form before they are merged and stored (set by the
   * app: src/payments/secrets.ts seals `payments.stripe`). Runs before validation, so it checks its own values.
   */
  sealPatch: ((patch: unknown) => unknown) | null = null;

  constructor(
    private readonly db: Database,
    private readonly hooks: HookBus,
  ) {}

  /** Loads stored settings over the defaults (new keys added in later versions get their default). */
  async load(): Promise<void> {
    const row = await this.db.get<{ value: string }>(sql`SELECT value FROM _params WHERE id = ${SETTINGS_KEY}`);
    const base = defaultSettings();
    if (row) {
      try {
        this.current = deepMerge(base, JSON.parse(row.value)) as Settings;
        return;
      } catch {
        // a corrupt row falls back to the defaults rather than failing start-up
      }
    }
    this.current = base;
  }

  get(): Settings {
    return this.current;
  }

  /** Validates and stores a partial update; returns the new settings. */
  async update(patch: unknown): Promise<Settings> {
    const next = mergeSettings(this.current, this.sealPatch ? this.sealPatch(patch) : patch);
    const value = JSON.stringify(next);
    const now = new Date().toISOString();
    await this.db.run(
      sql`INSERT INTO _params (id, value, created, updated) VALUES (${SETTINGS_KEY}, ${value}, ${now}, ${now})
          ON CONFLICT (id) DO UPDATE SET value = excluded.value, updated = excluded.updated`,
    );
    this.current = next;
    this.hooks.afterCommit(this.hooks.onSettingsChange, { settings: next });
    return next;
  }

  redacted(): Record<string, unknown> {
    return redactSettings(this.current);
  }
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return over === undefined ? base : over;
  if (typeof over !== 'object' || over === null || Array.isArray(over)) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
    out[k] = k in out ? deepMerge(out[k], v) : v;
  }
  return out;
}
