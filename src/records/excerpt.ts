/**
 * HTML → plain-text excerpt, the behaviour of PocketBase's `:excerpt(max, withEllipsis?)` fields modifier
 * (`tools/picker/excerpt_modifier.go`). PocketBase walks a full `x/net/html` parse tree; a small tolerant tokenizer
 * gives the same text for real-world editor HTML without a dependency: text nodes with whitespace collapsed,
 * non-content elements (scripts, media, form controls) dropped, and a space around every block-level element.
 */

/** Elements whose whole subtree is dropped (PocketBase's `excludeTags`). */
const EXCLUDED = new Set([
  'head',
  'style',
  'script',
  'iframe',
  'embed',
  'applet',
  'object',
  'svg',
  'img',
  'picture',
  'dialog',
  'template',
  'button',
  'form',
  'textarea',
  'input',
  'select',
  'option',
]);

/** Elements that do not separate words (PocketBase's `inlineTags`); every other element is treated as a block. */
const INLINE = new Set([
  'a',
  'abbr',
  'acronym',
  'b',
  'bdo',
  'big',
  'br',
  'button',
  'cite',
  'code',
  'em',
  'i',
  'label',
  'q',
  'small',
  'span',
  'strong',
  'strike',
  'sub',
  'sup',
  'time',
]);

/** Elements that never have content, so they are never "open". */
const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr']);

/** Elements whose content is raw text for an HTML parser: `<` inside them does not start a tag. */
const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes']);

/** Go's regexp `\s` is ASCII whitespace only; U+00A0 from `&nbsp;` is kept, as in PocketBase. */
const WHITESPACE = /[\t\n\f\r ]+/g;

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  copy: '\u00a9',
  reg: '\u00ae',
  hellip: '\u2026',
  mdash: '\u2014',
  ndash: '\u2013',
  lsquo: '\u2018',
  rsquo: '\u2019',
  ldquo: '\u201c',
  rdquo: '\u201d',
  laquo: '\u00ab',
  raquo: '\u00bb',
  middot: '\u00b7',
  bull: '\u2022',
  euro: '\u20ac',
  trade: '\u2122',
  deg: '\u00b0',
  times: '\u00d7',
};

/**
 * Returns a plain-text excerpt of `html`: tags stripped, whitespace collapsed, trimmed, then cut to `maxLen` code
 * points (and trimmed again) with `...` appended when cut and `withEllipsis` is set. `maxLen` must be > 0.
 */
export function excerpt(html: string, maxLen: number, withEllipsis = false): string {
  const text = htmlToText(html, maxLen + 2).trim();
  const chars = Array.from(text);
  if (chars.length <= maxLen) return text;
  const cut = chars.slice(0, maxLen).join('').trim();
  return withEllipsis ? `${cut}...` : cut;
}

/**
 * Plain text of `html` with PocketBase's spacing rules. Stops early once more than `stopAfter` code points were
 * produced, because the caller only keeps a prefix (a multi-megabyte field should not be fully walked).
 */
export function htmlToText(html: string, stopAfter = Infinity): string {
  let out = '';
  let produced = 0;
  let prevSpace = false;
  const open: string[] = [];

  const space = (): void => {
    if (!prevSpace) {
      out += ' ';
      produced++;
      prevSpace = true;
    }
  };
  const text = (raw: string): void => {
    let t = decodeEntities(raw).replace(WHITESPACE, ' ');
    if (prevSpace) t = t.replace(/^ +/, '');
    if (t === '') return;
    prevSpace = t.endsWith(' ');
    out += t;
    produced += codePointLength(t);
  };

  let i = 0;
  while (i < html.length && produced <= stopAfter) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      text(html.slice(i));
      break;
    }
    if (lt > i) text(html.slice(i, lt));
    const tag = readTag(html, lt);
    if (tag === null) {
      // A lone '<' that does not start markup is literal text, as in HTML.
      text('<');
      i = lt + 1;
      continue;
    }
    i = tag.end;
    if (tag.kind === 'comment') continue;
    if (tag.kind === 'end') {
      const at = open.lastIndexOf(tag.name);
      if (at < 0) continue; // a stray end tag is ignored by HTML parsers
      for (const name of open.splice(at)) if (!INLINE.has(name)) space();
      continue;
    }
    if (EXCLUDED.has(tag.name)) {
      if (!VOID.has(tag.name) && !tag.selfClosing) i = skipElement(html, i, tag.name);
      continue;
    }
    const block = !INLINE.has(tag.name);
    if (block) space();
    if (VOID.has(tag.name)) {
      if (block) space();
      continue;
    }
    if (RAW_TEXT.has(tag.name)) {
      // Raw-text content (e.g. <title>) is text, never markup.
      const close = findClose(html, i, tag.name);
      text(html.slice(i, close.start));
      i = close.end;
      if (block) space();
      continue;
    }
    open.push(tag.name);
  }
  return out;
}

interface Tag {
  kind: 'start' | 'end' | 'comment';
  name: string;
  selfClosing: boolean;
  end: number;
}

/** Reads the markup starting at `html[lt] === '<'`, or null when it is a literal '<'. */
function readTag(html: string, lt: number): Tag | null {
  const next = html.charAt(lt + 1);
  if (html.startsWith('<!--', lt)) {
    const close = html.indexOf('-->', lt + 4);
    return { kind: 'comment', name: '', selfClosing: false, end: close < 0 ? html.length : close + 3 };
  }
  if (next === '!' || next === '?') {
    // Doctype, CDATA and processing instructions are bogus comments for an HTML parser.
    const close = html.indexOf('>', lt + 2);
    return { kind: 'comment', name: '', selfClosing: false, end: close < 0 ? html.length : close + 1 };
  }
  const isEnd = next === '/';
  const nameStart = isEnd ? lt + 2 : lt + 1;
  if (!/[A-Za-z]/.test(html.charAt(nameStart))) return null;
  let j = nameStart;
  while (j < html.length && !/[\s/>]/.test(html.charAt(j))) j++;
  const name = html.slice(nameStart, j).toLowerCase();
  // Skip attributes, honouring quoted values that may contain '>'.
  let quote = '';
  let selfClosing = false;
  for (; j < html.length; j++) {
    const c = html.charAt(j);
    if (quote !== '') {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '>') {
      selfClosing = html.charAt(j - 1) === '/';
      return { kind: isEnd ? 'end' : 'start', name, selfClosing, end: j + 1 };
    }
  }
  return { kind: isEnd ? 'end' : 'start', name, selfClosing, end: html.length };
}

/** Position just after the end tag closing `name` (nested same-name elements counted); raw-text elements do not nest. */
function skipElement(html: string, from: number, name: string): number {
  if (RAW_TEXT.has(name)) return findClose(html, from, name).end;
  let depth = 1;
  let i = from;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) return html.length;
    const tag = readTag(html, lt);
    if (tag === null) {
      i = lt + 1;
      continue;
    }
    // </head> is optional: the document body implicitly ends the head.
    if (name === 'head' && tag.kind === 'start' && tag.name === 'body') return lt;
    i = tag.end;
    if (tag.name !== name) continue;
    if (tag.kind === 'start' && !tag.selfClosing) depth++;
    else if (tag.kind === 'end' && --depth === 0) return i;
  }
  return html.length;
}

/** Finds `</name ...>` (case-insensitive) at or after `from`; an unclosed raw-text element runs to the end. */
function findClose(html: string, from: number, name: string): { start: number; end: number } {
  const re = new RegExp(`</${name}[\\s/>]`, 'ig');
  re.lastIndex = from;
  const m = re.exec(html);
  if (!m) return { start: html.length, end: html.length };
  const gt = html.indexOf('>', m.index);
  return { start: m.index, end: gt < 0 ? html.length : gt + 1 };
}

/** Named references that HTML also decodes without the trailing ';' (the common legacy ones). */
const LEGACY_NO_SEMICOLON = new Set(['amp', 'lt', 'gt', 'quot', 'nbsp', 'copy', 'reg']);

/** Decodes numeric character references and the common named entities; unknown references stay literal. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]{1,31})(;?)/g, (whole, ref: string, semi: string) => {
    if (ref.charCodeAt(0) === 35 /* # */) {
      const hex = ref.charAt(1) === 'x' || ref.charAt(1) === 'X';
      const cp = parseInt(ref.slice(hex ? 2 : 1), hex ? 16 : 10);
      // Invalid code points become U+FFFD, as the HTML spec says.
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : '\ufffd';
    }
    if (!Object.hasOwn(NAMED_ENTITIES, ref) || (semi === '' && !LEGACY_NO_SEMICOLON.has(ref))) return whole;
    return NAMED_ENTITIES[ref] as string;
  });
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
