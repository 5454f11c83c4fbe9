// Rows written into kms.sqlite by someone with write access to the file but not the root key
// (or by damage): each gets a clear, typed error, never a loop, a crash or a flood of work,
// and the store loses nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import Database from 'better-sqlite3';
import { LocalKms } from '../../src/local-kms/index.js';
import { Sealer } from '../../src/local-kms/sealing.js';
import { ROOT_KEY, TestClock, errorName } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'sealbox-kms-damaged-'));
// Inside the repository so the child resolves packages from node_modules.
const child = join(process.cwd(), 'node_modules', '.cache', 'sealbox-test', `one-call-${process.pid}.mjs`);
let n = 0;

beforeAll(async () => {
  await build({ entryPoints: [join(import.meta.dirname, 'fixtures', 'one-call.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: child, logLevel: 'silent' });
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(child, { force: true });
});

/** A store with one symmetric key with automatic rotation on; returns its directory and key id. */
async function storeWithRotatingKey(clock?: TestClock): Promise<{ dir: string; keyId: string }> {
  const dir = join(tmp, `s${n++}`);
  const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY, ...(clock ? { clock: clock.now } : {}) });
  const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  await kms.enableKeyRotation({ KeyId: keyId });
  kms.close();
  return { dir, keyId };
}

/** Runs SQL on the store's file as the forger does: straight into SQLite, no root key. */
function forge(dir: string, sql: string, ...params: unknown[]): void {
  const db = new Database(join(dir, 'kms.sqlite'));
  db.prepare(sql).run(...params);
  db.close();
}

/** One call in a child process, killed after 20 s: what it printed (nothing when it hung). */
function oneCall(dir: string): string {
  const run = spawnSync(process.execPath, [child], { env: { ...process.env, KMS_DIR: dir }, cwd: process.cwd(), encoding: 'utf8', timeout: 20_000 });
  return run.stdout.trim();
}

function versions(dir: string): number {
  const db = new Database(join(dir, 'kms.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM key_versions').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('scheduled work on forged rows', () => {
  it('a rotation period of 0 days is KMSInternalException, not a loop that adds key versions forever', async () => {
    const { dir } = await storeWithRotatingKey();
    forge(dir, 'UPDATE keys SET rotation_period_days = 0, next_rotation_at = 0');
    expect(oneCall(dir)).toBe('KMSInternalException');
    expect(versions(dir)).toBe(1);
  }, 60_000);

  it('a key row with a NULL key id due for deletion is KMSInternalException, not a loop writing audit rows forever', async () => {
    const { dir } = await storeWithRotatingKey();
    forge(dir, "INSERT INTO keys (key_id, key_spec, key_usage, origin, state, description, policy, created_at, deletion_date, current_version, region) VALUES (NULL, 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'AWS_KMS', 'PendingDeletion', '', '{}', 0, 0, 0, 'us-east-1')");
    expect(oneCall(dir)).toBe('KMSInternalException');
  }, 60_000);

  it('a next rotation date 270,000 years ago is KMSInternalException, not a million rotations in one call', async () => {
    const { dir } = await storeWithRotatingKey();
    forge(dir, 'UPDATE keys SET next_rotation_at = ?', -8.64e15);
    expect(oneCall(dir)).toBe('KMSInternalException');
    expect(versions(dir)).toBe(1);
  }, 60_000);

  it('a rotation period outside 90-2560 days is refused before any rotation, the store is unchanged, and repairing the row lets it work again', async () => {
    const clock = new TestClock();
    const { dir, keyId } = await storeWithRotatingKey(clock);
    // One day, due 100 days ago: 101 rotations, which EnableKeyRotation can never ask for.
    forge(dir, 'UPDATE keys SET rotation_period_days = 1, next_rotation_at = ?', clock.time - 100 * 86_400_000);
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY, clock: clock.now });
    let message = '';
    try {
      await kms.describeKey({ KeyId: keyId });
    } catch (err) {
      message = `${(err as Error).name}: ${(err as Error).message}`;
    }
    expect(message).toMatch(/^KMSInternalException: The key store is damaged: the key row ".+" has a rotation period that is not 90-2560 days/);
    expect(await errorName(kms.encrypt({ KeyId: keyId, Plaintext: new Uint8Array(1) }))).toBe('KMSInternalException');
    expect(versions(dir)).toBe(1);
    expect(kms.verifyAudit().ok).toBe(true);
    forge(dir, 'UPDATE keys SET rotation_period_days = 365, next_rotation_at = ?', clock.time + 86_400_000);
    expect((await kms.listKeyRotations({ KeyId: keyId })).Rotations).toEqual([]);
    expect((await kms.encrypt({ KeyId: keyId, Plaintext: new Uint8Array(1) })).KeyId).toContain(keyId);
    kms.close();
  });
});

describe('key material is bound to its key id, version, spec, usage and origin', () => {
  const material = (dir: string, keyId: string): Buffer => {
    const db = new Database(join(dir, 'kms.sqlite'), { readonly: true });
    try {
      return (db.prepare('SELECT sealed_material FROM key_versions WHERE key_id = ?').get(keyId) as { sealed_material: Buffer }).sealed_material;
    } finally {
      db.close();
    }
  };

  it('a symmetric key relabelled HMAC_256 makes no MAC with its AES key; restoring the row restores it', async () => {
    const dir = join(tmp, `s${n++}`);
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const blob = (await kms.encrypt({ KeyId: keyId, Plaintext: new Uint8Array([1, 2, 3]) })).CiphertextBlob!;
    forge(dir, "UPDATE keys SET key_spec = 'HMAC_256', key_usage = 'GENERATE_VERIFY_MAC'");
    expect(await errorName(kms.generateMac({ KeyId: keyId, MacAlgorithm: 'HMAC_SHA_256', Message: new Uint8Array(3) }))).toBe('KMSInternalException');
    forge(dir, "UPDATE keys SET key_spec = 'SYMMETRIC_DEFAULT', key_usage = 'ENCRYPT_DECRYPT'");
    expect((await kms.decrypt({ CiphertextBlob: blob })).Plaintext).toEqual(new Uint8Array([1, 2, 3]));
    kms.close();
  });

  it('an RSA signing key relabelled ENCRYPT_DECRYPT does not encrypt; its origin changed, it does not sign', async () => {
    const dir = join(tmp, `s${n++}`);
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    const keyId = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
    forge(dir, "UPDATE keys SET key_usage = 'ENCRYPT_DECRYPT'");
    expect(await errorName(kms.encrypt({ KeyId: keyId, Plaintext: new Uint8Array(3), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))).toBe('KMSInternalException');
    forge(dir, "UPDATE keys SET key_usage = 'SIGN_VERIFY', origin = 'EXTERNAL'");
    expect(await errorName(kms.sign({ KeyId: keyId, Message: new Uint8Array(3), SigningAlgorithm: 'RSASSA_PSS_SHA_256' }))).toBe('KMSInternalException');
    forge(dir, "UPDATE keys SET origin = 'AWS_KMS'");
    expect((await kms.sign({ KeyId: keyId, Message: new Uint8Array(3), SigningAlgorithm: 'RSASSA_PSS_SHA_256' })).Signature!.length).toBe(256);
    kms.close();
  });

  it('two keys\' sealed material swapped opens as neither', async () => {
    const dir = join(tmp, `s${n++}`);
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    const a = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const b = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const [sa, sb] = [material(dir, a), material(dir, b)];
    forge(dir, 'UPDATE key_versions SET sealed_material = ? WHERE key_id = ?', sb, a);
    forge(dir, 'UPDATE key_versions SET sealed_material = ? WHERE key_id = ?', sa, b);
    for (const id of [a, b]) expect(await errorName(kms.encrypt({ KeyId: id, Plaintext: new Uint8Array(1) }))).toBe('KMSInternalException');
    kms.close();
  });

  it('material sealed by an earlier version (key id and version only) still opens', async () => {
    const dir = join(tmp, `s${n++}`);
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const blob = (await kms.encrypt({ KeyId: keyId, Plaintext: new Uint8Array([7]) })).CiphertextBlob!;
    // What Sealbox sealed before: the same material under the label `<key id>/<version>`.
    const sealer = new Sealer(ROOT_KEY, 'key material');
    const raw = sealer.open(material(dir, keyId), JSON.stringify(['sealbox key material v2', keyId, 1, 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'AWS_KMS']));
    forge(dir, 'UPDATE key_versions SET sealed_material = ? WHERE key_id = ?', Buffer.from(sealer.seal(raw, `${keyId}/1`)), keyId);
    kms.close();
    const again = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    expect((await again.decrypt({ CiphertextBlob: blob })).Plaintext).toEqual(new Uint8Array([7]));
    again.close();
  });
});

describe('the root key check value', () => {
  it('deleted from a store with keys, any root key is refused (RootKeyMismatchException) and nothing is written; restored, the right key opens it', async () => {
    const dir = join(tmp, `s${n++}`);
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
    kms.close();
    const db = new Database(join(dir, 'kms.sqlite'));
    const check = (db.prepare("SELECT value FROM meta WHERE name = 'root_key_check'").get() as { value: string }).value;
    db.prepare("DELETE FROM meta WHERE name = 'root_key_check'").run();
    db.close();
    for (const rootKey of [new Uint8Array(32).fill(1), ROOT_KEY]) {
      let name = 'opened';
      try {
        LocalKms.open({ dataDir: dir, rootKey }).close();
      } catch (err) {
        name = (err as Error).name;
      }
      expect(name).toBe('RootKeyMismatchException');
    }
    forge(dir, "INSERT INTO meta (name, value) VALUES ('root_key_check', ?)", check);
    const again = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    expect((await again.encrypt({ KeyId: keyId, Plaintext: new Uint8Array(1) })).KeyId).toContain(keyId);
    again.close();
  });
});
