/**
 * What PocketBase creates on a fresh install, as normalized Collection objects: `_superusers`, the default
 * `users`, the auth bookkeeping collections (`_externalAuths`, `_mfas`, `_otps`, `_authOrigins`), plus the
 * building blocks they share with user collections (system fields, default auth options and email
 * templates, required auth indexes) and the templates of `GET /api/collections/meta/scaffolds`.
 */
import { nowDateTime } from '../util/datetime.js';
import { getFieldType } from './fields/index.js';
import { collectionId, fieldId, randomSecret, randomString } from './ids.js';
import {
  SUPERUSERS_COLLECTION_NAME,
  USERS_COLLECTION_ID,
  type AuthCollection,
  type AuthOptions,
  type BaseCollection,
  type Collection,
  type EmailTemplate,
  type Field,
  type FieldTypeName,
  type ViewCollection,
} from './model.js';

// ---------------------------------------------------------------------------------------------------
// Email templates (placeholders are replaced by the mailer).

/** Default "verify your email" template. */
export const DEFAULT_VERIFICATION_TEMPLATE: EmailTemplate = {
  subject: 'Verify your {APP_NAME} email',
  body:
    '<p>Hello,</p>\n<p>Thank you for joining us at {APP_NAME}.</p>\n<p>Click on the button below to verify your email address.</p>\n' +
    '<p>\n  <a class="btn" href="{APP_URL}/_/#/auth/confirm-verification/{TOKEN}" target="_blank" rel="noopener">Verify</a>\n</p>\n' +
    '<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>',
};

/** Default "reset your password" template. */
export const DEFAULT_RESET_PASSWORD_TEMPLATE: EmailTemplate = {
  subject: 'Reset your {APP_NAME} password',
  body:
    '<p>Hello,</p>\n<p>Click on the button below to reset your password.</p>\n' +
    '<p>\n  <a class="btn" href="{APP_URL}/_/#/auth/confirm-password-reset/{TOKEN}" target="_blank" rel="noopener">Reset password</a>\n</p>\n' +
    "<p><i>If you didn't ask to reset your password, you can ignore this email.</i></p>\n" +
    '<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>',
};

/** Default "confirm your new email" template. */
export const DEFAULT_CONFIRM_EMAIL_CHANGE_TEMPLATE: EmailTemplate = {
  subject: 'Confirm your {APP_NAME} new email address',
  body:
    '<p>Hello,</p>\n<p>Click on the button below to confirm your new email address.</p>\n' +
    '<p>\n  <a class="btn" href="{APP_URL}/_/#/auth/confirm-email-change/{TOKEN}" target="_blank" rel="noopener">Confirm new email</a>\n</p>\n' +
    "<p><i>If you didn't ask to change your email address, you can ignore this email.</i></p>\n" +
    '<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>',
};

/** Default one-time password template. */
export const DEFAULT_OTP_TEMPLATE: EmailTemplate = {
  subject: 'OTP for {APP_NAME}',
  body:
    '<p>Hello,</p>\n<p>Your one-time password is: <strong>{OTP}</strong></p>\n' +
    "<p><i>If you didn't ask for the one-time password, you can ignore this email.</i></p>\n" +
    '<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>',
};

/** Default "login from a new location" template. */
export const DEFAULT_AUTH_ALERT_TEMPLATE: EmailTemplate = {
  subject: 'Login from a new location',
  body:
    '<p>Hello,</p>\n<p>We noticed a login to your {APP_NAME} account from a new location:</p>\n<p><em>{ALERT_INFO}</em></p>\n' +
    "<p><strong>If this wasn't you, you should immediately change your {APP_NAME} account password to revoke access from all other locations.</strong></p>\n" +
    '<p>If this was you, you may disregard this email.</p>\n' +
    '<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>',
};

// ---------------------------------------------------------------------------------------------------
// Defaults.

/** Token lifetimes in seconds (PocketBase's defaults; `_superusers` auth tokens last 1 day). */
export const TOKEN_DURATIONS = {
  authToken: 604_800,
  superusersAuthToken: 86_400,
  passwordResetToken: 1_800,
  emailChangeToken: 1_800,
  verificationToken: 259_200,
  fileToken: 180,
} as const;

/** A fresh set of auth options with PocketBase's defaults and new random token secrets. */
export function defaultAuthOptions(): AuthOptions {
  const token = (duration: number) => ({ duration, secret: randomSecret(50) });
  return {
    authRule: '',
    manageRule: null,
    authAlert: { enabled: true, emailTemplate: { ...DEFAULT_AUTH_ALERT_TEMPLATE } },
    oauth2: { providers: [], mappedFields: { id: '', name: '', username: '', avatarURL: '' }, enabled: false },
    passwordAuth: { enabled: true, identityFields: ['email'] },
    mfa: { enabled: false, duration: 1_800, rule: '' },
    otp: { enabled: false, duration: 180, length: 8, emailTemplate: { ...DEFAULT_OTP_TEMPLATE } },
    authToken: token(TOKEN_DURATIONS.authToken),
    passwordResetToken: token(TOKEN_DURATIONS.passwordResetToken),
    emailChangeToken: token(TOKEN_DURATIONS.emailChangeToken),
    verificationToken: token(TOKEN_DURATIONS.verificationToken),
    fileToken: token(TOKEN_DURATIONS.fileToken),
    verificationTemplate: { ...DEFAULT_VERIFICATION_TEMPLATE },
    resetPasswordTemplate: { ...DEFAULT_RESET_PASSWORD_TEMPLATE },
    confirmEmailChangeTemplate: { ...DEFAULT_CONFIRM_EMAIL_CHANGE_TEMPLATE },
  };
}

/** A normalized field of `type` with PocketBase's default id (`<type><crc32(name)>`) unless one is given. */
export function makeField(type: FieldTypeName, props: Record<string, unknown> & { name: string }): Field {
  const field = getFieldType(type).normalizeDefinition({ ...props, type }) as Field;
  if (field.id === '') field.id = fieldId(type, props.name);
  return field;
}

/**
 * An internal table (`_collections`, `_logs`) described as a base collection, so the rules compiler can
 * filter and sort it: each field's id is its name, list/view are open, writes are superusers-only.
 */
export function tableAsCollection(id: string, fields: ReadonlyArray<readonly [name: string, type: FieldTypeName]>): BaseCollection {
  return {
    id,
    name: id,
    type: 'base',
    system: true,
    fields: fields.map(([name, type]) => makeField(type, { name, id: name })),
    indexes: [],
    listRule: '',
    viewRule: '',
    createRule: null,
    updateRule: null,
    deleteRule: null,
    created: '',
    updated: '',
  };
}

/** The `id` primary key every base and auth collection has. */
export function defaultIdField(): Field {
  return makeField('text', {
    name: 'id',
    system: true,
    primaryKey: true,
    required: true,
    min: 15,
    max: 15,
    pattern: '^[a-z0-9]+$',
    autogeneratePattern: '[a-z0-9]{15}',
  });
}

/** The system fields of an auth collection besides `id`, in PocketBase's order. */
export function authSystemFields(): Field[] {
  return [
    makeField('password', { name: 'password', system: true, hidden: true, required: true, min: 8 }),
    makeField('text', { name: 'tokenKey', system: true, hidden: true, required: true, min: 30, max: 60, autogeneratePattern: '[a-zA-Z0-9]{50}' }),
    makeField('email', { name: 'email', system: true, required: true }),
    makeField('bool', { name: 'emailVisibility', system: true }),
    makeField('bool', { name: 'verified', system: true }),
  ];
}

/** PocketBase's name for a system field's index: `idx_<field>_<collection id or name>`, at most 64 characters. */
export function fieldIndexName(field: string, collectionIdOrName: string): string {
  const name = `idx_${field}_${collectionIdOrName || randomString(10)}`;
  return name.slice(0, 64);
}

/** The unique indexes every auth collection needs: `tokenKey`, and `email` when not empty. */
export function authRequiredIndexes(collectionIdOrName: string, tableName: string): { tokenKey: string; email: string } {
  return {
    tokenKey: `CREATE UNIQUE INDEX \`${fieldIndexName('tokenKey', collectionIdOrName)}\` ON \`${tableName}\` (\`tokenKey\`)`,
    email: `CREATE UNIQUE INDEX \`${fieldIndexName('email', collectionIdOrName)}\` ON \`${tableName}\` (\`email\`) WHERE \`email\` != ''`,
  };
}

function autodates(system: boolean): Field[] {
  return [
    makeField('autodate', { name: 'created', system, onCreate: true }),
    makeField('autodate', { name: 'updated', system, onCreate: true, onUpdate: true }),
  ];
}

// ---------------------------------------------------------------------------------------------------
// The system collections.

type Rules = Pick<Collection, 'listRule' | 'viewRule' | 'createRule' | 'updateRule' | 'deleteRule'>;

const LOCKED: Rules = { listRule: null, viewRule: null, createRule: null, updateRule: null, deleteRule: null };

function baseCollection(name: string, rules: Rules, fields: Field[], indexes: string[], now: string): BaseCollection {
  return {
    id: collectionId('base', name),
    ...rules,
    name,
    type: 'base',
    fields: [defaultIdField(), ...fields],
    indexes,
    created: now,
    updated: now,
    system: true,
  };
}

function authCollection(id: string, name: string, rules: Rules, extraFields: Field[], system: boolean, now: string): AuthCollection {
  const required = authRequiredIndexes(id, name);
  return {
    id,
    ...rules,
    name,
    type: 'auth',
    fields: [defaultIdField(), ...authSystemFields(), ...extraFields],
    indexes: [required.tokenKey, required.email],
    created: now,
    updated: now,
    system,
    ...defaultAuthOptions(),
  };
}

// Records of these collections belong to one auth record: its owner may see (and sometimes delete) them.
const OWNER_RULE = "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId";

function refFields(): Field[] {
  return [makeField('text', { name: 'collectionRef', system: true, required: true }), makeField('text', { name: 'recordRef', system: true, required: true })];
}

/** `_superusers`: the admin accounts (id `pbc_3142635823`, which the SDK hard-codes), all rules locked. */
export function superusersCollection(now = nowDateTime()): AuthCollection {
  const c = authCollection(collectionId('auth', SUPERUSERS_COLLECTION_NAME), SUPERUSERS_COLLECTION_NAME, LOCKED, autodates(true), true, now);
  c.authToken.duration = TOKEN_DURATIONS.superusersAuthToken;
  return c;
}

/** The default `users` auth collection (id `_pb_users_auth_`): owners read, update and delete themselves; anyone may sign up. */
export function usersCollection(now = nowDateTime()): AuthCollection {
  const owner = 'id = @request.auth.id';
  const c = authCollection(
    USERS_COLLECTION_ID,
    'users',
    { listRule: owner, viewRule: owner, createRule: '', updateRule: owner, deleteRule: owner },
    [
      makeField('text', { name: 'name', max: 255 }),
      makeField('file', { name: 'avatar', maxSelect: 1, mimeTypes: ['image/jpeg', 'image/png', 'image/svg+xml', 'image/gif', 'image/webp'] }),
      ...autodates(false),
    ],
    false,
    now,
  );
  c.oauth2.mappedFields.name = 'name';
  c.oauth2.mappedFields.avatarURL = 'avatar';
  return c;
}

/** `_externalAuths`: links between auth records and OAuth2 provider accounts. */
export function externalAuthsCollection(now = nowDateTime()): BaseCollection {
  return baseCollection(
    '_externalAuths',
    { ...LOCKED, listRule: OWNER_RULE, viewRule: OWNER_RULE, deleteRule: OWNER_RULE },
    [
      ...refFields(),
      makeField('text', { name: 'provider', system: true, required: true }),
      makeField('text', { name: 'providerId', system: true, required: true }),
      ...autodates(true),
    ],
    [
      'CREATE UNIQUE INDEX `idx_externalAuths_record_provider` ON `_externalAuths` (`collectionRef`, `recordRef`, `provider`)',
      'CREATE UNIQUE INDEX `idx_externalAuths_collection_provider` ON `_externalAuths` (`collectionRef`, `provider`, `providerId`)',
    ],
    now,
  );
}

/** `_mfas`: pending multi-factor authentications. */
export function mfasCollection(now = nowDateTime()): BaseCollection {
  return baseCollection(
    '_mfas',
    { ...LOCKED, listRule: OWNER_RULE, viewRule: OWNER_RULE },
    [...refFields(), makeField('text', { name: 'method', system: true, required: true }), ...autodates(true)],
    ['CREATE INDEX `idx_mfas_collectionRef_recordRef` ON `_mfas` (`collectionRef`, `recordRef`)'],
    now,
  );
}

/** `_otps`: one-time passwords (hashed, hidden). */
export function otpsCollection(now = nowDateTime()): BaseCollection {
  return baseCollection(
    '_otps',
    { ...LOCKED, listRule: OWNER_RULE, viewRule: OWNER_RULE },
    [
      ...refFields(),
      // Low cost: OTPs are short-lived and random, and this keeps requesting them cheap.
      makeField('password', { name: 'password', system: true, hidden: true, required: true, cost: 8 }),
      makeField('text', { name: 'sentTo', system: true, hidden: true }),
      ...autodates(true),
    ],
    ['CREATE INDEX `idx_otps_collectionRef_recordRef` ON `_otps` (`collectionRef`, `recordRef`)'],
    now,
  );
}

/** `_authOrigins`: devices/locations an auth record logged in from (for new-location alerts). */
export function authOriginsCollection(now = nowDateTime()): BaseCollection {
  return baseCollection(
    '_authOrigins',
    { ...LOCKED, listRule: OWNER_RULE, viewRule: OWNER_RULE, deleteRule: OWNER_RULE },
    [...refFields(), makeField('text', { name: 'fingerprint', system: true, required: true }), ...autodates(true)],
    ['CREATE UNIQUE INDEX `idx_authOrigins_unique_pairs` ON `_authOrigins` (`collectionRef`, `recordRef`, `fingerprint`)'],
    now,
  );
}

/** Every collection of a fresh install, in PocketBase's creation order (the default `users` last). */
export function systemCollections(now = nowDateTime()): Collection[] {
  return [mfasCollection(now), otpsCollection(now), externalAuthsCollection(now), authOriginsCollection(now), superusersCollection(now), usersCollection(now)];
}

// ---------------------------------------------------------------------------------------------------
// Scaffolds.

/** Default templates per collection type, as `GET /api/collections/meta/scaffolds` returns them (no secrets). */
export function scaffolds(): { auth: AuthCollection; base: BaseCollection; view: ViewCollection } {
  // PocketBase names the scaffold's auth indexes after a random numeric id, then clears the collection id.
  const randomId = randomString(10, '123456789');
  const base: BaseCollection = { id: '', ...LOCKED, name: '', type: 'base', fields: [defaultIdField()], indexes: [], created: '', updated: '', system: false };
  const auth = authCollection(randomId, '', LOCKED, [], false, '');
  auth.id = '';
  for (const key of ['authToken', 'passwordResetToken', 'emailChangeToken', 'verificationToken', 'fileToken'] as const) {
    auth[key] = { duration: auth[key].duration };
  }
  const view: ViewCollection = { id: '', ...LOCKED, name: '', type: 'view', fields: [], indexes: [], created: '', updated: '', system: false, viewQuery: '' };
  return { auth, base, view };
}

/** Alias of `scaffolds()`. */
export const collectionScaffolds = scaffolds;
