import { describe, expect, it } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LocalKms } from '../../src/local-kms/index.js';
import { MAX_LOCAL_KMS_WAL_LEFT_BYTES } from '../../src/limits.js';
import { ROOT_KEY, freshKms } from './helpers.js';

// LocalKms.executeBatch and onlyAuditRowsWritten. executeBatch: several operations in one SQLite transaction, each still its own
// operation (own checks, own audit row, own fresh data key), results only after the commit.

describe('LocalKms.executeBatch', () => {
  it('runs each operation as execute would, with one audit row each and a fresh data key each', async () => {
    const { kms, cleanup } = freshKms();
    try {
      const { KeyMetadata } = await kms.createKey({});
      const disabled = (await kms.createKey({})).KeyMetadata!.KeyId!;
      await kms.disableKey({ KeyId: disabled });
      const before = kms.readAudit().length;
      const gdk = (KeyId: string) => ({ operation: 'GenerateDataKey', input: { KeyId, KeySpec: 'AES_256' } });
      const results = await kms.executeBatch([gdk(KeyMetadata!.KeyId!), gdk(disabled), gdk('alias/none'), gdk(KeyMetadata!.KeyId!), { operation: 'NoSuchOperation', input: {} }]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'rejected']);
      expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).name : 'ok'))).toEqual(['ok', 'DisabledException', 'NotFoundException', 'ok', 'UnknownOperationException']);
      const [a, , , b] = results as PromiseFulfilledResult<{ Plaintext: Uint8Array; CiphertextBlob: Uint8Array }>[];
      expect(Buffer.from(a!.value.Plaintext).equals(Buffer.from(b!.value.Plaintext))).toBe(false);
      // Each key opens with Decrypt, as a single GenerateDataKey's would.
      for (const r of [a!, b!]) expect(Buffer.from((await kms.decrypt({ CiphertextBlob: r.value.CiphertextBlob })).Plaintext!)).toEqual(Buffer.from(r.value.Plaintext));
      // One row per operation that reached a handler, failures included; the chain verifies.
      const rows = kms.readAudit().slice(before, before + 4);
      expect(rows.map((r) => [r.operation, r.error])).toEqual([
        ['GenerateDataKey', null],
        ['GenerateDataKey', 'DisabledException'],
        ['GenerateDataKey', 'NotFoundException'],
        ['GenerateDataKey', null],
      ]);
      expect(kms.verifyAudit().ok).toBe(true);
    } finally {
      cleanup();
    }
  });

  it('rejects on a closed store and refuses a non-array', async () => {
    const { kms, cleanup } = freshKms();
    cleanup();
    await expect(kms.executeBatch([])).rejects.toMatchObject({ name: 'KMSInternalException' });
    await expect(kms.executeBatch('x' as never)).rejects.toBeInstanceOf(TypeError);
  });
});

describe('LocalKms.onlyAuditRowsWritten', () => {
  it('is true only while everything committed since opening is audit rows of reading operations', async () => {
    const { kms, clock, dir, cleanup } = freshKms();
    try {
      // Opening created the store.
      expect(kms.onlyAuditRowsWritten).toBe(false);
      const { KeyMetadata } = await kms.createKey({});
      const keyId = KeyMetadata!.KeyId!;
      kms.close();
      expect(kms.onlyAuditRowsWritten).toBe(false);

      const again = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY, clock: clock.now });
      expect(again.onlyAuditRowsWritten).toBe(true);
      await again.describeKey({ KeyId: keyId });
      const { CiphertextBlob } = await again.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256' });
      await again.decrypt({ CiphertextBlob: CiphertextBlob! });
      await again.executeBatch([{ operation: 'GenerateDataKey', input: { KeyId: keyId, KeySpec: 'AES_256' } }]);
      await expect(again.describeKey({ KeyId: 'alias/none' })).rejects.toMatchObject({ name: 'NotFoundException' });
      expect(again.onlyAuditRowsWritten).toBe(true);
      await again.enableKeyRotation({ KeyId: keyId, RotationPeriodInDays: 90 });
      expect(again.onlyAuditRowsWritten).toBe(false);
      again.close();

      // A rotation that falls due inside a reading operation changes key material.
      clock.advanceDays(91);
      const later = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY, clock: clock.now });
      expect(later.onlyAuditRowsWritten).toBe(true);
      await later.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256' });
      expect(later.onlyAuditRowsWritten).toBe(false);
      expect((await later.listKeyRotations({ KeyId: keyId })).Rotations).toHaveLength(1);
      later.close();
    } finally {
      cleanup();
    }
  });

  it('is false once the write-ahead log is past MAX_LOCAL_KMS_WAL_LEFT_BYTES, so that a process closes (checkpoints) instead of leaving a long log to every later one', async () => {
    const { kms, dir, clock, cleanup } = freshKms();
    try {
      kms.close();
      const again = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY, clock: clock.now });
      const wal = join(dir, 'kms.sqlite-wal');
      const size = (): number => (existsSync(wal) ? statSync(wal).size : 0);
      const random = Array.from({ length: 100 }, () => ({ operation: 'GenerateRandom', input: { NumberOfBytes: 16 } }));
      // Audit rows only: true while the log is short.
      await again.executeBatch(random);
      expect(size()).toBeGreaterThan(0);
      expect(size()).toBeLessThanOrEqual(MAX_LOCAL_KMS_WAL_LEFT_BYTES);
      expect(again.onlyAuditRowsWritten).toBe(true);
      for (let i = 0; i < 100 && size() <= MAX_LOCAL_KMS_WAL_LEFT_BYTES; i++) await again.executeBatch(random);
      expect(size()).toBeGreaterThan(MAX_LOCAL_KMS_WAL_LEFT_BYTES);
      expect(again.onlyAuditRowsWritten).toBe(false);
      // Closing checkpoints the log and deletes it; the next instance may leave its rows again.
      again.close();
      expect(size()).toBe(0);
      const third = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY, clock: clock.now });
      await third.executeBatch(random.slice(0, 1));
      expect(third.onlyAuditRowsWritten).toBe(true);
      expect(third.verifyAudit().ok).toBe(true);
      third.close();
    } finally {
      cleanup();
    }
  });
});
