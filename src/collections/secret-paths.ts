/**
 * THE list of secrets inside a collection's definition, one line each: left out of API answers and migration
 * files (public.ts) and encrypted at rest in `_collections.options` (store.ts, docs/security.md).
 * `*` = every element of a list.
 */
export const COLLECTION_SECRET_PATHS: ReadonlyArray<readonly string[]> = [
  ['oauth2', 'providers', '*', 'clientSecret'],
  // The auth collections' token signing secrets: with a database dump and these, anyone could forge tokens.
  ['authToken', 'secret'],
  ['passwordResetToken', 'secret'],
  ['emailChangeToken', 'secret'],
  ['verificationToken', 'secret'],
  ['fileToken', 'secret'],
];
