/**
 * How a stored file is presented to browsers. Uploads are attacker-controlled bytes on our origin, so:
 * only inert media types (images, audio, video, PDF) may be shown inline; everything else — HTML, SVG,
 * XML, scripts, text, unknown — is always a download. The type comes from sniffing the bytes, never
 * from the stored name, and every response carries `nosniff` and a sandboxing CSP.
 */
import { baseMime } from './sniff.js';
import { dispositionName } from './names.js';

/** Types a browser renders without running anything (PocketBase's inline list; SVG deliberately absent). */
const INLINE_TYPES: ReadonlySet<string> = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/bmp',
  'image/x-icon',
  'video/mp4',
  'video/webm',
  'video/ogg',
  'video/quicktime',
  'video/3gpp',
  'audio/mpeg',
  'audio/ogg',
  'audio/wav',
  'audio/flac',
  'audio/aac',
  'audio/mp4',
  'audio/aiff',
  'audio/midi',
  'application/pdf',
]);

/** Image types thumbnails are made for (PocketBase's list). */
export const THUMBABLE_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** Headers every file response carries. */
export const FILE_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox",
  'Accept-Ranges': 'bytes',
};

/** Public files: long-lived (names are immutable). Protected ones must not sit in shared caches. */
export function cacheControl(isProtected: boolean): string {
  return `${isProtected ? 'private, ' : ''}max-age=2592000, stale-while-revalidate=86400`;
}

/** Whether a sniffed type may be displayed inline. */
export function isInlineSafe(type: string): boolean {
  return INLINE_TYPES.has(baseMime(type));
}

/** `Content-Disposition`: `inline` only for inert types without `?download`, else `attachment`. */
export function contentDisposition(type: string, servedName: string, download: boolean): string {
  const mode = !download && isInlineSafe(type) ? 'inline' : 'attachment';
  return `${mode}; filename="${dispositionName(servedName)}"`;
}

/** PocketBase reads `?download` with Go's ParseBool; anything else (or absence) is false. */
export function isDownloadParam(value: string | undefined): boolean {
  return value !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value);
}
