// The editor field's HTML, cleaned: only the tags and attributes the rich-text editor can produce, and
// links only to http(s), mailto and tel (or relative/#anchors). The editor's schema already drops
// everything else when it parses pasted or stored HTML; this is the second fence for what it emits.
// Parsing uses DOMParser, whose documents run no scripts and load nothing.

const TAGS = new Set([
  'p',
  'br',
  'strong',
  'b',
  'em',
  'i',
  'u',
  's',
  'code',
  'pre',
  'blockquote',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'ul',
  'ol',
  'li',
  'a',
  'hr',
]);
// Tags whose content goes too (not just the tag).
const DROP = new Set([
  'script',
  'style',
  'iframe',
  'object',
  'embed',
  'template',
  'noscript',
  'svg',
  'math',
  'head',
  'title',
  'meta',
  'link',
  'base',
  'form',
  'input',
  'button',
  'textarea',
  'select',
]);
const ATTRS: Record<string, Set<string>> = {
  a: new Set(['href', 'target', 'rel']),
  ol: new Set(['start', 'type']),
  code: new Set(['class']),
  pre: new Set(['class']),
};

/** True for a link target that cannot run script: http(s), mailto, tel, or relative / #anchor. */
export function safeHref(href: string): boolean {
  // Browsers ignore control characters and whitespace inside a scheme ("java\tscript:"): so do we.
  const v = href.replace(/[\u0000-\u0020\u007f-\u009f]/g, '');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(v);
  if (!scheme) return true;
  return ['http', 'https', 'mailto', 'tel'].includes(scheme[1]!.toLowerCase());
}

export function sanitizeHtml(html: string): string {
  if (!html) return '';
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html');
  clean(doc.body);
  return doc.body.innerHTML;
}

function clean(node: Element): void {
  for (const child of [...node.childNodes]) {
    if (child.nodeType === Node.TEXT_NODE) continue;
    if (child.nodeType !== Node.ELEMENT_NODE) {
      child.remove(); // comments, processing instructions
      continue;
    }
    const el = child as Element;
    const tag = el.tagName.toLowerCase();
    if (DROP.has(tag)) {
      el.remove();
      continue;
    }
    clean(el);
    if (!TAGS.has(tag)) {
      el.replaceWith(...el.childNodes); // keep the text of an unknown wrapper (span, div, font…)
      continue;
    }
    const allowed = ATTRS[tag];
    for (const attr of [...el.attributes]) {
      if (!allowed?.has(attr.name)) el.removeAttribute(attr.name);
    }
    if (tag === 'a') {
      const href = el.getAttribute('href');
      if (href !== null && !safeHref(href)) el.removeAttribute('href');
      if (el.getAttribute('target') === '_blank') el.setAttribute('rel', 'noopener noreferrer nofollow');
    }
    if ((tag === 'code' || tag === 'pre') && el.hasAttribute('class') && !/^language-[\w-]+$/.test(el.getAttribute('class') ?? '')) el.removeAttribute('class');
  }
}
