/**
 * Which local record an OAuth2 sign-in lands on, in one transaction:
 *
 * 1. an existing link (`_externalAuths` by collection, provider and provider user id);
 * 2. else the record the request is signed in as (explicit linking);
 * 3. else a record with the same email, but only when the provider vouches for the email AND the local
 *    record is verified. Anything else is refused: linking by an unverified email is the account
 *    pre-hijacking of PocketBase GHSA-m93w-4fxv-r35v / GHSA-pq7p-mc74-g65w;
 * 4. else a new record (createRule applies, as PocketBase's internal create request), verified only when
 *    its email is the one the provider vouched for. Superusers never sign up this way.
 */
import type { AuthCollection } from '../../collections/model.js';
import type { Executor } from '../../db/dialect.js';
import { ident, sql } from '../../db/sql.js';
import { AppError } from '../../errors/index.js';
import type { RecordData } from '../../hooks/index.js';
import { systemRequest } from '../../records/system-request.js';
import type { RequestInfo } from '../../rules/request-info.js';
import { randomString } from '../../util/random.js';
import type { AuthDeps } from '../deps.js';
import { findAuthRecordByEmail } from '../lookup.js';
import type { ProviderUser } from './providers.js';

const EXTERNAL_AUTHS = '_externalAuths';

/** The input of an OAuth2 sign-in once the provider answered. */
export interface OAuth2SignIn {
  provider: string;
  user: ProviderUser;
  createData: Record<string, unknown>;
  /** The record the request is authenticated as, when it belongs to the same collection. */
  signedIn: RecordData | null;
  request: RequestInfo;
}

function sameEmail(a: unknown, b: string): boolean {
  return typeof a === 'string' && a !== '' && a.toLowerCase() === b.toLowerCase();
}

/** Resolves (linking or creating as needed) the record an OAuth2 sign-in authenticates. */
export async function resolveOAuth2Record(deps: AuthDeps, collection: AuthCollection, input: OAuth2SignIn): Promise<{ record: RecordData; isNew: boolean }> {
  return deps.db.transaction(async (tx) => {
    const { user } = input;
    const link = await tx.get<{ id: string; recordRef: string }>(
      sql`SELECT ${ident('id')}, ${ident('recordRef')} FROM ${ident(EXTERNAL_AUTHS)}
          WHERE ${ident('collectionRef')} = ${collection.id} AND ${ident('provider')} = ${input.provider} AND ${ident('providerId')} = ${user.id}`,
    );
    let record = link ? await deps.reader.findById(collection, link.recordRef, tx) : undefined;
    const linked = Boolean(link && record);
    if (link && !record) await tx.run(sql`DELETE FROM ${ident(EXTERNAL_AUTHS)} WHERE ${ident('id')} = ${link.id}`);

    if (!record && input.signedIn) record = await deps.reader.findById(collection, input.signedIn.id as string, tx);
    if (!record && user.email !== '') {
      const local = await findAuthRecordByEmail(tx, collection, user.email);
      if (local) {
        if (!user.emailVerified || local.verified !== true) {
          deps.logger.info(
            { collection: collection.name, provider: input.provider },
            'OAuth2 sign-in refused: email matches an account, but one side is unverified',
          );
          throw AppError.badRequest('Failed to authenticate.');
        }
        record = local;
      }
    }

    let isNew = false;
    if (!record) {
      record = await createRecord(deps, tx, collection, input);
      isNew = true;
    } else {
      record = await refreshRecord(deps, tx, collection, record, user);
    }
    if (!linked) {
      await deps.writer.create(
        deps.collections.require(EXTERNAL_AUTHS),
        { data: { collectionRef: collection.id, recordRef: record.id, provider: input.provider, providerId: user.id } },
        systemRequest(deps.collections),
        tx,
      );
    }
    return { record, isNew };
  });
}

async function createRecord(deps: AuthDeps, tx: Executor, collection: AuthCollection, input: OAuth2SignIn): Promise<RecordData> {
  if (collection.name === '_superusers') throw AppError.badRequest('Failed to authenticate.');
  const { user } = input;
  const data: Record<string, unknown> = { ...input.createData };
  if (typeof data.email !== 'string' || data.email === '') data.email = user.email;
  const mapped = collection.oauth2.mappedFields;
  const put = (field: string, value: string) => {
    if (field && value && !(field in data) && collection.fields.some((f) => f.name === field && f.type !== 'file')) data[field] = value;
  };
  put(mapped.id, user.id);
  put(mapped.name, user.name);
  put(mapped.username, user.username);
  // Avatars mapped to a file field would need a server-side download of a provider URL: not done (SSRF).
  put(mapped.avatarURL, user.avatarURL);
  if (data.password === undefined) {
    // OAuth2-only accounts get a random password nobody knows (a reset sets a real one).
    const password = randomString(40);
    data.password = password;
    data.passwordConfirm = password;
  }
  const req: RequestInfo = { ...input.request, context: 'oauth2', body: data };
  let record = await deps.writer.create(collection, { data }, req, tx);
  if (user.emailVerified && record.verified !== true && sameEmail(record.email, user.email)) {
    record = await deps.writer.update(collection, record.id as string, { data: { verified: true } }, systemRequest(deps.collections), tx);
  }
  return record;
}

/** Fills a missing email and marks the record verified when the provider vouches for its email. */
async function refreshRecord(deps: AuthDeps, tx: Executor, collection: AuthCollection, record: RecordData, user: ProviderUser): Promise<RecordData> {
  const patch: Record<string, unknown> = {};
  if ((record.email ?? '') === '' && user.email !== '') {
    patch.email = user.email;
    if (user.emailVerified) patch.verified = true;
  } else if (record.verified !== true && user.emailVerified && sameEmail(record.email, user.email)) {
    patch.verified = true;
  }
  if (Object.keys(patch).length === 0) return record;
  return deps.writer.update(collection, record.id as string, { data: patch }, systemRequest(deps.collections), tx);
}
