import type { DecryptCommandOutput, EncryptCommandOutput, GenerateDataKeyCommandOutput, GetPublicKeyCommandOutput } from '@aws-sdk/client-kms';
import { SealboxError, printable } from '../errors.js';
import type { EncryptionContext } from './keyring.js';
import type { KmsClientLike, KmsClientSupplier } from './kms-client-supplier.js';
import { parseKmsArn } from './kms-arn.js';
import { copyBytes } from '../crypto/bytes.js';

/** The provider id of every EDK a KMS keyring writes (the AWS Encryption SDK uses the same). */
export const KMS_PROVIDER_ID = 'aws-kms';

/** Default deadline of one KMS call, retries included: nothing waits on a key service forever. */
export const DEFAULT_KMS_CALL_TIMEOUT_MS = 60_000;

type ClientKms = typeof import('@aws-sdk/client-kms');
let clientKms: Promise<ClientKms> | undefined;

/**
 * The SDK's command classes, loaded on the first KMS call rather than imported statically: the
 * browser bundle (which leaves @aws-sdk/* to the application) must load in a page that never
 * uses KMS and has no bundler or import map for it (test/browser/size.test.ts), and in Node the
 * import costs about 450 ms and 20 MiB that raw-keyring users and every CLI start should not pay.
 */
function kmsCommands(): Promise<ClientKms> {
  const loading = (clientKms ??= import('@aws-sdk/client-kms'));
  return loading.catch((err: unknown) => {
    // A failed import must not stay cached as a rejected promise.
    if (clientKms === loading) clientKms = undefined;
    throw new SealboxError('ERR_KEYRING', '@aws-sdk/client-kms could not be loaded', { cause: err });
  });
}

/** Shared plumbing of the KMS keyrings: client lookup, deadlines, error wrapping, response checks. */
export interface KmsCaller {
  readonly supplier: KmsClientSupplier;
  readonly grantTokens: readonly string[] | undefined;
  readonly timeoutMs: number;
}

async function clientFor(caller: KmsCaller, region: string | undefined): Promise<KmsClientLike> {
  try {
    const client = await caller.supplier(region);
    if (typeof client !== 'object' || client === null || typeof client.send !== 'function') throw new TypeError('client supplier returned no client');
    return client;
  } catch (err) {
    throw new SealboxError('ERR_KEYRING', `No KMS client for region ${region ?? '(default)'}`, { cause: err });
  }
}

type KmsOperation = 'GenerateDataKey' | 'Encrypt' | 'Decrypt' | 'GetPublicKey';

/**
 * One KMS call under the caller's deadline (`timeoutMs`, the SDK's retries included). The deadline
 * is Sealbox's own timer, raced against every step (the client supplier, loading the SDK, the
 * call itself), so it holds whatever the client does: one that takes no signal (`execute`), one
 * that ignores it, or a KMSClient waiting on a credential provider that never answers. The
 * `abortSignal` given to `send` is aborted at the deadline too, so a client that honours it
 * stops its work; an answer that comes anyway has its `Plaintext` zeroed. The timer is cleared
 * when the call settles.
 */
async function send<T>(caller: KmsCaller, region: string | undefined, operation: KmsOperation, input: object): Promise<T> {
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const reason = new DOMException(`KMS call did not finish within its ${caller.timeoutMs} ms deadline`, 'TimeoutError');
      // Rejected first, so the deadline wins over what an aborted client rejects with.
      reject(reason);
      abort.abort(reason);
    }, caller.timeoutMs);
  });
  deadline.catch(() => {}); // raced below; never unhandled between two steps
  const failed = (err: unknown): SealboxError => {
    const cause = unreadableAnswer(err) ?? err;
    return new SealboxError('ERR_KEYRING', kmsFailure(operation, (input as { KeyId?: unknown }).KeyId, cause), { cause });
  };
  try {
    let client: KmsClientLike;
    try {
      client = await Promise.race([clientFor(caller, region), deadline]);
    } catch (err) {
      throw err instanceof SealboxError ? err : failed(err);
    }
    let call: Promise<unknown> | undefined;
    let out: unknown;
    try {
      // An in-process key service (LocalKms) takes the operation by name: no SDK needed.
      if (typeof client.execute === 'function') {
        call = Promise.resolve(client.execute(operation, input));
      } else {
        const Command = (await Promise.race([kmsCommands(), deadline]))[`${operation}Command`] as unknown as new (input: object) => object;
        const command = new Command(input);
        // The deadline covers the SDK's retries too; per-attempt timeouts live on the request handler.
        call = Promise.resolve(client.send(command, { abortSignal: abort.signal }));
      }
      out = await Promise.race([call, deadline]);
    } catch (err) {
      // The deadline won: the call may still answer (a client that ignores the signal), with a
      // data key nobody will read. Zero it when it comes.
      call?.then(wipeLateAnswer, () => {});
      throw failed(err);
    }
    // A client of our caller's (a wrapper, a stub) may answer anything: nothing is no answer.
    if (typeof out !== 'object' || out === null) throw responseFault(`the client answered ${out === null ? 'null' : typeof out}, not an object`);
    return out as T;
  } finally {
    clearTimeout(timer);
  }
}

/** Zeroes the plaintext of an answer that came after its call had failed. */
function wipeLateAnswer(out: unknown): void {
  const plaintext = typeof out === 'object' && out !== null ? (out as { Plaintext?: unknown }).Plaintext : undefined;
  if (plaintext instanceof Uint8Array) plaintext.fill(0);
}

/**
 * For an answer the SDK could not read (its error carries the `$response` but is no KMS
 * exception, which has a `$fault`; or a JSON `SyntaxError`), an error to report instead of it:
 * the SDK's message quotes the answer's body (V8's JSON.parse quotes up to 10 characters around
 * the fault), and a GenerateDataKey or Decrypt body holds the data key. The replacement keeps
 * the error's name, the HTTP status and the request ids (`$metadata`), not the message.
 */
function unreadableAnswer(err: unknown): Error | undefined {
  if (!(err instanceof Error) || !(err.name === 'SyntaxError' || ('$response' in err && !('$fault' in err)))) return undefined;
  const metadata = (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  const status = typeof metadata?.httpStatusCode === 'number' ? ` (HTTP ${metadata.httpStatusCode})` : '';
  const replaced = new Error(`KMS's answer could not be read${status}; the parser's message is left out, as it may quote key material from the answer`);
  replaced.name = typeof err.name === 'string' ? printable(err.name, 100) : 'Error';
  if (metadata !== undefined) Object.assign(replaced, { $metadata: { ...metadata } });
  return replaced;
}

/**
 * The message of a failed KMS call: the operation, the key asked for, the exception's name and
 * KMS's own reason ("... is pending deletion."), so that the message alone says what to do.
 * KMS reasons name keys, states and limits, never key material; the request's plaintext and
 * ciphertext are not in them. Both name and reason come from the endpoint's answer (the SDK
 * takes the name from its `__type`), so both are made {@link printable} and kept short.
 */
function kmsFailure(operation: KmsOperation, keyId: unknown, err: unknown): string {
  const name = (err instanceof Error && typeof err.name === 'string' ? printable(err.name, 100) : '') || 'Error';
  const key = typeof keyId === 'string' ? ` for ${keyId}` : '';
  const text = err instanceof Error && typeof err.message === 'string' ? printable(err.message, 300) : '';
  const reason = text && text !== name && text !== 'UnknownError' ? `: ${text}` : '';
  return `KMS ${operation} failed${key} (${name})${reason}`;
}

// The SDK types maps as Record<string, string>; Sealbox contexts are frozen plain objects.
function kmsContext(context: EncryptionContext): Record<string, string> {
  return { ...context };
}

function responseFault(what: string): SealboxError {
  return new SealboxError('ERR_KEYRING', `KMS response rejected: ${what}`);
}

/**
 * The ARN a response names, checked against what was asked: with an ARN, exactly that ARN;
 * with a bare key id, an ARN of that key id; with an alias, any key ARN (KMS resolves aliases).
 * A response for another key is refused, so a confused or hostile endpoint cannot make a
 * message carry an EDK for a key the caller never chose.
 */
export function checkResponseKeyId(requested: string, returned: unknown): string {
  if (typeof returned !== 'string') throw responseFault('no KeyId');
  const arn = parseKmsArn(returned);
  if (!arn || arn.resourceType !== 'key') throw responseFault('KeyId is not a key ARN');
  const asked = parseKmsArn(requested);
  if (asked?.resourceType === 'key') {
    if (returned !== requested) throw responseFault('KeyId differs from the key asked for');
  } else if (asked?.resourceType === 'alias') {
    // An alias ARN resolves to a key of the same partition, region and account.
    if (arn.partition !== asked.partition || arn.region !== asked.region || arn.accountId !== asked.accountId) {
      throw responseFault('KeyId is outside the alias\'s account and region');
    }
  } else if (!requested.startsWith('alias/')) {
    if (arn.resourceId !== requested) throw responseFault('KeyId differs from the key asked for');
  }
  return returned;
}

/** Copies `bytes` into a fresh array of exactly `length` bytes and wipes the SDK's copy. */
function ownedKey(bytes: unknown, length: number): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw responseFault('no Plaintext');
  if (bytes.length !== length) {
    bytes.fill(0);
    throw responseFault(`Plaintext has ${bytes.length} bytes, expected ${length}`);
  }
  // The SDK may hand back a view into a shared pool slab: keep our own copy, zero theirs.
  const out = copyBytes(bytes);
  bytes.fill(0);
  return out;
}

function blob(bytes: unknown): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw responseFault('no CiphertextBlob');
  return copyBytes(bytes);
}

/** GenerateDataKey: a fresh data key and its KMS ciphertext. */
export async function kmsGenerateDataKey(
  caller: KmsCaller,
  keyId: string,
  length: number,
  context: EncryptionContext,
): Promise<{ dataKey: Uint8Array; keyArn: string; ciphertext: Uint8Array }> {
  const out = await send<GenerateDataKeyCommandOutput>(caller, parseKmsArn(keyId)?.region, 'GenerateDataKey', {
    KeyId: keyId,
    NumberOfBytes: length,
    EncryptionContext: kmsContext(context),
    GrantTokens: caller.grantTokens ? [...caller.grantTokens] : undefined,
  });
  const dataKey = ownedKey(out.Plaintext, length);
  try {
    return { dataKey, keyArn: checkResponseKeyId(keyId, out.KeyId), ciphertext: blob(out.CiphertextBlob) };
  } catch (err) {
    dataKey.fill(0);
    throw err;
  }
}

/** Encrypt: the same data key under another KMS key. */
export async function kmsEncrypt(
  caller: KmsCaller,
  keyId: string,
  dataKey: Uint8Array,
  context: EncryptionContext,
): Promise<{ keyArn: string; ciphertext: Uint8Array }> {
  const out = await send<EncryptCommandOutput>(caller, parseKmsArn(keyId)?.region, 'Encrypt', {
    KeyId: keyId,
    Plaintext: dataKey,
    EncryptionContext: kmsContext(context),
    GrantTokens: caller.grantTokens ? [...caller.grantTokens] : undefined,
  });
  return { keyArn: checkResponseKeyId(keyId, out.KeyId), ciphertext: blob(out.CiphertextBlob) };
}

/**
 * Decrypt with an explicit KeyId (never KeyId-less: KMS would then use whatever key the blob
 * names): under a symmetric key with the message's encryption context, or under an RSA key
 * with its algorithm (KMS accepts a context only for symmetric keys).
 */
export async function kmsDecrypt(
  caller: KmsCaller,
  keyArn: string,
  ciphertext: Uint8Array,
  length: number,
  under: { readonly context: EncryptionContext } | { readonly algorithm: string },
): Promise<Uint8Array> {
  const out = await send<DecryptCommandOutput>(caller, parseKmsArn(keyArn)?.region, 'Decrypt', {
    KeyId: keyArn,
    CiphertextBlob: ciphertext,
    ...('context' in under ? { EncryptionContext: kmsContext(under.context) } : { EncryptionAlgorithm: under.algorithm }),
    GrantTokens: caller.grantTokens ? [...caller.grantTokens] : undefined,
  });
  try {
    checkResponseKeyId(keyArn, out.KeyId);
  } catch (err) {
    if (out.Plaintext instanceof Uint8Array) out.Plaintext.fill(0);
    throw err;
  }
  return ownedKey(out.Plaintext, length);
}

/** GetPublicKey: the key's SPKI DER and what KMS says it may be used for. */
export async function kmsGetPublicKey(caller: KmsCaller, keyArn: string): Promise<{ spki: Uint8Array; keyUsage: string | undefined; encryptionAlgorithms: readonly string[] }> {
  const out = await send<GetPublicKeyCommandOutput>(caller, parseKmsArn(keyArn)?.region, 'GetPublicKey', {
    KeyId: keyArn,
    GrantTokens: caller.grantTokens ? [...caller.grantTokens] : undefined,
  });
  checkResponseKeyId(keyArn, out.KeyId);
  if (!(out.PublicKey instanceof Uint8Array) || out.PublicKey.length === 0) throw responseFault('no PublicKey');
  return { spki: copyBytes(out.PublicKey), keyUsage: out.KeyUsage, encryptionAlgorithms: out.EncryptionAlgorithms ?? [] };
}
