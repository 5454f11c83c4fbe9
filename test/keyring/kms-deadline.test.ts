import { describe, expect, it } from 'vitest';
import { KMSClient } from '@aws-sdk/client-kms';
import { KmsDiscoveryKeyring, KmsKeyring, KmsRsaKeyring, encrypt, decrypt } from '../../src/index.js';
import type { KmsClientLike } from '../../src/keyring/kms-client-supplier.js';
import { SealboxError } from '../../src/errors.js';
import { thrown } from '../helpers/keys.js';

// docs/kms-keyring.md: every KMS call the keyring makes has a deadline (timeoutMs), whatever
// client is passed. These clients never answer, and ignore the abort signal.
const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const never = (): Promise<never> => new Promise<never>(() => {});

/** Fails the test (instead of hanging it) when `p` has not settled after `ms`. */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<SealboxError> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms); });
  try {
    const err = await thrown(() => Promise.race([p, late]));
    expect(err).toBeInstanceOf(SealboxError);
    expect(Date.now() - started).toBeLessThan(ms);
    return err as SealboxError;
  } finally {
    clearTimeout(timer);
  }
}

describe('KMS keyring: the deadline holds whatever the client does', () => {
  it('a client with execute() that never answers: ERR_KEYRING with a TimeoutError cause', async () => {
    const client: KmsClientLike = { send: never, execute: never };
    const keyring = new KmsKeyring({ generatorKeyId: ARN, client, timeoutMs: 200 });
    const err = await settledWithin(encrypt(new Uint8Array([1]), { keyring }), 3_000);
    expect(err.code).toBe('ERR_KEYRING');
    expect((err.cause as Error).name).toBe('TimeoutError');
    expect(err.message).toContain('GenerateDataKey');
  });

  it('a send() client that ignores the abort signal: the call fails at the deadline, and the signal it was given is aborted', async () => {
    const signals: AbortSignal[] = [];
    const client: KmsClientLike = {
      send: (_command, options) => {
        if (options?.abortSignal) signals.push(options.abortSignal);
        return never();
      },
    };
    const keyring = new KmsKeyring({ generatorKeyId: ARN, client, timeoutMs: 200 });
    const err = await settledWithin(encrypt(new Uint8Array([1]), { keyring }), 3_000);
    expect(err.code).toBe('ERR_KEYRING');
    expect((err.cause as Error).name).toBe('TimeoutError');
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(true);
  });

  it('a client supplier that never answers', async () => {
    const keyring = new KmsKeyring({ generatorKeyId: ARN, clientSupplier: never, timeoutMs: 200 });
    const err = await settledWithin(encrypt(new Uint8Array([1]), { keyring }), 3_000);
    expect(err.code).toBe('ERR_KEYRING');
    expect((err.cause as Error).name).toBe('TimeoutError');
  });

  it('a real KMSClient whose credential provider never answers', async () => {
    // Port 9 on 127.0.0.1 is never reached: signing waits for the credentials first.
    const client = new KMSClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1, credentials: never });
    const keyring = new KmsKeyring({ generatorKeyId: ARN, client, timeoutMs: 300 });
    const err = await settledWithin(encrypt(new Uint8Array([1]), { keyring }), 5_000);
    expect(err.code).toBe('ERR_KEYRING');
  });

  it('decrypt, and the RSA keyring, have the deadline too', async () => {
    const answering: KmsClientLike = {
      send: async () => ({}),
      execute: async () => ({ KeyId: ARN, Plaintext: new Uint8Array(32).fill(1), CiphertextBlob: new Uint8Array([1, 2, 3]) }),
    };
    const { ciphertext } = await encrypt(new Uint8Array([1]), { keyring: new KmsKeyring({ generatorKeyId: ARN, client: answering }) });
    const hanging: KmsClientLike = { send: never, execute: never };
    const onDecrypt = await settledWithin(decrypt(ciphertext, { keyring: new KmsKeyring({ keyIds: [ARN], client: hanging, timeoutMs: 200 }) }), 3_000);
    expect(onDecrypt.code).toBe('ERR_KEYRING');
    const rsa = new KmsRsaKeyring({ keyId: ARN, client: hanging, timeoutMs: 200 });
    const onPublicKey = await settledWithin(encrypt(new Uint8Array([1]), { keyring: rsa }), 3_000);
    expect(onPublicKey.code).toBe('ERR_KEYRING');
  });

  it('a call that answers in time is not affected', async () => {
    const client: KmsClientLike = {
      send: async () => ({}),
      execute: async () => {
        await new Promise((r) => setTimeout(r, 20));
        return { KeyId: ARN, Plaintext: new Uint8Array(32).fill(1), CiphertextBlob: new Uint8Array([1, 2, 3]) };
      },
    };
    const keyring = new KmsKeyring({ generatorKeyId: ARN, client, timeoutMs: 1_000 });
    await expect(encrypt(new Uint8Array([1]), { keyring })).resolves.toBeTruthy();
  });
});

describe('KMS keyring: timeoutMs a timer can hold', () => {
  // setTimeout (and AbortSignal.timeout) take at most 2^31 - 1 ms; beyond it Node fires at once
  // or throws, so such a deadline made every call fail. Refused at construction.
  const client: KmsClientLike = { send: never };
  it('accepts 2^31 - 1 ms and refuses 2^31 ms or more with RangeError, in every KMS keyring', () => {
    expect(() => new KmsKeyring({ generatorKeyId: ARN, client, timeoutMs: 2 ** 31 - 1 })).not.toThrow();
    for (const timeoutMs of [2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      expect(() => new KmsKeyring({ generatorKeyId: ARN, client, timeoutMs })).toThrow(RangeError);
      expect(() => new KmsDiscoveryKeyring({ client, timeoutMs })).toThrow(RangeError);
      expect(() => new KmsRsaKeyring({ keyId: ARN, client, timeoutMs })).toThrow(RangeError);
    }
  });

  it('the largest accepted deadline lets a call that answers succeed', async () => {
    const answering: KmsClientLike = {
      send: async () => ({}),
      execute: async () => ({ KeyId: ARN, Plaintext: new Uint8Array(32).fill(1), CiphertextBlob: new Uint8Array([1, 2, 3]) }),
    };
    const keyring = new KmsKeyring({ generatorKeyId: ARN, client: answering, timeoutMs: 2 ** 31 - 1 });
    await expect(encrypt(new Uint8Array([1]), { keyring })).resolves.toBeTruthy();
  });
});
