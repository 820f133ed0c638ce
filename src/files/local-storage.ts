/**
 * Local directory back end: `<root>/<key>`. On a data directory that came from PocketBase
 * (`pocketbaseSidecars`), laid out as PocketBase's (gocloud fileblob): beside each file a `<file>.attrs`
 * JSON sidecar with its content type and MD5, so PocketBase serves files Plinth wrote
 * (docs/migrating-from-pocketbase.md). Plinth itself never reads the sidecars. Writes go to a temporary sibling and are renamed into place,
 * so a reader never sees half a file; symlinks and non-regular files are treated as missing, so a planted
 * link or a directory named like a file cannot be served.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { LOWER_ALPHANUMERIC_ALPHABET, randomString } from '../util/random.js';
import { assertSafeKey, collect, type ByteRange, type FileStorage, type ObjectInfo } from './storage.js';

/** Files under one directory. */
export class LocalStorage implements FileStorage {
  readonly kind = 'local';
  private readonly root: string;
  /** Write (and delete) gocloud's `.attrs` sidecars, as PocketBase does: set on PocketBase data directories. */
  pocketbaseSidecars = false;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The absolute path of a key, checked to stay inside the root (defence in depth after assertSafeKey). */
  private pathOf(key: string): string {
    assertSafeKey(key);
    const path = resolve(join(this.root, ...key.split('/')));
    if (!path.startsWith(this.root + sep)) throw new Error('storage key escapes the root');
    return path;
  }

  /** Plinth's serving sniffs the bytes again; the content type goes only into PocketBase's `.attrs` sidecar. */
  async put(key: string, data: Buffer, contentType?: string): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    await this.writeAtomically(path, data);
    if (this.pocketbaseSidecars) await this.writeAtomically(`${path}.attrs`, Buffer.from(attrsJson(data, contentType ?? '', basename(path))));
  }

  private async writeAtomically(path: string, data: Buffer): Promise<void> {
    // The temp name starts with a dot: isSafeFileName refuses it, so it can never be requested.
    const tmp = join(dirname(path), `.tmp_${randomString(12, LOWER_ALPHANUMERIC_ALPHABET)}`);
    try {
      await writeFile(tmp, data, { flag: 'wx' });
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    try {
      const st = await lstat(this.pathOf(key));
      return st.isFile() ? { size: st.size, modified: st.mtime } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(key);
    if (!(await this.stat(key))) throw notFound(key);
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async readAll(key: string, maxBytes: number): Promise<Buffer> {
    return collect(await this.read(key), maxBytes);
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    await rm(path, { force: true });
    await rm(`${path}.attrs`, { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.pathOf(prefix), { recursive: true, force: true });
  }

  async pruneEmpty(prefix: string): Promise<void> {
    // rmdir only removes an empty folder: anything written meanwhile (a concurrent write) stays.
    await rmdir(this.pathOf(prefix)).catch(() => undefined);
  }
}

/** gocloud fileblob's sidecar (what PocketBase's local storage writes and reads back). */
function attrsJson(data: Buffer, contentType: string, name: string): string {
  return JSON.stringify({
    'user.cache_control': '',
    'user.content_disposition': '',
    'user.content_encoding': '',
    'user.content_language': '',
    'user.content_type': contentType,
    'user.metadata': { 'original-filename': name },
    md5: createHash('md5').update(data).digest('base64'),
  });
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function notFound(key: string): Error {
  return Object.assign(new Error(`no such file: ${key}`), { code: 'ENOENT' });
}
