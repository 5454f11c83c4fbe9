import { fromUtf8 } from '../crypto/bytes.js';
import type { EncryptedDataKey } from '../format/edk.js';
import type { Keyring } from '../keyring/keyring.js';
import { parseKmsArn } from '../keyring/kms-arn.js';
import { XWING_PROVIDER_ID } from '../keyring/xwing.js';
import { RAW_NAMESPACE, RSA_NAMESPACE } from './keyrings.js';
import { LOCAL_ACCOUNT } from './local-names.js';

/** Text, or undefined for bytes that are not UTF-8. */
function text(bytes: Uint8Array): string | undefined {
  try {
    return fromUtf8(bytes);
  } catch {
    return undefined;
  }
}

/** What `inspect` shows of a wrapped key: its provider and the key it names (ARN, fingerprint, name). */
export function describeEdk(edk: EncryptedDataKey): { provider: string; key: string } {
  const info = edk.providerInfo;
  // X-Wing EDKs name the key by the SHA-256 of its public key: bytes, shown in hex.
  if (edk.providerId === XWING_PROVIDER_ID) return { provider: edk.providerId, key: Buffer.from(info).toString('hex') };
  const whole = text(info);
  // Raw AES keyrings store name ‖ 12-byte IV (the CLI's key files always; others show it
  // as bytes that are not text): show the name. Other keyrings store the name alone.
  const aesName = edk.providerId !== 'aws-kms' && (edk.providerId === RAW_NAMESPACE || whole === undefined) && info.length > 12 ? text(info.subarray(0, -12)) : undefined;
  return { provider: edk.providerId, key: aesName ?? whole ?? Buffer.from(info).toString('hex') };
}

/** Which key would open an EDK, and the --key that gives it. */
function neededKey(edk: EncryptedDataKey): string {
  const { provider, key } = describeEdk(edk);
  switch (provider) {
    case RAW_NAMESPACE:
      return `the raw AES key file with fingerprint ${key} (--key file:FILE)`;
    case RSA_NAMESPACE:
      return `the RSA private key with fingerprint ${key} (--key rsa:FILE)`;
    case 'aws-kms':
      // A key ARN of the local account is the local KMS's (as --key ARN and kms-rsa: read it):
      // kms: would send the request to AWS KMS instead.
      return parseKmsArn(key)?.accountId === LOCAL_ACCOUNT ? `local KMS key ${key} (--key ${key})` : `KMS key ${key} (--key kms:${key})`;
    case XWING_PROVIDER_ID:
      return `the X-Wing private key whose public key has SHA-256 ${key} (--key pq:FILE)`;
    case 'aws-kms-rsa':
      return `KMS RSA key ${key} (--key kms-rsa:${key})`;
    default:
      return `${provider} key ${key}`;
  }
}

/**
 * A keyring that remembers the EDKs of the message it was asked to open, so that when no key
 * matched, the CLI can say which keys would have (as `inspect` shows them).
 */
export function rememberingEdks(keyring: Keyring): { keyring: Keyring; needed: () => string | undefined; namesAccount: (account: string) => boolean } {
  let edks: readonly EncryptedDataKey[] = [];
  return {
    keyring: {
      wrapKey: (request) => keyring.wrapKey(request),
      unwrapKey: (request) => {
        edks = request.encryptedDataKeys;
        return keyring.unwrapKey(request);
      },
    },
    needed: () => (edks.length === 0 ? undefined : [...new Set(edks.map(neededKey))].join(', ')),
    /** True when a KMS EDK names a key of this account. */
    namesAccount: (account: string) => edks.some((edk) => (edk.providerId === 'aws-kms' || edk.providerId === 'aws-kms-rsa') && parseKmsArn(describeEdk(edk).key)?.accountId === account),
  };
}
