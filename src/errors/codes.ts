/**
 * Every error code Plinth can answer with, its HTTP status and its default public message.
 * Codes are stable: never rename or reuse one (docs/errors.md lists them and a test keeps the two in step).
 */
export const ERROR_CODES = {
  bad_request: { status: 400, message: 'Something went wrong while processing your request.' },
  validation_failed: { status: 400, message: 'Failed to process the request data.' },
  invalid_json: { status: 400, message: 'The request body is not valid JSON.' },
  unsupported_media_type: { status: 415, message: 'Unsupported request content type.' },
  invalid_filter: { status: 400, message: 'Invalid filter expression.' },
  invalid_sort: { status: 400, message: 'Invalid sort expression.' },
  invalid_query_param: { status: 400, message: 'Invalid query parameter.' },
  invalid_characters: { status: 400, message: 'The request contains a NUL character or an unpaired UTF-16 surrogate, which cannot be stored.' },
  unauthorized: { status: 401, message: 'Missing or invalid authentication.' },
  forbidden: { status: 403, message: 'You are not allowed to perform this request.' },
  not_found: { status: 404, message: "The requested resource wasn't found." },
  method_not_allowed: { status: 405, message: 'Method not allowed.' },
  payload_too_large: { status: 413, message: 'Request entity too large.' },
  expectation_failed: { status: 417, message: 'Only "Expect: 100-continue" is supported.' },
  request_timeout: { status: 408, message: 'The request took too long to arrive.' },
  headers_too_large: { status: 431, message: 'The request headers (or the URL) are too large.' },
  too_many_requests: { status: 429, message: 'Too Many Requests.' },
  db_busy: { status: 503, message: 'The database is busy, please try again.' },
  unavailable: { status: 503, message: 'The service is temporarily unavailable.' },
  not_ready: { status: 503, message: 'The server is not ready to serve requests.' },
  outbound_refused: { status: 502, message: 'The outbound request was refused.' },
  outbound_failed: { status: 502, message: 'The outbound request failed.' },
  outbound_timeout: { status: 504, message: 'The outbound request timed out.' },
  outbound_response_too_large: { status: 502, message: 'The outbound response was too large.' },
  payments_not_configured: { status: 400, message: 'Payments are not set up.' },
  payment_provider_error: { status: 502, message: 'The payment provider refused or failed the request.' },
  payment_request_invalid: { status: 400, message: 'The payment provider refused the request as invalid.' },
  webhook_signature_invalid: { status: 400, message: 'Invalid webhook signature.' },
  idempotency_key_reused: { status: 422, message: 'This Idempotency-Key was used for a different request.' },
  api_error: { status: 400, message: 'Something went wrong while processing your request.' },
  timeout: { status: 504, message: 'The request took too long.' },
  internal: { status: 500, message: 'Something went wrong while processing your request.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Field-level validation codes (PocketBase's `validation_*` family). Open-ended by design: field types add their own. */
export type FieldErrorCode = `validation_${string}`;
