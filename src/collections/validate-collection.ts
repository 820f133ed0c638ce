/**
 * Collections from the API: `normalizeCollection` turns request JSON (a create, or a partial update merged
 * over the stored definition) into a complete Collection with PocketBase's defaults and system fields;
 * `validateCollection` reports what is wrong with it in PocketBase's error shape
 * (`{name: {code, message}}`, `{fields: {"2": {maxSelect: …}}}`, …).
 *
 * @example
 *   const collection = normalizeCollection(body, existing, schema);
 *   const errors = validateCollection(collection, { schema, existing, validateRule });
 *   if (errors) throw AppError.validation('Failed to create collection.', errors);
 */
import { AppError, fieldError, type FieldError, type FieldErrors } from '../errors/index.js';
import { nowDateTime } from '../util/datetime.js';
import { errIn, errLength, errMatch, errMax, errMin, errorsOrNull, errRequired, errUnsupportedType, hasErrors, isPlainObject, uniqueNonEmpty } from './fields/common.js';
import { fieldDefinitionTypeErrors, getFieldType, isFieldTypeName } from './fields/index.js';
import { parseUrl } from './fields/url.js';
import { collectionId, fieldId, randomSecret, uniqueId } from './ids.js';
import { findSingleColumnUniqueIndex, formatIndex, indexColumnNames, tryParseIndex, type ParsedIndex } from './indexes.js';
import {
  COLLECTION_TYPES,
  RESERVED_AUTH_FIELD_NAMES,
  RULE_NAMES,
  type AuthCollection,
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

/** Rule-like expressions a collection holds (the MFA rule is reported as `mfaRule`). */
export type CollectionRuleName = RuleName | 'authRule' | 'manageRule' | 'mfaRule';

/** What validateCollection needs besides the collection. */
export interface CollectionValidationContext {
  schema: SchemaLookup;
  /** The stored definition when this is an update. */
  existing?: Collection | undefined;
  /** Checks a non-empty rule expression (the rules engine plugs in here). */
  validateRule?: ((collection: Collection, rule: CollectionRuleName, expr: string) => FieldError | null) | undefined;
  /** Names of non-collection tables a collection must not take (the built-in list is always checked). */
  isInternalTable?: ((name: string) => boolean) | undefined;
}

/** Options of normalizeCollection. */
export interface NormalizeOptions {
  /** The time to stamp `created` (new collections) and `updated` with. */
  now?: Date;
}

const LOAD_ERROR = 'Failed to load the submitted data due to invalid formatting.';
const TOKEN_KEYS = ['authToken', 'passwordResetToken', 'emailChangeToken', 'verificationToken', 'fileToken'] as const;
const TEMPLATE_KEYS = ['verificationTemplate', 'resetPasswordTemplate', 'confirmEmailChangeTemplate'] as const;
// `^\w+$` as PocketBase, without a leading digit: names become SQL identifiers (see db/sql.ts ident()).
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ID_RE = /^\w+$/;
const INTERNAL_TABLES = ['_collections', '_params', '_migrations', '_logs'];

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
    if (!Object.prototype.hasOwnProperty.call(src, key) || src[key] === undefined) return fallback;
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
    const list = this.read<unknown>(src, key, path, (v) => v === null || (Array.isArray(v) && v.every((x) => typeof x === 'string')), 'a list of strings', fallback);
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
  const { authRule, manageRule, authAlert, oauth2, passwordAuth, mfa, otp, authToken, passwordResetToken, emailChangeToken, verificationToken, fileToken, verificationTemplate, resetPasswordTemplate, confirmEmailChangeTemplate } = c;
  return structuredClone({ authRule, manageRule, authAlert, oauth2, passwordAuth, mfa, otp, authToken, passwordResetToken, emailChangeToken, verificationToken, fileToken, verificationTemplate, resetPasswordTemplate, confirmEmailChangeTemplate });
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

// ---------------------------------------------------------------------------------------------------
// Validation.

function nameError(c: Collection, ctx: CollectionValidationContext): FieldError | null {
  const name = c.name;
  if (name === '') return errRequired();
  if (name.length > 255) return errLength(1, 255);
  if (name.toLowerCase().includes('_via_')) return fieldError('validation_found_via', 'The value cannot contain "_via_".');
  if (!NAME_RE.test(name)) return errMatch();
  const existing = ctx.existing;
  if (existing?.system && existing.name !== name) return fieldError('validation_collection_system_name_change', 'System collection name cannot be changed.');
  const others = ctx.schema.all().filter((o) => o.id !== c.id);
  if (others.some((o) => o.name.toLowerCase() === name.toLowerCase())) {
    return fieldError('validation_collection_name_exists', 'Collection name must be unique (case insensitive).');
  }
  if (others.some((o) => o.id === name)) return fieldError('validation_collection_name_id_duplicate', 'The name must not match an existing collection id.');
  const lower = name.toLowerCase();
  const internal = INTERNAL_TABLES.includes(lower) || lower.startsWith('sqlite_') || !!ctx.isInternalTable?.(name);
  if (internal && existing?.name !== name) return fieldError('validation_collection_name_invalid', "The name shouldn't match with an existing internal table.");
  return null;
}

function idError(c: Collection, ctx: CollectionValidationContext): FieldError | null {
  if (ctx.existing) return c.id === ctx.existing.id ? null : fieldError('validation_values_mismatch', "Values don't match.");
  if (c.id === '') return errRequired();
  if (c.id.length > 100) return errLength(1, 100);
  if (!ID_RE.test(c.id)) return errMatch();
  if (ctx.schema.all().some((o) => o.id.toLowerCase() === c.id.toLowerCase())) {
    return fieldError('validation_invalid_or_existing_id', 'The model id is invalid or already exists.');
  }
  return null;
}

/** The first failing check of the field list, like PocketBase's rule chain for `fields`. */
function fieldsError(c: Collection, ctx: CollectionValidationContext): FieldError | FieldErrors | null {
  // 1. duplicated ids / names (names are columns: case-insensitive)
  const dupes: FieldErrors = {};
  const ids = new Set<string>();
  const names = new Set<string>();
  c.fields.forEach((f, i) => {
    if (ids.has(f.id)) dupes[String(i)] = { id: fieldError('validation_duplicated_field_id', `Duplicated or invalid field id ${JSON.stringify(f.id)}.`) };
    else if (names.has(f.name.toLowerCase())) {
      dupes[String(i)] = { name: fieldError('validation_duplicated_field_name', `Duplicated or invalid field name ${f.name}.`, { fieldName: f.name }) };
    }
    ids.add(f.id);
    names.add(f.name.toLowerCase());
  });
  if (hasErrors(dupes)) return dupes;

  // 2. the required system fields (view fields come from the query and are checked there)
  if (c.type !== 'view') {
    const missing = minFieldsError(c);
    if (missing) return missing;
  }

  // 3. on update: system fields keep their id and name, and no field changes type
  const old = ctx.existing;
  if (old && c.type !== 'view') {
    for (const oldField of old.fields) {
      if (!oldField.system) continue;
      const now = c.fields.find((f) => f.id === oldField.id);
      if (!now || now.name !== oldField.name) return fieldError('validation_system_field_change', 'System fields cannot be deleted or renamed.');
    }
    const typeChanges: FieldErrors = {};
    c.fields.forEach((f, i) => {
      const before = old.fields.find((o) => o.id === f.id);
      if (before && before.type !== f.type) typeChanges[String(i)] = fieldError('validation_field_type_change', 'Field type cannot be changed.');
    });
    if (hasErrors(typeChanges)) return typeChanges;
  }

  // 4. names reserved by auth forms
  if (c.type === 'auth') {
    const reserved: FieldErrors = {};
    c.fields.forEach((f, i) => {
      if ((RESERVED_AUTH_FIELD_NAMES as readonly string[]).includes(f.name)) {
        reserved[String(i)] = { name: fieldError('validation_reserved_field_name', 'The field name is reserved and cannot be used.') };
      }
    });
    if (hasErrors(reserved)) return reserved;
  }

  // 5. each field's own options
  const perField: FieldErrors = {};
  c.fields.forEach((f, i) => {
    const errs = getFieldType(f.type).validateDefinition(f, { collection: c, schema: ctx.schema });
    if (errs) perField[String(i)] = errs;
  });
  return errorsOrNull(perField);
}

function minFieldsError(c: Collection): FieldError | FieldErrors | null {
  if (c.fields.length === 0) return errRequired();
  const byName = (name: string) => c.fields.find((f) => f.name === name);
  const id = byName('id');
  if (id?.type !== 'text' || !id.primaryKey) return fieldError('validation_missing_primary_key', 'Missing or invalid "id" PK field.');
  if (c.type !== 'auth') return null;
  const systemAndHidden = fieldError('validation_must_be_system_and_hidden', 'The field must be marked as "System" and "Hidden".');
  const system = fieldError('validation_must_be_system', 'The field must be marked as "System".');
  const checks: Array<[string, Field['type'], boolean]> = [
    ['password', 'password', true],
    ['tokenKey', 'text', true],
    ['email', 'email', false],
    ['emailVisibility', 'bool', false],
    ['verified', 'bool', false],
  ];
  for (const [name, type, hidden] of checks) {
    const f = byName(name);
    if (f?.type !== type) return fieldError(`validation_missing_${name}_field`, `System "${name}" field is required.`);
    if (!f.system || (hidden && !f.hidden)) return { [name]: hidden ? systemAndHidden : system };
  }
  return null;
}

function checkRule(c: Collection, ctx: CollectionValidationContext, rule: CollectionRuleName, value: string | null, old: string | null | undefined): FieldError | null {
  if (typeof value === 'string' && value !== '' && ctx.validateRule) {
    const err = ctx.validateRule(c, rule, value);
    if (err) return err;
  }
  if (ctx.existing?.system && old !== undefined && old !== value) {
    return fieldError('validation_collection_system_rule_change', 'System collection API rule cannot be changed.');
  }
  return null;
}

/** The first failing check of the index list. */
function indexesError(c: Collection, ctx: CollectionValidationContext): FieldError | FieldErrors | null {
  if (c.type === 'view') return c.indexes.length > 0 ? fieldError('validation_indexes_not_supported', "View collections don't support indexes.") : null;
  const names = new Set<string>();
  const definitions = new Set<string>();
  const parsedList: ParsedIndex[] = [];
  const others = ctx.schema.all().filter((o) => o.id !== c.id);
  for (const [i, text] of c.indexes.entries()) {
    const key = String(i);
    const parsed = tryParseIndex(text);
    if (!parsed.ok) return { [key]: parsed.error };
    const index = parsed.index;
    const lowerName = index.name.toLowerCase();
    if (names.has(lowerName)) return { [key]: fieldError('validation_duplicated_index_name', 'The index name already exists.') };
    names.add(lowerName);
    // Index names are global in the database.
    const user = others.find((o) => o.indexes.some((t) => {
      const p = tryParseIndex(t);
      return p.ok && p.index.name.toLowerCase() === lowerName;
    }));
    if (user) return { [key]: fieldError('validation_existing_index_name', `The index name is already used in ${user.name} collection.`, { usedTableName: user.name }) };
    const definition = formatIndex({ ...index, name: 'validator', optional: false }, 'validator');
    if (definitions.has(definition)) return { [key]: fieldError('validation_duplicated_index_definition', 'The index definition already exists.') };
    definitions.add(definition);
    const unknown = indexColumnNames(index).find((col) => !c.fields.some((f) => f.name.toLowerCase() === col.toLowerCase()));
    if (unknown !== undefined) {
      return { [key]: fieldError('validation_invalid_index_column', `The index refers to an unknown field ${unknown}.`, { column: unknown }) };
    }
    parsedList.push(index);
  }

  // Unique indexes on system fields must survive updates (they back logins and token checks).
  const old = ctx.existing;
  if (old) {
    const shape = (p: ParsedIndex) => p.columns.map((col) => col.name.toLowerCase()).join(',');
    for (const text of old.indexes) {
      const oldParsed = tryParseIndex(text);
      if (!oldParsed.ok || !oldParsed.index.unique) continue;
      const systemField = old.fields.find((f) => f.system && oldParsed.index.columns.some((col) => col.name.toLowerCase() === f.name.toLowerCase()));
      if (!systemField) continue;
      if (!parsedList.some((p) => p.unique && shape(p) === shape(oldParsed.index))) {
        return fieldError('validation_invalid_unique_system_field_index', `Unique index definition on system fields (${systemField.name}) is invalid or missing.`, {
          fieldName: systemField.name,
        });
      }
    }
  }
  if (c.type === 'auth') {
    for (const fieldName of ['tokenKey', 'email']) {
      if (!findSingleColumnUniqueIndex(c.indexes, fieldName)) {
        return fieldError('validation_missing_required_unique_index', `Missing required unique index for field "${fieldName}".`, { fieldName });
      }
    }
  }
  return null;
}

function templateErrors(t: EmailTemplate): FieldErrors | null {
  const errors: FieldErrors = {};
  if (t.subject === '') errors.subject = errRequired();
  if (t.body === '') errors.body = errRequired();
  return errorsOrNull(errors);
}

function durationError(value: number, min: number, max: number): FieldError | null {
  if (value === 0) return errRequired();
  if (value < min) return errMin(min);
  if (value > max) return errMax(max);
  return null;
}

function providerErrors(p: Record<string, unknown>): FieldErrors | null {
  const errors: FieldErrors = {};
  for (const key of ['name', 'clientId', 'clientSecret']) if (!p[key]) errors[key] = errRequired();
  for (const key of ['authURL', 'tokenURL', 'userInfoURL']) {
    const v = p[key];
    if (typeof v === 'string' && v !== '' && !parseUrl(v)) errors[key] = fieldError('validation_is_url', 'Must be a valid URL.');
  }
  return errorsOrNull(errors);
}

/** Errors of the auth-only options, in PocketBase's shape (`{otp: {length: …}}`). */
function authOptionErrors(c: AuthCollection, ctx: CollectionValidationContext): FieldErrors {
  const errors: FieldErrors = {};
  const old = ctx.existing?.type === 'auth' ? ctx.existing : undefined;
  const authRule = checkRule(c, ctx, 'authRule', c.authRule, old ? old.authRule : undefined);
  if (authRule) errors.authRule = authRule;
  const manageRule = c.manageRule === '' ? fieldError('validation_nil_or_not_empty_required', 'Cannot be blank.') : checkRule(c, ctx, 'manageRule', c.manageRule, old ? old.manageRule : undefined);
  if (manageRule) errors.manageRule = manageRule;

  const alert = templateErrors(c.authAlert.emailTemplate);
  if (alert) errors.authAlert = { emailTemplate: alert };
  if (c.passwordAuth.enabled && c.passwordAuth.identityFields.length === 0) errors.passwordAuth = { identityFields: errRequired() };
  if (c.oauth2.enabled) {
    const providers: FieldErrors = {};
    const seen = new Set<string>();
    c.oauth2.providers.forEach((p, i) => {
      const name = typeof p.name === 'string' ? p.name : '';
      if (name !== '' && seen.has(name)) {
        providers[String(i)] = { name: fieldError('validation_duplicated_provider', `The provider ${name} is already registered.`, { name }) };
      } else {
        const errs = providerErrors(p);
        if (errs) providers[String(i)] = errs;
      }
      seen.add(name);
    });
    if (hasErrors(providers)) errors.oauth2 = { providers };
  }
  const otp: FieldErrors = {};
  if (c.otp.enabled) {
    const duration = durationError(c.otp.duration, 10, 86_400);
    if (duration) otp.duration = duration;
    if (c.otp.length === 0) otp.length = errRequired();
    else if (c.otp.length < 4) otp.length = errMin(4);
  }
  const otpTemplate = templateErrors(c.otp.emailTemplate);
  if (otpTemplate) otp.emailTemplate = otpTemplate;
  if (hasErrors(otp)) errors.otp = otp;
  if (c.mfa.enabled) {
    const duration = durationError(c.mfa.duration, 10, 86_400);
    if (duration) errors.mfa = { duration };
  }
  for (const key of TOKEN_KEYS) {
    const token: FieldErrors = {};
    const secret = c[key].secret ?? '';
    if (secret === '') token.secret = errRequired();
    else if (secret.length < 30 || secret.length > 255) token.secret = errLength(30, 255);
    const duration = durationError(c[key].duration, 10, 94_670_856);
    if (duration) token.duration = duration;
    if (hasErrors(token)) errors[key] = token;
  }
  for (const key of TEMPLATE_KEYS) {
    const t = templateErrors(c[key]);
    if (t) errors[key] = t;
  }
  if (hasErrors(errors)) return errors;

  // Cross-option checks run once the options themselves are valid, as in PocketBase.
  if (c.mfa.enabled) {
    const methods = [c.passwordAuth.enabled, c.oauth2.enabled, c.otp.enabled].filter(Boolean).length;
    if (methods < 2) return { mfa: { enabled: fieldError('validation_mfa_not_enough_auths', 'MFA requires at least 2 auth methods to be enabled.') } };
    if (c.mfa.rule !== '') {
      const rule = checkRule(c, ctx, 'mfaRule', c.mfa.rule, old ? old.mfa.rule : undefined);
      if (rule) return { mfa: { rule } };
    }
  }
  if (c.passwordAuth.enabled) {
    for (const fieldName of c.passwordAuth.identityFields) {
      if (!c.fields.some((f) => f.name === fieldName)) {
        return { passwordAuth: { identityFields: fieldError('validation_missing_field', `Invalid or missing field ${fieldName}.`, { fieldName }) } };
      }
      if (!findSingleColumnUniqueIndex(c.indexes, fieldName)) {
        return {
          passwordAuth: {
            identityFields: fieldError('validation_missing_unique_constraint', `The field ${fieldName} doesn't have a UNIQUE constraint.`, { fieldName }),
          },
        };
      }
    }
  }
  return {};
}

/**
 * Validates a normalized collection (a create when `ctx.existing` is undefined, else an update of it).
 * Returns PocketBase-shaped field errors, or null when the collection can be saved.
 */
export function validateCollection(collection: Collection, ctx: CollectionValidationContext): FieldErrors | null {
  const c = collection;
  const errors: FieldErrors = {};
  const existing = ctx.existing;

  const id = idError(c, ctx);
  if (id) errors.id = id;
  if (existing && c.system !== existing.system) errors.system = fieldError('validation_collection_system_flag_change', 'System collection state cannot be changed.');
  if (!(COLLECTION_TYPES as readonly string[]).includes(c.type)) errors.type = errIn();
  else if (existing && existing.type !== c.type) errors.type = fieldError('validation_collection_type_change', 'Collection type cannot be changed.');
  const name = nameError(c, ctx);
  if (name) errors.name = name;
  const fields = fieldsError(c, ctx);
  if (fields) errors.fields = fields;

  for (const rule of RULE_NAMES) {
    const value = c[rule];
    let err: FieldError | null;
    if (c.type === 'view' && rule !== 'listRule' && rule !== 'viewRule' && value !== null) err = fieldError('validation_nil', 'Must be blank.');
    else err = checkRule(c, ctx, rule, value, existing ? existing[rule] : undefined);
    if (err) errors[rule] = err;
  }

  const indexes = indexesError(c, ctx);
  if (indexes) errors.indexes = indexes;

  if (c.type === 'view' && c.viewQuery.trim() === '') errors.viewQuery = errRequired();
  if (c.type === 'auth') Object.assign(errors, authOptionErrors(c, ctx));
  return errorsOrNull(errors);
}
