// How a record value reads in the table (short, plain text).
import { shortDate } from './datetime';
import type { Field } from './schema';

export function cellText(field: Field | undefined, value: unknown): string {
  if (value === null || value === undefined || value === '') return '';
  const type = field?.type ?? 'text';
  switch (type) {
    case 'bool':
      return value ? 'true' : 'false';
    case 'date':
    case 'autodate':
      return shortDate(value);
    case 'editor': {
      const text = String(value)
        .replace(/<[^>]*>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim();
      return clip(text);
    }
    case 'json':
      return clip(JSON.stringify(value));
    case 'geoPoint': {
      const p = value as { lon?: number; lat?: number };
      return `${p.lon ?? 0}, ${p.lat ?? 0}`;
    }
    default:
      return clip(Array.isArray(value) ? value.join(', ') : typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
}

function clip(s: string, max = 80): string {
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

export function isImage(name: string): boolean {
  return /\.(png|jpe?g|gif|webp|svg|avif)$/i.test(name);
}
