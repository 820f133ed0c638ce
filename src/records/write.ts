/**
 * Writing records: create, update, delete. Each write validates every field (collecting all errors),
 * checks the collection rule, and runs inside one transaction with the record hooks around the SQL.
 * After-commit hooks fire only once the outermost transaction (e.g. a whole batch) committed.
 */
import { getFieldType } from '../collections/fields/index.js';
import { InvalidValue, type Modifier } from '../collections/fields/field-type.js';
import { parseIndex } from '../collections/indexes.js';
import { findField, isMultiValued, SUPERUSERS_COLLECTION_ID, type Collection, type Field, type RelationField } from '../collections/model.js';
import type { CollectionStore } from '../collections/store.js';
import type { Database, Executor } from '../db/dialect.js';
import { ident, join, param, sql, type Sql } from '../db/sql.js';
import { AppError, fieldError, type FieldErrors } from '../errors/index.js';
import type { HookBus, RecordData, RecordEvent } from '../hooks/index.js';
import { hasManageAccess } from '../auth/manage-rule.js';
import { hashPassword, MAX_PASSWORD_BYTES, verifyPassword, type PasswordAlgorithm } from '../auth/passwords.js';
import { isSuperuser, type RequestInfo } from '../rules/request-info.js';
import { ROOT_ALIAS, ruleCondition } from './access.js';
import { compileFilter } from '../rules/index.js';
import type { RecordReader } from './query.js';
import { rowToRecord, virtualRow } from './record-io.js';
import { formatDateTime } from '../util/datetime.js';
import { findUnstorable, UNSTORABLE_CODES, UNSTORABLE_MESSAGES } from '../util/storable-text.js';
import { generateFromPattern } from '../collections/fields/text.js';
import { randomString } from '../util/random.js';
import { checkFileFields, planUploads, type FileChanges, type FileService, type Upload } from '../files/index.js';

export interface WriteInput {
  data: Record<string, unknown>;
  /** Uploaded files (multipart), for `file` fields: under `field`, `field+` or `+field`. */
  files?: readonly Upload[];
}

const RECORD_ID_RE = /^[a-z0-9]+$/;
interface ParsedKey {
  name: string;
  modifier: Modifier | null;
}

function parseKey(key: string): ParsedKey {
  if (key.endsWith('+')) return { name: key.slice(0, -1), modifier: 'append' };
  if (key.startsWith('+')) return { name: key.slice(1), modifier: 'prepend' };
  if (key.endsWith('-')) return { name: key.slice(0, -1), modifier: 'subtract' };
  return { name: key, modifier: null };
}

export class RecordWriter {
  /** How new passwords are hashed (App sets bcrypt on a data directory that came from PocketBase). */
  passwordAlgorithm: PasswordAlgorithm = 'argon2id';

  constructor(
    private readonly db: Database,
    private readonly schema: CollectionStore,
    private readonly hooks: HookBus,
    private readonly reader: RecordReader,
    private readonly files: FileService,
  ) {}

  async create(collection: Collection, input: WriteInput, req: RequestInfo, exec: Executor = this.db): Promise<RecordData> {
    if (collection.type === 'view') throw AppError.badRequest('Unsupported collection type.');
    const superuser = isSuperuser(req);
    const now = new Date();
    const record: RecordData = {};
    for (const f of collection.fields) record[f.name] = getFieldType(f.type).zeroValue(f as never);
    req = this.foldModifiers(collection, record, req, true);
    const rule = ruleCondition(collection, 'createRule', req, this.schema, this.db.dialect);
    const errors: FieldErrors = {};

    const plan = await planUploads(collection, input.data, input.files);
    this.applyInput(collection, record, { ...input, data: plan.data }, { isNew: true, superuser, errors });

    // id: client-supplied (checked) or generated.
    const rawId = input.data.id;
    if (rawId !== undefined && rawId !== '') {
      if (typeof rawId !== 'string' || !RECORD_ID_RE.test(rawId) || rawId.length > 100) {
        errors.id = fieldError('validation_invalid_or_existing_id', 'The id must contain only lowercase letters a-z and digits 0-9');
      } else record.id = rawId;
    }
    this.autogenerate(collection, record);
    this.setAutodates(collection, record, now, true);

    if (collection.type === 'auth') {
      // PocketBase validates the auth form fields (password, passwordConfirm, verified) first and reports
      // only those when any fails; the record's field errors come after.
      const formErrors: FieldErrors = {};
      await this.checkAuthCreate(collection, record, input.data, req, formErrors);
      if (Object.keys(formErrors).length) throw AppError.validation('Failed to create record.', formErrors);
      if (collection.id === SUPERUSERS_COLLECTION_ID) record.verified = true; // PocketBase: superusers are verified by default
    }
    this.validateFields(collection, record, undefined, now, errors, true);
    checkFileFields(collection, record, undefined, plan, errors);
    await this.checkRelations(exec, collection, record, undefined, errors);
    if (Object.keys(errors).length) throw AppError.validation('Failed to create record.', errors);
    if (collection.type === 'auth' && typeof rawId === 'string' && record.id === rawId) await this.checkAuthIdUnique(exec, collection, rawId);
    await this.hashPasswords(collection, record, undefined);

    const event: RecordEvent = { tags: [collection.id, collection.name], collection, record, request: req };
    // New files are written before the transaction and removed again if it does not commit.
    const files = await this.files.stage(collection, record, undefined, plan);
    // Only a create-rule check or a create hook needs a transaction around the INSERT; otherwise the single
    // statement is atomic by itself (on PostgreSQL that saves the BEGIN and COMMIT round trips).
    // Inside a caller's transaction it stays a savepoint, so a failure undoes only this write.
    const atomic = exec !== this.db || rule.kind === 'where' || this.hooks.onRecordCreate.length > 0;
    // PostgreSQL, a transaction of its own whose only handlers just queue statements for the commit (a webhook
    // capture): the INSERT goes with them and the COMMIT, one round trip instead of two.
    const deferred = atomic && exec === this.db && rule.kind !== 'where' && this.db.dialect.name === 'postgres' && this.hooks.onRecordCreate.deferrable(event);
    try {
      await this.withFiles(files, () =>
        inTransactionIf(atomic, exec, async (tx) => {
          event.tx = tx;
          if (rule.kind === 'where') {
            const ok = await tx.get(sql`SELECT 1 AS ok FROM (${virtualRow(collection, record)}) AS ${ident(ROOT_ALIAS)} WHERE ${rule.condition}`);
            if (!ok) throw AppError.badRequest('Failed to create record.');
          }
          await this.hooks.onRecordCreate.trigger(event, async (e) => {
            if (deferred) await tx.runAtCommit(this.insertStatement(collection, e.record));
            else await this.insert(tx, collection, e.record);
          });
          files.bind(tx, event.record, exec !== this.db);
          tx.afterCommit(() => this.hooks.afterCommit(this.hooks.onRecordAfterCreateCommit, { ...event, tx: undefined }));
        }),
      );
    } catch (err) {
      // A deferred INSERT fails at the commit: the same field errors as when it runs at once.
      throw deferred ? this.translateWriteError(collection, err, 'Failed to create record.') : err;
    }
    return event.record;
  }

  async update(collection: Collection, id: string, input: WriteInput, req: RequestInfo, exec: Executor = this.db): Promise<RecordData> {
    if (collection.type === 'view') throw AppError.badRequest('Unsupported collection type.');
    if (!isSuperuser(req) && hasModifierKeys(collection, req.body)) {
      // As PocketBase: the rule sees `field` resolved (`tags+`, `count-` applied to the current record).
      const current = await this.reader.findById(collection, id, exec);
      if (current) req = this.foldModifiers(collection, current, req, false);
    }
    const existing = await this.reader.findVisible(collection, id, 'updateRule', req, exec);
    const superuser = isSuperuser(req);
    const now = new Date();
    const record: RecordData = { ...existing };
    const errors: FieldErrors = {};

    const plan = await planUploads(collection, input.data, input.files);
    this.applyInput(collection, record, { ...input, data: plan.data }, { isNew: false, superuser, errors });
    // PocketBase refuses a changed primary key (the same id, or none, is fine).
    if (input.data.id !== undefined && String(input.data.id) !== existing.id) {
      errors.id = fieldError('validation_pk_change', 'The record primary key cannot be changed.');
    }
    this.setAutodates(collection, record, now, false);
    if (collection.type === 'auth') {
      const formErrors: FieldErrors = {};
      await this.checkAuthUpdate(collection, existing, record, input.data, req, formErrors);
      if (Object.keys(formErrors).length) throw AppError.validation('Failed to update record.', formErrors);
    }
    this.validateFields(collection, record, existing, now, errors, false);
    checkFileFields(collection, record, existing, plan, errors);
    await this.checkRelations(exec, collection, record, existing, errors);
    if (Object.keys(errors).length) throw AppError.validation('Failed to update record.', errors);
    await this.hashPasswords(collection, record, existing);

    const event: RecordEvent = { tags: [collection.id, collection.name], collection, record, previous: existing, request: req };
    // New files first; replaced ones are deleted only after the outermost commit (FileChanges.bind).
    const files = await this.files.stage(collection, record, existing, plan);
    await this.withFiles(files, () =>
      inTransactionIf(exec !== this.db || this.hooks.onRecordUpdate.length > 0, exec, async (tx) => {
        event.tx = tx;
        await this.hooks.onRecordUpdate.trigger(event, async (e) => {
          await this.updateRow(tx, collection, existing.id as string, e.record);
        });
        files.bind(tx, event.record, exec !== this.db);
        tx.afterCommit(() => this.hooks.afterCommit(this.hooks.onRecordAfterUpdateCommit, { ...event, tx: undefined }));
      }),
    );
    return event.record;
  }

  async delete(collection: Collection, id: string, req: RequestInfo, exec: Executor = this.db): Promise<void> {
    if (collection.type === 'view') throw AppError.badRequest('Unsupported collection type.');
    const existing = await this.reader.findVisible(collection, id, 'deleteRule', req, exec);
    await exec.transaction(async (tx) => {
      await this.deleteWithCascade(tx, collection, existing, req, new Set());
    });
  }

  /**
   * Deletes every record of a collection in one transaction, each as a delete (PocketBase's TruncateCollection):
   * relations pointing at them cascade, detach or refuse (a required, non-cascading reference from another
   * record fails the whole truncate), record hooks run and files are removed after the commit.
   */
  async truncate(collection: Collection, req: RequestInfo, exec: Executor = this.db): Promise<void> {
    if (collection.type === 'view') throw AppError.badRequest("View collections cannot be truncated since they don't store their own records.");
    try {
      await exec.transaction(async (tx) => {
        const seen = new Set<string>();
        for (;;) {
          const rows = await tx.all(sql`SELECT * FROM ${ident(collection.name)} LIMIT 500`);
          let progressed = false;
          for (const row of rows) {
            const record = rowToRecord(collection, row);
            if (seen.has(`${collection.id}/${record.id as string}`)) continue; // a hook kept it: do not loop on it
            await this.deleteWithCascade(tx, collection, record, req, seen);
            progressed = true;
          }
          if (!progressed) return;
        }
      });
    } catch (err) {
      if (err instanceof AppError && err.status === 400) {
        throw AppError.badRequest('Failed to truncate collection (most likely due to required cascade delete record references).');
      }
      throw err;
    }
  }

  /** Deletes a record after resolving every relation that points at it (cascade, detach or refuse). */
  private async deleteWithCascade(tx: Executor, collection: Collection, record: RecordData, req: RequestInfo, seen: Set<string>): Promise<void> {
    const key = `${collection.id}/${record.id as string}`;
    if (seen.has(key)) return;
    seen.add(key);
    const event: RecordEvent = { tags: [collection.id, collection.name], collection, record, previous: record, request: req, tx };
    await this.hooks.onRecordDelete.trigger(event, async () => {
      for (const other of this.schema.all()) {
        if (other.type === 'view') continue;
        for (const field of other.fields) {
          if (field.type !== 'relation' || field.collectionId !== collection.id) continue;
          await this.detachReferences(tx, other, field, record.id as string, req, seen);
        }
      }
      await tx.run(sql`DELETE FROM ${ident(collection.name)} WHERE ${ident('id')} = ${record.id as string}`);
    });
    // Also for cascade-deleted records; never before the commit, so a rollback loses no file.
    tx.afterCommit(() => this.files.deleteRecordFiles(collection, record.id as string));
    tx.afterCommit(() => this.hooks.afterCommit(this.hooks.onRecordAfterDeleteCommit, { ...event, tx: undefined }));
  }

  private async detachReferences(tx: Executor, other: Collection, field: RelationField, id: string, req: RequestInfo, seen: Set<string>): Promise<void> {
    const col = ident(ROOT_ALIAS, field.name);
    const fn = this.db.dialect.fn;
    const match = isMultiValued(field)
      ? sql`EXISTS (SELECT 1 FROM ${fn.jsonEach(col)} AS ${ident('_je')} WHERE ${ident('_je', 'value')} = ${id})`
      : sql`${col} = ${id}`;
    const rows = await tx.all(sql`SELECT ${ident(ROOT_ALIAS)}.* FROM ${ident(other.name)} AS ${ident(ROOT_ALIAS)} WHERE ${match}`);
    for (const row of rows) {
      const refRecord = rowToRecord(other, row);
      const current = refRecord[field.name];
      const remaining = Array.isArray(current) ? current.filter((v) => v !== id) : [];
      if (remaining.length === 0) {
        if (field.cascadeDelete) {
          await this.deleteWithCascade(tx, other, refRecord, req, seen);
          continue;
        }
        if (field.required) {
          throw AppError.badRequest('Failed to delete record. Make sure that the record is not part of a required relation reference.');
        }
      }
      const value = isMultiValued(field) ? remaining : '';
      const updated = { ...refRecord, [field.name]: value };
      await tx.run(
        sql`UPDATE ${ident(other.name)} SET ${ident(field.name)} = ${getFieldType('relation').toDb(value, field as never)} WHERE ${ident('id')} = ${refRecord.id as string}`,
      );
      const event: RecordEvent = { tags: [other.id, other.name], collection: other, record: updated, previous: refRecord, request: req };
      tx.afterCommit(() => this.hooks.afterCommit(this.hooks.onRecordAfterUpdateCommit, event));
    }
  }

  /**
   * The request as rules see it (PocketBase's `requestInfo.Body`): a field submitted with a modifier
   * (`tags+`, `+tags`, `tags-`) appears under its own name with the modifier applied to `base`, and the
   * modifier key is gone. Bodies without modifier keys are returned as they are (no copy).
   */
  private foldModifiers(collection: Collection, base: RecordData, req: RequestInfo, isNew: boolean): RequestInfo {
    if (!hasModifierKeys(collection, req.body)) return req;
    const resolved: RecordData = { ...base };
    this.applyInput(collection, resolved, { data: req.body }, { isNew, superuser: isSuperuser(req), errors: {} });
    const body: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(req.body)) {
      const { name, modifier } = parseKey(key);
      const field = modifier ? findField(collection, name) : undefined;
      if (field) body[field.name] = resolved[field.name];
      else if (!(key in body)) body[key] = value;
    }
    return { ...req, body };
  }

  /** Applies body values and modifiers onto `record` (plain keys first, then modifiers, as PocketBase). */
  private applyInput(collection: Collection, record: RecordData, input: WriteInput, opts: { isNew: boolean; superuser: boolean; errors: FieldErrors }): void {
    const entries = Object.entries(input.data).map(([k, v]) => ({ key: k, ...parseKey(k), value: v }));
    const ordered = [...entries.filter((e) => !e.modifier), ...entries.filter((e) => e.modifier)];
    for (const entry of ordered) {
      const field = findField(collection, entry.name);
      if (!field || !this.clientMaySet(collection, field, opts)) continue;
      const type = getFieldType(field.type);
      // Text neither database can store (NUL, unpaired surrogates) is refused on both dialects alike; HTTP
      // bodies were already screened (http/body-parser.ts), this covers writes from code (hooks, migrations).
      const unstorable = findUnstorable(entry.value);
      if (unstorable) {
        opts.errors[field.name] = fieldError(UNSTORABLE_CODES[unstorable.reason], UNSTORABLE_MESSAGES[unstorable.reason]);
        continue;
      }
      let next: unknown;
      if (entry.modifier) {
        if (!type.applyModifier) continue;
        next = type.applyModifier(record[field.name], entry.modifier, entry.value, field as never);
      } else {
        next = type.prepareValue(entry.value, field as never);
      }
      if (next instanceof InvalidValue) opts.errors[field.name] = next.error;
      else record[field.name] = next;
    }
  }

  /** Server-owned values clients never set; hidden fields only superusers set (auth passwords excepted). */
  private clientMaySet(collection: Collection, field: Field, opts: { isNew: boolean; superuser: boolean }): boolean {
    if (field.type === 'autodate') return false;
    if (field.name === 'id') return false; // handled separately on create; immutable afterwards
    if (collection.type === 'auth' && field.system && field.name === 'tokenKey') return false;
    if (collection.type === 'auth' && field.system && field.name === 'password') return true;
    if (field.hidden && !opts.superuser) return false;
    return true;
  }

  /** Runs the write; if it fails, the files staged for it are deleted before the error goes on. */
  private async withFiles<T>(files: FileChanges, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      await files.discard();
      throw err;
    }
  }

  private autogenerate(collection: Collection, record: RecordData): void {
    for (const field of collection.fields) {
      if (field.type !== 'text' || !field.autogeneratePattern) continue;
      if (record[field.name] === '' || record[field.name] === undefined) {
        record[field.name] = generateFromPattern(field.autogeneratePattern);
      }
    }
  }

  private setAutodates(collection: Collection, record: RecordData, now: Date, isNew: boolean): void {
    const stamp = formatDateTime(now);
    for (const field of collection.fields) {
      if (field.type !== 'autodate') continue;
      if ((isNew && field.onCreate) || (!isNew && field.onUpdate)) record[field.name] = stamp;
    }
  }

  private validateFields(collection: Collection, record: RecordData, existing: RecordData | undefined, now: Date, errors: FieldErrors, isNew: boolean): void {
    for (const field of collection.fields) {
      if (errors[field.name]) continue;
      if (field.type === 'password' && !isNew && existing && record[field.name] === existing[field.name]) continue; // unchanged hash
      const err = getFieldType(field.type).validateValue(record[field.name], field as never, { isNew, previous: existing?.[field.name], now });
      if (err) errors[field.name] = err;
    }
  }

  /** Every related id must exist in the target collection. */
  private async checkRelations(
    exec: Executor,
    collection: Collection,
    record: RecordData,
    existing: RecordData | undefined,
    errors: FieldErrors,
  ): Promise<void> {
    for (const field of collection.fields) {
      if (field.type !== 'relation' || errors[field.name]) continue;
      const value = record[field.name];
      const ids = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && v !== '');
      if (ids.length === 0) continue;
      if (existing && JSON.stringify(existing[field.name]) === JSON.stringify(value)) continue;
      const target = this.schema.find(field.collectionId);
      if (!target) {
        errors[field.name] = fieldError('validation_missing_rel_records', 'Failed to find all relation records with the provided ids');
        continue;
      }
      const rows = await exec.all<{ id: string }>(
        sql`SELECT ${ident('id')} AS id FROM ${ident(target.name)} WHERE ${ident('id')} IN (SELECT value FROM ${this.db.dialect.fn.jsonEach(param(JSON.stringify(ids)))})`,
      );
      if (new Set(rows.map((r) => r.id)).size !== new Set(ids).size) {
        errors[field.name] = fieldError('validation_missing_rel_records', 'Failed to find all relation records with the provided ids');
      }
    }
  }

  /**
   * Auth record ids are unique across all auth collections (PocketBase's rule: tokens and owner checks
   * compare ids), so a client-chosen id already used by another auth collection is refused.
   */
  private async checkAuthIdUnique(exec: Executor, collection: Collection, id: string): Promise<void> {
    for (const other of this.schema.all()) {
      if (other.type !== 'auth' || other.id === collection.id) continue;
      if (await exec.get(sql`SELECT 1 AS ok FROM ${ident(other.name)} WHERE ${ident('id')} = ${id}`)) {
        throw AppError.validation('Failed to create record.', { id: fieldError('validation_invalid_auth_id', 'Invalid or duplicated auth record id.') });
      }
    }
  }

  private async checkAuthCreate(
    collection: Collection,
    record: RecordData,
    data: Record<string, unknown>,
    req: RequestInfo,
    errors: FieldErrors,
  ): Promise<void> {
    const password = data.password;
    if (typeof password !== 'string' || password === '') {
      errors.password = fieldError('validation_required', 'Missing required value');
    } else if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
      errors.password = fieldError('validation_max_text_constraint', 'The password is too long');
    } else if (data.passwordConfirm !== password) {
      errors.passwordConfirm = fieldError('validation_values_mismatch', "Values don't match");
    }
    record.tokenKey = randomString(50);
    // Superusers, and those the manageRule grants the would-be record to (PocketBase checks it on create too).
    if (record.verified === true && !isSuperuser(req) && !(await this.managesNewRecord(collection, record, req))) {
      errors.verified = fieldError('validation_values_mismatch', 'Only superusers and managers can mark a new record as verified');
    }
  }

  /**
   * Whether `req` passes the collection's manageRule for a record not saved yet, evaluated on its would-be row
   * with `verified` false (as PocketBase, so a rule relying on it cannot be talked into granting itself).
   */
  private async managesNewRecord(collection: Collection, record: RecordData, req: RequestInfo): Promise<boolean> {
    const rule = collection.type === 'auth' ? collection.manageRule : null;
    if (!req.auth || rule === null || rule === undefined || rule.trim() === '') return false;
    try {
      const cond = compileFilter(rule, { collection, schema: this.schema, dialect: this.db.dialect, rootAlias: ROOT_ALIAS, request: req, mode: 'rule' });
      return Boolean(
        await this.db.get(sql`SELECT 1 AS ok FROM (${virtualRow(collection, { ...record, verified: false })}) AS ${ident(ROOT_ALIAS)} WHERE ${cond}`),
      );
    } catch {
      return false; // a rule that fails to compile grants nothing
    }
  }

  private async checkAuthUpdate(
    collection: Collection,
    existing: RecordData,
    record: RecordData,
    data: Record<string, unknown>,
    req: RequestInfo,
    errors: FieldErrors,
  ): Promise<void> {
    const superuser = isSuperuser(req);
    const id = existing.id as string;
    // Superusers and those passing the collection's manageRule may change another record's password,
    // email and verified state without its old password (PocketBase's "manager" access). Evaluated lazily.
    let manager: boolean | undefined = superuser ? true : undefined;
    const isManager = async () => (manager ??= await hasManageAccess(this.db, this.schema, this.db.dialect, collection, id, req));
    const isOwner = req.auth?.collection.id === collection.id && req.auth.record.id === id;
    const passwordChanged = typeof data.password === 'string' && data.password !== '';
    if (data.password !== undefined && typeof data.password !== 'string') {
      errors.password = fieldError('validation_invalid_value', 'Must be a string');
    }
    if (passwordChanged) {
      if (data.passwordConfirm !== data.password) {
        errors.passwordConfirm = fieldError('validation_values_mismatch', "Values don't match");
      }
      if (!(await isManager())) {
        const old = data.oldPassword;
        const ok = typeof old === 'string' && (await verifyPassword(String(existing.password ?? ''), old));
        if (!ok) errors.oldPassword = fieldError('validation_invalid_old_password', 'Missing or invalid old password');
      }
    } else {
      record.password = existing.password;
    }
    const emailChanged = record.email !== existing.email;
    if (emailChanged && !(await isManager())) {
      errors.email = fieldError('validation_invalid_value', 'Only superusers and managers can change the email directly; use the email change flow');
    }
    if (record.verified !== existing.verified && !(await isManager())) {
      errors.verified = fieldError('validation_values_mismatch', 'Only superusers and managers can change the verified state');
    }
    // Whether an address is shown is its owner's choice (or a manager's), not of whoever may update the record.
    if (record.emailVisibility !== existing.emailVisibility && !isOwner && !(await isManager())) {
      errors.emailVisibility = fieldError('validation_values_mismatch', "Only the record's owner can change its email visibility");
    }
    if (passwordChanged || emailChanged) record.tokenKey = randomString(50);
  }

  private async hashPasswords(collection: Collection, record: RecordData, existing: RecordData | undefined): Promise<void> {
    for (const field of collection.fields) {
      if (field.type !== 'password') continue;
      const value = record[field.name];
      if (typeof value !== 'string' || value === '') continue;
      if (existing && existing[field.name] === value) continue;
      record[field.name] = await hashPassword(value, this.passwordAlgorithm, (field as { cost?: number }).cost || undefined);
    }
  }

  private insertStatement(collection: Collection, record: RecordData): Sql {
    const cols = collection.fields.map((f) => ident(f.name));
    const vals = collection.fields.map((f) => param(getFieldType(f.type).toDb(record[f.name], f as never)));
    return sql`INSERT INTO ${ident(collection.name)} (${join(cols)}) VALUES (${join(vals)})`;
  }

  private async insert(tx: Executor, collection: Collection, record: RecordData): Promise<void> {
    try {
      await tx.run(this.insertStatement(collection, record));
    } catch (err) {
      throw this.translateWriteError(collection, err, 'Failed to create record.');
    }
  }

  private async updateRow(tx: Executor, collection: Collection, id: string, record: RecordData): Promise<void> {
    const sets = collection.fields
      .filter((f) => f.name !== 'id')
      .map((f) => sql`${ident(f.name)} = ${param(getFieldType(f.type).toDb(record[f.name], f as never))}`);
    try {
      await tx.run(sql`UPDATE ${ident(collection.name)} SET ${join(sets)} WHERE ${ident('id')} = ${id}`);
    } catch (err) {
      throw this.translateWriteError(collection, err, 'Failed to update record.');
    }
  }

  /** Unique violations become field errors on the first indexed column; other DB errors pass through. */
  private translateWriteError(collection: Collection, err: unknown, message: string): unknown {
    const info = this.db.dialect.classifyError(err);
    if (info.kind !== 'unique') return err;
    let column: string | undefined = info.columns?.[0];
    if (info.index) {
      const idx = collection.indexes.map(safeParseIndex).find((i) => i?.name === info.index);
      column = idx?.columns[0]?.name;
    }
    const name = column && findField(collection, column) ? column : 'id';
    const code = name === 'id' ? 'validation_invalid_or_existing_id' : 'validation_not_unique';
    return AppError.validation(message, { [name]: fieldError(code, name === 'id' ? 'The id is invalid or already exists' : 'Value must be unique') });
  }
}

/** Whether the body uses a modifier key (`f+`, `+f`, `f-`) of a field of `collection`. Cheap: no allocation. */
function hasModifierKeys(collection: Collection, body: Record<string, unknown>): boolean {
  for (const key in body) {
    const last = key.charCodeAt(key.length - 1);
    if (last !== 43 && last !== 45 && key.charCodeAt(0) !== 43) continue; // '+' / '-'
    if (findField(collection, parseKey(key).name)) return true;
  }
  return false;
}

function safeParseIndex(text: string) {
  try {
    return parseIndex(text);
  } catch {
    return undefined;
  }
}

/** `fn` inside a transaction of `exec` when `atomic`, else straight on `exec` (a single statement is atomic by itself). */
function inTransactionIf<T>(atomic: boolean, exec: Executor, fn: (tx: Executor) => Promise<T>): Promise<T> {
  return atomic ? exec.transaction(fn) : fn(exec);
}
