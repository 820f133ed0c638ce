/**
 * What the document says about Plinth's own (non-record) routes: tag, summary, who may call it, and the
 * request/response shapes that matter to a client. The paths themselves come from the running server's route
 * table, so a built-in route missing here still appears (a minimal entry in the superusers' document).
 */
import type { JsonSchema } from './fields.js';

/** Who may call a route: anyone, any signed-in record, or superusers only. */
export type Access = 'public' | 'auth' | 'superuser';

export interface BuiltinDoc {
  tag: string;
  summary: string;
  access: Access;
  description?: string;
  query?: Record<string, JsonSchema>;
  /** JSON request body. */
  body?: JsonSchema;
  /** A multipart request body instead (uploads). */
  multipart?: JsonSchema;
  /** The success answer: a JSON Schema (200), or 204 / a non-JSON content type. */
  response?: JsonSchema;
  status?: 200 | 204;
  contentType?: string;
  /** Callable without a token, but of use to superusers only: listed in their document alone. */
  superusersOnly?: boolean;
}

const obj = (properties: Record<string, JsonSchema>, required: string[] = Object.keys(properties)): JsonSchema => ({
  type: 'object',
  properties,
  ...(required.length ? { required } : {}),
});
const str = { type: 'string' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };
const anyObject = { type: 'object', additionalProperties: true };
/** PocketBase's paged list answer with `item` rows. */
export const paged = (item: JsonSchema): JsonSchema =>
  obj({ page: int, perPage: int, totalItems: int, totalPages: int, items: { type: 'array', items: item } });
const listQuery: Record<string, JsonSchema> = {
  page: { type: 'integer', minimum: 1 },
  perPage: { type: 'integer', minimum: 1, maximum: 1000 },
  sort: str,
  filter: str,
};

const collectionModel = { $ref: '#/components/schemas/CollectionModel' };
const collectionInput = { $ref: '#/components/schemas/CollectionInput' };

const D = (tag: string, summary: string, access: Access, more: Partial<BuiltinDoc> = {}): BuiltinDoc => ({ tag, summary, access, ...more });

/** Keyed by `METHOD /fastify/:url`. */
export const BUILTIN_DOCS: Record<string, BuiltinDoc> = {
  'GET /api/health': D('Health', 'Liveness check', 'public', {
    description: 'Always 200 while the server runs; superusers also get `data.canBackup`, `realIP`, `possibleProxyHeader`, `smtpConfigured`.',
    response: obj({ code: int, message: str, data: anyObject }),
  }),
  'GET /api/health/ready': D('Health', 'Readiness check', 'public', {
    description:
      "Plinth's addition: 200 when the database answers and every migration is applied; 503 `not_ready` naming `data.database` or `data.migrations` otherwise. Point load-balancer health checks here, liveness probes at /api/health.",
    response: obj({ code: int, message: str, data: obj({ database: str, migrations: str }) }),
  }),
  'GET /api/metrics': D('Meta', 'Prometheus metrics', 'superuser', {
    description:
      'Prometheus text format. Also readable with `Authorization: Bearer <settings.metrics.token>` or from an address in `settings.metrics.allowedIps`; 404 with metrics turned off.',
    contentType: 'text/plain',
  }),
  'GET /api/openapi.json': D('Meta', 'This OpenAPI document', 'public', {
    description: 'Superusers get every route and collection; anyone else only the collections with at least one non-null API rule.',
    response: anyObject,
  }),

  'GET /api/settings': D('Settings', 'Read the settings', 'superuser', { response: anyObject }),
  'PATCH /api/settings': D('Settings', 'Update the settings', 'superuser', { body: anyObject, response: anyObject }),
  'POST /api/settings/test/s3': D('Settings', 'Test the S3 connection', 'superuser', {
    body: obj({ filesystem: { type: 'string', enum: ['storage', 'backups'] } }),
    status: 204,
  }),
  'POST /api/settings/test/email': D('Settings', 'Send a test email', 'superuser', {
    body: obj({ email: str, template: str, collection: str }, ['email', 'template']),
    status: 204,
  }),
  'POST /api/settings/apple/generate-client-secret': D('Settings', 'Generate an Apple OAuth2 client secret', 'superuser', {
    body: obj({ clientId: str, teamId: str, keyId: str, privateKey: str, duration: int }),
    response: obj({ secret: str }),
  }),

  'GET /api/collections': D('Collections', 'List collections', 'superuser', { query: listQuery, response: paged(collectionModel) }),
  'POST /api/collections': D('Collections', 'Create a collection', 'superuser', { body: collectionInput, response: collectionModel }),
  'PUT /api/collections/import': D('Collections', 'Import collections', 'superuser', {
    body: obj({ collections: { type: 'array', items: collectionInput }, deleteMissing: bool }, ['collections']),
    status: 204,
  }),
  'GET /api/collections/meta/scaffolds': D('Collections', 'Default collection models by type', 'superuser', { response: anyObject }),
  'GET /api/collections/meta/oauth2-providers': D('Collections', 'The OAuth2 providers Plinth knows', 'superuser', { response: anyObject }),
  'POST /api/collections/meta/dry-run-view': D('Collections', 'Infer the fields of a view query', 'superuser', { body: anyObject, response: anyObject }),
  'POST /api/collections/meta/validate-rule': D('Collections', 'Check an API rule', 'superuser', { body: anyObject, response: anyObject }),
  'POST /api/collections/meta/preview-migration': D('Collections', 'Preview the migration a schema change writes', 'superuser', {
    body: anyObject,
    response: anyObject,
  }),
  'GET /api/collections/:collection': D('Collections', 'View a collection', 'superuser', { response: collectionModel }),
  'PATCH /api/collections/:collection': D('Collections', 'Update a collection', 'superuser', { body: collectionInput, response: collectionModel }),
  'DELETE /api/collections/:collection': D('Collections', 'Delete a collection', 'superuser', { status: 204 }),
  'DELETE /api/collections/:collection/truncate': D('Collections', 'Delete every record of a collection', 'superuser', { status: 204 }),

  'POST /api/batch': D('Batch', 'Several record writes in one transaction', 'public', {
    description: "Each request runs as the matching record route would, with the caller's auth; any failure rolls all of them back.",
    body: obj({
      requests: {
        type: 'array',
        items: obj({ method: { type: 'string', enum: ['POST', 'PUT', 'PATCH', 'DELETE'] }, url: str, body: anyObject, headers: anyObject }, ['method', 'url']),
      },
    }),
    response: { type: 'array', items: obj({ status: int, body: {} }) },
  }),

  'POST /api/files/token': D('Files', 'A short-lived token for protected files', 'auth', { response: obj({ token: str }) }),
  'GET /api/files/:collection/:recordId/:filename': D('Files', 'Download a file', 'public', {
    query: {
      thumb: { type: 'string', description: 'A thumb size of the field, e.g. 100x100.' },
      token: { type: 'string', description: 'A file token (protected files).' },
      download: bool,
    },
    contentType: 'application/octet-stream',
  }),

  'GET /api/realtime': D('Realtime', 'Open the realtime (SSE) stream', 'public', {
    description: 'Server-sent events; the first event, PB_CONNECT, carries the clientId to subscribe with.',
    contentType: 'text/event-stream',
  }),
  'POST /api/realtime': D('Realtime', 'Set the subscriptions of a realtime client', 'public', {
    body: obj({ clientId: str, subscriptions: { type: 'array', items: str } }, ['clientId']),
    status: 204,
  }),
  'GET /api/oauth2-redirect': D('Auth', 'OAuth2 redirect target (realtime OAuth2 flow)', 'public', { contentType: 'text/html' }),
  'POST /api/oauth2-redirect': D('Auth', 'OAuth2 redirect target (form_post)', 'public', { contentType: 'text/html' }),

  'GET /api/logs': D('Logs', 'List request logs', 'superuser', { query: listQuery, response: paged(anyObject) }),
  'GET /api/logs/stats': D('Logs', 'Request counts per hour', 'superuser', {
    query: { filter: str },
    response: { type: 'array', items: obj({ date: str, total: int }) },
  }),
  'GET /api/logs/:id': D('Logs', 'View a log entry', 'superuser', { response: anyObject }),
  'DELETE /api/logs': D('Logs', 'Delete logs', 'superuser', { status: 204 }),

  'GET /api/crons': D('Crons', 'List the cron jobs', 'superuser', { response: { type: 'array', items: obj({ id: str, expression: str }) } }),
  'POST /api/crons/:id': D('Crons', 'Run a cron job now', 'superuser', { status: 204 }),

  'GET /api/jobs': D('Jobs', 'List background jobs', 'superuser', { query: listQuery, response: paged(anyObject) }),
  'GET /api/jobs/stats': D('Jobs', 'Job counts per status', 'superuser', { response: anyObject }),
  'GET /api/jobs/:id': D('Jobs', 'View a job', 'superuser', { response: anyObject }),
  'POST /api/jobs/:id/retry': D('Jobs', 'Queue a failed job again', 'superuser', { response: anyObject }),
  'DELETE /api/jobs/:id': D('Jobs', 'Discard a job', 'superuser', { status: 204 }),

  'GET /api/backups': D('Backups', 'List backups', 'superuser', { response: { type: 'array', items: obj({ key: str, size: int, modified: str }) } }),
  'POST /api/backups': D('Backups', 'Create a backup', 'superuser', { body: obj({ name: str }, []), status: 204 }),
  'POST /api/backups/upload': D('Backups', 'Upload a backup', 'superuser', {
    multipart: obj({ file: { type: 'string', contentMediaType: 'application/zip' } }),
    status: 204,
  }),
  'GET /api/backups/:key': D('Backups', 'Download a backup', 'public', {
    description: 'Needs a superuser file token in `?token=` (POST /api/files/token).',
    superusersOnly: true,
    query: { token: str },
    contentType: 'application/zip',
  }),
  'DELETE /api/backups/:key': D('Backups', 'Delete a backup', 'superuser', { status: 204 }),
  'POST /api/backups/:key/restore': D('Backups', 'Restore a backup (the server restarts)', 'superuser', { status: 204 }),

  'GET /api/webhooks': D('Webhooks', 'List webhook endpoints', 'superuser', { query: listQuery, response: paged(anyObject) }),
  'POST /api/webhooks': D('Webhooks', 'Add a webhook endpoint', 'superuser', { body: anyObject, response: anyObject }),
  'GET /api/webhooks/stats': D('Webhooks', 'Delivery counts', 'superuser', { response: anyObject }),
  'GET /api/webhooks/:id': D('Webhooks', 'View a webhook endpoint', 'superuser', { response: anyObject }),
  'PATCH /api/webhooks/:id': D('Webhooks', 'Update a webhook endpoint', 'superuser', { body: anyObject, response: anyObject }),
  'DELETE /api/webhooks/:id': D('Webhooks', 'Delete a webhook endpoint', 'superuser', { status: 204 }),
  'POST /api/webhooks/:id/rotate-secret': D('Webhooks', 'Rotate the signing secret', 'superuser', { response: anyObject }),
  'POST /api/webhooks/:id/test': D('Webhooks', 'Send a test event', 'superuser', { response: anyObject }),
  'GET /api/webhooks/:id/messages': D('Webhooks', 'List messages to an endpoint', 'superuser', { query: listQuery, response: paged(anyObject) }),
  'GET /api/webhooks/:id/messages/:msgId/attempts': D('Webhooks', 'Delivery attempts of a message', 'superuser', { response: anyObject }),
  'POST /api/webhooks/:id/messages/:msgId/replay': D('Webhooks', 'Deliver a message again', 'superuser', { response: anyObject }),
  'POST /api/webhooks/:id/replay-failed': D('Webhooks', 'Deliver the failed messages again', 'superuser', { response: anyObject }),

  'POST /api/webhooks/inbound/:name': D('Webhooks', 'Receive a verified inbound webhook', 'public', {
    description: 'Verified with the scheme the hook file declared for `name` (app.webhooks.inbound).',
    body: anyObject,
  }),

  'GET /api/api-keys': D('API keys', 'List API keys', 'superuser', { response: anyObject }),
  'POST /api/api-keys': D('API keys', 'Create an API key', 'superuser', { body: anyObject, response: anyObject }),
  'DELETE /api/api-keys/:id': D('API keys', 'Revoke an API key', 'superuser', { status: 204 }),

  'POST /api/sql': D('SQL', 'Run a read-only SQL query', 'superuser', { body: obj({ query: str }, ['query']), response: anyObject }),
  'GET /api/plinth/migrations': D('Migrations', 'List the applied migrations', 'superuser', { response: anyObject }),
  'GET /api/install': D('Install', 'Whether the first superuser is still to be created', 'superuser', { response: obj({ needed: bool }) }),
  'POST /api/install/validate': D('Install', 'Check a first-run install token', 'superuser', { body: anyObject, response: anyObject }),
  'POST /api/install': D('Install', 'Create the first superuser', 'superuser', { body: anyObject, response: anyObject }),
};

const rule = { type: ['string', 'null'], description: 'null: superusers only; "": anyone; else a filter expression.' };
const collectionProperties = (fieldItems: JsonSchema): Record<string, JsonSchema> => ({
  id: str,
  name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
  type: { type: 'string', enum: ['base', 'auth', 'view'] },
  system: bool,
  fields: { type: 'array', items: fieldItems },
  indexes: { type: 'array', items: str },
  listRule: rule,
  viewRule: rule,
  createRule: rule,
  updateRule: rule,
  deleteRule: rule,
  viewQuery: { type: 'string', description: 'View collections: the SELECT they are defined by.' },
});

/** Shared component schemas the built-in routes refer to. */
export const BUILTIN_SCHEMAS: Record<string, JsonSchema> = {
  FieldModel: {
    type: 'object',
    description: "A field definition; the type's options (min, max, values, maxSelect, collectionId, …) sit beside these keys.",
    properties: {
      id: str,
      name: str,
      type: {
        type: 'string',
        enum: ['text', 'number', 'bool', 'email', 'url', 'editor', 'date', 'autodate', 'select', 'json', 'relation', 'file', 'geoPoint', 'password'],
      },
      system: bool,
      hidden: bool,
      presentable: bool,
      required: bool,
      help: str,
    },
    required: ['name', 'type'],
    additionalProperties: true,
  },
  CollectionModel: {
    type: 'object',
    description: "A collection in PocketBase's JSON shape (auth collections add their auth options: passwordAuth, oauth2, otp, mfa, tokens, templates).",
    properties: { ...collectionProperties({ $ref: '#/components/schemas/FieldModel' }), created: str, updated: str },
    required: ['id', 'name', 'type', 'system', 'fields', 'indexes', 'listRule', 'viewRule', 'createRule', 'updateRule', 'deleteRule', 'created', 'updated'],
    additionalProperties: true,
  },
  CollectionInput: {
    type: 'object',
    description: 'A collection to create (name required) or the keys to change.',
    properties: collectionProperties({ $ref: '#/components/schemas/FieldModel' }),
    additionalProperties: true,
  },
};

/** The order tags are listed in (others follow, alphabetically). */
export const TAG_ORDER = ['Health', 'Meta', 'Auth', 'Batch', 'Files', 'Realtime', 'Collections', 'Settings', 'Logs', 'Crons', 'Jobs', 'Backups', 'Webhooks'];
