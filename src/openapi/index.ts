/**
 * OpenAPI 3.1 from the live schema (`GET /api/openapi.json`, http/routes/openapi.ts): built-in routes, every
 * collection's record routes with request/response schemas from its fields, the auth routes of each auth
 * collection, and custom routes (their `openapi` option). Pure functions; the route caches the result per
 * schema generation. See docs/openapi.md.
 */
export { buildDocument, pascal, type Audience, type CustomRouteInfo, type DocumentInput, type RouteGuardLike, type RouteOpenApi } from './document.js';
export { fieldSchema, fileUploadSchema, isRequiredOnCreate, type JsonSchema, type SchemaForm } from './fields.js';
