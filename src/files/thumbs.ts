/**
 * Thumbnails (`?thumb=WxH[t|b|f]`, `0xH`, `Wx0`) made with sharp, loaded on first use. Only sizes the
 * field lists (plus `100x100`) are made, and inputs are bounded before decoding: a pixel-flood image (a
 * few bytes declaring billions of pixels) is refused from its header, never decoded.
 */
import type { FileField } from '../collections/model.js';

/** The always-allowed size (PocketBase's default). */
export const DEFAULT_THUMB = '100x100';
/** Largest thumbnail side we make; bigger configured sizes are served as the original. */
export const MAX_THUMB_SIDE = 4096;
/** Largest input we decode (≈ 8000×8000), and its longest side. */
export const MAX_INPUT_PIXELS = 64_000_000;
export const MAX_INPUT_SIDE = 16_384;

/** A parsed thumb size. `mode`: crop anchored centre/top/bottom, fit inside (no crop), or keep aspect. */
export interface ThumbSpec {
  size: string;
  width: number;
  height: number;
  mode: 'center' | 'top' | 'bottom' | 'fit' | 'aspect';
}

/** Parses `WxH`, `WxHt`, `WxHb`, `WxHf`, `0xH`, `Wx0`; null for anything else (`0x0`, huge or odd input). */
export function parseThumb(size: string): ThumbSpec | null {
  const m = /^(\d{1,5})x(\d{1,5})([tbf]?)$/.exec(size);
  if (!m) return null;
  const width = Number(m[1]);
  const height = Number(m[2]);
  const suffix = m[3] as string;
  if (width === 0 && height === 0) return null;
  if (width > MAX_THUMB_SIDE || height > MAX_THUMB_SIDE) return null;
  if (width === 0 || height === 0) return suffix === '' ? { size, width, height, mode: 'aspect' } : null;
  const mode = suffix === 't' ? 'top' : suffix === 'b' ? 'bottom' : suffix === 'f' ? 'fit' : 'center';
  return { size, width, height, mode };
}

/** The thumb to make for `?thumb=` on a file of `field`, or null to serve the original. */
export function allowedThumb(field: FileField, size: string | undefined): ThumbSpec | null {
  if (!size) return null;
  if (size !== DEFAULT_THUMB && !(field.thumbs ?? []).includes(size)) return null;
  return parseThumb(size);
}

type Sharp = typeof import('sharp').default;
let sharpPromise: Promise<Sharp> | null = null;
function loadSharp(): Promise<Sharp> {
  sharpPromise ??= import('sharp').then((m) => {
    const sharp = m.default;
    // No libvips operation cache (flat memory) and one worker thread per image: a 2-core box stays responsive.
    sharp.cache(false);
    sharp.concurrency(1);
    return sharp;
  });
  return sharpPromise;
}

/** Why an image could not be thumbnailed (the caller serves the original instead). */
export class ThumbError extends Error {}

/**
 * Makes a thumbnail in the input's own format (png/jpeg/gif/webp; animated images use their first frame).
 * Rejects with ThumbError for corrupt input or an image over the pixel/side limits.
 */
export async function makeThumb(input: Buffer, type: string, spec: ThumbSpec): Promise<Buffer> {
  const sharp = await loadSharp();
  const options = { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' as const, animated: false, sequentialRead: true };
  let meta: { width?: number | undefined; height?: number | undefined };
  try {
    meta = await sharp(input, options).metadata();
  } catch (err) {
    throw new ThumbError(`unreadable image: ${(err as Error).message}`);
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w <= 0 || h <= 0 || w > MAX_INPUT_SIDE || h > MAX_INPUT_SIDE || w * h > MAX_INPUT_PIXELS) {
    throw new ThumbError(`image too large to thumbnail (${w}x${h})`);
  }
  let img = sharp(input, options).rotate();
  if (spec.mode === 'aspect') {
    img = img.resize(spec.width > 0 ? { width: spec.width } : { height: spec.height });
  } else if (spec.mode === 'fit') {
    img = img.resize(spec.width, spec.height, { fit: 'inside', withoutEnlargement: true });
  } else {
    img = img.resize(spec.width, spec.height, { fit: 'cover', position: spec.mode === 'center' ? 'centre' : spec.mode });
  }
  switch (type) {
    case 'image/png':
      img = img.png();
      break;
    case 'image/jpeg':
      img = img.jpeg({ quality: 85 });
      break;
    case 'image/gif':
      img = img.gif();
      break;
    case 'image/webp':
      img = img.webp();
      break;
    default:
      throw new ThumbError(`no thumbnails for ${type}`);
  }
  try {
    return await img.toBuffer();
  } catch (err) {
    throw new ThumbError(`thumbnail failed: ${(err as Error).message}`);
  }
}
