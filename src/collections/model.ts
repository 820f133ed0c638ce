/**
 * The collection and field model, in PocketBase's JSON shape (v0.23+: field options are flattened into
 * the field object). These are the types every capability shares; field behaviour lives in ./fields/.
 */

export const FIELD_TYPES = [
  'text',
  'number',
  'bool',
  'email',
  'url',
  'editor',
  'date',
  'autodate',
  'select',
  'json',
  'relation',
  'file',
  'geoPoint',
  'password',
] as const;

export type FieldTypeName = (typeof FIELD_TYPES)[number];

export const COLLECTION_TYPES = ['base', 'auth', 'view'] as const;
export type CollectionType = (typeof COLLECTION_TYPES)[number];

/** Options every field has. Type-specific options sit beside them (flattened), as in PocketBase. */
export interface FieldBase {
  id: string;
  name: string;
  type: FieldTypeName;
  system: boolean;
  hidden: boolean;
  presentable: boolean;
  required?: boolean;
  help?: string;
}

export interface TextField extends FieldBase {
  type: 'text';
  min: number;
  max: number;
  pattern: string;
  autogeneratePattern: string;
  primaryKey: boolean;
  required: boolean;
}
export interface NumberField extends FieldBase {
  type: 'number';
  min: number | null;
  max: number | null;
  onlyInt: boolean;
  required: boolean;
}
export interface BoolField extends FieldBase {
  type: 'bool';
  required: boolean;
}
export interface EmailField extends FieldBase {
  type: 'email';
  exceptDomains: string[] | null;
  onlyDomains: string[] | null;
  required: boolean;
}
export interface UrlField extends FieldBase {
  type: 'url';
  exceptDomains: string[] | null;
  onlyDomains: string[] | null;
  required: boolean;
}
export interface EditorField extends FieldBase {
  type: 'editor';
  maxSize: number;
  convertURLs: boolean;
  required: boolean;
}
export interface DateField extends FieldBase {
  type: 'date';
  min: string;
  max: string;
  required: boolean;
}
export interface AutodateField extends FieldBase {
  type: 'autodate';
  onCreate: boolean;
  onUpdate: boolean;
}
export interface SelectField extends FieldBase {
  type: 'select';
  values: string[];
  maxSelect: number;
  required: boolean;
}
export interface JsonField extends FieldBase {
  type: 'json';
  maxSize: number;
  required: boolean;
}
export interface RelationField extends FieldBase {
  type: 'relation';
  collectionId: string;
  cascadeDelete: boolean;
  minSelect: number;
  maxSelect: number;
  required: boolean;
}
export interface FileField extends FieldBase {
  type: 'file';
  maxSize: number;
  maxSelect: number;
  mimeTypes: string[] | null;
  thumbs: string[] | null;
  protected: boolean;
  required: boolean;
}
export interface GeoPointField extends FieldBase {
  type: 'geoPoint';
  required: boolean;
}
export interface PasswordField extends FieldBase {
  type: 'password';
  min: number;
  max: number;
  pattern: string;
  cost: number;
  required: boolean;
}

export type Field =
  | TextField
  | NumberField
  | BoolField
  | EmailField
  | UrlField
  | EditorField
  | DateField
  | AutodateField
  | SelectField
  | JsonField
  | RelationField
  | FileField
  | GeoPointField
  | PasswordField;

export interface TokenConfig {
  duration: number;
  /** Never serialised to clients. */
  secret?: string;
}

export interface EmailTemplate {
  subject: string;
  body: string;
}

/** Options only auth collections carry (flattened into the collection JSON). */
export interface AuthOptions {
  authRule: string | null;
  manageRule: string | null;
  authAlert: { enabled: boolean; emailTemplate: EmailTemplate };
  oauth2: {
    enabled: boolean;
    mappedFields: { id: string; name: string; username: string; avatarURL: string };
    providers: Array<Record<string, unknown>>;
  };
  passwordAuth: { enabled: boolean; identityFields: string[] };
  mfa: { enabled: boolean; duration: number; rule: string };
  otp: { enabled: boolean; duration: number; length: number; emailTemplate: EmailTemplate };
  authToken: TokenConfig;
  passwordResetToken: TokenConfig;
  emailChangeToken: TokenConfig;
  verificationToken: TokenConfig;
  fileToken: TokenConfig;
  verificationTemplate: EmailTemplate;
  resetPasswordTemplate: EmailTemplate;
  confirmEmailChangeTemplate: EmailTemplate;
}

export interface CollectionBase {
  id: string;
  name: string;
  type: CollectionType;
  system: boolean;
  fields: Field[];
  indexes: string[];
  listRule: string | null;
  viewRule: string | null;
  createRule: string | null;
  updateRule: string | null;
  deleteRule: string | null;
  created: string;
  updated: string;
}

export interface BaseCollection extends CollectionBase {
  type: 'base';
}
export interface ViewCollection extends CollectionBase {
  type: 'view';
  viewQuery: string;
}
export interface AuthCollection extends CollectionBase, AuthOptions {
  type: 'auth';
}

export type Collection = BaseCollection | ViewCollection | AuthCollection;

export type RuleName = 'listRule' | 'viewRule' | 'createRule' | 'updateRule' | 'deleteRule';
export const RULE_NAMES: readonly RuleName[] = ['listRule', 'viewRule', 'createRule', 'updateRule', 'deleteRule'];

/** Field names no collection may use (PocketBase reserves them for the record JSON). */
export const RESERVED_FIELD_NAMES = ['collectionId', 'collectionName', 'expand'] as const;
export const RESERVED_AUTH_FIELD_NAMES = ['passwordConfirm', 'oldPassword'] as const;

/** Well-known ids PocketBase's SDK depends on. */
export const SUPERUSERS_COLLECTION_ID = 'pbc_3142635823';
export const SUPERUSERS_COLLECTION_NAME = '_superusers';
export const USERS_COLLECTION_ID = '_pb_users_auth_';

/**
 * Read-only view of the schema the rules compiler, field validators and records layer look names up in.
 * Implemented by the collection registry; lookups by id or name.
 */
export interface SchemaLookup {
  /** By id or name; undefined when there is no such collection. */
  find(idOrName: string): Collection | undefined;
  all(): readonly Collection[];
}

/** A field by name within a collection (exact, case-sensitive, as PocketBase). */
export function findField(collection: Collection, name: string): Field | undefined {
  return collection.fields.find((f) => f.name === name);
}

/**
 * Whether a field holds a list (stored as a JSON array column): select/relation/file with maxSelect > 1.
 * Storage conventions every layer relies on:
 * - table name = collection name, column name = field name;
 * - multi-valued fields: JSON array text (`'[]'` default); single select/relation/file, text, email, url,
 *   editor, date, autodate, password (hash): TEXT, `''` when empty;
 * - number: NUMERIC (0 default); bool: 0/1; json: JSON text or NULL; geoPoint: JSON text `{"lon":0,"lat":0}`;
 * - dates as UTC `YYYY-MM-DD HH:MM:SS.sssZ`.
 */
export function isMultiValued(field: Field): boolean {
  if (field.type === 'select' || field.type === 'relation' || field.type === 'file') return field.maxSelect > 1;
  return false;
}
