/**
 * `sealbox/kms-server` (Node only): the local KMS over the AWS KMS JSON protocol.
 * Named exports only; see docs/kms-server.md.
 */
export { startKmsServer, credentialStoreFor } from './server.js';
export type { KmsBackend, KmsServerOptions, RunningKmsServer } from './server.js';
export { createKmsHttpServer, DEFAULT_HTTP_LIMITS } from './http.js';
export type { Authenticator, CorsOptions, HttpLimits, KmsHttpServerOptions, OperationHandler, RequestCaller } from './http.js';
export { verifySigV4, MAX_CLOCK_SKEW_MS } from './sigv4.js';
export type { CredentialLookup, SigV4Credential, SigV4VerifyOptions, SignedRequest } from './sigv4.js';
export { KmsProtocolError } from './errors.js';
export type { Fault } from './errors.js';
export { CredentialStore, credentialMigrations, credentialsExtension, CREDENTIAL_SEALING_PURPOSE } from '../local-kms/credentials.js';
export type { AccessKeyInfo, ActiveCredential, NewAccessKey } from '../local-kms/credentials.js';
export { accessControlExtension } from '../local-kms/access.js';
export { defaultKeyPolicy, evaluateKeyPolicy, parseKeyPolicy } from '../local-kms/policy.js';
export type { KeyPolicy, PolicyDecision, PolicyRequest } from '../local-kms/policy.js';
