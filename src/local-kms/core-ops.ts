import type { LocalKmsExtension } from './operation.js';
import { keyOperations } from './ops-keys.js';
import { aliasOperations } from './ops-aliases.js';
import { lifecycleOperations } from './ops-lifecycle.js';
import { cryptoOperations } from './ops-crypto.js';
import { asymmetricOperations } from './ops-asymmetric.js';
import { importMigrations, importOperations } from './ops-import.js';
import { multiRegionOperations } from './ops-multi-region.js';
import { accessControlExtension } from './access.js';
import { credentialsExtension } from './credentials.js';

/** The local KMS's own operations: keys, aliases, deletion, rotation, encryption, signing, MACs, import, multi-Region keys. */
export const coreExtension: LocalKmsExtension = {
  name: 'core',
  operations: [...keyOperations, ...aliasOperations, ...lifecycleOperations, ...cryptoOperations, ...asymmetricOperations, ...importOperations, ...multiRegionOperations],
  migrations: importMigrations,
};

/**
 * Built in besides the core: key policies and grants (enforced for every caller, in process
 * and over HTTP) and the access-key table of the KMS server.
 */
export const builtInExtensions: readonly LocalKmsExtension[] = [coreExtension, accessControlExtension, credentialsExtension];
