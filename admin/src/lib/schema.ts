// Collection and field shapes as the API sends them, and what the editor knows about each field type.

export interface Field {
  id?: string;
  name: string;
  type: string;
  system?: boolean;
  hidden?: boolean;
  presentable?: boolean;
  required?: boolean;
  help?: string;
  [option: string]: any;
}

export type RuleKey = 'listRule' | 'viewRule' | 'createRule' | 'updateRule' | 'deleteRule' | 'authRule' | 'manageRule';

export interface Collection {
  id: string;
  name: string;
  type: 'base' | 'auth' | 'view';
  system: boolean;
  fields: Field[];
  indexes: string[];
  listRule: string | null;
  viewRule: string | null;
  createRule: string | null;
  updateRule: string | null;
  deleteRule: string | null;
  viewQuery?: string;
  [option: string]: any;
}

export interface FieldTypeInfo {
  type: string;
  label: string;
  icon: string;
}

export const FIELD_TYPES: FieldTypeInfo[] = [
  { type: 'text', label: 'Plain text', icon: 'T' },
  { type: 'editor', label: 'Rich editor', icon: '¶' },
  { type: 'number', label: 'Number', icon: '#' },
  { type: 'bool', label: 'Bool', icon: '◐' },
  { type: 'email', label: 'Email', icon: '@' },
  { type: 'url', label: 'URL', icon: '↗' },
  { type: 'date', label: 'DateTime', icon: '◷' },
  { type: 'autodate', label: 'Autodate', icon: '⟳' },
  { type: 'select', label: 'Select', icon: '☰' },
  { type: 'file', label: 'File', icon: '▧' },
  { type: 'relation', label: 'Relation', icon: '⇄' },
  { type: 'json', label: 'JSON', icon: '{}' },
  { type: 'geoPoint', label: 'Geo point', icon: '◎' },
  { type: 'password', label: 'Password', icon: '•' },
];

export function fieldTypeInfo(type: string): FieldTypeInfo {
  return FIELD_TYPES.find((t) => t.type === type) ?? { type, label: type, icon: '?' };
}

/** A new field with the options the editor shows filled in (the server fills the rest). */
export function newField(type: string, name: string): Field {
  const base: Field = { name, type, required: false, hidden: false, presentable: false, system: false };
  switch (type) {
    case 'select':
      return { ...base, values: [], maxSelect: 1 };
    case 'relation':
      return { ...base, collectionId: '', maxSelect: 1, minSelect: 0, cascadeDelete: false };
    case 'file':
      return { ...base, maxSelect: 1, maxSize: 0, mimeTypes: [], thumbs: [], protected: false };
    case 'autodate':
      return { ...base, onCreate: true, onUpdate: false };
    case 'number':
      return { ...base, onlyInt: false };
    default:
      return base;
  }
}

/** Fields the record form edits (autodate values and auth internals are set by the server). */
export function editableFields(c: Collection): Field[] {
  const skip = c.type === 'auth' ? new Set(['id', 'password', 'tokenKey', 'email', 'emailVisibility', 'verified']) : new Set(['id']);
  return c.fields.filter((f) => f.type !== 'autodate' && !skip.has(f.name));
}

export function isMulti(f: Field): boolean {
  return (f.type === 'select' || f.type === 'relation' || f.type === 'file') && Number(f.maxSelect ?? 1) > 1;
}

/** The rule slots a collection type has, with their labels. */
export function ruleSlots(c: Pick<Collection, 'type'>): Array<{ key: RuleKey; label: string; help: string }> {
  const slots: Array<{ key: RuleKey; label: string; help: string }> = [
    { key: 'listRule', label: 'List/Search rule', help: 'Who can list records; records not matching are left out.' },
    { key: 'viewRule', label: 'View rule', help: 'Who can view a single record.' },
  ];
  if (c.type === 'view') return slots;
  slots.push(
    { key: 'createRule', label: 'Create rule', help: 'Checked against the record as it would be created.' },
    { key: 'updateRule', label: 'Update rule', help: 'Who can update a record.' },
    { key: 'deleteRule', label: 'Delete rule', help: 'Who can delete a record.' },
  );
  if (c.type === 'auth') {
    slots.push(
      { key: 'authRule', label: 'Authentication rule', help: 'Extra condition a record must meet to log in ("" = any record).' },
      { key: 'manageRule', label: 'Manage rule', help: 'Who may change email, password and verified of other records.' },
    );
  }
  return slots;
}

/** Columns the records table shows first: presentable and short fields, then the rest. */
export function defaultColumns(c: Collection): string[] {
  const hidden = new Set(['password', 'tokenKey']);
  return c.fields
    .filter((f) => !hidden.has(f.name) && f.type !== 'password')
    .map((f) => f.name)
    .slice(0, 8);
}

// What names a record (relation chips and table cells): its collection's presentable fields (PocketBase's
// `presentable` option), else the first conventional name-like field, else nothing (the id is shown).
const NAME_LIKE = ['name', 'title', 'username', 'label', 'email', 'heading', 'slug'];

export function presentableFields(c: Collection): string[] {
  const marked = c.fields.filter((f) => f.presentable && !f.hidden && f.type !== 'password').map((f) => f.name);
  if (marked.length) return marked;
  return NAME_LIKE.filter((n) => c.fields.some((f) => f.name === n && !f.hidden)).slice(0, 1);
}

export function recordLabel(record: Record<string, unknown>, fields: string[]): string {
  const parts = fields
    .map((f) => record[f])
    .filter((v) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0))
    .map((v) => (Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v)));
  return parts.length ? parts.join(' · ') : String(record.id ?? '');
}
