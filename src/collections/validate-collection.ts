/**
 * Collections from the API, step two: `validateCollection` reports what is wrong with a normalized
 * collection in PocketBase's error shape (`{name: {code, message}}`, `{fields: {"2": {maxSelect: …}}}`, …).
 *
 * @example
 *   const collection = normalizeCollection(body, existing, schema);
 *   const errors = validateCollection(collection, { schema, existing, validateRule });
 *   if (errors) throw AppError.validation('Failed to create collection.', errors);
 */
import { fieldError, type FieldError, type FieldErrors } from '../errors/index.js';
import { errIn, errLength, errMatch, errMax, errMin, errorsOrNull, errRequired, hasErrors } from './fields/common.js';
import { getFieldType } from './fields/index.js';
import { parseUrl } from './fields/url.js';
import { findSingleColumnUniqueIndex, formatIndex, indexColumnNames, tryParseIndex, type ParsedIndex } from './indexes.js';
import {
  COLLECTION_TYPES,
  RESERVED_AUTH_FIELD_NAMES,
  RULE_NAMES,
  type AuthCollection,
  type Collection,
  type EmailTemplate,
  type Field,
  type RuleName,
  type SchemaLookup,
} from './model.js';
import { ID_RE, INTERNAL_TABLES, NAME_RE, TEMPLATE_KEYS, TOKEN_KEYS } from './normalize-collection.js';

export { normalizeCollection, type NormalizeOptions } from './normalize-collection.js';

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

function checkRule(
  c: Collection,
  ctx: CollectionValidationContext,
  rule: CollectionRuleName,
  value: string | null,
  old: string | null | undefined,
): FieldError | null {
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
    const user = others.find((o) =>
      o.indexes.some((t) => {
        const p = tryParseIndex(t);
        return p.ok && p.index.name.toLowerCase() === lowerName;
      }),
    );
    if (user)
      return {
        [key]: fieldError('validation_existing_index_name', `The index name is already used in ${user.name} collection.`, { usedTableName: user.name }),
      };
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
        return fieldError(
          'validation_invalid_unique_system_field_index',
          `Unique index definition on system fields (${systemField.name}) is invalid or missing.`,
          {
            fieldName: systemField.name,
          },
        );
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
  const manageRule =
    c.manageRule === ''
      ? fieldError('validation_nil_or_not_empty_required', 'Cannot be blank.')
      : checkRule(c, ctx, 'manageRule', c.manageRule, old ? old.manageRule : undefined);
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
  if (existing && c.system !== existing.system)
    errors.system = fieldError('validation_collection_system_flag_change', 'System collection state cannot be changed.');
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
