// PocketBase datetimes are UTC `YYYY-MM-DD HH:MM:SS.sssZ`; `<input type=datetime-local>` wants
// `YYYY-MM-DDTHH:MM[:SS]`. The UI edits and shows them in UTC, as PocketBase's dashboard does.

export function toInputValue(value: unknown): string {
  if (typeof value !== 'string' || value === '') return '';
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)/.exec(value);
  return m ? `${m[1]}T${m[2]}` : '';
}

export function fromInputValue(value: string): string {
  if (!value) return '';
  const [date, time = '00:00'] = value.split('T');
  const full = time.length === 5 ? `${time}:00` : time.slice(0, 8);
  return `${date} ${full}.000Z`;
}

/** Short display form: `2024-05-01 10:20:30 UTC`. */
export function shortDate(value: unknown): string {
  if (typeof value !== 'string' || value === '') return '';
  return value.replace(/\.\d+Z$/, '').replace('T', ' ') + ' UTC';
}
