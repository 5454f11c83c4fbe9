// `sealbox/local-kms`: the bundled local key service (Node only).
export { LocalKms, defaultDataDir } from './local-kms.js';
export type { LocalKmsOptions } from './local-kms.js';
export { LocalKmsError } from './errors.js';
export type { LocalKmsErrorName } from './errors.js';
export { defineOperation } from './operation.js';
export type {
  Caller,
  LocalKmsExtension,
  OperationContext,
  OperationDefinition,
  AuthorizeHook,
  AuthorizeRequest,
  Migration,
  InputShape,
  MemberSpec,
} from './operation.js';
export type { KeyRecord } from './key-record.js';
export type { AuditProblem, AuditRecord, AuditVerification } from './audit.js';
export type { SqliteDatabase, SqliteStatement, SqliteRunResult, SqliteTransaction } from './sqlite.js';
