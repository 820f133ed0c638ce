// CodeMirror 6 set-up for the rule/filter, JSON and SQL (view query) editors. Loaded on demand (dynamic import), so the
// first screen does not pay for it.
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, completionStatus, type CompletionContext } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { json } from '@codemirror/lang-json';
import { sql, SQLite } from '@codemirror/lang-sql';
import { bracketMatching, defaultHighlightStyle, StreamLanguage, syntaxHighlighting } from '@codemirror/language';
import { setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorState, Prec, type Extension } from '@codemirror/state';
import { EditorView, keymap, placeholder as placeholderExt } from '@codemirror/view';
import type { Word } from './completions';

/** A small tokenizer for the filter language: strings, numbers, @macros/@request, operators. */
const filterLanguage = StreamLanguage.define({
  token(stream) {
    if (stream.eatSpace()) return null;
    if (stream.match(/^"(?:[^"\\]|\\.)*"?/) || stream.match(/^'(?:[^'\\]|\\.)*'?/)) return 'string';
    if (stream.match(/^\/\/.*/)) return 'comment';
    if (stream.match(/^-?\d+(\.\d+)?/)) return 'number';
    if (stream.match(/^@[\w.]+/)) return 'variableName.special';
    if (stream.match(/^(true|false|null)\b/)) return 'atom';
    if (stream.match(/^(\?=|\?!=|\?>=|\?>|\?<=|\?<|\?~|\?!~|!=|>=|<=|!~|&&|\|\||[=<>~])/)) return 'operator';
    if (stream.match(/^[\w.]+(:\w+)?/)) return 'propertyName';
    stream.next();
    return null;
  },
});

export interface EditorOptions {
  parent: HTMLElement;
  doc: string;
  language: 'filter' | 'json' | 'sql';
  /** For SQL: table name → column names, for completion. */
  sqlSchema?: Record<string, string[]>;
  singleLine?: boolean;
  placeholder?: string;
  ariaLabel?: string;
  ariaDescribedBy?: string;
  words?: () => Word[];
  onChange: (doc: string) => void;
  onSubmit?: () => void;
}

export interface EditorHandle {
  setDoc(doc: string): void;
  showError(error: { message: string; position?: number; length?: number } | null): void;
  focus(): void;
  destroy(): void;
}

export function createEditor(opts: EditorOptions): EditorHandle {
  const complete = (ctx: CompletionContext) => {
    if (!opts.words) return null;
    const word = ctx.matchBefore(/[@\w.:]*/);
    if (!word || (word.from === word.to && !ctx.explicit)) return null;
    return { from: word.from, options: opts.words(), validFor: /^[@\w.:]*$/ };
  };
  const extensions: Extension[] = [
    history(),
    closeBrackets(),
    bracketMatching(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    opts.language === 'json'
      ? json()
      : opts.language === 'sql'
        ? sql({ dialect: SQLite, schema: opts.sqlSchema ?? {}, upperCaseKeywords: true })
        : filterLanguage,
    // SQL completes keywords, tables and columns from the language's own source; the others from `words`.
    opts.language === 'sql'
      ? autocompletion({ activateOnTyping: true, icons: false })
      : autocompletion({ override: [complete], activateOnTyping: true, icons: false }),
    keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) opts.onChange(u.state.doc.toString());
    }),
    EditorView.contentAttributes.of({
      'aria-label': opts.ariaLabel ?? 'Expression',
      ...(opts.ariaDescribedBy ? { 'aria-describedby': opts.ariaDescribedBy } : {}),
      ...(opts.singleLine ? {} : { 'aria-multiline': 'true' }),
    }),
  ];
  if (!opts.singleLine || opts.language === 'json') extensions.push(EditorView.lineWrapping);
  if (opts.placeholder) extensions.push(placeholderExt(opts.placeholder));
  if (opts.singleLine) {
    extensions.push(EditorState.transactionFilter.of((tr) => (tr.newDoc.lines > 1 ? [] : tr)));
    extensions.push(
      Prec.highest(
        keymap.of([
          {
            key: 'Enter',
            run: (view) => {
              if (completionStatus(view.state) === 'active') return false;
              opts.onSubmit?.();
              return true;
            },
          },
        ]),
      ),
    );
  }
  const view = new EditorView({ parent: opts.parent, state: EditorState.create({ doc: opts.doc, extensions }) });
  return {
    setDoc(doc) {
      if (doc !== view.state.doc.toString()) view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: doc } });
    },
    showError(error) {
      const len = view.state.doc.length;
      const diags: Diagnostic[] = [];
      if (error) {
        const from = Math.min(error.position ?? 0, len);
        const to = error.position === undefined ? len : Math.min(from + Math.max(1, error.length ?? 1), len);
        diags.push({ from, to: Math.max(from, to), severity: 'error', message: error.message });
      }
      view.dispatch(setDiagnostics(view.state, diags));
    },
    focus() {
      view.focus();
    },
    destroy() {
      view.destroy();
    },
  };
}
