/**
 * A small magic-number sniffer: the real type of a file from its first bytes, never from the client's
 * claim or the extension. Covers the types people upload and the ones that are dangerous to serve (HTML,
 * SVG, XML). Anything unrecognised is `text/plain` (valid UTF-8 without control bytes) or
 * `application/octet-stream`. We wrote our own (~150 lines) instead of `file-type`, which is ESM-only with
 * a stream/token dependency tree and does not detect text formats such as HTML and SVG at all.
 */

/** How many leading bytes the sniffer looks at; callers pass at least this much when they have it. */
export const SNIFF_BYTES = 4096;

const TEXT_PLAIN = 'text/plain; charset=utf-8';
const OCTET = 'application/octet-stream';

/** Types with well-known second names, so a field's `mimeTypes` may use either spelling. */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  'image/jpeg': ['image/jpg', 'image/pjpeg'],
  'image/x-icon': ['image/vnd.microsoft.icon'],
  'image/bmp': ['image/x-bmp', 'image/x-ms-bmp'],
  'audio/mpeg': ['audio/mp3', 'audio/x-mpeg'],
  'audio/wav': ['audio/x-wav', 'audio/vnd.wave', 'audio/wave'],
  'audio/aiff': ['audio/x-aiff'],
  'audio/flac': ['audio/x-flac'],
  'audio/midi': ['audio/mid', 'audio/x-midi'],
  'application/pdf': ['application/x-pdf'],
  'application/zip': ['application/x-zip', 'application/x-zip-compressed'],
  'application/gzip': ['application/x-gzip'],
  'text/xml': ['application/xml'],
  'application/x-7z-compressed': [],
  'application/vnd.rar': ['application/x-rar-compressed', 'application/x-rar'],
  'text/html': ['application/xhtml+xml'],
};

/** Base type without parameters, lower-cased (`text/plain; charset=utf-8` → `text/plain`). */
export function baseMime(type: string): string {
  return (type.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * Whether a sniffed type satisfies one of the allowed types (exact match of the base type or a known
 * alias, like PocketBase's `mimetype.Is`; no parent/child matching, so `text/plain` does not admit HTML).
 */
export function mimeAllowed(sniffed: string, allowed: readonly string[]): boolean {
  const base = baseMime(sniffed);
  const names = new Set([base, ...(ALIASES[base] ?? [])]);
  return allowed.some((a) => names.has(baseMime(a)));
}

function startsWith(buf: Uint8Array, sig: readonly number[], offset = 0): boolean {
  if (buf.length < offset + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (buf[offset + i] !== sig[i]) return false;
  return true;
}

function ascii(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1', start, Math.min(end, buf.length));
}

const bytes = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** Fixed signatures at offset 0, checked in order. */
const SIGNATURES: ReadonlyArray<readonly [readonly number[], string]> = [
  [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'image/png'],
  [[0xff, 0xd8, 0xff], 'image/jpeg'],
  [bytes('GIF87a'), 'image/gif'],
  [bytes('GIF89a'), 'image/gif'],
  [[0x00, 0x00, 0x01, 0x00], 'image/x-icon'],
  [bytes('II*\0'), 'image/tiff'],
  [bytes('MM\0*'), 'image/tiff'],
  [bytes('%PDF-'), 'application/pdf'],
  [bytes('%!PS'), 'application/postscript'],
  [bytes('{\\rtf'), 'text/rtf'],
  [[0x1f, 0x8b], 'application/gzip'],
  [bytes('BZh'), 'application/x-bzip2'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'application/x-xz'],
  [[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], 'application/x-7z-compressed'],
  [bytes('Rar!\x1a\x07'), 'application/vnd.rar'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'application/zstd'],
  [bytes('fLaC'), 'audio/flac'],
  [bytes('ID3'), 'audio/mpeg'],
  [bytes('MThd'), 'audio/midi'],
  [bytes('wOFF'), 'font/woff'],
  [bytes('wOF2'), 'font/woff2'],
  [bytes('OTTO'), 'font/otf'],
  [[0x00, 0x01, 0x00, 0x00, 0x00], 'font/ttf'],
  [[0x00, 0x61, 0x73, 0x6d], 'application/wasm'],
  [[0x7f, 0x45, 0x4c, 0x46], 'application/x-elf'],
  [bytes('SQLite format 3\0'), 'application/vnd.sqlite3'],
  [[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 'application/x-ole-storage'],
];

/** Short signatures that plain text could start with: only believed for binary (non-text) data. */
const WEAK_SIGNATURES: ReadonlyArray<readonly [readonly number[], string]> = [
  [bytes('BM'), 'image/bmp'],
  [bytes('MZ'), 'application/vnd.microsoft.portable-executable'],
  [bytes('ID3'), 'audio/mpeg'],
];

/** ISO base media (`ftyp` box) brands. */
function sniffFtyp(buf: Uint8Array): string | null {
  if (!startsWith(buf, bytes('ftyp'), 4)) return null;
  const brand = ascii(buf, 8, 12);
  if (brand === 'avif' || brand === 'avis') return 'image/avif';
  if (['heic', 'heix', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return 'image/heic';
  if (brand === 'qt  ') return 'video/quicktime';
  if (brand.startsWith('3g')) return 'video/3gpp';
  if (brand === 'M4A ' || brand === 'M4B ') return 'audio/mp4';
  return 'video/mp4';
}

function sniffContainers(buf: Uint8Array): string | null {
  if (startsWith(buf, bytes('RIFF'))) {
    const kind = ascii(buf, 8, 12);
    if (kind === 'WEBP') return 'image/webp';
    if (kind === 'WAVE') return 'audio/wav';
    if (kind === 'AVI ') return 'video/x-msvideo';
    return OCTET;
  }
  if (startsWith(buf, bytes('FORM')) && ['AIFF', 'AIFC'].includes(ascii(buf, 8, 12))) return 'audio/aiff';
  if (startsWith(buf, bytes('OggS'))) {
    const head = ascii(buf, 28, 40);
    if (head.includes('theora')) return 'video/ogg';
    if (head.includes('vorbis') || head.includes('OpusHead') || head.includes('FLAC')) return 'audio/ogg';
    return 'application/ogg';
  }
  if (startsWith(buf, [0x1a, 0x45, 0xdf, 0xa3])) return ascii(buf, 0, 64).includes('webm') ? 'video/webm' : 'video/x-matroska';
  if (startsWith(buf, bytes('PK\x03\x04'))) return sniffZip(buf);
  if (ascii(buf, 257, 262) === 'ustar') return 'application/x-tar';
  return null;
}

/** Signatures checked only once the data is known not to be text. */
function sniffWeak(buf: Uint8Array): string | null {
  for (const [sig, type] of WEAK_SIGNATURES) if (startsWith(buf, sig)) return type;
  // MPEG audio frame sync (11 set bits), layer III.
  if (buf.length >= 2 && buf[0] === 0xff && ((buf[1] as number) & 0xe6) === 0xe2) return 'audio/mpeg';
  // ADTS AAC.
  if (buf.length >= 2 && buf[0] === 0xff && ((buf[1] as number) & 0xf6) === 0xf0) return 'audio/aac';
  return null;
}

/** Zip-based formats: ODF/EPUB name themselves in a first `mimetype` entry; OOXML by their folders. */
function sniffZip(buf: Uint8Array): string {
  const head = ascii(buf, 0, SNIFF_BYTES);
  if (ascii(buf, 30, 38) === 'mimetype') {
    const m = /^mimetype(application\/[a-z0-9.+-]{1,80})/.exec(ascii(buf, 30, 140));
    if (m) return m[1] as string;
  }
  if (head.includes('word/')) return 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
  if (head.includes('xl/')) return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  if (head.includes('ppt/')) return 'application/vnd.openxmlformats-officedocument.presentationml.presentation';
  if (head.includes('META-INF/MANIFEST.MF')) return 'application/java-archive';
  return 'application/zip';
}

// WHATWG MIME sniffing's HTML openers (a tag name followed by a space or `>`), plus comments.
const HTML_RE = /^<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[\s>]/i;

/** Text formats: decided on the text after an optional BOM and leading whitespace. */
function sniffText(buf: Uint8Array): string | null {
  if (!isUtf8Text(buf)) return null;
  let text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  text = text.trimStart();
  const lower = text.slice(0, 1024).toLowerCase();
  if (lower.startsWith('<?xml')) return /<svg[\s>]/.test(lower) ? 'image/svg+xml' : 'text/xml; charset=utf-8';
  if (/^<svg[\s>]/.test(lower) || (lower.startsWith('<!doctype svg') && lower.includes('<svg'))) return 'image/svg+xml';
  if (HTML_RE.test(text)) return 'text/html; charset=utf-8';
  if (text.startsWith('{') || text.startsWith('[')) {
    try {
      JSON.parse(text);
      return 'application/json';
    } catch {
      // not (complete) JSON: plain text
    }
  }
  return TEXT_PLAIN;
}

/** Valid UTF-8 with no control bytes other than tab, newlines, form feed and escape (as WHATWG's binary check). */
function isUtf8Text(buf: Uint8Array): boolean {
  for (const b of buf) {
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b) return false;
  }
  // A multi-byte character may be cut at the sniff boundary: ignore an incomplete tail.
  let end = buf.length;
  for (let i = Math.max(0, end - 3); i < end; i++) {
    const b = buf[i] as number;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (need > 1 && i + need > end) {
      end = i;
      break;
    }
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

/**
 * The media type of a file from its leading bytes (pass at least {@link SNIFF_BYTES} when available; only
 * those are read). Text types carry `; charset=utf-8`; use {@link baseMime} to compare.
 */
export function sniffMime(data: Uint8Array): string {
  const buf = data.subarray(0, SNIFF_BYTES);
  if (buf.length === 0) return TEXT_PLAIN; // an empty file is (empty) text, as Go's sniffer says
  for (const [sig, type] of SIGNATURES) if (startsWith(buf, sig)) return type;
  return sniffFtyp(buf) ?? sniffContainers(buf) ?? sniffText(buf) ?? sniffWeak(buf) ?? OCTET;
}

/** A file extension (without dot) for a sniffed type, used when the upload's name has none. */
export function extensionFor(type: string): string {
  const base = baseMime(type);
  const known: Record<string, string> = {
    'image/jpeg': 'jpg',
    'image/svg+xml': 'svg',
    'image/x-icon': 'ico',
    'text/plain': 'txt',
    'text/html': 'html',
    'text/xml': 'xml',
    'audio/mpeg': 'mp3',
    'application/json': 'json',
    'application/gzip': 'gz',
    'application/x-bzip2': 'bz2',
    'application/x-xz': 'xz',
    'application/x-7z-compressed': '7z',
    'application/vnd.rar': 'rar',
    'application/x-tar': 'tar',
    'application/zstd': 'zst',
    'video/quicktime': 'mov',
    'video/x-matroska': 'mkv',
    'video/x-msvideo': 'avi',
    'audio/midi': 'mid',
    'application/vnd.sqlite3': 'sqlite',
  };
  if (known[base]) return known[base] as string;
  const sub = base.split('/')[1] ?? '';
  return /^[a-z0-9]{1,5}$/.test(sub) ? sub : '';
}
