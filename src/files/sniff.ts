/**
 * A file's real type, from its bytes (PocketBase does the same with Go's gabriel-vasile/mimetype):
 *
 * 1. Text (no binary control bytes in the first {@link SNIFF_BYTES}; or UTF-16 behind a byte-order mark) is decided here, because that is where
 *    the dangerous types live and where binary detectors guess wrong ("BM…" is not a bitmap): PDF/PostScript/
 *    RTF headers, then XML / SVG / HTML (these always win over the name), JSON, vCard, iCalendar, WebVTT, CSV and
 *    TSV by content (as mimetype: at least two records with the same number (>1) of fields), then the name's
 *    extension for inert text formats the bytes cannot tell (`.md` → text/markdown, a one-column `.csv`, …),
 *    else `text/plain`.
 * 2. Binary data goes to the `file-type` package (loaded on the first binary file, so an idle server never
 *    loads it). OLE compound files (`.doc`, `.xls`, `.ppt`, `.msg`, …) are one container format to it: the root
 *    storage's class id names the document type (as PocketBase's detector reads it), else the extension does.
 * 3. Anything else is `application/octet-stream`.
 *
 * The extension never turns bytes into an active type (HTML, SVG, XML, scripts): only the inert text formats in
 * {@link TEXT_BY_EXTENSION} and the OLE document types are derived from it.
 */

/** How many leading bytes the text rules look at (the binary detector gets everything it is given). */
export const SNIFF_BYTES = 4096;

const TEXT_PLAIN = 'text/plain';
const OCTET = 'application/octet-stream';

/** A detected type, plus other type names the same file satisfies in a field's `mimeTypes`. */
export interface DetectedType {
  /** The media type (text types carry `; charset=utf-8` when the text is valid UTF-8). */
  type: string;
  /** E.g. `text/plain` for a CSV or Markdown file: it is plain text too. */
  also: readonly string[];
}

/** Groups of names for one type (the first is the one Plinth reports), so `mimeTypes` may use any spelling. */
const ALIAS_GROUPS: ReadonlyArray<readonly string[]> = [
  ['image/jpeg', 'image/jpg', 'image/pjpeg'],
  ['image/png', 'image/apng', 'image/vnd.mozilla.apng'],
  ['image/x-icon', 'image/vnd.microsoft.icon'],
  ['image/bmp', 'image/x-bmp', 'image/x-ms-bmp'],
  ['audio/mpeg', 'audio/mp3', 'audio/x-mpeg', 'audio/mpeg3'],
  ['audio/wav', 'audio/x-wav', 'audio/vnd.wave', 'audio/wave'],
  ['audio/aiff', 'audio/x-aiff'],
  ['audio/flac', 'audio/x-flac'],
  ['audio/midi', 'audio/mid', 'audio/x-midi'],
  ['audio/mp4', 'audio/x-m4a', 'audio/m4a'],
  ['video/x-matroska', 'video/matroska'],
  ['video/x-msvideo', 'video/vnd.avi', 'video/avi', 'video/msvideo'],
  ['application/pdf', 'application/x-pdf'],
  ['application/zip', 'application/x-zip', 'application/x-zip-compressed'],
  ['application/gzip', 'application/x-gzip'],
  ['application/x-bzip2', 'application/x-bzip'],
  ['application/vnd.rar', 'application/x-rar-compressed', 'application/x-rar'],
  ['application/x-tar', 'application/tar'],
  ['application/vnd.sqlite3', 'application/x-sqlite3'],
  ['application/vnd.microsoft.portable-executable', 'application/x-msdownload', 'application/x-dosexec'],
  ['application/x-elf', 'application/x-executable'],
  ['application/x-ole-storage', 'application/x-cfb'],
  ['application/x-ms-installer', 'application/x-msi', 'application/x-windows-installer'],
  ['application/vnd.ms-outlook', 'application/x-ms-msg'],
  ['text/rtf', 'application/rtf'],
  ['text/xml', 'application/xml'],
  ['text/html', 'application/xhtml+xml'],
  ['text/vcard', 'text/x-vcard', 'text/directory'],
  ['text/calendar', 'text/x-vcalendar'],
  ['text/markdown', 'text/x-markdown'],
  ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'],
  ['font/ttf', 'application/x-font-ttf'],
  ['font/woff', 'application/font-woff'],
];

const GROUP_OF: ReadonlyMap<string, readonly string[]> = new Map(ALIAS_GROUPS.flatMap((g) => g.map((name) => [name, g] as const)));

/** Base type without parameters, lower-cased (`text/plain; charset=utf-8` → `text/plain`). */
export function baseMime(type: string): string {
  return (type.split(';')[0] ?? '').trim().toLowerCase();
}

/** The name Plinth reports for a type (`video/matroska` → `video/x-matroska`), parameters dropped. */
function canonical(type: string): string {
  const base = baseMime(type);
  return GROUP_OF.get(base)?.[0] ?? base;
}

/**
 * Whether a detected type satisfies one of the allowed types: the base type, a known alias, or one of `also`
 * (like PocketBase's `mimetype.Is`, no parent matching otherwise, so `text/plain` never admits HTML or SVG).
 */
export function mimeAllowed(detected: string, allowed: readonly string[], also: readonly string[] = []): boolean {
  const names = new Set<string>();
  for (const t of [detected, ...also]) {
    const base = baseMime(t);
    names.add(base);
    for (const alias of GROUP_OF.get(base) ?? []) names.add(alias);
  }
  return allowed.some((a) => names.has(baseMime(a)));
}

/** The extension of a file name, lower-cased, without the dot ('' when there is none). */
function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** Inert text formats the bytes cannot tell from plain text: decided by the extension. */
const TEXT_BY_EXTENSION: Readonly<Record<string, string>> = {
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  tab: 'text/tab-separated-values',
  md: 'text/markdown',
  markdown: 'text/markdown',
  ics: 'text/calendar',
  ifb: 'text/calendar',
  vcf: 'text/vcard',
  vcard: 'text/vcard',
  vtt: 'text/vtt',
  srt: 'application/x-subrip',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  toml: 'application/toml',
};

/** OLE compound files (one container format for many Office types): the extension names the document type. */
const OLE_BY_EXTENSION: Readonly<Record<string, string>> = {
  doc: 'application/msword',
  dot: 'application/msword',
  xls: 'application/vnd.ms-excel',
  xlt: 'application/vnd.ms-excel',
  xla: 'application/vnd.ms-excel',
  ppt: 'application/vnd.ms-powerpoint',
  pps: 'application/vnd.ms-powerpoint',
  pot: 'application/vnd.ms-powerpoint',
  msg: 'application/vnd.ms-outlook',
  msi: 'application/x-ms-installer',
  vsd: 'application/vnd.visio',
  pub: 'application/vnd.ms-publisher',
};

/** Root-storage class ids (or their first bytes) of OLE documents, as stored in the file (mixed-endian GUIDs). */
const OLE_BY_CLSID: ReadonlyArray<readonly [string, string]> = [
  ['0609020000000000c000000000000046', 'application/msword'], // Word.Document.8
  ['0009020000000000c000000000000046', 'application/msword'], // Word.Document.6
  ['0709020000000000c000000000000046', 'application/msword'], // Word.Picture.8
  ['2008020000000000', 'application/vnd.ms-excel'], // Excel.Sheet.8
  ['1008020000000000', 'application/vnd.ms-excel'], // Excel.Sheet.5
  ['108d81649b4fcf1186ea00aa00b929e8', 'application/vnd.ms-powerpoint'], // PowerPoint.Show.8
  ['70ae7bea3bfbcd11a90300aa00510ea3', 'application/vnd.ms-powerpoint'], // PowerPoint 95
  ['0b0d020000000000c000000000000046', 'application/vnd.ms-outlook'], // Outlook message
  ['84100c0000000000c000000000000046', 'application/x-ms-installer'], // Windows Installer package
  ['0112020000000000c000000000000046', 'application/vnd.ms-publisher'], // Publisher
];

/** The document type an OLE compound file's root storage names by class id, if it is one we know. */
function oleByClsid(data: Uint8Array): string | undefined {
  if (data.length < 512) return undefined;
  // Version 4 files use 4096-byte sectors, version 3 512; the directory starts at sector `firstDirSector`.
  const sector = data[26] === 0x04 && data[27] === 0x00 ? 4096 : 512;
  const firstDirSector = Buffer.from(data.buffer, data.byteOffset, data.byteLength).readUInt32LE(48);
  const offset = sector * (1 + firstDirSector) + 80;
  if (!Number.isSafeInteger(offset) || offset + 16 > data.length) return undefined;
  const clsid = Buffer.from(data.buffer, data.byteOffset + offset, 16).toString('hex');
  return OLE_BY_CLSID.find(([id]) => clsid.startsWith(id))?.[1];
}

/** No control bytes other than tab, newlines, form feed and escape (WHATWG's and mimetype's binary check). */
function looksLikeText(buf: Uint8Array): boolean {
  for (const b of buf) {
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b) return false;
    if (b === 0x7f) return false;
  }
  return true;
}

/** Valid UTF-8, ignoring a multi-byte character cut at the end of a truncated head. */
function isUtf8(buf: Uint8Array, truncated: boolean): boolean {
  let end = buf.length;
  if (truncated) {
    for (let i = Math.max(0, end - 3); i < end; i++) {
      const b = buf[i] as number;
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      if (need > 1 && i + need > end) {
        end = i;
        break;
      }
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
 * Whether `text` is separated values as Go's encoding/csv (lazy quotes, `#` comments, blank lines skipped) reads
 * them and mimetype accepts them: more than one record, every record with the same number (> 1) of fields.
 */
export function isSeparatedValues(text: string, sep: ',' | '\t'): boolean {
  const n = text.length;
  let i = 0;
  let records = 0;
  let width = 0;
  const atLineEnd = (j: number) => j >= n || text[j] === '\n' || text[j] === '\r';
  while (i < n) {
    if (text[i] === '\n' || text[i] === '\r') {
      i++;
      continue;
    }
    if (text[i] === '#') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    let fields = 0;
    for (;;) {
      fields++;
      if (text[i] === '"') {
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) {
            i = n;
            break;
          }
          i = q + 1;
          if (text[i] === '"') i++;
          else if (text[i] === sep || atLineEnd(i)) break;
          // else: a stray quote inside a quoted field is literal (lazy quotes)
        }
      } else {
        while (i < n && text[i] !== sep && !atLineEnd(i)) i++;
      }
      if (text[i] === sep) {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    records++;
    if (width === 0) width = fields;
    else if (fields !== width) return false;
  }
  return width > 1 && records > 1;
}

/** Complete files up to this size are parsed whole to tell JSON from text. */
const JSON_SNIFF_MAX = 1024 * 1024;

// WHATWG MIME sniffing's HTML openers (a tag name followed by a space or `>`), plus comments.
const HTML_RE = /^<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[\s>]/i;

/** The type of text content (see the module comment): `head` is at most SNIFF_BYTES, `whole` the complete file when
 * known, `truncated` if the file goes on after `head`. */
function detectText(head: Uint8Array, whole: Uint8Array | undefined, ext: string, truncated: boolean): DetectedType {
  const utf8 = isUtf8(head, truncated);
  const charset = utf8 ? '; charset=utf-8' : '';
  const plain: DetectedType = { type: TEXT_PLAIN + charset, also: [] };
  const textual = (type: string): DetectedType => ({ type: type + charset, also: [TEXT_PLAIN] });
  if (head.length === 0) return plain; // an empty file is (empty) text, as Go's sniffers say
  let text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString(utf8 ? 'utf8' : 'latin1');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.startsWith('%PDF-')) return { type: 'application/pdf', also: [] };
  if (text.startsWith('%!PS')) return { type: 'application/postscript', also: [] };
  if (text.startsWith('{\\rtf')) return { type: 'text/rtf', also: [] };
  const trimmed = text.trimStart();
  const lower = trimmed.slice(0, 1024).toLowerCase();
  if (lower.startsWith('<?xml')) return /<svg[\s>]/.test(lower) ? { type: 'image/svg+xml', also: [] } : { type: 'text/xml' + charset, also: [] };
  if (/^<svg[\s>]/.test(lower) || (lower.startsWith('<!doctype svg') && lower.includes('<svg'))) return { type: 'image/svg+xml', also: [] };
  if (HTML_RE.test(trimmed)) return { type: 'text/html' + charset, also: [] };
  if (whole && whole.length <= JSON_SNIFF_MAX && (trimmed.startsWith('{') || trimmed.startsWith('['))) {
    try {
      JSON.parse(
        truncated
          ? Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength)
              .toString(utf8 ? 'utf8' : 'latin1')
              .replace(/^\ufeff/, '')
          : text,
      );
      return { type: 'application/json', also: [] };
    } catch {
      // not JSON: one of the text types below
    }
  }
  if (lower.startsWith('begin:vcard')) return textual('text/vcard');
  if (lower.startsWith('begin:vcalendar')) return textual('text/calendar');
  if (/^WEBVTT(?:[ \t\r\n]|$)/.test(text)) return textual('text/vtt');
  // A truncated head ends mid-record: judge the complete lines only.
  const lines = truncated ? text.slice(0, Math.max(0, text.lastIndexOf('\n'))) : text;
  if (isSeparatedValues(lines, ',')) return textual('text/csv');
  if (isSeparatedValues(lines, '\t')) return textual('text/tab-separated-values');
  const byName = TEXT_BY_EXTENSION[ext];
  return byName ? textual(byName) : plain;
}

/**
 * Text behind a UTF-16 byte-order mark (Windows "Unicode text" exports, and HTML that hopes to pass as binary: FF FE is
 * also an MPEG audio frame header to a binary detector). Judged as text after decoding; null if it is not text.
 */
function utf16Text(data: Uint8Array, ext: string, complete: boolean): DetectedType | null {
  const le = data[0] === 0xff && data[1] === 0xfe;
  if (!le && !(data[0] === 0xfe && data[1] === 0xff)) return null;
  let end = Math.min(data.length, SNIFF_BYTES * 2) & ~1;
  const truncated = !complete || end < data.length;
  if (truncated && end >= 4) {
    // A surrogate pair cut at the end of the head: drop its first half.
    const last = le ? (data[end - 2] as number) | ((data[end - 1] as number) << 8) : ((data[end - 2] as number) << 8) | (data[end - 1] as number);
    if (last >= 0xd800 && last <= 0xdbff) end -= 2;
  }
  let text: string;
  try {
    text = new TextDecoder(le ? 'utf-16le' : 'utf-16be', { fatal: true }).decode(data.subarray(2, end));
  } catch {
    return null;
  }
  const utf8 = Buffer.from(text, 'utf8');
  if (!looksLikeText(utf8)) return null;
  const found = detectText(utf8.subarray(0, SNIFF_BYTES), truncated ? undefined : utf8, ext, truncated || utf8.length > SNIFF_BYTES);
  return { type: found.type.replace('; charset=utf-8', `; charset=utf-16${le ? 'le' : 'be'}`), also: found.also };
}

type FileTypeDetector = (data: Uint8Array) => Promise<{ mime: string } | undefined>;
let fileType: Promise<FileTypeDetector> | undefined;

/** `file-type`'s detector, imported on first use (it is only needed for binary files). */
function binaryDetector(): Promise<FileTypeDetector> {
  fileType ??= import('file-type/core').then((m) => m.fileTypeFromBuffer);
  return fileType;
}

/**
 * The type of a file from its bytes; `name` (the original or stored file name) only refines text and OLE types
 * (see the module comment). `data` may be just the file's first bytes: then pass `complete: false`.
 */
export async function detectFileType(data: Uint8Array, name = '', complete = true): Promise<DetectedType> {
  const head = data.subarray(0, SNIFF_BYTES);
  const ext = extensionOf(name);
  if (looksLikeText(head)) return detectText(head, complete ? data : undefined, ext, !complete || data.length > SNIFF_BYTES);
  const utf16 = utf16Text(data, ext, complete);
  if (utf16) return utf16;
  let found: string | undefined;
  try {
    found = (await (await binaryDetector())(data))?.mime;
  } catch {
    found = undefined; // a malformed container the detector trips over is just unknown bytes
  }
  if (!found) return { type: OCTET, also: [] };
  const type = canonical(found);
  if (type === 'application/x-ole-storage') {
    const document = oleByClsid(data) ?? OLE_BY_EXTENSION[ext];
    return document ? { type: document, also: ['application/x-ole-storage'] } : { type, also: [] };
  }
  return { type, also: [] };
}

/** A file extension (without dot) for a detected type, used when the upload's name has none. */
export function extensionFor(type: string): string {
  const base = baseMime(type);
  const known: Record<string, string> = {
    'image/jpeg': 'jpg',
    'image/svg+xml': 'svg',
    'image/x-icon': 'ico',
    'text/plain': 'txt',
    'text/html': 'html',
    'text/xml': 'xml',
    'text/csv': 'csv',
    'text/tab-separated-values': 'tsv',
    'text/markdown': 'md',
    'text/calendar': 'ics',
    'text/vcard': 'vcf',
    'audio/mpeg': 'mp3',
    'audio/mp4': 'm4a',
    'application/json': 'json',
    'application/gzip': 'gz',
    'application/x-bzip2': 'bz2',
    'application/x-xz': 'xz',
    'application/x-7z-compressed': '7z',
    'application/vnd.rar': 'rar',
    'application/x-tar': 'tar',
    'application/zstd': 'zst',
    'application/msword': 'doc',
    'application/vnd.ms-excel': 'xls',
    'application/vnd.ms-powerpoint': 'ppt',
    'application/vnd.ms-outlook': 'msg',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
    'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
    'application/postscript': 'ps',
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
