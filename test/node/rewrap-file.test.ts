import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, open, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decrypt } from '../../src/decrypt.js';
import { encrypt } from '../../src/encrypt.js';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT } from '../../src/crypto/suites.js';
import { readPreamble } from '../../src/format/header.js';
import { TAG_BYTES } from '../../src/limits.js';
import type { Keyring } from '../../src/keyring/keyring.js';
import { recoverRewrap, rewrapFile } from '../../src/node/index.js';
import { journalPath, writeHeaderInPlace } from '../../src/node/header-journal.js';
import { rewrapFileWith } from '../../src/node/rewrap-file.js';
import { rewrap } from '../../src/rewrap/index.js';
import { bytesEqual, pattern, testKeyring, thrown } from '../helpers/keys.js';

const oldKey = testKeyring('old', 1);
const newKey = testKeyring('new', 2);
const dir = await mkdtemp(join(tmpdir(), 'sealbox-rewrap-file-'));
const child = join(process.cwd(), 'node_modules', '.cache', 'sealbox-test', `rewrap-child-${process.pid}.mjs`);
beforeAll(async () => {
  await build({ entryPoints: [join(import.meta.dirname, 'fixtures', 'rewrap-child.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: child, logLevel: 'silent' });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(child, { force: true });
});

const code = (err: unknown): string => (err as { code?: string; name: string }).code ?? (err as Error).name;
const bodyOf = (m: Uint8Array): Uint8Array => m.subarray(readPreamble(m)! + TAG_BYTES);
const leftovers = async (): Promise<string[]> => (await readdir(dir)).filter((f) => f.includes('sealbox-tmp') || f.includes('sealbox-rewrap') || f.includes('sealbox-lock'));

/**
 * A message file under oldKey. Suite 3 unless `suite1` (encrypt writes suite 1; its first rewrap
 * adds the 9-byte header salt item, so only suite 3 files keep their header length).
 */
async function message(name: string, n = 300_000, frameLength = 4096, suite1 = false): Promise<{ path: string; bytes: Buffer; plaintext: Uint8Array }> {
  const plaintext = pattern(n, 9);
  const encrypted = (await encrypt(plaintext, { keyring: oldKey, frameLength, encryptionContext: { file: name } })).ciphertext;
  const ciphertext = suite1 ? encrypted : (await rewrap(encrypted, { keyring: oldKey, to: oldKey })).ciphertext;
  const path = join(dir, name);
  await writeFile(path, ciphertext);
  return { path, bytes: Buffer.from(ciphertext), plaintext };
}

async function opensWith(path: string, keyring: Keyring, plaintext: Uint8Array): Promise<boolean> {
  try {
    return bytesEqual((await decrypt(await readFile(path), { keyring })).plaintext, plaintext);
  } catch {
    return false;
  }
}

describe('rewrapFile', () => {
  it('into a new file: same header length uses the platform copy; the body is identical; src is untouched', async () => {
    const { path, bytes, plaintext } = await message('a.sbx');
    const r = await rewrapFile(path, join(dir, 'a2.sbx'), { keyring: oldKey, to: newKey, expectedEncryptionContext: { file: 'a.sbx' } });
    expect(r.method).toBe('copy');
    const out = await readFile(join(dir, 'a2.sbx'));
    expect(r.bytesWritten).toBe(out.length);
    expect(out.length).toBe(bytes.length);
    expect(bytesEqual(bodyOf(out), bodyOf(bytes))).toBe(true);
    expect(await opensWith(join(dir, 'a2.sbx'), newKey, plaintext)).toBe(true);
    expect(await opensWith(join(dir, 'a2.sbx'), oldKey, plaintext)).toBe(false);
    expect(bytesEqual(await readFile(path), bytes)).toBe(true);
    expect(await leftovers()).toEqual([]);
  });

  it('a header of another length: positional copy, permissions kept; in place it replaces the file by rename', async () => {
    const { path, bytes, plaintext } = await message('b.sbx', 3 * 1024 * 1024 + 5, 65536);
    await chmod(path, 0o640);
    const r = await rewrapFile(path, join(dir, 'b2.sbx'), { keyring: oldKey, to: newKey, mode: 'add' });
    expect(r.method).toBe('copy');
    const out = await readFile(join(dir, 'b2.sbx'));
    expect(out.length).toBeGreaterThan(bytes.length);
    expect(bytesEqual(bodyOf(out), bodyOf(bytes))).toBe(true);
    expect((await stat(join(dir, 'b2.sbx'))).mode & 0o777).toBe(0o640);
    for (const k of [oldKey, newKey]) expect(await opensWith(join(dir, 'b2.sbx'), k, plaintext)).toBe(true);
    const inode = (await stat(path)).ino;
    const again = await rewrapFile(path, path, { keyring: oldKey, to: newKey, mode: 'add' });
    expect(again.method).toBe('copy');
    expect((await stat(path)).ino).not.toBe(inode);
    expect(bytesEqual(await readFile(path), out)).toBe(false);
    expect(bytesEqual(bodyOf(await readFile(path)), bodyOf(bytes))).toBe(true);
    expect(await leftovers()).toEqual([]);
  });

  it('in place with an equal header length writes only the header, in the same file', async () => {
    const { path, bytes, plaintext } = await message('c.sbx');
    const inode = (await stat(path)).ino;
    const r = await rewrapFile(path, path, { keyring: oldKey, to: newKey });
    expect(r.method).toBe('header');
    expect(r.bytesWritten).toBe(bytes.length - bodyOf(bytes).length);
    expect((await stat(path)).ino).toBe(inode);
    const now = await readFile(path);
    expect(bytesEqual(bodyOf(now), bodyOf(bytes))).toBe(true);
    expect(await opensWith(path, newKey, plaintext)).toBe(true);
    expect(await opensWith(path, oldKey, plaintext)).toBe(false);
    expect(await leftovers()).toEqual([]);
    // inPlace: 'copy' writes a new file even when the header keeps its length.
    const copied = await rewrapFile(path, path, { keyring: newKey, to: oldKey, inPlace: 'copy' });
    expect(copied.method).toBe('copy');
    expect((await stat(path)).ino).not.toBe(inode);
    expect(await opensWith(path, oldKey, plaintext)).toBe(true);
  });

  it('refuses tampered headers and damaged bodies before writing anything', async () => {
    const { path, bytes } = await message('d.sbx', 50_000, 1000);
    const headerEnd = readPreamble(bytes)!;
    const cases: [string, Uint8Array, string][] = [
      ['header tag', Uint8Array.from(bytes, (b, i) => (i === headerEnd + 1 ? b ^ 1 : b)), 'ERR_DECRYPTION_FAILED'],
      // Suite 3: the commitment, then the 8-byte salt item (0x48 ‖ salt) end the header body.
      ['commitment', Uint8Array.from(bytes, (b, i) => (i === headerEnd - 9 - 2 ? b ^ 1 : b)), 'ERR_COMMITMENT_MISMATCH'],
      ['header salt', Uint8Array.from(bytes, (b, i) => (i === headerEnd - 2 ? b ^ 1 : b)), 'ERR_DECRYPTION_FAILED'],
      ['cut in the header', bytes.subarray(0, headerEnd), 'ERR_TRUNCATED'],
      ['cut by a byte', bytes.subarray(0, bytes.length - 1), 'ERR_TRUNCATED'],
      ['cut by a frame', bytes.subarray(0, bytes.length - 1017), 'ERR_TRUNCATED'],
      ['no final frame', bytes.subarray(0, bytes.length - (50_000 % 1000) - 21), 'ERR_TRUNCATED'],
      ['a byte appended', Buffer.concat([bytes, Buffer.of(1)]), 'ERR_TRAILING_DATA'],
    ];
    const bad = join(dir, 'bad.sbx');
    for (const [name, content, expected] of cases) {
      await writeFile(bad, content);
      for (const dst of [bad, join(dir, 'bad-out.sbx')]) {
        let wraps = 0;
        const to: Keyring = { wrapKey: (req) => (wraps++, newKey.wrapKey(req)), unwrapKey: (req) => newKey.unwrapKey(req) };
        expect(code(await thrown(() => rewrapFile(bad, dst, { keyring: oldKey, to }))), name).toBe(expected);
        expect(wraps, name).toBe(0);
        expect(bytesEqual(await readFile(bad), content), name).toBe(true);
        expect(await stat(join(dir, 'bad-out.sbx')).catch(() => null), name).toBeNull();
        expect(await leftovers(), name).toEqual([]);
      }
    }
    expect(bytesEqual(await readFile(path), bytes)).toBe(true);
  });

  it('a suite 1 file: its first rewrap adds the header salt (a copy, renamed), later ones write the header alone', async () => {
    const { path, bytes, plaintext } = await message('u.sbx', 300_000, 4096, true);
    const into = await rewrapFile(path, join(dir, 'u2.sbx'), { keyring: oldKey, to: newKey });
    expect([into.method, into.header.suite.id, into.previousHeader.suite.id]).toEqual(['copy', 3, 1]);
    expect((await readFile(join(dir, 'u2.sbx'))).length).toBe(bytes.length + 9);
    expect(bytesEqual(await readFile(path), bytes)).toBe(true);
    const first = await rewrapFile(path, path, { keyring: oldKey, to: newKey });
    expect(first.method).toBe('copy');
    const second = await rewrapFile(path, path, { keyring: newKey, to: oldKey });
    expect(second.method).toBe('header');
    expect(bytesEqual(bodyOf(await readFile(path)), bodyOf(bytes))).toBe(true);
    expect(await opensWith(path, oldKey, plaintext)).toBe(true);
    expect(await leftovers()).toEqual([]);
    // Encrypted in suite 3 from the start: even the first rewrap writes the header alone.
    const fresh = join(dir, 'u3.sbx');
    await writeFile(fresh, (await encrypt(plaintext, { keyring: oldKey, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT })).ciphertext);
    expect((await rewrapFile(fresh, fresh, { keyring: oldKey, to: newKey })).method).toBe('header');
    expect(await opensWith(fresh, newKey, plaintext)).toBe(true);
  });

  it('a signed (suite 2) file is refused before any keyring is asked, in place and into another file, and left as it was', async () => {
    const plaintext = pattern(100_000, 2);
    const { ciphertext } = await encrypt(plaintext, { keyring: oldKey, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 });
    const path = join(dir, 's.sbx');
    await writeFile(path, ciphertext);
    for (const dst of [path, join(dir, 's2.sbx')]) {
      let calls = 0;
      const counting: Keyring = { wrapKey: (r) => (calls++, newKey.wrapKey(r)), unwrapKey: (r) => (calls++, oldKey.unwrapKey(r)) };
      expect(code(await thrown(() => rewrapFile(path, dst, { keyring: counting, to: counting })))).toBe('ERR_UNSUPPORTED_VERSION');
      expect(calls).toBe(0);
    }
    expect(bytesEqual(await readFile(path), ciphertext)).toBe(true);
    expect(await stat(join(dir, 's2.sbx')).catch(() => null)).toBeNull();
    expect(await leftovers()).toEqual([]);
  });

  it('verifyFrames reads every frame of the file', async () => {
    const { path, bytes } = await message('e.sbx', 2 * 1024 * 1024 + 100, 4096);
    await rewrapFile(path, join(dir, 'e2.sbx'), { keyring: oldKey, to: newKey, verifyFrames: true });
    const bad = join(dir, 'e-bad.sbx');
    await writeFile(bad, Uint8Array.from(bytes, (b, i) => (i === 1024 * 1024 + 7 ? b ^ 1 : b)));
    expect(code(await thrown(() => rewrapFile(bad, bad, { keyring: oldKey, to: newKey, verifyFrames: true })))).toBe('ERR_DECRYPTION_FAILED');
    // A copy of the final frame appended after the message fits its length rule; only the full walk sees it.
    const twice = join(dir, 'e-twice.sbx');
    await writeFile(twice, Buffer.concat([bytes, bytes.subarray(bytes.length - 4113)]));
    expect(code(await thrown(() => rewrapFile(twice, twice, { keyring: oldKey, to: newKey, verifyFrames: true })))).toBe('ERR_TRAILING_DATA');
    // Without it the damaged frame is carried over unchanged.
    await rewrapFile(bad, bad, { keyring: oldKey, to: newKey });
    expect(code(await thrown(async () => decrypt(await readFile(bad), { keyring: newKey })))).toBe('ERR_DECRYPTION_FAILED');
  });
});

describe('rewrapFile refuses damaged bodies with the code decrypt gives for the same bytes', () => {
  it('bytes after a complete message are ERR_TRAILING_DATA, whatever they are; a cut is ERR_TRUNCATED', async () => {
    const a = (await encrypt(pattern(100, 7), { keyring: oldKey, frameLength: 64 })).ciphertext;
    const b = (await encrypt(pattern(100, 8), { keyring: oldKey, frameLength: 64 })).ciphertext;
    const cases = [
      // The length says the final frame is 81 bytes further on (in the zeros: "type 0"), or in
      // the second message: before, ERR_TRUNCATED and ERR_FORMAT_INVALID.
      Buffer.concat([a, Buffer.alloc(81)]),
      Buffer.concat([a, b]),
      Buffer.concat([a, Buffer.alloc(1)]),
      Buffer.concat([a, Buffer.alloc(18, 1)]),
      Buffer.from(a.subarray(0, a.length - 1)),
      Buffer.from(a.subarray(0, a.length - 30)),
    ];
    for (const [i, bytes] of cases.entries()) {
      const path = join(dir, `shape-${i}.sbx`);
      await writeFile(path, bytes);
      const expected = code(await thrown(() => decrypt(bytes, { keyring: oldKey })));
      expect([i, expected]).toEqual([i, i < 4 ? 'ERR_TRAILING_DATA' : 'ERR_TRUNCATED']);
      expect([i, code(await thrown(() => rewrapFile(path, join(dir, `shape-${i}.out`), { keyring: oldKey, to: newKey })))]).toEqual([i, expected]);
    }
    expect(await leftovers()).toEqual([]);
  });

  it('finding the code reads the body in blocks, not once a frame: 1-byte frames cost no read each (it runs before any key is asked)', async () => {
    // Anyone can write such a file: a real header of frame length 1 (decoded, not yet
    // authenticated), then 512 KiB whose every 18th byte says "a regular frame", never a final one.
    const { ciphertext } = await encrypt(new Uint8Array(0), { keyring: oldKey, frameLength: 1 });
    const hostile = join(dir, 'tiny-frames.sbx');
    await writeFile(hostile, Buffer.concat([ciphertext.subarray(0, readPreamble(ciphertext)! + TAG_BYTES), Buffer.alloc(512 * 1024)]));
    // A real message of 1-byte frames, cut and extended: the walk crosses its 64 KiB blocks.
    const real = (await encrypt(pattern(10_000, 3), { keyring: oldKey, frameLength: 1 })).ciphertext;
    const cases: [string, Uint8Array | undefined, string][] = [
      ['hostile', undefined, 'ERR_TRUNCATED'],
      ['appended', Buffer.concat([real, Buffer.alloc(18)]), 'ERR_TRAILING_DATA'],
      ['another message appended', Buffer.concat([real, real]), 'ERR_TRAILING_DATA'],
      ['cut', real.subarray(0, real.length - 40), 'ERR_TRUNCATED'],
    ];
    const probe = await open(hostile, 'r');
    const proto = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => unknown };
    await probe.close();
    const read = vi.spyOn(proto, 'read');
    try {
      for (const [name, bytes, expected] of cases) {
        const path = bytes === undefined ? hostile : join(dir, 'tiny-frames-real.sbx');
        if (bytes !== undefined) await writeFile(path, bytes);
        let calls = 0;
        const counting: Keyring = { wrapKey: (r) => (calls++, newKey.wrapKey(r)), unwrapKey: (r) => (calls++, oldKey.unwrapKey(r)) };
        read.mockClear();
        expect([name, code(await thrown(() => rewrapFile(path, join(dir, 'tiny-frames.out'), { keyring: counting, to: newKey })))]).toEqual([name, expected]);
        expect([name, calls]).toEqual([name, 0]);
        // 512 KiB in 64 KiB blocks: 8, plus the preamble, header and guess reads. One a frame was 29,000.
        expect([name, read.mock.calls.length < 40]).toEqual([name, true]);
      }
    } finally {
      read.mockRestore();
    }
    expect(await leftovers()).toEqual([]);
  });
});

describe('rewrapFile and rewrap agree on damaged bodies (the walk in 64 KiB blocks against the in-memory walk)', () => {
  it('a 1-byte-frame message (about 185 KiB of body) cut, extended, or with bytes changed, deleted or inserted anywhere in its body: the same code', async () => {
    const real = Buffer.from((await encrypt(pattern(10_000, 5), { keyring: oldKey, frameLength: 1 })).ciphertext);
    const bodyStart = readPreamble(real)! + TAG_BYTES;
    const path = join(dir, 'walk.sbx');
    const at = fc.integer({ min: bodyStart, max: real.length });
    const damage = fc.oneof(
      at.map((p) => Buffer.from(real.subarray(0, p))),
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((extra) => Buffer.concat([real, extra])),
      fc.tuple(at, fc.integer({ min: 0, max: 255 })).map(([p, v]) => Buffer.concat([real.subarray(0, p), Buffer.of(v), real.subarray(p + 1)]).subarray(0, Math.max(real.length, p + 1))),
      fc.tuple(at, fc.integer({ min: 1, max: 70_000 })).map(([p, n]) => Buffer.concat([real.subarray(0, p), real.subarray(p + n)])),
      fc.tuple(at, fc.uint8Array({ minLength: 1, maxLength: 40 })).map(([p, ins]) => Buffer.concat([real.subarray(0, p), ins, real.subarray(p)])),
    );
    // A changed ciphertext byte is carried over (no verifyFrames): then both succeed.
    const outcome = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', code);
    await fc.assert(
      fc.asyncProperty(damage, async (bytes) => {
        const expected = await outcome(rewrap(bytes, { keyring: oldKey, to: newKey }));
        await writeFile(path, bytes);
        const got = await outcome(rewrapFile(path, join(dir, 'walk.out'), { keyring: oldKey, to: newKey }));
        await rm(join(dir, 'walk.out'), { force: true });
        // The one documented difference (docs/rewrap.md, "What rewrap checks"): a file's regular
        // frames' type bytes are read only when its length and final frame disagree, so a
        // changed type byte inside the body is carried over (decrypt then refuses it).
        if (got === 'ok' && expected === 'ERR_FORMAT_INVALID') return;
        expect(got).toBe(expected);
      }),
      { numRuns: 60, seed: 20261207, reporter: (r) => { if (r.failed) throw new Error(`rewrapFile and rewrap disagree after ${r.numRuns} runs: ${String(r.errorInstance)}`); } },
    );
    expect(await leftovers()).toEqual([]);
  }, 60_000);
});

describe('the body walk at its block edges', () => {
  it('frames of 4,096 bytes put a type byte at each 64 KiB block edge and one at the file\'s last byte: the codes decrypt gives', async () => {
    // Frame length 4,079: a regular frame is 4,096 bytes, so every 16th frame's type byte is the
    // first byte of a 64 KiB block of the walk (one past the block before it).
    const F = 4079;
    const RS = F + 17;
    const real = (await encrypt(pattern(40 * F + 5, 4), { keyring: oldKey, frameLength: F })).ciphertext;
    const bodyStart = readPreamble(real)! + TAG_BYTES;
    const unknownLast = Buffer.from(real.subarray(0, bodyStart + 33 * RS + 1));
    unknownLast[unknownLast.length - 1] = 7;
    const cases: [string, Uint8Array, string][] = [
      ['appended', Buffer.concat([real, Buffer.alloc(RS)]), 'ERR_TRAILING_DATA'],
      ['cut after 33 frames', real.subarray(0, bodyStart + 33 * RS), 'ERR_TRUNCATED'],
      ['cut inside frame 34', real.subarray(0, bodyStart + 33 * RS + 100), 'ERR_TRUNCATED'],
      ['an unknown type byte as the last byte', unknownLast, 'ERR_FORMAT_INVALID'],
    ];
    for (const [name, bytes, expected] of cases) {
      const path = join(dir, 'block-edges.sbx');
      await writeFile(path, bytes);
      expect([name, code(await thrown(() => decrypt(bytes, { keyring: oldKey })))]).toEqual([name, expected]);
      expect([name, code(await thrown(() => rewrapFile(path, join(dir, 'block-edges.out'), { keyring: oldKey, to: newKey })))]).toEqual([name, expected]);
    }
    expect(await leftovers()).toEqual([]);
  });
});

describe('in-place header replacement survives a crash at any point', () => {
  it('a torn header with its journal: recovery gives the new message, for every tear point', async () => {
    const { path, bytes, plaintext } = await message('t.sbx', 5000, 1000);
    const { ciphertext: next } = await rewrap(bytes, { keyring: oldKey, to: newKey });
    const len = bytes.length - bodyOf(bytes).length;
    const oldHeader = bytes.subarray(0, len);
    const newHeader = next.subarray(0, len);
    // The journal exactly as writeHeaderInPlace leaves it once synced (stop it right there).
    const stop = new Error('stop');
    const { open } = await import('node:fs/promises');
    const f = await open(path, 'r+');
    await writeHeaderInPlace(path, f, oldHeader, newHeader, (s) => {
      if (s === 'journal-synced') throw stop;
    }).catch((e: unknown) => expect(e).toBe(stop));
    await f.close();
    const journal = await readFile(journalPath(path));
    const differing = [...oldHeader.keys()].filter((i) => oldHeader[i] !== newHeader[i]);
    expect(differing.length).toBeGreaterThan(0);
    for (let k = 0; k <= len; k++) {
      // The first k bytes written (a write that landed partly), and the same with only every other byte (any granularity).
      for (const torn of [Buffer.concat([newHeader.subarray(0, k), bytes.subarray(k)]), Buffer.from(bytes.map((b, i) => (i < k && i % 2 === 0 ? newHeader[i]! : b)))]) {
        await writeFile(path, torn);
        await writeFile(journalPath(path), journal, { mode: 0o600 });
        expect(await recoverRewrap(path)).toBe('completed');
        expect(bytesEqual(await readFile(path), next)).toBe(true);
      }
    }
    expect(await opensWith(path, newKey, plaintext)).toBe(true);
    // A journal cut anywhere was never synced, so the file was never touched: it is discarded.
    for (let k = 0; k < journal.length; k += 7) {
      await writeFile(path, bytes);
      await writeFile(journalPath(path), journal.subarray(0, k));
      expect(await recoverRewrap(path)).toBe('discarded');
      expect(bytesEqual(await readFile(path), bytes)).toBe(true);
    }
    // A journal for another file is left alone, and so is the file.
    const other = await message('t-other.sbx', 5000, 1000);
    await writeFile(journalPath(other.path), journal);
    expect(code(await thrown(() => recoverRewrap(other.path)))).toBe('ERR_STATE');
    expect(bytesEqual(await readFile(other.path), other.bytes)).toBe(true);
    expect(code(await thrown(() => rewrapFile(other.path, other.path, { keyring: oldKey, to: newKey })))).toBe('ERR_STATE');
    await rm(journalPath(other.path));
    expect(await recoverRewrap(path)).toBe('none');
  });

  it('a file under the journal name longer than any journal is not read: ERR_STATE, both left as they are', async () => {
    const { path, bytes } = await message('t-long.sbx', 5000, 1000);
    // Sparse: 4 MiB (two 1 MiB headers cannot make it) and 3 GiB (beyond what readFile reads).
    for (const size of [4 * 1024 * 1024, 3 * 1024 ** 3]) {
      await writeFile(journalPath(path), Buffer.alloc(0), { mode: 0o600 });
      await truncate(journalPath(path), size);
      expect([size, code(await thrown(() => recoverRewrap(path)))]).toEqual([size, 'ERR_STATE']);
      expect((await stat(journalPath(path))).size).toBe(size);
      expect(bytesEqual(await readFile(path), bytes)).toBe(true);
    }
    await rm(journalPath(path));
    expect(await recoverRewrap(path)).toBe('none');
  });

  it('a journal that someone who cannot write the file could have put there is refused, and nothing is written', async () => {
    const { path, bytes } = await message('planted.sbx', 5000, 1000);
    const { ciphertext: next } = await rewrap(bytes, { keyring: oldKey, to: newKey });
    const len = bytes.length - bodyOf(bytes).length;
    const stop = new Error('stop');
    const { chown, open, symlink, unlink } = await import('node:fs/promises');
    const f = await open(path, 'r+');
    await writeHeaderInPlace(path, f, bytes.subarray(0, len), next.subarray(0, len), (s) => {
      if (s === 'journal-synced') throw stop;
    }).catch((e: unknown) => expect(e).toBe(stop));
    await f.close();
    const genuine = await readFile(journalPath(path));
    const refused = async (what: string): Promise<void> => {
      expect([what, code(await thrown(() => recoverRewrap(path)))]).toEqual([what, 'ERR_STATE']);
      expect([what, code(await thrown(() => rewrapFile(path, path, { keyring: oldKey, to: newKey })))]).toEqual([what, 'ERR_STATE']);
      expect([what, bytesEqual(await readFile(path), bytes)]).toEqual([what, true]);
    };
    // Writable by others (as a journal created by another user in a shared directory can be).
    await chmod(journalPath(path), 0o666);
    await refused('mode 0666');
    // Writable by its group (anyone in it could have written it).
    await chmod(journalPath(path), 0o620);
    await refused('mode 0620');
    // A symbolic link to a journal.
    await rm(journalPath(path));
    await writeFile(join(dir, 'elsewhere'), genuine, { mode: 0o600 });
    await symlink(join(dir, 'elsewhere'), journalPath(path));
    await refused('symbolic link');
    await unlink(journalPath(path));
    // Owned by another user: as root, give it away (a non-root run cannot, and skips this).
    if (process.getuid?.() === 0) {
      await writeFile(journalPath(path), genuine, { mode: 0o600 });
      await chown(journalPath(path), 65534, 65534);
      await refused('owned by uid 65534');
      await rm(journalPath(path));
    }
    // Well formed, owned by this user, matching the file byte for byte, but "the old header" is
    // the whole file and "the new one" anything: recovery would have written it all (the
    // journal's checks alone passed it before).
    const whole = Buffer.alloc(8 + 4 + 8 + 16 + 2 * bytes.length + 32);
    whole.write('SBXRWJ1\n', 0, 'latin1');
    whole.writeUInt32BE(bytes.length, 8);
    whole.writeUInt32BE(0, 12);
    whole.writeUInt32BE(bytes.length, 16);
    bytes.subarray(bytes.length - 16).copy(whole, 20);
    bytes.copy(whole, 36);
    whole.fill(0x41, 36 + bytes.length, 36 + 2 * bytes.length);
    const { createHash } = await import('node:crypto');
    createHash('sha256').update(whole.subarray(0, whole.length - 32)).digest().copy(whole, whole.length - 32);
    await writeFile(journalPath(path), whole, { mode: 0o600 });
    await refused('the whole file as its header');
    await rm(journalPath(path));
    // The genuine journal, as this user wrote it, still completes the rewrap.
    await writeFile(journalPath(path), genuine, { mode: 0o600 });
    expect(await recoverRewrap(path)).toBe('completed');
    expect(bytesEqual(await readFile(path), next)).toBe(true);
  });

  for (const step of ['journal-written', 'journal-synced', 'header-written', 'header-synced', 'journal-removed']) {
    it(`a process killed after ${step}: the journal is there until the header is synced, and recovery gives the new message`, async () => {
      const { path, bytes, plaintext } = await message(`k-${step}.sbx`, 100_000, 4096);
      const r = spawnSync(process.execPath, [child, path, path, step, 'replace'], { encoding: 'utf8' });
      expect(r.signal, r.stderr).toBe('SIGKILL');
      const raw = await readFile(path);
      // Before the journal is durable the file has not been touched at all.
      if (step === 'journal-written' || step === 'journal-synced') expect(bytesEqual(raw, bytes)).toBe(true);
      // Until the header is synced, the journal is there, complete (a process killed, not a
      // power cut: what it wrote is in the page cache): recovery finishes the rewrap. A journal
      // removed or never written before the header write would be caught here, not by the outcome
      // alone (a header write that returned has landed whole).
      const journalLeft = await readFile(journalPath(path)).catch(() => null);
      expect(journalLeft !== null).toBe(step !== 'journal-removed');
      expect(await recoverRewrap(path)).toBe(step === 'journal-removed' ? 'none' : 'completed');
      const now = await readFile(path);
      const isOld = bytesEqual(now, bytes);
      const isNew = !isOld && (await opensWith(path, newKey, plaintext)) && !(await opensWith(path, oldKey, plaintext));
      expect(isNew).toBe(true);
      expect(bytesEqual(bodyOf(now), bodyOf(bytes))).toBe(true);
      expect(await leftovers()).toEqual([]);
      // Done again, it finishes (and the file is a normal message).
      await rewrapFile(path, path, { keyring: isNew ? newKey : oldKey, to: newKey });
      expect(await opensWith(path, newKey, plaintext)).toBe(true);
    }, 30_000);
  }

  it('a process killed mid-copy leaves the original intact (in place and into another file)', async () => {
    const { path, bytes } = await message('m.sbx', 8 * 1024 * 1024, 65536);
    for (const dst of [path, join(dir, 'm-out.sbx')]) {
      const r = spawnSync(process.execPath, [child, path, dst, 'copy-block', 'add'], { encoding: 'utf8' });
      expect(r.signal, r.stderr).toBe('SIGKILL');
      expect(bytesEqual(await readFile(path), bytes)).toBe(true);
      expect(await stat(join(dir, 'm-out.sbx')).catch(() => null)).toBeNull();
    }
    // A killed process cannot remove its temporary file; it is named so that it is recognisable.
    // Its rewrap locks stay too, and the next rewrap of the file takes them over (the process ended).
    for (const f of await leftovers()) {
      expect(f).toMatch(/^\.m(-out)?\.sbx\.([0-9a-f]{12}\.sealbox-tmp|sealbox-lock)$/);
      if (f.endsWith('tmp')) await rm(join(dir, f));
    }
    expect((await rewrapFile(path, join(dir, 'm-out.sbx'), { keyring: oldKey, to: newKey })).method).toBe('copy');
    await rm(join(dir, 'm-out.sbx'));
    expect(await leftovers()).toEqual([]);
  }, 30_000);
});

describe('two rewraps of one file at once', () => {
  it('a second rewrap or recovery while one writes the header in place is refused, and touches nothing', async () => {
    const { path, bytes, plaintext } = await message('race.sbx', 20_000, 1000);
    for (const step of ['journal-written', 'journal-synced', 'header-written', 'header-synced'] as const) {
      await writeFile(path, bytes);
      const seen: unknown[] = [];
      const r = await rewrapFileWith(path, path, { keyring: oldKey, to: newKey }, async (s) => {
        if (s !== step) return;
        // Another process (or another call in this one) starts on the same file right now: its
        // recovery must not take this live journal for a crashed one, finish or discard it.
        seen.push(await thrown(() => rewrapFile(path, path, { keyring: oldKey, to: newKey, mode: 'add' })));
        seen.push(await thrown(() => rewrapFile(path, join(dir, 'race-out.sbx'), { keyring: oldKey, to: newKey })));
        seen.push(await thrown(() => recoverRewrap(path)));
      });
      expect([step, seen.map(code)]).toEqual([step, ['ERR_STATE', 'ERR_STATE', 'ERR_STATE']]);
      expect([step, r.method]).toEqual([step, 'header']);
      expect(await opensWith(path, newKey, plaintext)).toBe(true);
      expect((await decrypt(await readFile(path), { keyring: newKey })).header.encryptedDataKeys.length).toBe(1);
      expect(await stat(join(dir, 'race-out.sbx')).catch(() => null)).toBeNull();
      expect(await leftovers()).toEqual([]);
    }
  });

  it('the lock of a rewrap in another process is respected; one of a process that has ended is taken over', async () => {
    const { path, bytes, plaintext } = await message('held.sbx', 20_000, 1000);
    const { spawn } = await import('node:child_process');
    const { hostname } = await import('node:os');
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    const boot = await readFile('/proc/sys/kernel/random/boot_id', 'latin1').then((b) => b.trim(), () => '');
    const start = (pid: number): Promise<string> => readFile(`/proc/${pid}/stat`, 'latin1').then((t) => t.slice(t.lastIndexOf(')') + 2).split(' ')[19]!, () => '');
    const lockText = async (pid: number, startTime?: string, host = hostname()): Promise<string> => `sealbox-lock 1\n${pid}\n${startTime ?? (await start(pid))}\n${boot}\n${host}\n`;
    const lock = join(dir, '.held.sbx.sealbox-lock');
    try {
      // A running process's lock, and one of another host (whose processes cannot be seen): refused, nothing touched.
      for (const text of [await lockText(other.pid!), await lockText(1, '', 'another-host.example')]) {
        await writeFile(lock, text, { mode: 0o600 });
        for (const attempt of [() => rewrapFile(path, path, { keyring: oldKey, to: newKey }), () => rewrapFile(path, join(dir, 'held-out.sbx'), { keyring: oldKey, to: newKey }), () => recoverRewrap(path)]) {
          const err = await thrown(attempt);
          expect(code(err)).toBe('ERR_STATE');
          expect((err as Error).message).toMatch(/Another rewrap of held\.sbx is in progress \(process \d+/);
        }
        expect(bytesEqual(await readFile(path), bytes)).toBe(true);
        expect(await readFile(lock, 'latin1')).toBe(text);
        expect(await stat(join(dir, 'held-out.sbx')).catch(() => null)).toBeNull();
      }
    } finally {
      other.kill('SIGKILL');
    }
    await new Promise((resolve) => other.once('exit', resolve));
    // Stale: its process has ended; this process's id with another start time (the id came
    // round: Linux only); a lock cut short by a power cut (empty); not a lock at all.
    const stale = [await lockText(other.pid!), ...(boot ? [await lockText(process.pid, '1')] : []), '', 'junk'];
    for (const [i, text] of stale.entries()) {
      await writeFile(lock, text, { mode: 0o600 });
      expect([i, (await rewrapFile(path, path, { keyring: i % 2 ? newKey : oldKey, to: i % 2 ? oldKey : newKey })).method]).toEqual([i, 'header']);
      expect(await leftovers()).toEqual([]);
    }
    expect(await opensWith(path, stale.length % 2 ? newKey : oldKey, plaintext)).toBe(true);
  });

  it('a FIFO or a directory under the lock name (another user in a shared directory) is ERR_STATE at once, not waited on', async () => {
    const { path, bytes } = await message('planted.sbx', 20_000, 1000);
    const lock = join(dir, '.planted.sbx.sealbox-lock');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [lock]);
    const { mkdir, rm } = await import('node:fs/promises');
    for (const make of [async () => undefined, async () => (await rm(lock), await mkdir(lock))]) {
      await make();
      for (const attempt of [() => rewrapFile(path, path, { keyring: oldKey, to: newKey }), () => recoverRewrap(path)]) {
        // Before, opening the FIFO waited for a writer that never comes.
        const err = await Promise.race([thrown(attempt), new Promise((resolve) => setTimeout(() => resolve(new Error('still waiting after 5 s')), 5000))]);
        expect(code(err)).toBe('ERR_STATE');
        expect((err as Error).message).toContain('is not a regular file');
      }
      expect(bytesEqual(await readFile(path), bytes)).toBe(true);
    }
    await rm(lock, { recursive: true });
  });

  it('a file replaced after its header was read is not written: its own header stays', async () => {
    const { path, bytes } = await message('swap1.sbx', 20_000, 1000);
    const other = await message('swap2.sbx', 20_000, 1000);
    // The same kinds of keys and lengths: the new header has the length of either file's.
    const swapping: Keyring = {
      wrapKey: (req) => newKey.wrapKey(req),
      unwrapKey: async (req) => {
        // Between the header read and the header write, another program renames a file over it.
        await rename(other.path, path);
        return oldKey.unwrapKey(req);
      },
    };
    expect(code(await thrown(() => rewrapFile(path, path, { keyring: swapping, to: newKey })))).toBe('ERR_STATE');
    expect(bytesEqual(await readFile(path), other.bytes)).toBe(true);
    expect(bytes.length).toBe(other.bytes.length);
    expect(await leftovers()).toEqual([]);
  });
});

describe('rewrapFile through a symbolic link', () => {
  it('in place, the file it points to is rewrapped and the link kept, both ways of writing; its journal is beside the file', async () => {
    const { symlink, lstat, readlink } = await import('node:fs/promises');
    for (const suite1 of [true, false]) {
      const name = suite1 ? 'target1.sbx' : 'target3.sbx';
      const { path, plaintext } = await message(name, 20_000, 1000, suite1);
      const link = join(dir, `link-${name}`);
      await symlink(name, link);
      let journalBesideFile = false;
      const r = await rewrapFileWith(link, link, { keyring: oldKey, to: newKey }, async (s) => {
        if (s === 'journal-synced') journalBesideFile = (await stat(journalPath(path)).catch(() => null)) !== null;
      });
      expect([name, r.method]).toEqual([name, suite1 ? 'copy' : 'header']);
      if (!suite1) {
        expect(journalBesideFile).toBe(true);
        // A crash's journal is found through the link too.
        const { ciphertext: next } = await rewrap(await readFile(path), { keyring: newKey, to: oldKey });
        const len = readPreamble(next)! + TAG_BYTES;
        const f = await (await import('node:fs/promises')).open(path, 'r+');
        await writeHeaderInPlace(path, f, (await readFile(path)).subarray(0, len), next.subarray(0, len), (s) => {
          if (s === 'journal-synced') throw new Error('stop');
        }).catch(() => undefined);
        await f.close();
        expect(await recoverRewrap(link)).toBe('completed');
        expect(await opensWith(path, oldKey, plaintext)).toBe(true);
        await rewrapFile(link, link, { keyring: oldKey, to: newKey });
      }
      expect((await lstat(link)).isSymbolicLink()).toBe(true);
      expect(await readlink(link)).toBe(name);
      expect(await opensWith(path, newKey, plaintext)).toBe(true);
      expect(await opensWith(path, oldKey, plaintext)).toBe(false);
      await rm(link);
    }
    expect(await leftovers()).toEqual([]);
  });
});

describe.skipIf(process.getuid?.() !== 0)('in place by rename: the file keeps its owner; a file the user cannot write is not replaced (as root)', () => {
  it('owner, group and permissions are kept, for both kinds of copy', async () => {
    const { chown } = await import('node:fs/promises');
    for (const [name, suite1] of [['own1.sbx', true], ['own3.sbx', false]] as const) {
      const { path, plaintext } = await message(name, 20_000, 1000, suite1);
      await chmod(path, 0o640);
      await chown(path, 65534, 65534);
      const r = await rewrapFile(path, path, { keyring: oldKey, to: newKey, inPlace: 'copy' });
      expect([name, r.method]).toEqual([name, 'copy']);
      const st = await stat(path);
      expect([name, st.uid, st.gid, st.mode & 0o7777]).toEqual([name, 65534, 65534, 0o640]);
      expect(await opensWith(path, newKey, plaintext)).toBe(true);
    }
    expect(await leftovers()).toEqual([]);
  });

  it('another user who owns the directory but cannot write the file gets EACCES, and the file stays', async () => {
    const { chown } = await import('node:fs/promises');
    const shared = await mkdtemp(join(tmpdir(), 'sealbox-rewrap-owner-'));
    try {
      await chmod(shared, 0o755);
      await chown(shared, 65534, 65534);
      for (const suite1 of [true, false]) {
        const path = join(shared, suite1 ? 'root1.sbx' : 'root3.sbx');
        const { bytes } = await message('root-owned.sbx', 20_000, 1000, suite1);
        await writeFile(path, bytes, { mode: 0o644 });
        const inode = (await stat(path)).ino;
        const r = spawnSync(process.execPath, [child, path, path, 'none', 'replace'], { encoding: 'utf8', uid: 65534, gid: 65534 });
        expect([suite1, r.status, r.stdout]).toEqual([suite1, 1, '']);
        expect(r.stderr).toMatch(/EACCES/);
        const st = await stat(path);
        expect([suite1, st.ino, st.uid]).toEqual([suite1, inode, 0]);
        expect(bytesEqual(await readFile(path), bytes)).toBe(true);
        expect((await readdir(shared)).filter((f) => f.startsWith('.'))).toEqual([]);
      }
    } finally {
      await rm(shared, { recursive: true, force: true });
    }
  });
});

describe('rewrapFile of what is not a regular file', () => {
  it('a FIFO, directory or device as src, and a FIFO or directory as dst, are TypeErrors at once; nothing is replaced', async () => {
    const { path, bytes } = await message('regular.sbx', 5000, 1000);
    const fifo = join(dir, 'a-fifo');
    spawnSync('mkfifo', [fifo]);
    const sub = join(dir, 'a-dir');
    const { mkdir, lstat } = await import('node:fs/promises');
    await mkdir(sub);
    // A FIFO with no writer held the open (and the run) for ever: bounded here.
    const within = <T>(p: Promise<T>): Promise<T> => Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('still waiting after 3 s')), 3000))]);
    const cases: [string, string][] = [[fifo, fifo], [fifo, join(dir, 'from-fifo.sbx')], [sub, sub], ['/dev/zero', join(dir, 'from-zero.sbx')], [path, fifo], [path, sub]];
    for (const [src, dst] of cases) {
      const err = await within(thrown(() => rewrapFile(src, dst, { keyring: oldKey, to: newKey })));
      expect([src, dst, (err as Error).name, (err as Error).message]).toEqual([src, dst, 'TypeError', expect.stringMatching(/is not a regular file/)]);
    }
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    expect((await lstat(sub)).isDirectory()).toBe(true);
    expect(bytesEqual(await readFile(path), bytes)).toBe(true);
    expect(await stat(join(dir, 'from-fifo.sbx')).catch(() => null)).toBeNull();
    await rm(fifo);
    await rm(sub, { recursive: true });
    expect(await leftovers()).toEqual([]);
  }, 30_000);
});

describe('a file that changes while it is copied', () => {
  it('grown, or replaced by another file, while the body is copied: ERR_STATE, and what is there now stays', async () => {
    const { appendFile } = await import('node:fs/promises');
    for (const how of ['grown', 'replaced'] as const) {
      for (const inPlace of [true, false]) {
        const { path, bytes } = await message('moving.sbx', 3 * 1024 * 1024, 65536, true);
        const other = await message('moving2.sbx', 1000, 100, true);
        const dst = inPlace ? path : join(dir, 'moving-out.sbx');
        let blocks = 0;
        const err = await rewrapFileWith(path, dst, { keyring: oldKey, to: newKey }, async (s) => {
          if (s !== 'copy-block' || ++blocks !== 1) return;
          if (how === 'grown') await appendFile(path, 'appended by another program');
          else await rename(other.path, path);
        }).then(() => undefined, (e: unknown) => e);
        const label = `${how}, ${inPlace ? 'in place' : 'into another file'}`;
        const expected = how === 'grown' ? Buffer.concat([bytes, Buffer.from('appended by another program')]) : other.bytes;
        if (how === 'replaced' && !inPlace) {
          // Read from the file opened before, into another file: a whole message of its own.
          expect([label, err]).toEqual([label, undefined]);
          expect(await opensWith(join(dir, 'moving-out.sbx'), newKey, pattern(3 * 1024 * 1024, 9))).toBe(true);
        } else {
          expect([label, code(err)]).toEqual([label, 'ERR_STATE']);
          expect(await stat(join(dir, 'moving-out.sbx')).catch(() => null)).toBeNull();
        }
        expect([label, bytesEqual(await readFile(path), expected)]).toEqual([label, true]);
        await rm(join(dir, 'moving-out.sbx'), { force: true });
        expect(await leftovers()).toEqual([]);
      }
    }
  });
});
