// Short status messages (saved, deleted, failed); read by screen readers through an aria-live region.
export interface Toast {
  id: number;
  kind: 'ok' | 'error';
  text: string;
}

export const toasts = $state<Toast[]>([]);
let seq = 0;

export function toast(text: string, kind: Toast['kind'] = 'ok'): void {
  const id = ++seq;
  toasts.push({ id, kind, text });
  setTimeout(() => dismiss(id), kind === 'error' ? 8000 : 3500);
}

export function dismiss(id: number): void {
  const i = toasts.findIndex((t) => t.id === id);
  if (i >= 0) toasts.splice(i, 1);
}
