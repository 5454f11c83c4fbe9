import { existsSync } from 'node:fs';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Keyring, UnwrapRequest } from '../keyring/keyring.js';
import { KmsDiscoveryKeyring, KmsKeyring } from '../keyring/kms.js';
import { MultiKeyring } from '../keyring/multi.js';
import { RawAesKeyring } from '../keyring/raw-aes.js';
import { RawRsaKeyring } from '../keyring/raw-rsa.js';
import { formatKmsArn, parseKmsArn } from '../keyring/kms-arn.js';
import { KMS_RSA_PROVIDER_ID, KmsRsaKeyring } from '../keyring/kms-rsa.js';
import type { KmsClientLike } from '../keyring/kms-client-supplier.js';
import { SealboxError, decryptionFailed } from '../errors.js';
import type { LocalKms } from '../local-kms/index.js';
import type { DescribeKeyResponse } from '@aws-sdk/client-kms';
import { UsageError } from './exit.js';
import { LOCAL_ACCOUNT } from './local-names.js';
import { readSmallFile } from './input.js';

/** Options that say how to reach AWS KMS for `kms:` keys. */
export interface KeyOptions {
  key?: string[];
  endpointUrl?: string;
}

/** The bytes of a key file; a usage error naming the file when it cannot be read. */
function readKeyFile(path: string): Buffer {
  return readSmallFile(path, 'key file', undefined, true);
}

/** Namespace of raw key files in EDKs; the name is the key's fingerprint, so decrypt finds it. */
export const RAW_NAMESPACE = 'raw-key-file';
/** Namespace of RSA key files in EDKs; the name is the public key's fingerprint. */
export const RSA_NAMESPACE = 'rsa-key-file';

/**
 * An RSA key file (PEM or DER; SPKI, PKCS #8 or PKCS #1): a public key encrypts only, a
 * private key decrypts (and encrypts, with its public half). The EDK is named by the SHA-256
 * of the public key's SPKI, so the private key's file finds what the public key's file made.
 */
function rsaKeyring(path: string, direction: 'encrypt' | 'decrypt'): Keyring {
  const bytes = readKeyFile(path);
  const text = bytes.includes('-----BEGIN') ? bytes.toString('utf8') : undefined;
  if (text?.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw new UsageError(`key file ${path} is passphrase-protected: decrypt it first (openssl pkey -in ${path} -out plain.pem)`);
  }
  const attempt = <T>(...tries: (() => T)[]): T | undefined => {
    for (const f of tries) {
      try {
        return f();
      } catch {
        /* the next form */
      }
    }
    return undefined;
  };
  const der = <T extends 'pkcs8' | 'spki' | 'pkcs1'>(type: T) => ({ key: bytes, format: 'der' as const, type });
  // A private key first (its public half comes with it), then a public key.
  const privateKey = text
    ? attempt(() => createPrivateKey(text))
    : attempt(
        () => createPrivateKey(der('pkcs8')),
        () => createPrivateKey(der('pkcs1')),
      );
  const publicKey: KeyObject | undefined = privateKey
    ? createPublicKey(privateKey)
    : text
      ? attempt(() => createPublicKey(text))
      : attempt(
          () => createPublicKey(der('spki')),
          () => createPublicKey(der('pkcs1')),
        );
  if (!publicKey || publicKey.asymmetricKeyType !== 'rsa') throw new UsageError(`key file ${path} must hold an RSA public or private key (PEM or DER)`);
  if (direction === 'decrypt' && !privateKey) throw new UsageError(`key file ${path} holds a public key: decrypting needs the private key`);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const name = createHash('sha256').update(spki).digest('hex').slice(0, 32);
  const pkcs8 = privateKey?.export({ type: 'pkcs8', format: 'der' });
  try {
    // The keyring copies the DER before it returns: ours is wiped at once.
    return new RawRsaKeyring({ namespace: RSA_NAMESPACE, name, publicKey: spki, ...(pkcs8 ? { privateKey: pkcs8 } : {}) });
  } catch (err) {
    throw new UsageError(`key file ${path}: ${(err as Error).message}`);
  } finally {
    pkcs8?.fill(0);
  }
}

/** The line before the PEM block that names the KMS key a public key belongs to. */
const KMS_KEY_LINE = 'KMS key: ';

/** A KMS key's public key as PEM, preceded by a line naming its ARN (text outside a PEM block is ignored by PEM readers). */
export function kmsPublicKeyPem(keyArn: string, spki: Uint8Array): string {
  const b64 = Buffer.from(spki).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `${KMS_KEY_LINE}${keyArn}\n-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n`;
}

/**
 * `kms-rsa:<file>`: a public key written by `sealbox keys public-key` (its KMS key ARN on the
 * line before the PEM): encrypt needs no KMS at all; decrypt asks the KMS the ARN names (the
 * local KMS when it is one of its keys, else AWS KMS). `kms-rsa:<key ARN>`: the public key
 * comes from KMS.
 */
async function kmsRsaKeyring(spec: string, local: () => Promise<LocalKms>, endpointUrl: string | undefined, direction: 'encrypt' | 'decrypt'): Promise<Keyring> {
  let keyId = spec;
  let publicKey: string | undefined;
  if (!parseKmsArn(spec)) {
    publicKey = readKeyFile(spec).toString('utf8');
    keyId = publicKey.split('\n').find((l) => l.startsWith(KMS_KEY_LINE))?.slice(KMS_KEY_LINE.length).trim() ?? '';
    if (parseKmsArn(keyId)?.resourceType !== 'key') throw new UsageError(`${spec} does not name its KMS key: write it with "sealbox keys public-key", or give the key ARN as kms-rsa:<arn>`);
  } else if (parseKmsArn(spec)?.resourceType !== 'key') {
    throw new UsageError(`"kms-rsa:" expects a key ARN or a public key file, got ${spec}`);
  }
  // Encrypting with a given public key needs no client; otherwise the key's own KMS.
  const needsKms = direction === 'decrypt' || publicKey === undefined;
  const client = needsKms ? await kmsFor(keyId, local, endpointUrl) : undefined;
  try {
    return new KmsRsaKeyring({ keyId, ...(publicKey ? { publicKey } : {}), ...(client ? { client } : { client: NO_KMS }) });
  } catch (err) {
    throw new UsageError(`${spec}: ${(err as Error).message}`);
  }
}

/** A client that refuses every call: for keyrings that must not reach KMS. */
const NO_KMS: KmsClientLike = { send: () => Promise.reject(new Error('no KMS client: this key only encrypts')) };

/**
 * The local KMS when `keyArn` is one of its keys (its account; in its region, or another region
 * of the same store, where multi-Region replicas live), else AWS KMS.
 */
async function kmsFor(keyArn: string, local: () => Promise<LocalKms>, endpointUrl: string | undefined): Promise<KmsClientLike> {
  const arn = parseKmsArn(keyArn)!;
  if (arn.partition === 'aws' && arn.accountId === LOCAL_ACCOUNT && !endpointUrl) {
    const kms = await local();
    return kms.region === arn.region ? kms : kms.inRegion(arn.region);
  }
  return awsClient(keyArn, endpointUrl);
}

function rawKeyring(path: string): Keyring {
  const text = readKeyFile(path);
  let key: Uint8Array;
  try {
    const trimmed = text.toString('utf8').trim();
    key = text.length === 32 ? new Uint8Array(text) : /^[0-9a-fA-F]{64}$/.test(trimmed) ? new Uint8Array(Buffer.from(trimmed, 'hex')) : new Uint8Array(Buffer.from(trimmed, 'base64'));
  } finally {
    text.fill(0);
  }
  if (key.length !== 32) throw new UsageError(`key file ${path} must hold 32 bytes (raw, 64 hex digits or base64)`);
  const name = createHash('sha256').update(key).digest('hex').slice(0, 32);
  return new RawAesKeyring({ namespace: RAW_NAMESPACE, name, wrappingKey: key });
}

async function awsClient(arn: string, endpointUrl: string | undefined) {
  const parsed = parseKmsArn(arn);
  if (!parsed) throw new UsageError(`"kms:" keys must be AWS KMS key or alias ARNs, got ${arn}`);
  // Loaded only for kms: keys: the local KMS path does not need the AWS SDK's HTTP client.
  const { KMSClient } = await import('@aws-sdk/client-kms');
  return new KMSClient({ region: parsed.region, ...(endpointUrl ? { endpoint: endpointUrl } : {}) });
}

/**
 * Shortest X-Wing private key text a mistyped prefix can leave: `SEALBOX-XWING-` (14 characters)
 * and the 58-character Bech32 body of a seed (the whole text is 84 with `SECRET-KEY-1`).
 */
const MIN_XWING_KEY_TEXT = 14 + 58;

/**
 * Whether a --key value is key material rather than a name: 32 bytes as 64 hex digits or as
 * base64 (standard or URL-safe, padded or not), a PEM private key, or X-Wing key text (its
 * Bech32 body after a `SEALBOX-XWING-` prefix, however the rest of the prefix was typed).
 */
function looksLikeKeyText(value: string): boolean {
  if (value.startsWith('alias/') || value.startsWith('arn:')) return false;
  return /^[0-9a-fA-F]{64}$/.test(value)
    || /^[A-Za-z0-9+/_-]{43}=?$/.test(value)
    || /PRIVATE KEY/.test(value)
    || (/^sealbox-xwing-/i.test(value) && value.length >= MIN_XWING_KEY_TEXT);
}

/** What one --key names: a keyring usable for encrypt (generator) and for decrypt. */
async function keyringFor(spec: string, local: () => Promise<LocalKms>, endpointUrl: string | undefined, direction: 'encrypt' | 'decrypt'): Promise<Keyring> {
  // `--key "file:$KEYFILE"` with the variable unset, or `--key ""`: say that nothing was named,
  // not "cannot read key file : no such file or directory" with the empty name invisible.
  if (/^((file|raw|rsa|pq|kms-rsa|kms):)?$/.test(spec)) {
    throw new UsageError(`--key "${spec}" names no key: give a key id, alias/NAME or ARN of the local KMS, or kms:ARN, kms-rsa:FILE, file:FILE, rsa:FILE or pq:KEY`);
  }
  // X-Wing private key text anywhere in a --key (without pq:, after another prefix, in a
  // path): refused without repeating it. The errors below quote the spec ("--key ... is not a
  // key id", "cannot read key file ..."), which would print the key into logs. The prefix is
  // XWING_SECRET_PREFIX's (xwing-text.ts, not imported: it would load the post-quantum code).
  if (spec.toLowerCase().includes('sealbox-xwing-secret-key-1')) {
    throw new UsageError('--key holds an X-Wing private key as text (SEALBOX-XWING-SECRET-KEY-1...), which the command line shows in the process list and shell history: put it in a file only you can read and give --key pq:FILE');
  }
  // Key material typed in place of a file name or key id (a raw key as 64 hex digits or base64, a
  // PEM private key, X-Wing private key text with its prefix mistyped): the errors below would
  // print it ("--key ... is not a key id", "cannot read key file ..."). Refused without repeating
  // it, unless a file of that name exists.
  const value = spec.replace(/^(file|raw|rsa|pq|kms-rsa):/, '').trim();
  if (looksLikeKeyText(value) && !existsSync(value)) {
    throw new UsageError('--key holds what looks like key material (a raw key in hex or base64, a private key, or X-Wing key text), not shown here: the command line shows it in the process list and shell history. Put the key in a file only you can read and give --key file:FILE, rsa:FILE or pq:FILE');
  }
  if (spec.startsWith('file:') || spec.startsWith('raw:')) return rawKeyring(spec.slice(spec.indexOf(':') + 1));
  if (spec.startsWith('rsa:')) return rsaKeyring(spec.slice(4), direction);
  // Loaded only for pq: keys: the post-quantum arithmetic is most of the CLI's code.
  if (spec.startsWith('pq:')) return (await import('./pq.js')).pqKeyring(spec.slice(3), direction);
  if (spec.startsWith('kms-rsa:')) return kmsRsaKeyring(spec.slice(8), local, endpointUrl, direction);
  if (spec.startsWith('kms:')) {
    const arn = spec.slice(4);
    return new KmsKeyring({ generatorKeyId: arn, client: await awsClient(arn, endpointUrl) });
  }
  // A local key: id, alias or ARN. Anything else is a mistake, most often a key file without
  // its prefix: say so before the key store is opened (or created).
  if (!/^(alias\/.+|arn:.+|mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.test(spec)) {
    const file = existsSync(spec) ? `; ${spec} is a file: write --key file:${spec} for a raw AES key file or --key rsa:${spec} for an RSA key file` : '';
    throw new UsageError(`--key ${spec} is not a key id, alias/NAME or ARN of the local KMS, nor kms:, kms-rsa:, file:, rsa: or pq:${file}`);
  }
  // Resolve to the key ARN, which is what EDKs record. An ARN of another region of the store
  // (a multi-Region replica) is used in that region.
  const kms = await local();
  const region = parseKmsArn(spec)?.region;
  const client = region !== undefined && region !== kms.region ? kms.inRegion(region) : kms;
  const { KeyMetadata } = (await client.execute('DescribeKey', { KeyId: spec })) as DescribeKeyResponse;
  const { Arn, KeySpec, KeyUsage } = KeyMetadata!;
  if (KeySpec?.startsWith('RSA_') && KeyUsage === 'ENCRYPT_DECRYPT') return new KmsRsaKeyring({ keyId: Arn!, client });
  if (KeySpec !== 'SYMMETRIC_DEFAULT') throw new UsageError(`${spec} has key spec ${KeySpec} and usage ${KeyUsage}: encrypt and decrypt use a symmetric key or an RSA ENCRYPT_DECRYPT key`);
  return new KmsKeyring({ generatorKeyId: Arn!, client });
}

/**
 * Keyrings for `--key` options: one key is its keyring, several make a multi-keyring whose
 * first key generates the data key. With no --key, `fallback` decides.
 */
export async function keyringsFromOptions(
  keys: readonly string[],
  options: KeyOptions,
  local: () => Promise<LocalKms>,
  direction: 'encrypt' | 'decrypt',
): Promise<Keyring | undefined> {
  if (keys.length === 0) return undefined;
  const rings: Keyring[] = [];
  for (const spec of keys) rings.push(await keyringFor(spec, local, options.endpointUrl, direction));
  return rings.length === 1 ? rings[0] : new MultiKeyring({ generator: rings[0]!, children: rings.slice(1) });
}

/**
 * For decrypt without --key: any key of the local KMS (discovery limited to its account), its
 * symmetric keys and its RSA ENCRYPT_DECRYPT keys alike.
 */
export function localDiscoveryKeyring(kms: LocalKms): Keyring {
  const symmetric = new KmsDiscoveryKeyring({ client: kms, discoveryFilter: { accountIds: [kms.accountId], partition: 'aws' } });
  const rsa: Keyring = {
    wrapKey: () => Promise.reject(new SealboxError('ERR_KEYRING', 'discovery keyrings do not encrypt')),
    async unwrapKey(request) {
      // Each RSA EDK that names one of the local KMS's own keys, tried with that key.
      const arns = new Set<string>();
      for (const edk of request.encryptedDataKeys) {
        if (edk.providerId !== KMS_RSA_PROVIDER_ID) continue;
        const arn = parseKmsArn(Buffer.from(edk.providerInfo).toString('utf8'));
        if (arn?.resourceType === 'key' && arn.partition === 'aws' && arn.accountId === kms.accountId && arn.region === kms.region) arns.add(formatKmsArn(arn));
      }
      if (arns.size === 0) return null;
      return new MultiKeyring({ children: [...arns].map((keyId) => new KmsRsaKeyring({ keyId, client: kms })) }).unwrapKey(request);
    },
  };
  const both = new MultiKeyring({ children: [symmetric, rsa] });
  return {
    wrapKey: (request) => both.wrapKey(request),
    async unwrapKey(request) {
      let result: Uint8Array | null;
      try {
        result = await both.unwrapKey(request);
      } catch (err) {
        await refuseAlteredKeyNames(kms, request);
        throw err;
      }
      if (result === null) await refuseAlteredKeyNames(kms, request);
      return result;
    },
  };
}

/**
 * When no local key opened the message, was its header altered? A KMS EDK whose ciphertext
 * the local KMS recognises as one of its own keys', under another key than the ARN the EDK
 * names, means the header was changed (the ARN is covered by the header tag, which would
 * fail): report an inauthentic message (ERR_DECRYPTION_FAILED, exit 2), not a key problem.
 * The data key such a probe returns is wiped at once and never used.
 */
async function refuseAlteredKeyNames(kms: LocalKms, request: UnwrapRequest): Promise<void> {
  for (const edk of request.encryptedDataKeys) {
    if (edk.providerId !== 'aws-kms') continue;
    let owner: string | undefined;
    try {
      const out = await kms.decrypt({ CiphertextBlob: edk.ciphertext, EncryptionContext: { ...request.encryptionContext } });
      out.Plaintext?.fill(0);
      owner = out.KeyId;
    } catch {
      continue; // not one of our keys' ciphertexts (or not usable): nothing to say
    }
    if (owner !== Buffer.from(edk.providerInfo).toString('utf8')) throw decryptionFailed();
  }
}

/** Parses repeatable `k=v` options into a context object. */
export function parsePairs(values: readonly string[] | undefined, option: string): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0) throw new UsageError(`${option} expects key=value, got "${v}"`);
    const key = v.slice(0, i);
    if (Object.prototype.hasOwnProperty.call(out, key)) throw new UsageError(`${option} names "${key}" twice`);
    Object.defineProperty(out, key, { value: v.slice(i + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
