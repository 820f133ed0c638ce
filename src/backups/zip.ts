/**
 * Zip archives for backups: writing a list of files (yazl) to a temporary name that is renamed into place
 * only once complete, and extracting an untrusted archive (yauzl) into a fresh folder with every entry
 * name checked: no absolute paths, no `..`, no symlinks or devices, bounded entry count and total size.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type yauzl from 'yauzl';

export interface ZipSource {
  /** Path inside the archive (forward slashes). */
  name: string;
  /** File on disk. */
  path: string;
}

/** Thrown for an archive that is not a usable backup (corrupt, hostile names, too large...). */
export class BadArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadArchiveError';
  }
}

/** Limits for extraction (defaults: 100,000 entries, 64 GiB uncompressed). */
export interface ExtractLimits {
  maxEntries?: number;
  maxBytes?: number;
}

/**
 * Writes `sources` as a zip into `out` (a stream opened by the caller, so tests can inject failures).
 * `onProgress` gets bytes of input added so far.
 */
export async function writeZip(sources: readonly ZipSource[], out: Writable, onProgress?: (done: number, total: number) => void): Promise<void> {
  // yazl/yauzl load with the first backup or restore, not at start.
  const { default: yazl } = await import('yazl');
  const zip = new yazl.ZipFile();
  let total = 0;
  const sizes: number[] = [];
  const mtimes: Date[] = [];
  const present: ZipSource[] = [];
  for (const s of sources) {
    // A file removed since it was listed (not one the backup's records need: those deletions are held).
    const st = await stat(s.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (!st) continue;
    present.push(s);
    sizes.push(st.size);
    mtimes.push(st.mtime);
    total += st.size;
  }
  let done = 0;
  present.forEach((s, i) => {
    const size = sizes[i] as number;
    zip.addReadStreamLazy(s.name, { size, mtime: mtimes[i] as Date }, (cb) => {
      const stream = createReadStream(s.path);
      stream.on('data', (chunk) => {
        done += (chunk as Buffer).length;
        onProgress?.(done, total);
      });
      cb(null, stream);
    });
  });
  zip.end();
  await pipeline(zip.outputStream as unknown as Readable, out);
}

/** Writes a zip file at `dest` through a temporary sibling, renamed into place only when complete. */
export async function writeZipFile(
  sources: readonly ZipSource[],
  tmpPath: string,
  openOut: (path: string) => Writable = (p) => createWriteStream(p, { flags: 'wx' }),
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  await mkdir(dirname(tmpPath), { recursive: true });
  try {
    await writeZip(sources, openOut(tmpPath), onProgress);
  } catch (err) {
    await rm(tmpPath, { force: true }).catch(() => undefined);
    throw err;
  }
}

async function openZip(path: string): Promise<yauzl.ZipFile> {
  const { default: unzip } = await import('yauzl');
  return new Promise((res, rej) => {
    unzip.open(path, { lazyEntries: true, autoClose: false, strictFileNames: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) rej(new BadArchiveError(`The file is not a valid zip archive (${err?.message ?? 'unreadable'}).`));
      else res(zip);
    });
  });
}

/** A safe relative path for an entry, or a reason it is not. */
function checkEntryName(name: string): string | null {
  if (name.length === 0 || name.length > 1000) return 'empty or overlong name';
  if (name.includes('\\') || name.includes('\0')) return 'backslash or NUL in name';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'absolute path';
  const parts = name.replace(/\/$/, '').split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return 'relative path segment';
  return null;
}

/**
 * Extracts `zipPath` into `destDir` (created; must not exist yet). Refuses the whole archive on the first
 * bad entry: the caller removes `destDir` then.
 */
export async function extractZip(zipPath: string, destDir: string, limits: ExtractLimits = {}): Promise<string[]> {
  const maxEntries = limits.maxEntries ?? 100_000;
  const maxBytes = limits.maxBytes ?? 64 * 1024 ** 3;
  const root = resolve(destDir);
  await mkdir(root, { recursive: false });
  const zip = await openZip(zipPath);
  const names: string[] = [];
  let entries = 0;
  let bytes = 0;
  try {
    await new Promise<void>((res, rej) => {
      const fail = (err: unknown) => rej(err instanceof BadArchiveError ? err : new BadArchiveError(`The zip archive is corrupt (${(err as Error).message}).`));
      zip.on('error', fail);
      zip.on('end', () => res());
      zip.on('entry', (entry: yauzl.Entry) => {
        void (async () => {
          entries++;
          if (entries > maxEntries) throw new BadArchiveError(`The archive has more than ${maxEntries} entries.`);
          const problem = checkEntryName(entry.fileName);
          if (problem) throw new BadArchiveError(`The archive has an unsafe entry "${entry.fileName.slice(0, 200)}" (${problem}).`);
          const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
          const isDir = entry.fileName.endsWith('/');
          if (mode !== 0 && mode !== 0o100000 && !(isDir && mode === 0o040000)) {
            throw new BadArchiveError(`The archive entry "${entry.fileName.slice(0, 200)}" is not a regular file (links are refused).`);
          }
          if (entry.isEncrypted()) throw new BadArchiveError('Encrypted archives are not supported.');
          const target = resolve(join(root, ...entry.fileName.replace(/\/$/, '').split('/')));
          if (!target.startsWith(root + sep)) throw new BadArchiveError(`The archive entry "${entry.fileName.slice(0, 200)}" escapes the folder.`);
          if (isDir) {
            await mkdir(target, { recursive: true });
          } else {
            bytes += entry.uncompressedSize;
            if (bytes > maxBytes) throw new BadArchiveError(`The archive expands to more than ${maxBytes} bytes.`);
            await mkdir(dirname(target), { recursive: true });
            const input = await new Promise<Readable>((ok, ko) =>
              zip.openReadStream(entry, (err, s) => (err || !s ? ko(err ?? new Error('no stream')) : ok(s))),
            );
            await pipeline(input, createWriteStream(target, { flags: 'wx' }));
            names.push(entry.fileName);
          }
          zip.readEntry();
        })().catch(fail);
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return names;
}

/** Entry names of an archive without extracting it (a quick well-formedness check). */
export async function listZip(zipPath: string): Promise<string[]> {
  const zip = await openZip(zipPath);
  const names: string[] = [];
  try {
    await new Promise<void>((res, rej) => {
      zip.on('error', (err: Error) => rej(new BadArchiveError(`The zip archive is corrupt (${err.message}).`)));
      zip.on('end', () => res());
      zip.on('entry', (entry: yauzl.Entry) => {
        names.push(entry.fileName);
        zip.readEntry();
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return names;
}
