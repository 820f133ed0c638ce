/**
 * The request identity of Plinth itself (CLI commands, migrations): a superuser that is not a stored
 * record, so rules are bypassed exactly as for a logged-in superuser.
 */
import { SUPERUSERS_COLLECTION_ID, type AuthCollection, type SchemaLookup } from '../collections/model.js';
import { guestRequest, type RequestInfo } from '../rules/request-info.js';

export function systemRequest(schema: SchemaLookup): RequestInfo {
  const collection = schema.find(SUPERUSERS_COLLECTION_ID) as AuthCollection;
  return guestRequest({ auth: { collection, record: { id: '', email: '', tokenKey: '' } } });
}
