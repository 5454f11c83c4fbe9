import { describe, expect, it } from 'vitest';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { KmsKeyring, decrypt, encrypt } from '../../src/index.js';
import type { KmsClientLike } from '../../src/keyring/kms-client-supplier.js';
import { SealboxError } from '../../src/errors.js';
import { thrown } from '../helpers/keys.js';
import { useServedKms } from '../kms-server/served-kms.js';

// docs/kms-keyring.md, "Clients, regions, retries and timeouts": at the deadline the call fails,
// and an answer that still comes later has its data key zeroed. The clients here wrap a real
// KMSClient on the local KMS's SigV4 endpoint the way applications often do, without passing on
// the abort signal, and answer only after the keyring's deadline.
const served = useServedKms();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A client that answers `delayMs` after KMS did, ignoring the abort signal; keeps every answer. */
function slowWrapper(delayMs: number): { client: KmsClientLike; answers: { Plaintext?: Uint8Array }[]; delivered: Promise<void>[] } {
  const answers: { Plaintext?: Uint8Array }[] = [];
  const delivered: Promise<void>[] = [];
  const client: KmsClientLike = {
    send(command) {
      const answer = (async () => {
        const out = (await served.root.send(command as never)) as { Plaintext?: Uint8Array };
        answers.push(out);
        await sleep(delayMs);
        return out;
      })();
      delivered.push(answer.then(() => sleep(0)));
      return answer;
    },
  };
  return { client, answers, delivered };
}

async function createKey(): Promise<string> {
  return (await served.root.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
}

/** Once the one late answer has come: its 32-byte data key is all zeros. */
async function expectLateKeyZeroed(slow: ReturnType<typeof slowWrapper>): Promise<void> {
  await Promise.all(slow.delivered);
  expect(slow.answers).toHaveLength(1);
  const late = slow.answers[0]!.Plaintext!;
  expect(late).toHaveLength(32);
  expect(late.every((b) => b === 0)).toBe(true);
}

describe('KMS keyring: an answer that comes after the deadline', () => {
  it('GenerateDataKey: encrypt fails at the deadline, and the late data key is zeroed', async () => {
    const arn = await createKey();
    const slow = slowWrapper(400);
    const keyring = new KmsKeyring({ generatorKeyId: arn, client: slow.client, timeoutMs: 100 });
    const err = await thrown(() => encrypt(new Uint8Array([1, 2, 3]), { keyring }));
    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('ERR_KEYRING');
    expect(((err as SealboxError).cause as Error).name).toBe('TimeoutError');
    await expectLateKeyZeroed(slow);
  });

  it('Decrypt: decrypt fails at the deadline, and the late data key is zeroed', async () => {
    const arn = await createKey();
    const { ciphertext } = await encrypt(new Uint8Array([1, 2, 3]), { keyring: new KmsKeyring({ generatorKeyId: arn, client: served.root }) });
    const slow = slowWrapper(400);
    const keyring = new KmsKeyring({ keyIds: [arn], client: slow.client, timeoutMs: 100 });
    const err = await thrown(() => decrypt(ciphertext, { keyring }));
    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('ERR_KEYRING');
    await expectLateKeyZeroed(slow);
  });

  it('an answer in time is used as before (and the SDK copy zeroed once it is ours)', async () => {
    const arn = await createKey();
    const slow = slowWrapper(10);
    const keyring = new KmsKeyring({ generatorKeyId: arn, client: slow.client, timeoutMs: 5_000 });
    const { ciphertext } = await encrypt(new Uint8Array([1, 2, 3]), { keyring });
    const { plaintext } = await decrypt(ciphertext, { keyring });
    expect([...plaintext]).toEqual([1, 2, 3]);
    expect(slow.answers).toHaveLength(2);
    for (const answer of slow.answers) expect(answer.Plaintext!.every((b) => b === 0)).toBe(true);
  });
});
