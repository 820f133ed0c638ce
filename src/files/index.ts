/**
 * File storage (PocketBase-compatible): uploads into `file` fields, storage back ends (local directory,
 * S3), thumbnails, and the policies the download route applies. The HTTP side lives in
 * http/routes/files.ts; the records writer uses `planUploads`, `checkFileFields` and `FileService.stage`.
 */
export { FileService } from './service.js';
export { FileChanges, checkFileFields, fileFields } from './record-files.js';
export { planUploads, type Upload, type UploadPlan } from './uploads.js';
export { decideRange, type RangeDecision } from './range.js';
export { allowedThumb, type ThumbSpec } from './thumbs.js';
export { baseMime, detectFileType, SNIFF_BYTES, type DetectedType } from './sniff.js';
export { isSafeFileName } from './names.js';
export { cacheControl, contentDisposition, FILE_RESPONSE_HEADERS, isDownloadParam, THUMBABLE_TYPES } from './serve-policy.js';
export { fileKey, type FileStorage, type ObjectInfo } from './storage.js';
export { S3Error } from './s3/client.js';
export { storageError } from './storage-errors.js';
