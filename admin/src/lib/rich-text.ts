// The editor field's rich-text editor (tiptap on ProseMirror). Loaded on demand (dynamic import) the
// first time an editor field is shown, like CodeMirror. Whatever HTML comes in (a stored value, a paste)
// is parsed into the editor's schema, which knows only paragraphs, headings, lists, blockquotes, code,
// bold/italic/strike, links and rules: scripts, event handlers and styles have nowhere to go. Links are
// limited to http(s)/mailto/tel, and the emitted HTML passes sanitizeHtml as a second fence.
import { Editor } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';
import { safeHref, sanitizeHtml } from './sanitize-html';

export interface RichEditorOptions {
  element: HTMLElement;
  html: string;
  id?: string;
  ariaLabel: string;
  onChange: (html: string) => void;
  /** Called on every selection/content change, so the toolbar can show what is active. */
  onState: () => void;
}

export type Mark = 'bold' | 'italic' | 'strike' | 'code' | 'link';
export type Block = 'heading2' | 'heading3' | 'bulletList' | 'orderedList' | 'blockquote' | 'codeBlock';

export interface RichEditorHandle {
  isActive(what: Mark | Block): boolean;
  toggle(what: Mark | Block): void;
  /** The current link's href ('' when none). */
  linkHref(): string;
  setLink(href: string): boolean;
  unsetLink(): void;
  undo(): void;
  redo(): void;
  setHtml(html: string): void;
  focus(): void;
  destroy(): void;
}

/** The editor's HTML as stored: '' for an empty document. */
function output(editor: Editor): string {
  return editor.isEmpty ? '' : sanitizeHtml(editor.getHTML());
}

export function createRichEditor(opts: RichEditorOptions): RichEditorHandle {
  const editor = new Editor({
    element: opts.element,
    content: sanitizeHtml(opts.html),
    extensions: [
      StarterKit.configure({
        heading: { levels: [1, 2, 3, 4] },
        underline: false,
        link: {
          openOnClick: false,
          autolink: true,
          defaultProtocol: 'https',
          protocols: ['http', 'https', 'mailto', 'tel'],
          isAllowedUri: (url) => safeHref(url),
          HTMLAttributes: { rel: 'noopener noreferrer nofollow', target: null },
        },
      }),
    ],
    editorProps: {
      attributes: {
        class: 'rich-content',
        role: 'textbox',
        'aria-multiline': 'true',
        'aria-label': opts.ariaLabel,
        ...(opts.id ? { id: opts.id } : {}),
      },
    },
    onUpdate: ({ editor: e }) => opts.onChange(output(e)),
    onSelectionUpdate: () => opts.onState(),
    onTransaction: () => opts.onState(),
  });

  const chain = () => editor.chain().focus();
  return {
    isActive(what) {
      if (what === 'heading2') return editor.isActive('heading', { level: 2 });
      if (what === 'heading3') return editor.isActive('heading', { level: 3 });
      return editor.isActive(what);
    },
    toggle(what) {
      const c = chain();
      switch (what) {
        case 'bold':
          c.toggleBold().run();
          break;
        case 'italic':
          c.toggleItalic().run();
          break;
        case 'strike':
          c.toggleStrike().run();
          break;
        case 'code':
          c.toggleCode().run();
          break;
        case 'link':
          c.unsetLink().run();
          break;
        case 'heading2':
          c.toggleHeading({ level: 2 }).run();
          break;
        case 'heading3':
          c.toggleHeading({ level: 3 }).run();
          break;
        case 'bulletList':
          c.toggleBulletList().run();
          break;
        case 'orderedList':
          c.toggleOrderedList().run();
          break;
        case 'blockquote':
          c.toggleBlockquote().run();
          break;
        case 'codeBlock':
          c.toggleCodeBlock().run();
          break;
      }
    },
    linkHref() {
      return String(editor.getAttributes('link').href ?? '');
    },
    setLink(href) {
      const v = href.trim();
      if (!v || !safeHref(v)) return false;
      const c = chain().extendMarkRange('link');
      if (editor.state.selection.empty && !editor.isActive('link'))
        c.insertContent({ type: 'text', text: v, marks: [{ type: 'link', attrs: { href: v } }] }).run();
      else c.setLink({ href: v }).run();
      return true;
    },
    unsetLink() {
      chain().extendMarkRange('link').unsetLink().run();
    },
    undo() {
      chain().undo().run();
    },
    redo() {
      chain().redo().run();
    },
    setHtml(html) {
      if (html !== output(editor)) editor.commands.setContent(sanitizeHtml(html), { emitUpdate: false });
    },
    focus() {
      editor.commands.focus();
    },
    destroy() {
      editor.destroy();
    },
  };
}
