/**
 * Storage failures as answers: an S3 service that cannot be reached or refuses us, or a local disk that
 * is full or unwritable, is the server's problem, not the client's: a 503 that says what is wrong
 * (never a bare 500, never the credentials).
 */
import { AppError } from '../errors/index.js';
import { S3Error } from './s3/client.js';

const DISK_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO']);

/** The AppError for a storage failure, or null when `err` is not one. */
export function storageError(err: unknown): AppError | null {
  if (err instanceof S3Error) {
    const why = err.status === 0 ? 'it could not be reached' : `it answered ${err.code || err.status}`;
    return new AppError('unavailable', `The file storage (S3) is unavailable: ${why}.`, undefined, { cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && DISK_CODES.has(code)) {
    return new AppError('unavailable', 'The file storage cannot accept files right now.', undefined, { cause: err });
  }
  return null;
}
