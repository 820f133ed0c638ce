/**
 * The OpenAPI 3.1 document of a running instance, from plain inputs (the collections, the server's route
 * table, the custom routes): no I/O, so it is built once per schema generation and cached by the route.
 *
 * Audiences: `superuser` gets everything; `public` (guests and every other record) only the collections with
 * at least one non-null API rule, the record routes whose rule is not null, no hidden fields, the auth routes
 * of those auth collections (impersonate excluded), the public built-ins and the custom routes not guarded
 * as superuser-only.
 */
import { SUPERUSERS_COLLECTION_ID, SUPERUSERS_COLLECTION_NAME, type AuthCollection, type Collection, type Field } from '../collections/model.js';
import { BUILTIN_DOCS, BUILTIN_SCHEMAS, paged, TAG_ORDER, type Access, type BuiltinDoc } from './builtins.js';
import { fieldSchema, fileUploadSchema, isRequiredOnCreate, type JsonSchema } from './fields.js';

export type Audience = 'superuser' | 'public';

/** How a custom route describes itself in the document (the `openapi` option of `app.routes.*`). */
export interface RouteOpenApi {
  summary?: string;
  description?: string;
  /** Groups in the document and the dashboard's API reference (default ['Custom']). */
  tags?: string[];
  operationId?: string;
  deprecated?: boolean;
  /** Query parameters: name → JSON Schema (add `required: true` beside it to make one required). */
  query?: Record<string, JsonSchema & { required?: boolean; description?: string }>;
  /** The JSON request body's JSON Schema. */
  body?: JsonSchema;
  /** The 200 answer's JSON Schema. */
  response?: JsonSchema;
  /** Other answers by status: a description and an optional JSON Schema. */
  responses?: Record<string, { description?: string; schema?: JsonSchema }>;
  /** Leave the route out of the document. */
  exclude?: boolean;
}

export type RouteGuardLike = 'public' | 'guest' | 'any' | 'superuser' | { collection: string | readonly string[] };

export interface CustomRouteInfo {
  method: string;
  /** PocketBase-style: `{name}`, `{name...}`. */
  path: string;
  auth?: RouteGuardLike | undefined;
  openapi?: RouteOpenApi | undefined;
}

export interface DocumentInput {
  collections: readonly Collection[];
  /** The server's routes (Fastify patterns, `:param`). */
  builtins: readonly { method: string; url: string }[];
  customRoutes: readonly CustomRouteInfo[];
  audience: Audience;
  title: string;
  version: string;
}

type Obj = Record<string, unknown>;
type Operation = Obj;

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ERROR_REF } } });
const COMMON_ERRORS: Obj = {
  '400': { $ref: '#/components/responses/BadRequest' },
  '401': { $ref: '#/components/responses/Unauthorized' },
  '403': { $ref: '#/components/responses/Forbidden' },
  '404': { $ref: '#/components/responses/NotFound' },
  '429': { $ref: '#/components/responses/TooManyRequests' },
};
const PUBLIC_SECURITY = [{}, { pbToken: [] }];
const TOKEN_SECURITY = [{ pbToken: [] }];

const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const ok = (schema: JsonSchema, description = 'Success') => ({ description, content: json(schema) });
const NO_CONTENT = { description: 'Done (no content)' };

/** `posts` → `Posts`, `blog_posts` → `BlogPosts`, `_superusers` → `Superusers`, `2fa` → `C2fa`. */
export function pascal(name: string): string {
  const joined = name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
  const safe = joined === '' ? 'X' : joined;
  return /^[0-9]/.test(safe) ? `C${safe}` : safe;
}

function camel(words: string[]): string {
  const p = pascal(words.join('_'));
  return p.charAt(0).toLowerCase() + p.slice(1);
}

/** Whether the public document shows the collection. */
function publicCollection(c: Collection): boolean {
  return c.listRule !== null || c.viewRule !== null || (c.type !== 'view' && (c.createRule !== null || c.updateRule !== null || c.deleteRule !== null));
}

class Builder {
  readonly paths: Record<string, Record<string, Operation>> = {};
  readonly schemas: Record<string, JsonSchema> = {};
  readonly tags = new Map<string, string | undefined>();
  private readonly operationIds = new Set<string>();
  /** Custom route paths by shape (params unnamed). */
  readonly customShapes = new Map<string, string>();
  private readonly schemaNames = new Map<string, string>();
  private readonly usedNames = new Set<string>(['Error', ...Object.keys(BUILTIN_SCHEMAS)]);
  /** Names and ids of the collections this document shows (a custom route's guard names no other to guests). */
  readonly shownCollections = new Set<string>();

  constructor(readonly input: DocumentInput) {}

  get superuser(): boolean {
    return this.input.audience === 'superuser';
  }

  tag(name: string, description?: string): string {
    if (!this.tags.has(name) || (description && !this.tags.get(name))) this.tags.set(name, description);
    return name;
  }

  operationId(wanted: string): string {
    let id = wanted;
    for (let n = 2; this.operationIds.has(id); n++) id = `${wanted}${n}`;
    this.operationIds.add(id);
    return id;
  }

  /** The component name prefix of a collection (unique, PascalCase). */
  typeName(c: Collection): string {
    let name = this.schemaNames.get(c.id);
    if (name) return name;
    const base = pascal(c.name);
    name = base;
    const suffixes = ['Record', 'Create', 'Update', 'CreateMultipart', 'UpdateMultipart', 'List', 'AuthResponse'];
    for (let n = 2; suffixes.some((s) => this.usedNames.has(name + s)); n++) name = `${base}${n}`;
    for (const s of suffixes) this.usedNames.add(name + s);
    this.schemaNames.set(c.id, name);
    return name;
  }

  add(path: string, method: string, op: Operation): void {
    const item = (this.paths[path] ??= {});
    const m = method.toLowerCase();
    if (item[m]) return; // the first declaration wins
    item[m] = op;
  }
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Fields the audience sees in answers. */
function visibleFields(b: Builder, c: Collection): Field[] {
  return c.fields.filter((f) => f.type !== 'password' && !(c.type === 'auth' && f.name === 'tokenKey') && (b.superuser || !f.hidden));
}

function recordSchema(b: Builder, c: Collection, shown: Map<string, Collection>): JsonSchema {
  const properties: Obj = {
    collectionId: { type: 'string', const: c.id },
    collectionName: { type: 'string', const: c.name },
  };
  const required = ['collectionId', 'collectionName'];
  for (const f of visibleFields(b, c)) {
    const s = fieldSchema(f, 'response');
    if (s === undefined) continue;
    const optional = f.hidden || (c.type === 'auth' && f.name === 'email');
    properties[f.name] =
      f.hidden && typeof s === 'object'
        ? { ...s, description: [s.description, 'Hidden: returned to superusers only.'].filter(Boolean).join(' ') }
        : c.type === 'auth' && f.name === 'email' && typeof s === 'object'
          ? { ...s, description: 'Absent unless emailVisibility is on, or the caller is the owner or a superuser.' }
          : s;
    if (!optional) required.push(f.name);
  }
  const expand: Obj = {};
  for (const f of c.fields) {
    if (f.type !== 'relation' || (!b.superuser && f.hidden)) continue;
    const target = shown.get(f.collectionId);
    if (!target) continue;
    const r = ref(`${b.typeName(target)}Record`);
    expand[f.name] = f.maxSelect > 1 ? { type: 'array', items: r } : r;
  }
  properties.expand = {
    type: 'object',
    description: 'Related records asked for with ?expand= (and visible to the caller); back-relations as `<collection>_via_<field>`.',
    properties: expand,
    additionalProperties: true,
  };
  return { type: 'object', properties, required, additionalProperties: true };
}

function inputSchema(b: Builder, c: Collection, form: 'create' | 'update', multipart: boolean): JsonSchema {
  const properties: Obj = {};
  const required: string[] = [];
  const auth = c.type === 'auth';
  for (const f of c.fields) {
    if (!b.superuser && f.hidden) continue;
    if (auth && f.name === 'tokenKey') continue;
    if (form === 'update' && f.name === 'id') continue;
    if (auth && f.type === 'password' && f.name === 'password') {
      const s = fieldSchema(f, form) as Obj;
      properties.password = s;
      properties.passwordConfirm = { type: 'string', writeOnly: true, description: 'The same as password.' };
      if (form === 'create') required.push('password', 'passwordConfirm');
      else properties.oldPassword = { type: 'string', writeOnly: true, description: 'Required by non-superusers changing their own password.' };
      continue;
    }
    const s = multipart && f.type === 'file' ? fileUploadSchema(f) : fieldSchema(f, form);
    if (s === undefined) continue;
    properties[f.name] = s;
    if (form === 'create' && isRequiredOnCreate(f)) required.push(f.name);
    if (form === 'update') {
      if (f.type === 'number') {
        properties[`${f.name}+`] = { type: 'number', description: `Adds to ${f.name}.` };
        properties[`${f.name}-`] = { type: 'number', description: `Subtracts from ${f.name}.` };
      } else if ((f.type === 'select' || f.type === 'relation' || f.type === 'file') && f.maxSelect > 1) {
        const item = f.type === 'select' ? { type: 'string', enum: [...new Set(f.values)] } : { type: 'string' };
        const oneOrMany = { anyOf: [item, { type: 'array', items: item }] };
        properties[`${f.name}+`] = multipart && f.type === 'file' ? fileUploadSchema(f) : { ...oneOrMany, description: `Appends to ${f.name}.` };
        properties[`${f.name}-`] = { ...oneOrMany, description: `Removes from ${f.name}.` };
      }
    }
  }
  return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
}

/** The list and read query parameters, shared components (`#/components/parameters/…`). */
const SHARED_PARAMS: Record<string, Obj> = {
  page: { name: 'page', in: 'query', schema: { type: 'integer', minimum: 1, default: 1 }, description: 'The page (1-based).' },
  perPage: { name: 'perPage', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 30 }, description: 'Items per page.' },
  sort: { name: 'sort', in: 'query', schema: { type: 'string' }, description: 'e.g. `-created,title` (`@random` for a random order).' },
  filter: { name: 'filter', in: 'query', schema: { type: 'string' }, description: "PocketBase's filter language, e.g. `status = 'published'`." },
  skipTotal: { name: 'skipTotal', in: 'query', schema: { type: 'boolean' }, description: 'Skip counting: totalItems and totalPages are -1.' },
  expand: { name: 'expand', in: 'query', schema: { type: 'string' }, description: 'Relations to load, e.g. `author,comments_via_post.user`.' },
  fields: {
    name: 'fields',
    in: 'query',
    schema: { type: 'string' },
    description: 'The keys to return, e.g. `id,title,expand.author.name` (`:excerpt(n)` modifier); other keys are then absent.',
  },
};
const param = (name: string) => ({ $ref: `#/components/parameters/${name}` });
const LIST_PARAMS = ['page', 'perPage', 'sort', 'filter', 'skipTotal'].map(param);
const READ_PARAMS = ['expand', 'fields'].map(param);
const ID_PARAM = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

/** Who may call a record route; the rule's text only in the superusers' view (it may name hidden fields). */
function ruleNote(b: Builder, rule: string | null): string {
  if (rule === null) return 'Superusers only.';
  if (rule === '') return 'Anyone.';
  if (!b.superuser) return "Callers the collection's rule admits.";
  return `Rule: \`${rule.length > 300 ? `${rule.slice(0, 300)}…` : rule}\``;
}

function addRecordRoutes(b: Builder, c: Collection, shown: Map<string, Collection>): void {
  const t = b.typeName(c);
  const tag = b.tag(`${c.name}`, `Records of the ${c.type} collection \`${c.name}\`${c.type === 'view' ? ' (read-only)' : ''}.`);
  b.schemas[`${t}Record`] = recordSchema(b, c, shown);
  b.schemas[`${t}List`] = paged(ref(`${t}Record`));
  const base = `/api/collections/${c.name}/records`;
  const allowed = (rule: string | null) => b.superuser || rule !== null;
  const security = PUBLIC_SECURITY;
  const responses = (success: Obj) => ({ ...success, ...COMMON_ERRORS });
  const word = c.name;
  if (allowed(c.listRule)) {
    b.add(base, 'get', {
      tags: [tag],
      summary: `List ${word} records`,
      description: ruleNote(b, c.listRule),
      operationId: b.operationId(camel(['list', c.name])),
      parameters: [...LIST_PARAMS, ...READ_PARAMS],
      security,
      responses: responses({ '200': ok(ref(`${t}List`)) }),
    });
  }
  if (allowed(c.viewRule)) {
    b.add(`${base}/{id}`, 'get', {
      tags: [tag],
      summary: `View a ${word} record`,
      description: ruleNote(b, c.viewRule),
      operationId: b.operationId(camel(['view', c.name])),
      parameters: [ID_PARAM, ...READ_PARAMS],
      security,
      responses: responses({ '200': ok(ref(`${t}Record`)) }),
    });
  }
  if (c.type === 'view') return;
  const hasFiles = c.fields.some((f) => f.type === 'file' && (b.superuser || !f.hidden));
  const body = (form: 'create' | 'update') => {
    const name = `${t}${form === 'create' ? 'Create' : 'Update'}`;
    b.schemas[name] = inputSchema(b, c, form, false);
    const content: Obj = { 'application/json': { schema: ref(name) } };
    if (hasFiles) {
      b.schemas[`${name}Multipart`] = inputSchema(b, c, form, true);
      content['multipart/form-data'] = { schema: ref(`${name}Multipart`) };
    }
    return { required: form === 'create', content };
  };
  if (allowed(c.createRule)) {
    b.add(base, 'post', {
      tags: [tag],
      summary: `Create a ${word} record`,
      description: ruleNote(b, c.createRule),
      operationId: b.operationId(camel(['create', c.name])),
      parameters: READ_PARAMS,
      security,
      requestBody: body('create'),
      responses: responses({ '200': ok(ref(`${t}Record`)) }),
    });
  }
  if (allowed(c.updateRule)) {
    b.add(`${base}/{id}`, 'patch', {
      tags: [tag],
      summary: `Update a ${word} record`,
      description: `${ruleNote(b, c.updateRule)} Only the fields to change; \`field+\` / \`field-\` add to or remove from numbers and lists.`,
      operationId: b.operationId(camel(['update', c.name])),
      parameters: [ID_PARAM, ...READ_PARAMS],
      security,
      requestBody: body('update'),
      responses: responses({ '200': ok(ref(`${t}Record`)) }),
    });
  }
  if (allowed(c.deleteRule)) {
    b.add(`${base}/{id}`, 'delete', {
      tags: [tag],
      summary: `Delete a ${word} record`,
      description: ruleNote(b, c.deleteRule),
      operationId: b.operationId(camel(['delete', c.name])),
      parameters: [ID_PARAM],
      security,
      responses: responses({ '204': NO_CONTENT }),
    });
  }
}

interface AuthRoute {
  method: 'get' | 'post';
  path: string;
  summary: string;
  op: string;
  access: Access;
  body?: JsonSchema;
  /** 'auth' = the collection's auth response. */
  response?: JsonSchema | 'auth';
  when?: (c: AuthCollection) => boolean;
  description?: string;
}

const S = { type: 'string' };
const o = (properties: Obj, required: string[] = Object.keys(properties)): JsonSchema => ({
  type: 'object',
  properties,
  ...(required.length ? { required } : {}),
});

const AUTH_ROUTES: AuthRoute[] = [
  {
    method: 'get',
    path: 'auth-methods',
    summary: 'The enabled sign-in methods',
    op: 'authMethods',
    access: 'public',
    response: o({
      password: o({ enabled: { type: 'boolean' }, identityFields: { type: 'array', items: S } }),
      oauth2: o({ enabled: { type: 'boolean' }, providers: { type: 'array', items: { type: 'object', additionalProperties: true } } }),
      mfa: o({ enabled: { type: 'boolean' }, duration: { type: 'integer' } }),
      otp: o({ enabled: { type: 'boolean' }, duration: { type: 'integer' } }),
    }),
  },
  {
    method: 'post',
    path: 'auth-with-password',
    summary: 'Sign in with a password',
    op: 'authWithPassword',
    access: 'public',
    when: (c) => c.passwordAuth.enabled,
    body: o({ identity: S, password: { type: 'string', writeOnly: true }, identityField: S }, ['identity', 'password']),
    response: 'auth',
    description: 'With MFA on, the first factor answers 401 with an `mfaId` to pass to the second.',
  },
  {
    method: 'post',
    path: 'auth-with-oauth2',
    summary: 'Sign in with an OAuth2 provider',
    op: 'authWithOAuth2',
    access: 'public',
    when: (c) => c.oauth2.enabled,
    body: o({ provider: S, code: S, codeVerifier: S, redirectURL: S, createData: { type: 'object', additionalProperties: true } }, [
      'provider',
      'code',
      'redirectURL',
    ]),
    response: 'auth',
  },
  {
    method: 'post',
    path: 'request-otp',
    summary: 'Email a one-time password',
    op: 'requestOtp',
    access: 'public',
    when: (c) => c.otp.enabled,
    body: o({ email: S }),
    response: o({ otpId: S }),
  },
  {
    method: 'post',
    path: 'auth-with-otp',
    summary: 'Sign in with a one-time password',
    op: 'authWithOtp',
    access: 'public',
    when: (c) => c.otp.enabled,
    body: o({ otpId: S, password: { type: 'string', writeOnly: true } }),
    response: 'auth',
  },
  { method: 'post', path: 'auth-refresh', summary: 'A new token for the signed-in record', op: 'authRefresh', access: 'auth', response: 'auth' },
  { method: 'post', path: 'request-verification', summary: 'Email a verification link', op: 'requestVerification', access: 'public', body: o({ email: S }) },
  { method: 'post', path: 'confirm-verification', summary: 'Confirm an email address', op: 'confirmVerification', access: 'public', body: o({ token: S }) },
  {
    method: 'post',
    path: 'request-password-reset',
    summary: 'Email a password reset link',
    op: 'requestPasswordReset',
    access: 'public',
    body: o({ email: S }),
  },
  {
    method: 'post',
    path: 'confirm-password-reset',
    summary: 'Set a new password with a reset token',
    op: 'confirmPasswordReset',
    access: 'public',
    body: o({ token: S, password: { type: 'string', writeOnly: true }, passwordConfirm: { type: 'string', writeOnly: true } }),
  },
  {
    method: 'post',
    path: 'request-email-change',
    summary: 'Email a link to change the address',
    op: 'requestEmailChange',
    access: 'auth',
    body: o({ newEmail: S }),
  },
  {
    method: 'post',
    path: 'confirm-email-change',
    summary: 'Confirm an email change',
    op: 'confirmEmailChange',
    access: 'public',
    body: o({ token: S, password: { type: 'string', writeOnly: true } }),
  },
  {
    method: 'post',
    path: 'impersonate/{id}',
    summary: 'A non-renewable token for another record',
    op: 'impersonate',
    access: 'superuser',
    body: o({ duration: { type: 'integer', minimum: 0 } }, []),
    response: 'auth',
  },
  { method: 'post', path: 'logout-all', summary: 'Invalidate every token of the signed-in record (Plinth)', op: 'logoutAll', access: 'auth' },
  {
    method: 'post',
    path: 'auth-with-totp',
    summary: 'Second factor: an authenticator-app code (Plinth)',
    op: 'authWithTotp',
    access: 'public',
    body: o({ mfaId: S, code: S }),
    response: 'auth',
  },
  {
    method: 'get',
    path: 'totp',
    summary: 'Authenticator-app status (Plinth)',
    op: 'totpStatus',
    access: 'auth',
    response: { type: 'object', additionalProperties: true },
  },
  {
    method: 'post',
    path: 'totp/setup',
    summary: 'Start authenticator-app setup (Plinth)',
    op: 'totpSetup',
    access: 'auth',
    response: { type: 'object', additionalProperties: true },
  },
  {
    method: 'post',
    path: 'totp/enable',
    summary: 'Enable the authenticator app (Plinth)',
    op: 'totpEnable',
    access: 'auth',
    body: { type: 'object', additionalProperties: true },
    response: { type: 'object', additionalProperties: true },
  },
  {
    method: 'post',
    path: 'totp/recovery-codes',
    summary: 'New recovery codes (Plinth)',
    op: 'totpRecoveryCodes',
    access: 'auth',
    body: { type: 'object', additionalProperties: true },
    response: { type: 'object', additionalProperties: true },
  },
  {
    method: 'post',
    path: 'totp/disable',
    summary: 'Disable the authenticator app (Plinth)',
    op: 'totpDisable',
    access: 'auth',
    body: { type: 'object', additionalProperties: true },
  },
];

/** The Fastify patterns the per-collection routes cover (so they are not listed again as generic built-ins). */
const PER_COLLECTION = new Set([
  'GET /api/collections/:collection/records',
  'POST /api/collections/:collection/records',
  'GET /api/collections/:collection/records/:id',
  'PATCH /api/collections/:collection/records/:id',
  'DELETE /api/collections/:collection/records/:id',
  ...AUTH_ROUTES.map((r) => `${r.method.toUpperCase()} /api/collections/:collection/${r.path.replace(/\{(\w+)\}/g, ':$1')}`),
]);

function addAuthRoutes(b: Builder, c: AuthCollection): void {
  const t = b.typeName(c);
  const tag = b.tag(c.name);
  const authName = `${t}AuthResponse`;
  for (const r of AUTH_ROUTES) {
    if (r.when && !r.when(c)) continue;
    if (r.access === 'superuser' && !b.superuser) continue;
    if (r.response === 'auth' && !b.schemas[authName]) {
      b.schemas[authName] = o({ token: S, record: ref(`${t}Record`), meta: { type: 'object', additionalProperties: true } }, ['token', 'record']);
    }
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: S }));
    const success = r.response === undefined ? { '204': NO_CONTENT } : { '200': ok(r.response === 'auth' ? ref(authName) : r.response) };
    b.add(`/api/collections/${c.name}/${r.path}`, r.method, {
      tags: [tag],
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      operationId: b.operationId(`${r.op}${t}`),
      ...(params.length ? { parameters: params } : {}),
      security: r.access === 'public' ? PUBLIC_SECURITY : TOKEN_SECURITY,
      ...(r.body ? { requestBody: { required: true, content: json(r.body) } } : {}),
      responses: { ...success, ...COMMON_ERRORS },
    });
  }
}

/** `/api/logs/:id` → `/api/logs/{id}` and its path parameters. */
function fastifyPath(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path, params };
}

function operationIdFor(method: string, path: string): string {
  const words = [method.toLowerCase()];
  for (const seg of path.split('/').slice(2)) {
    const m = /^\{(\w+)(\.\.\.)?\}$/.exec(seg);
    words.push(m ? `by_${m[1]}` : seg);
  }
  return camel(words);
}

function addBuiltin(b: Builder, method: string, url: string): void {
  const key = `${method} ${url}`;
  const doc: BuiltinDoc | undefined = BUILTIN_DOCS[key];
  if (!doc && !b.superuser) return; // an undocumented route: who may call it is unknown here
  if (doc && (doc.access === 'superuser' || doc.superusersOnly) && !b.superuser) return;
  const { path, params } = fastifyPath(url);
  const segment = url.split('/')[2] ?? 'other';
  const tag = b.tag(doc?.tag ?? pascal(segment));
  const parameters: Obj[] = params.map((name) => ({ name, in: 'path', required: true, schema: S }));
  for (const [name, schema] of Object.entries(doc?.query ?? {})) parameters.push({ name, in: 'query', schema });
  const success: Obj = {};
  if (doc?.status === 204) success['204'] = NO_CONTENT;
  else if (doc?.contentType) success['200'] = { description: 'Success', content: { [doc.contentType]: { schema: { type: 'string' } } } };
  else success['200'] = doc?.response ? ok(doc.response) : { description: 'Success' };
  const requestBody = doc?.multipart
    ? { required: true, content: { 'multipart/form-data': { schema: doc.multipart } } }
    : doc?.body
      ? { required: method !== 'GET', content: json(doc.body) }
      : undefined;
  b.add(path, method, {
    tags: [tag],
    summary: doc?.summary ?? `${method} ${path}`,
    ...(doc?.description ? { description: doc.description } : {}),
    operationId: b.operationId(operationIdFor(method, path)),
    ...(parameters.length ? { parameters } : {}),
    security: doc?.access === 'public' ? PUBLIC_SECURITY : TOKEN_SECURITY,
    ...(requestBody ? { requestBody } : {}),
    responses: { ...success, ...COMMON_ERRORS },
  });
}

const guardCollections = (guard: { collection: string | readonly string[] }): string[] =>
  typeof guard.collection === 'string' ? [guard.collection] : [...guard.collection];

/** Whether only superusers pass the guard: 'superuser', or records of the superusers' collection (name or id). */
function superuserOnly(guard: RouteGuardLike | undefined): boolean {
  if (guard === 'superuser') return true;
  if (guard === undefined || typeof guard === 'string') return false;
  const list = guardCollections(guard);
  return list.length > 0 && list.every((n) => n === SUPERUSERS_COLLECTION_NAME || n === SUPERUSERS_COLLECTION_ID);
}

function guardSecurity(b: Builder, guard: RouteGuardLike | undefined): { security: unknown[]; note: string } {
  if (guard === undefined || guard === 'public') return { security: PUBLIC_SECURITY, note: '' };
  if (guard === 'guest') return { security: [{}], note: 'Guests only (no Authorization).' };
  if (guard === 'any') return { security: TOKEN_SECURITY, note: 'Any signed-in record.' };
  if (guard === 'superuser') return { security: TOKEN_SECURITY, note: 'Superusers only.' };
  const list = guardCollections(guard);
  // The public view names only the collections it shows: a superuser-only collection's name stays out of it.
  const named = b.superuser ? list : list.filter((n) => b.shownCollections.has(n));
  const others = named.length < list.length;
  if (named.length === 0) return { security: TOKEN_SECURITY, note: 'Records of certain auth collections only.' };
  return {
    security: TOKEN_SECURITY,
    note: `Records of ${named.map((n) => `\`${n}\``).join(', ')}${others ? ' (and of other auth collections)' : ''} only.`,
  };
}

function addCustomRoute(b: Builder, r: CustomRouteInfo): void {
  const doc = r.openapi;
  if (doc?.exclude) return;
  if (!b.superuser && superuserOnly(r.auth)) return;
  const method = r.method.toUpperCase();
  const params: Obj[] = [];
  let path = r.path
    .split('/')
    .map((seg) => {
      const m = /^\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}$/.exec(seg);
      if (!m) return seg;
      params.push({ name: m[1], in: 'path', required: true, schema: S, ...(m[2] ? { description: 'The rest of the path.' } : {}) });
      return `{${m[1]}}`;
    })
    .join('/')
    .replace(/(.)\/$/, '$1');
  // `/orders/{id}` (GET) and `/orders/{orderId}` (DELETE) are one path to OpenAPI: the first spelling names the params.
  const shape = path.replace(/\{[^}]+\}/g, '{}');
  const first = b.customShapes.get(shape);
  if (first === undefined) b.customShapes.set(shape, path);
  else if (first !== path) {
    const names = [...first.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    params.forEach((p, i) => {
      p.name = names[i];
    });
    path = first;
  }
  for (const [name, raw] of Object.entries(doc?.query ?? {})) {
    const { required, description, ...schema } = (typeof raw === 'object' && raw !== null ? raw : {}) as Obj;
    params.push({ name, in: 'query', schema, ...(required === true ? { required: true } : {}), ...(typeof description === 'string' ? { description } : {}) });
  }
  const { security, note } = guardSecurity(b, r.auth);
  const tags = (doc?.tags?.length ? doc.tags : ['Custom']).map((t) => b.tag(t));
  const responses: Obj = {};
  if (doc?.response !== undefined) responses['200'] = ok(doc.response);
  for (const [status, res] of Object.entries(doc?.responses ?? {})) {
    responses[status] = { description: res.description ?? 'Answer', ...(res.schema !== undefined ? { content: json(res.schema) } : {}) };
  }
  if (!Object.keys(responses).some((s) => s.startsWith('2'))) responses['200'] = { description: 'Success (not declared)' };
  responses.default = { $ref: '#/components/responses/Error' };
  const description = [doc?.description ?? '', note, doc ? '' : 'This custom route declares no schema.'].filter(Boolean).join(' ');
  b.add(path, method, {
    tags,
    summary: doc?.summary ?? `${method} ${r.path}`,
    ...(description ? { description } : {}),
    operationId: b.operationId(doc?.operationId ?? operationIdFor(method, path)),
    ...(doc?.deprecated ? { deprecated: true } : {}),
    ...(params.length ? { parameters: params } : {}),
    security,
    ...(doc?.body !== undefined && method !== 'GET' ? { requestBody: { required: true, content: json(doc.body) } } : {}),
    responses,
    'x-plinth-custom': true,
  });
}

/** Builds the document. */
export function buildDocument(input: DocumentInput): Obj {
  const b = new Builder(input);
  const collections = [...input.collections]
    .filter((c) => b.superuser || publicCollection(c))
    .sort((x, y) => Number(x.system) - Number(y.system) || x.name.localeCompare(y.name));
  const shown = new Map(collections.map((c) => [c.id, c] as const));
  for (const c of collections) b.shownCollections.add(c.id).add(c.name);
  // Built-ins first (Health, Meta, … in TAG_ORDER order), then collections, then custom routes.
  const builtins = input.builtins
    .filter((r) => r.url.startsWith('/api/') && !r.url.includes('*') && r.method !== 'HEAD' && r.method !== 'OPTIONS')
    .filter((r) => !PER_COLLECTION.has(`${r.method} ${r.url}`));
  const seen = new Set<string>();
  for (const r of builtins) {
    const key = `${r.method} ${r.url}`;
    if (seen.has(key)) continue;
    seen.add(key);
    addBuiltin(b, r.method, r.url);
  }
  for (const c of collections) {
    addRecordRoutes(b, c, shown);
    if (c.type === 'auth') addAuthRoutes(b, c);
  }
  for (const r of input.customRoutes) addCustomRoute(b, r);

  const rank = (t: string) => {
    const i = TAG_ORDER.indexOf(t);
    return i === -1 ? TAG_ORDER.length : i;
  };
  const tagNames = [...b.tags.keys()];
  const builtinTags = new Set(builtins.map((r) => BUILTIN_DOCS[`${r.method} ${r.url}`]?.tag).filter(Boolean));
  const userTags = new Set(collections.filter((c) => !c.system).map((c) => c.name));
  const systemTags = new Set(collections.filter((c) => c.system).map((c) => c.name));
  // Built-ins, then the user's collections, their custom routes' tags, and the system collections last.
  const group = (t: string) => (builtinTags.has(t) || TAG_ORDER.includes(t) ? 0 : userTags.has(t) ? 1 : systemTags.has(t) ? 3 : 2);
  tagNames.sort((x, y) => group(x) - group(y) || rank(x) - rank(y) || x.localeCompare(y));

  return {
    openapi: '3.1.0',
    info: {
      title: `${input.title} API`,
      version: input.version,
      description:
        input.audience === 'superuser'
          ? "Every route and collection of this instance (the superusers' view), generated from the live schema."
          : 'The collections and routes open to non-superusers (collections with at least one non-null API rule), generated from the live schema.',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    servers: [{ url: '/' }],
    tags: tagNames.map((name) => ({ name, ...(b.tags.get(name) ? { description: b.tags.get(name) } : {}) })),
    paths: b.paths,
    components: {
      securitySchemes: {
        pbToken: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'An auth token from an auth-with-* route (or an API key), sent as is or as `Bearer <token>`.',
        },
      },
      schemas: {
        Error: {
          type: 'object',
          description: "PocketBase's error envelope: every error, from every route.",
          properties: {
            status: { type: 'integer' },
            message: { type: 'string' },
            data: {
              type: 'object',
              description: 'Field errors by field name (validation failures); {} otherwise.',
              additionalProperties: {
                type: 'object',
                properties: { code: { type: 'string' }, message: { type: 'string' } },
                additionalProperties: true,
              },
            },
            requestId: { type: 'string', description: "5xx answers only: the answer's X-Request-Id, to quote when reporting it." },
          },
          required: ['status', 'message', 'data'],
        },
        ...(b.superuser ? BUILTIN_SCHEMAS : {}),
        ...b.schemas,
      },
      parameters: SHARED_PARAMS,
      responses: {
        Error: errorResponse('An error'),
        BadRequest: errorResponse('Bad request (validation errors in `data`)'),
        Unauthorized: errorResponse('A valid token is required'),
        Forbidden: errorResponse('Not allowed'),
        NotFound: errorResponse('Not found (or hidden by the rules)'),
        TooManyRequests: errorResponse('Rate limited'),
      },
    },
  };
}
