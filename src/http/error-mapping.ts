/** Mapping anything a handler throws to the AppError that answers it (HTTP requests and batch sub-requests alike). */
import type { App } from '../app.js';
import { AppError, fromUnknown } from '../errors/index.js';
import { storageError } from '../files/index.js';

/** The one place anything thrown becomes an AppError: database failures get their own codes. */
export function toAppError(err: unknown, app: App): AppError {
  if (err instanceof AppError) return err;
  const storage = storageError(err);
  if (storage) return storage;
  const info = app.db.dialect.classifyError(err);
  switch (info.kind) {
    case 'busy':
      return new AppError('db_busy', undefined, undefined, { cause: err });
    case 'unavailable':
      return new AppError(
        'unavailable',
        app.db.dialect.name === 'postgres'
          ? 'The database is unreachable or restarting; please try again shortly.'
          : 'The database cannot accept writes right now.',
        undefined,
        { cause: err },
      );
    case 'too_big':
      return new AppError('payload_too_large', undefined, undefined, { cause: err });
    case 'bad_text':
      // The last line behind the request checks (http/body-parser.ts, server.ts): never a 500 for a NUL.
      return new AppError('invalid_characters', undefined, undefined, { cause: err });
    case 'unique':
    case 'not_null':
    case 'foreign_key':
    case 'check':
      return new AppError('bad_request', 'The data violates a database constraint.', undefined, { cause: err });
    default:
      return fromUnknown(err);
  }
}
