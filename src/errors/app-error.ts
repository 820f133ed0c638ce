import { ERROR_CODES, type ErrorCode, type FieldErrorCode } from './codes.js';

/** One field's validation problem, as PocketBase reports it under `data.<field>`. */
export interface FieldError {
  code: FieldErrorCode;
  message: string;
  params?: Record<string, unknown>;
}

/** Nested field errors: a field maps to its error, or to more nested errors (batch requests, JSON paths). */
export interface FieldErrors {
  [key: string]: FieldError | FieldErrors | ErrorEnvelope;
}

/** PocketBase's wire shape for every error response. Keys in PocketBase's (alphabetical) order. */
export interface ErrorEnvelope {
  data: Record<string, unknown>;
  message: string;
  status: number;
}

/**
 * The one error type of Plinth. `code` picks the status and default message from the code table;
 * `data` holds public field errors; `cause` is private and never serialised.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly data: FieldErrors;

  /** `options.status` overrides the code's status (only `ApiError`, whose status the user's code picks). */
  constructor(code: ErrorCode, message?: string, data?: FieldErrors, options?: { cause?: unknown; status?: number }) {
    super(message ?? ERROR_CODES[code].message, options);
    this.name = 'AppError';
    this.code = code;
    this.status = options?.status ?? ERROR_CODES[code].status;
    this.data = data ?? {};
  }

  /** The public envelope: message sentenized, data always an object. */
  toEnvelope(): ErrorEnvelope {
    return { data: this.data as Record<string, unknown>, message: sentenize(this.message), status: this.status };
  }

  static badRequest(message?: string, data?: FieldErrors): AppError {
    return new AppError('bad_request', message, data);
  }
  static validation(message: string, data: FieldErrors): AppError {
    return new AppError('validation_failed', message, data);
  }
  static notFound(message?: string): AppError {
    return new AppError('not_found', message);
  }
  static forbidden(message?: string): AppError {
    return new AppError('forbidden', message);
  }
  static unauthorized(message?: string): AppError {
    return new AppError('unauthorized', message);
  }
}

/**
 * The error hook files, routes and jobs throw to answer with a status of their choice, in PocketBase's
 * envelope: `throw new ApiError(409, 'Already paid.', { order: { code: 'validation_paid', message: '…' } })`.
 * It is an AppError (code `api_error`), so every layer treats it like Plinth's own refusals. A status
 * outside 400–599 becomes 500 (a success status is no error). `data` must be JSON-serialisable.
 */
export class ApiError extends AppError {
  constructor(status: number, message?: string, data?: Record<string, unknown>) {
    const valid = Number.isInteger(status) && status >= 400 && status <= 599;
    super('api_error', message ?? ERROR_CODES.api_error.message, (data ?? {}) as FieldErrors, { status: valid ? status : 500 });
    this.name = 'ApiError';
  }
}

/** Builds a field error with a sentenized message. */
export function fieldError(code: FieldErrorCode, message: string, params?: Record<string, unknown>): FieldError {
  const err: FieldError = { code, message: sentenize(message) };
  if (params) err.params = params;
  return err;
}

/** PocketBase's "sentenize": first letter upper-cased and a trailing period. */
export function sentenize(message: string): string {
  const m = message.trim();
  if (m === '') return m;
  const first = m.charAt(0).toUpperCase() + m.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/**
 * Turns anything thrown into an AppError without leaking internals. Errors that already carry an HTTP
 * status below 500 (Fastify's body-limit and parser errors) keep it; everything else is a 500.
 */
export function fromUnknown(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const status = typeof (err as { statusCode?: unknown })?.statusCode === 'number' ? (err as { statusCode: number }).statusCode : 0;
  if (status === 413) return new AppError('payload_too_large', undefined, undefined, { cause: err });
  if (status === 415) return new AppError('unsupported_media_type', undefined, undefined, { cause: err });
  if (status === 404) return new AppError('not_found', undefined, undefined, { cause: err });
  if (status === 405) return new AppError('method_not_allowed', undefined, undefined, { cause: err });
  if (status >= 400 && status < 500) return new AppError('bad_request', undefined, undefined, { cause: err });
  return new AppError('internal', undefined, undefined, { cause: err });
}
