// Public API of `sealbox/node` (Node only: node:stream, node:fs). Named exports only.
export { createEncryptStream, createDecryptStream } from './streams.js';
export type { EncryptTransform, DecryptTransform } from './streams.js';
export { encryptFile, decryptFile } from './files.js';
export type { DecryptFileOptions, EncryptFileOptions, FileResult } from './files.js';
export { rewrapFile } from './rewrap-file.js';
export type { RewrapFileOptions, RewrapFileResult } from './rewrap-file.js';
export { recoverRewrap } from './header-journal.js';
export { createRewrapStream, RewrapTransform } from './rewrap-stream.js';
