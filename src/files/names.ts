/**
 * File names: the stored name of an upload (PocketBase's `<snake_cased original>_<10 random>.<ext>`) and
 * the checks that keep a name a single, harmless path segment wherever it came from.
 */
import { LOWER_ALPHANUMERIC_ALPHABET, randomString } from '../util/random.js';
import { extensionFor } from './sniff.js';

const MAX_BASE_LENGTH = 100;
const MIN_BASE_LENGTH = 3;
const MAX_EXT_LENGTH = 20;
/** Longest name {@link isSafeFileName} accepts (stored names are at most ~135 characters). */
export const MAX_STORED_NAME_LENGTH = 255;

/** PocketBase's `inflector.Snakecase`: words split on non-alphanumerics and camelCase humps, lower-cased. */
export function snakeCase(value: string): string {
  return value
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .join('_')
    .toLowerCase();
}

/**
 * Splits a name into stem and extension (`.tar.gz` kept whole); the extension is cleaned to `[a-z0-9.]`,
 * at most 20 characters, '' when there is none (`.env` is a stem, not an extension).
 */
export function splitExtension(name: string): { stem: string; ext: string } {
  const m = /(\.tar)?\.([^.]+)$/i.exec(name);
  if (!m || m.index === 0) return { stem: name, ext: '' };
  const clean = (m[2] as string).toLowerCase().replace(/[^a-z0-9]/g, '');
  const ext = clean === '' ? '' : (m[1] ? 'tar.' : '') + clean;
  return { stem: name.slice(0, m.index), ext: ext.length > MAX_EXT_LENGTH ? ext.slice(-MAX_EXT_LENGTH) : ext };
}

/**
 * The name an upload is stored under: the original's base name snake-cased (≤ 100 chars; padded with
 * random characters when shorter than 3), a random `[a-z0-9]{10}` suffix, and the original extension (or
 * one derived from the sniffed type when the original has none). The result matches {@link isSafeFileName}.
 */
export function storedFileName(original: string, sniffedType: string): string {
  const { stem, ext: originalExt } = splitExtension(original.replace(/^.*[\\/]/, ''));
  const ext = originalExt || extensionFor(sniffedType);
  let base = snakeCase(stem);
  if (base.length > MAX_BASE_LENGTH) base = base.slice(0, MAX_BASE_LENGTH).replace(/_+$/, '');
  if (base.length < MIN_BASE_LENGTH) base += randomString(10, LOWER_ALPHANUMERIC_ALPHABET);
  const suffix = randomString(10, LOWER_ALPHANUMERIC_ALPHABET);
  return `${base}_${suffix}${ext ? `.${ext}` : ''}`;
}

/**
 * Whether a name is one harmless path segment: not empty, no leading dot, no slashes or backslashes, no
 * control characters (NUL included), at most {@link MAX_STORED_NAME_LENGTH} characters.
 */
export function isSafeFileName(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return name.length > 0 && name.length <= MAX_STORED_NAME_LENGTH && /^[^./\\\u0000-\u001f\u007f][^/\\\u0000-\u001f\u007f]*$/.test(name);
}

/** A file name for `Content-Disposition`: anything outside `[A-Za-z0-9._-]` becomes `_`. */
export function dispositionName(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
  return clean === '' || clean.startsWith('.') ? `file${clean}` : clean;
}
