export { ERROR_CODES, type ErrorCode, type FieldErrorCode } from './codes.js';
export {
  ApiError,
  AppError,
  fieldError,
  fromUnknown,
  isAppError,
  sentenize,
  type ErrorEnvelope,
  type FieldError,
  type FieldErrors,
} from './app-error.js';
export { StartupError } from './startup-error.js';
export { unstorableHitError, unstorableTextError, type UnstorableSource } from './unstorable.js';
