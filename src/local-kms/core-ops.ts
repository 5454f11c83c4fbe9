import type { LocalKmsExtension } from './operation.js';
import { keyOperations } from './ops-keys.js';
import { aliasOperations } from './ops-aliases.js';
import { lifecycleOperations } from './ops-lifecycle.js';
import { cryptoOperations } from './ops-crypto.js';

/** The local KMS's own operations: keys, aliases, deletion, rotation, encryption. */
export const coreExtension: LocalKmsExtension = {
  name: 'core',
  operations: [...keyOperations, ...aliasOperations, ...lifecycleOperations, ...cryptoOperations],
};
