/**
 * Collections from the API, step one: `normalizeCollection` turns request JSON (a create, or a partial
 * update merged over the stored definition) into a complete Collection with PocketBase's defaults and
 * system fields. Wrong JSON types are collected and reported together as a 400. `validate-collection.ts`
 * then checks the result.
 */
import { AppError, fieldError, type FieldError, type FieldErrors } from '../errors/index.js';
import { nowDateTime } from '../util/datetime.js';
import { errIn, errUnsupportedType, hasErrors, isPlainObject, uniqueNonEmpty } from './fields/common.js';
import { fieldDefinitionTypeErrors, getFieldType, isFieldTypeName } from './fields/index.js';
import { collectionId, fieldId, randomSecret, uniqueId } from './ids.js';
import { findSingleColumnUniqueIndex, formatIndex, tryParseIndex } from './indexes.js';
import {
  COLLECTION_TYPES,
  RULE_NAMES,
  type AuthOptions,
  type Collection,
  type CollectionType,
  type EmailTemplate,
  type Field,
  type RuleName,
  type SchemaLookup,
  type TokenConfig,
} from './model.js';
import { authRequiredIndexes, authSystemFields, defaultAuthOptions, defaultIdField } from './system-collections.js';

/** Options of normalizeCollection. */
export interface NormalizeOptions {
  /** The time to stamp `created` (new collections) and `updated` with. */
  now?: Date;
}

export const LOAD_ERROR = 'Failed to load the submitted data due to invalid formatting.';
export const TOKEN_KEYS = ['authToken', 'passwordResetToken', 'emailChangeToken', 'verificationToken', 'fileToken'] as const;
export const TEMPLATE_KEYS = ['verificationTemplate', 'resetPasswordTemplate', 'confirmEmailChangeTemplate'] as const;
// `^\w+$` as PocketBase, without a leading digit: names become SQL identifiers (see db/sql.ts ident()).
export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ID_RE = /^\w+$/;
export const INTERNAL_TABLES = ['_collections', '_params', '_migrations', '_logs', '_totp', '_apiKeys'];

// ---------------------------------------------------------------------------------------------------
// Reading request JSON: wrong JSON types are collected and reported together as a 400.

class Reader {
  readonly errors: FieldErrors = {};

  private report(path: readonly string[], error: FieldError): void {
    let node = this.errors;
    path.forEach((key, i) => {
      if (i === path.length - 1) node[key] = error;
      else node = (node[key] ??= {}) as FieldErrors;
    });
  }

  read<T>(src: Record<string, unknown>, key: string, path: readonly string[], ok: (v: unknown) => boolean, expected: string, fallback: T): T {
    if (!Object.hasOwn(src, key) || src[key] === undefined) return fallback;
    const value = src[key];
    if (ok(value)) return value as T;
    this.report([...path, key], errUnsupportedType(expected));
    return fallback;
  }

  string(src: Record<string, unknown>, key: string, path: readonly string[], fallback: string): string {
    return this.read(src, key, path, (v) => typeof v === 'string', 'a string', fallback);
  }
  nullableString(src: Record<string, unknown>, key: string, path: readonly string[], fallback: string | null): string | null {
    return this.read(src, key, path, (v) => v === null || typeof v === 'string', 'a string or null', fallback);
  }
  bool(src: Record<string, unknown>, key: string, path: readonly string[], fallback: boolean): boolean {
    return this.read(src, key, path, (v) => typeof v === 'boolean', 'a boolean', fallback);
  }
  int(src: Record<string, unknown>, key: string, path: readonly string[], fallback: number): number {
    return this.read(src, key, path, (v) => typeof v === 'number' && Number.isSafeInteger(v), 'an integer', fallback);
  }
  stringList(src: Record<string, unknown>, key: string, path: readonly string[], fallback: string[]): string[] {
    const list = this.read<unknown>(
      src,
      key,
      path,
      (v) => v === null || (Array.isArray(v) && v.every((x) => typeof x === 'string')),
      'a list of strings',
      fallback,
    );
    return list === null ? [] : [...(list as string[])];
  }
  object(src: Record<string, unknown>, key: string, path: readonly string[]): Record<string, unknown> {
    return this.read(src, key, path, (v) => v === null || isPlainObject(v), 'an object', {}) ?? {};
  }
  list(src: Record<string, unknown>, key: string, path: readonly string[]): unknown[] | undefined {
    const value = this.read<unknown>(src, key, path, (v) => v === null || Array.isArray(v), 'a list', undefined);
    return value === null ? [] : (value as unknown[] | undefined);
  }
  fail(path: readonly string[], error: FieldError): void {
    this.report(path, error);
  }
}

function readTemplate(r: Reader, src: Record<string, unknown>, key: string, path: readonly string[], base: EmailTemplate): EmailTemplate {
  const obj = r.object(src, key, path);
  return { subject: r.string(obj, 'subject', [...path, key], base.subject), body: r.string(obj, 'body', [...path, key], base.body) };
}

function readToken(r: Reader, src: Record<string, unknown>, key: string, base: TokenConfig): TokenConfig {
  const obj = r.object(src, key, []);
  const secret = r.string(obj, 'secret', [key], '');
  // Secrets are never sent to clients, so a missing/empty one means "keep the current secret".
  return { duration: r.int(obj, 'duration', [key], base.duration), secret: secret !== '' ? secret : (base.secret ?? randomSecret(50)) };
}

function readProviders(r: Reader, src: Record<string, unknown>, base: AuthOptions['oauth2']['providers']): AuthOptions['oauth2']['providers'] {
  const list = r.list(src, 'providers', ['oauth2']);
  if (list === undefined) return base.map((p) => ({ ...p }));
  return list.map((item, i) => {
    const path = ['oauth2', 'providers', String(i)];
    if (!isPlainObject(item)) {
      r.fail(path, errUnsupportedType('an object'));
      return {};
    }
    const name = r.string(item, 'name', path, '');
    const previous = base.find((p) => p.name === name);
    const provider: Record<string, unknown> = { name };
    for (const key of ['clientId', 'authURL', 'tokenURL', 'userInfoURL', 'displayName']) provider[key] = r.string(item, key, path, '');
    const secret = r.string(item, 'clientSecret', path, '');
    // The secret is redacted in responses: an empty one keeps the stored secret of the same provider.
    provider.clientSecret = secret !== '' ? secret : typeof previous?.clientSecret === 'string' ? previous.clientSecret : '';
    provider.pkce = r.read(item, 'pkce', path, (v) => v === null || typeof v === 'boolean', 'a boolean or null', null);
    provider.extra = r.read(item, 'extra', path, (v) => v === null || isPlainObject(v), 'an object or null', null);
    return provider;
  });
}

function readAuthOptions(r: Reader, src: Record<string, unknown>, base: AuthOptions): AuthOptions {
  const alert = r.object(src, 'authAlert', []);
  const oauth2 = r.object(src, 'oauth2', []);
  const mapped = r.object(oauth2, 'mappedFields', ['oauth2']);
  const pwd = r.object(src, 'passwordAuth', []);
  const mfa = r.object(src, 'mfa', []);
  const otp = r.object(src, 'otp', []);
  const mappedPath = ['oauth2', 'mappedFields'];
  const options: AuthOptions = {
    authRule: r.nullableString(src, 'authRule', [], base.authRule),
    manageRule: r.nullableString(src, 'manageRule', [], base.manageRule),
    authAlert: {
      enabled: r.bool(alert, 'enabled', ['authAlert'], base.authAlert.enabled),
      emailTemplate: readTemplate(r, alert, 'emailTemplate', ['authAlert'], base.authAlert.emailTemplate),
    },
    oauth2: {
      providers: readProviders(r, oauth2, base.oauth2.providers),
      mappedFields: {
        id: r.string(mapped, 'id', mappedPath, base.oauth2.mappedFields.id),
        name: r.string(mapped, 'name', mappedPath, base.oauth2.mappedFields.name),
        username: r.string(mapped, 'username', mappedPath, base.oauth2.mappedFields.username),
        avatarURL: r.string(mapped, 'avatarURL', mappedPath, base.oauth2.mappedFields.avatarURL),
      },
      enabled: r.bool(oauth2, 'enabled', ['oauth2'], base.oauth2.enabled),
    },
    passwordAuth: {
      enabled: r.bool(pwd, 'enabled', ['passwordAuth'], base.passwordAuth.enabled),
      identityFields: uniqueNonEmpty(r.stringList(pwd, 'identityFields', ['passwordAuth'], base.passwordAuth.identityFields)),
    },
    mfa: {
      enabled: r.bool(mfa, 'enabled', ['mfa'], base.mfa.enabled),
      duration: r.int(mfa, 'duration', ['mfa'], base.mfa.duration),
      rule: r.string(mfa, 'rule', ['mfa'], base.mfa.rule),
    },
    otp: {
      enabled: r.bool(otp, 'enabled', ['otp'], base.otp.enabled),
      duration: r.int(otp, 'duration', ['otp'], base.otp.duration),
      length: r.int(otp, 'length', ['otp'], base.otp.length),
      emailTemplate: readTemplate(r, otp, 'emailTemplate', ['otp'], base.otp.emailTemplate),
    },
    authToken: readToken(r, src, 'authToken', base.authToken),
    passwordResetToken: readToken(r, src, 'passwordResetToken', base.passwordResetToken),
    emailChangeToken: readToken(r, src, 'emailChangeToken', base.emailChangeToken),
    verificationToken: readToken(r, src, 'verificationToken', base.verificationToken),
    fileToken: readToken(r, src, 'fileToken', base.fileToken),
    verificationTemplate: readTemplate(r, src, 'verificationTemplate', [], base.verificationTemplate),
    resetPasswordTemplate: readTemplate(r, src, 'resetPasswordTemplate', [], base.resetPasswordTemplate),
    confirmEmailChangeTemplate: readTemplate(r, src, 'confirmEmailChangeTemplate', [], base.confirmEmailChangeTemplate),
  };
  return options;
}

function authOptionsOf(c: Collection | undefined): AuthOptions | undefined {
  if (c?.type !== 'auth') return undefined;
  const {
    authRule,
    manageRule,
    authAlert,
    oauth2,
    passwordAuth,
    mfa,
    otp,
    authToken,
    passwordResetToken,
    emailChangeToken,
    verificationToken,
    fileToken,
    verificationTemplate,
    resetPasswordTemplate,
    confirmEmailChangeTemplate,
  } = c;
  return structuredClone({
    authRule,
    manageRule,
    authAlert,
    oauth2,
    passwordAuth,
    mfa,
    otp,
    authToken,
    passwordResetToken,
    emailChangeToken,
    verificationToken,
    fileToken,
    verificationTemplate,
    resetPasswordTemplate,
    confirmEmailChangeTemplate,
  });
}

function readFields(r: Reader, list: unknown[], existing: Collection | undefined): Field[] {
  const fields: Field[] = [];
  const usedIds = new Set<string>();
  list.forEach((item, i) => {
    const path = ['fields', String(i)];
    if (!isPlainObject(item)) return r.fail(path, errUnsupportedType('a field object'));
    if (!isFieldTypeName(item.type)) return r.fail([...path, 'type'], fieldError('validation_unknown_field', 'Unknown or invalid field type.'));
    const typeErrors = fieldDefinitionTypeErrors(item.type, item);
    if (typeErrors) for (const [key, err] of Object.entries(typeErrors)) r.fail([...path, key], err as FieldError);
    const field = getFieldType(item.type).normalizeDefinition(item) as Field;
    if (field.id === '') {
      // Keep the stored id of a same-named field of the same type (an edit, not a drop + add).
      const previous = existing?.fields.find((f) => f.name === field.name && f.type === field.type);
      field.id = previous && !usedIds.has(previous.id) ? previous.id : uniqueId(fieldId(field.type, field.name), (id) => usedIds.has(id));
    }
    usedIds.add(field.id);
    fields.push(field);
  });
  return fields;
}

/** A system field to add, with its default id suffixed if a (renamed) field already holds it. */
function freshSystemField(c: Collection, field: Field): Field {
  field.id = uniqueId(field.id, (id) => c.fields.some((f) => f.id === id));
  return field;
}

/** Adds the missing system fields of base/auth collections and re-asserts their flags, as PocketBase. */
function ensureSystemFields(c: Collection): void {
  if (c.type === 'view') return;
  const idField = c.fields.find((f) => f.name === 'id');
  if (idField?.type === 'text') {
    Object.assign(idField, { system: true, required: true, primaryKey: true, hidden: false });
    if (idField.pattern === '') idField.pattern = '^[a-z0-9]+$';
  } else {
    c.fields.unshift(freshSystemField(c, defaultIdField()));
  }
  if (c.type !== 'auth') return;
  const flags: Record<string, Partial<Field>> = {
    password: { system: true, hidden: true, required: true },
    tokenKey: { system: true, hidden: true, required: true },
    email: { system: true, hidden: false },
    emailVisibility: { system: true },
    verified: { system: true },
  };
  for (const def of authSystemFields()) {
    const current = c.fields.find((f) => f.name === def.name);
    if (current && current.type === def.type) Object.assign(current, flags[def.name]);
    else if (!current) c.fields.push(freshSystemField(c, def));
  }
  const required = authRequiredIndexes(c.id, c.name);
  if (!findSingleColumnUniqueIndex(c.indexes, 'tokenKey')) c.indexes.push(required.tokenKey);
  if (!findSingleColumnUniqueIndex(c.indexes, 'email')) c.indexes.push(required.email);
}

/**
 * Builds a complete collection from API JSON: a new one (`existing` undefined) or `existing` with the
 * submitted keys applied. Fills PocketBase's defaults (ids, rules, auth options, secrets), adds system
 * fields and the auth indexes, and stores valid indexes in canonical form with the collection's table.
 * Throws a 400 AppError when the body is not an object or a key has the wrong JSON type.
 */
export function normalizeCollection(input: unknown, existing: Collection | undefined, schema: SchemaLookup, options: NormalizeOptions = {}): Collection {
  if (!isPlainObject(input)) throw new AppError('bad_request', LOAD_ERROR);
  const r = new Reader();
  const now = nowDateTime(options.now);

  let type: CollectionType = existing?.type ?? 'base';
  if (input.type !== undefined) {
    if ((COLLECTION_TYPES as readonly unknown[]).includes(input.type)) type = input.type as CollectionType;
    else r.fail(['type'], errIn());
  }
  const name = r.string(input, 'name', [], existing?.name ?? '');
  let id = existing?.id ?? '';
  if (!existing) {
    const given = r.string(input, 'id', [], '');
    id = given !== '' ? given : uniqueId(collectionId(type, name), (candidate) => schema.find(candidate)?.id === candidate);
  }

  const rules = {} as Record<RuleName, string | null>;
  for (const rule of RULE_NAMES) rules[rule] = r.nullableString(input, rule, [], existing?.[rule] ?? null);
  // View fields are inferred from the query when saved (submitted ones are ignored, as in PocketBase).
  const rawFields = type === 'view' ? undefined : r.list(input, 'fields', []);
  const previousFields = existing && (existing.type === 'view') === (type === 'view') ? existing.fields : [];
  const fields = rawFields === undefined ? structuredClone(previousFields) : readFields(r, rawFields, existing);
  const indexes = r.stringList(input, 'indexes', [], existing?.indexes ?? []);

  const common = {
    id,
    ...rules,
    name,
    type,
    fields,
    indexes,
    created: existing?.created || now,
    updated: now,
    system: r.bool(input, 'system', [], existing?.system ?? false),
  };

  let collection: Collection;
  if (type === 'view') {
    collection = { ...common, type, viewQuery: r.string(input, 'viewQuery', [], existing?.type === 'view' ? existing.viewQuery : '') };
  } else if (type === 'auth') {
    const previous = authOptionsOf(existing);
    const auth = readAuthOptions(r, input, previous ?? defaultAuthOptions());
    // Like PocketBase, changing who may authenticate invalidates every issued auth token.
    if (previous && previous.authRule !== auth.authRule) auth.authToken.secret = randomSecret(50);
    collection = { ...common, type, ...auth };
  } else {
    collection = { ...common, type };
  }

  if (hasErrors(r.errors)) throw new AppError('bad_request', LOAD_ERROR, r.errors);

  ensureSystemFields(collection);
  collection.indexes = collection.indexes.map((text) => {
    const parsed = tryParseIndex(text);
    return parsed.ok ? formatIndex(parsed.index, collection.name) : text;
  });
  if (collection.type === 'auth') {
    // Mapped OAuth2 fields that no longer exist are dropped, as PocketBase does on save.
    const mapped = collection.oauth2.mappedFields;
    for (const key of ['id', 'name', 'username', 'avatarURL'] as const) {
      if (mapped[key] !== '' && !collection.fields.some((f) => f.name === mapped[key])) mapped[key] = '';
    }
  }
  return collection;
}
