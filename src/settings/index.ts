/** Settings persistence: one JSON row in `_params`, cached; changes announced on the hook bus. */
import type { Database } from '../db/dialect.js';
import { sql } from '../db/sql.js';
import type { HookBus } from '../hooks/index.js';
import { mapSecretPaths, SecretBox } from '../util/secret-box.js';
import { defaultSettings, mergeSettings, redactSettings, SECRET_PATHS, type Settings } from './settings.js';

export { defaultSettings, mergeSettings, redactSettings, SECRET_PATHS, type Settings, type RateLimitRule, type S3Settings } from './settings.js';

const SETTINGS_KEY = 'settings';

export class SettingsStore {
  private current: Settings = defaultSettings();

  constructor(
    private readonly db: Database,
    private readonly hooks: HookBus,
    /** Seals the SECRET_PATHS values in the stored row; opens them on load (a value that does not open throws). */
    private readonly box: () => SecretBox,
  ) {}

  /**
   * Loads stored settings over the defaults (new keys added in later versions get their default). Secrets
   * stored in plain text (a PocketBase data dir, older Plinth) are taken as they are; the start re-seals them.
   */
  async load(): Promise<void> {
    const row = await this.db.get<{ value: string }>(sql`SELECT value FROM _params WHERE id = ${SETTINGS_KEY}`);
    const base = defaultSettings();
    let stored: unknown;
    try {
      stored = row ? JSON.parse(row.value) : undefined;
    } catch {
      // PocketBase's --encryptionEnv encrypts the whole row (a key that does not open it fails the start);
      // any other corrupt row falls back to the defaults rather than failing start-up.
      const plain = row ? this.box().openPocketBaseSettings(row.value) : null;
      stored = plain === null ? undefined : parseOrUndefined(plain);
    }
    if (stored === undefined) {
      this.current = base;
      return;
    }
    openSettingsSecrets(stored, this.box());
    this.current = deepMerge(base, stored) as Settings;
  }

  get(): Settings {
    return this.current;
  }

  /** Validates and stores a partial update; returns the new settings. */
  async update(patch: unknown): Promise<Settings> {
    const next = mergeSettings(this.current, patch);
    const value = JSON.stringify(sealSettingsSecrets(next, this.box()));
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

/** A copy of `settings` with every SECRET_PATHS value sealed (what the `_params` row holds). */
export function sealSettingsSecrets(settings: Settings, box: SecretBox): unknown {
  const copy = structuredClone(settings);
  mapSecretPaths(copy, SECRET_PATHS, (v) => box.seal(v)); // in memory every value is plain text
  return copy;
}

/** Opens, in place, the sealed SECRET_PATHS values of a stored settings object; plain values stay. */
export function openSettingsSecrets(stored: unknown, box: SecretBox): void {
  mapSecretPaths(stored, SECRET_PATHS, (v, path) => (SecretBox.isSealed(v) ? box.open(v, `the setting ${path}`) : v));
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
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
