/**
 * Identifiers in PocketBase's formats: deterministic collection and field ids (CRC32 based, so the same
 * definition gets the same id on every instance) and random record ids and secrets.
 */
import { LOWER_ALPHANUMERIC_ALPHABET, randomString } from '../util/random.js';
import type { CollectionType, FieldTypeName } from './model.js';

export { ALPHANUMERIC_ALPHABET, LOWER_ALPHANUMERIC_ALPHABET, randomString } from '../util/random.js';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * IEEE CRC32 (what Go's `crc32.ChecksumIEEE` and PNG chunks use) of `data`, a string taken as its UTF-8
 * bytes, as an unsigned number.
 */
export function crc32(data: string | Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of typeof data === 'string' ? Buffer.from(data, 'utf8') : data) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** PocketBase's default collection id: `pbc_` + decimal CRC32 of type + name (e.g. `_superusers` → `pbc_3142635823`). */
export function collectionId(type: CollectionType, name: string): string {
  return `pbc_${crc32(type + name)}`;
}

/** PocketBase's default field id: the type followed by the decimal CRC32 of the name (e.g. `text3208210256` for `id`). */
export function fieldId(type: FieldTypeName, name: string): string {
  return `${type}${crc32(name)}`;
}

/**
 * `base`, then `base2`, `base3` … (up to 999, as PocketBase) until `taken` says no; the last candidate is
 * returned even if taken, so validation reports the clash instead of looping forever.
 */
export function uniqueId(base: string, taken: (id: string) => boolean): string {
  if (!taken(base)) return base;
  for (let i = 2; i < 1000; i++) {
    const candidate = `${base}${i}`;
    if (!taken(candidate)) return candidate;
  }
  return base;
}

/** A new random record id: 15 characters of `[a-z0-9]`. */
export function newRecordId(): string {
  return randomString(15, LOWER_ALPHANUMERIC_ALPHABET);
}

/** A random secret of `length` `[a-zA-Z0-9]` characters (token secrets, token keys). */
export function randomSecret(length = 50): string {
  return randomString(length);
}
