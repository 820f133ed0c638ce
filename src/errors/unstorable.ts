/** The one 400 for text neither database can store (NUL, unpaired surrogates): see util/storable-text.ts. */
import { printableName, UNSTORABLE_CODES, UNSTORABLE_MESSAGES, type UnstorableHit, type UnstorableReason } from '../util/storable-text.js';
import { AppError, fieldError } from './app-error.js';

/** Where the text came from; it picks the wording of the message. */
export type UnstorableSource = 'field' | 'query' | 'path' | 'header';

/**
 * `400 invalid_characters` naming the field (or query parameter), with the usual field error under
 * `data.<name>` (`validation_invalid_nul` / `validation_invalid_surrogate`).
 */
export function unstorableTextError(source: UnstorableSource, name: string, reason: UnstorableReason, detailPath?: string[]): AppError {
  const shown = printableName(name);
  const where =
    source === 'query'
      ? `the "${shown}" query parameter`
      : source === 'path'
        ? 'the request path'
        : source === 'header'
          ? `the "${shown}" header`
          : `"${shown}"`;
  const deeper = detailPath && detailPath.length > 1 ? ` (at ${detailPath.map(printableName).join('.')})` : '';
  const message = `Invalid value in ${where}${deeper}: ${UNSTORABLE_MESSAGES[reason]}`;
  return new AppError('invalid_characters', message, { [name]: fieldError(UNSTORABLE_CODES[reason], UNSTORABLE_MESSAGES[reason]) });
}

/** {@link unstorableTextError} for a hit found in a body-like object (the first key names the field). */
export function unstorableHitError(hit: UnstorableHit, source: UnstorableSource = 'field'): AppError {
  return unstorableTextError(source, hit.path[0] ?? '', hit.reason, hit.path);
}
