import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SealboxError, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/index.js';
import { decryptFile, encryptFile } from '../../src/node/index.js';
import { encryptFileWithMessageId } from '../../src/node/files.js';
import { idleFrameThreadCount, injectFrameWorkerFault, setSlotPlacement } from '../../src/node/frame-pool.js';
import { readPreamble } from '../../src/format/header.js';
import { TAG_BYTES } from '../../src/limits.js';
import { FixedMaterialsManager, MESSAGE_ID } from '../stream/helpers.js';
import { bytesEqual, pattern, testKeyring, thrown } from '../helpers/keys.js';

// encryptFile / decryptFile on worker threads (issue 17): `concurrency` >= 2 forces the pool
// whatever the file size, so small files exercise it; the output must be the calling thread's
// output byte for byte, and every failure must leave no file. Every slot goes to a worker here
// (setSlotPlacement); by default the calling thread takes a slot itself when no worker can
// (the damage cases run that way too, and the last describe block covers the mix).
beforeAll(() => setSlotPlacement('workers'));
afterAll(() => setSlotPlacement('auto'));

const dir = await mkdtemp(join(tmpdir(), 'sealbox-file-pool-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const keyring = testKeyring();
const path = (name: string): string => join(dir, name);
const leftovers = async (): Promise<string[]> => (await readdir(dir)).filter((f) => f.includes('sealbox-tmp'));
const code = (err: unknown): string | undefined => (err as { code?: string }).code;
const MIB = 1024 * 1024;

describe('byte-identical to the single-threaded path', () => {
  // A slot holds floor(1 MiB / F) frames: sizes around it exercise slot boundaries too.
  const F = 1000;
  const slot = Math.floor(MIB / F) * F;
  const sizes = [0, 1, F - 1, F, F + 1, 2 * F, slot - 1, slot, slot + 1, slot + F, 2 * slot, 3 * slot + F - 1, 4 * slot + 17];
  for (const n of sizes) {
    it(`${n} bytes, frames of ${F}`, async () => {
      const plaintext = pattern(n, n + 3);
      await writeFile(path('in'), plaintext);
      const materialsManager = new FixedMaterialsManager();
      await encryptFileWithMessageId(path('in'), path('one.sbx'), { materialsManager, frameLength: F, concurrency: 1 }, MESSAGE_ID);
      const one = await readFile(path('one.sbx'));
      for (const [concurrency, where] of [[2, 'workers'], [3, 'workers'], [4, 'workers'], [2, 'here']] as const) {
        setSlotPlacement(where);
        const r = await encryptFileWithMessageId(path('in'), path('pool.sbx'), { materialsManager, frameLength: F, concurrency }, MESSAGE_ID);
        const pooled = await readFile(path('pool.sbx'));
        expect(r.bytesWritten).toBe(pooled.length);
        expect(bytesEqual(pooled, one), `concurrency ${concurrency}`).toBe(true);
        const d = await decryptFile(path('pool.sbx'), path('out'), { materialsManager, concurrency });
        expect(d.bytesWritten).toBe(n);
        expect(bytesEqual(await readFile(path('out')), plaintext)).toBe(true);
      }
      setSlotPlacement('workers');
      expect(await leftovers()).toEqual([]);
    });
  }

  it('3 MiB + 17 bytes with the default 64 KiB frames, and a file whose last frame is exactly full', async () => {
    for (const n of [3 * MIB + 17, 2 * MIB]) {
      const plaintext = pattern(n, 5);
      await writeFile(path('in'), plaintext);
      const materialsManager = new FixedMaterialsManager();
      await encryptFileWithMessageId(path('in'), path('one.sbx'), { materialsManager, concurrency: 1 }, MESSAGE_ID);
      await encryptFileWithMessageId(path('in'), path('pool.sbx'), { materialsManager, concurrency: 2 }, MESSAGE_ID);
      expect(bytesEqual(await readFile(path('pool.sbx')), await readFile(path('one.sbx')))).toBe(true);
      await decryptFile(path('one.sbx'), path('out'), { materialsManager, concurrency: 2 });
      expect(bytesEqual(await readFile(path('out')), plaintext)).toBe(true);
    }
  });

  it('frames larger than a slot (2 MiB + 1): one frame per slot', async () => {
    const F = 2 * MIB + 1;
    for (const n of [0, F - 1, F, 2 * F + 5]) {
      const plaintext = pattern(n, 6);
      await writeFile(path('in'), plaintext);
      const materialsManager = new FixedMaterialsManager();
      await encryptFileWithMessageId(path('in'), path('one.sbx'), { materialsManager, frameLength: F, concurrency: 1 }, MESSAGE_ID);
      await encryptFileWithMessageId(path('in'), path('pool.sbx'), { materialsManager, frameLength: F, concurrency: 2 }, MESSAGE_ID);
      expect(bytesEqual(await readFile(path('pool.sbx')), await readFile(path('one.sbx'))), `${n} bytes`).toBe(true);
      await decryptFile(path('pool.sbx'), path('out'), { materialsManager, concurrency: 2 });
      expect(bytesEqual(await readFile(path('out')), plaintext)).toBe(true);
    }
  });

  it('the threads are kept for the next file', async () => {
    await writeFile(path('in'), pattern(5000));
    await encryptFile(path('in'), path('t.sbx'), { keyring, frameLength: 1000, concurrency: 2 });
    expect(idleFrameThreadCount()).toBeGreaterThanOrEqual(1);
    const before = idleFrameThreadCount();
    await decryptFile(path('t.sbx'), path('out'), { keyring, concurrency: 2 });
    expect(idleFrameThreadCount()).toBe(before);
  });
});

describe('the concurrency option', () => {
  it('rejects bad values with TypeError / RangeError, before any file is made', async () => {
    await writeFile(path('in'), pattern(100));
    await encryptFile(path('in'), path('ok.sbx'), { keyring });
    for (const [value, type] of [[0, RangeError], [-1, RangeError], [1.5, RangeError], [65, RangeError], [Number.NaN, RangeError], [Infinity, RangeError], ['2', TypeError], [null, TypeError], [2n, TypeError]] as const) {
      const e = await thrown(() => encryptFile(path('in'), path('bad.sbx'), { keyring, concurrency: value as number }));
      expect(e, `encrypt ${String(value)}`).toBeInstanceOf(type);
      const d = await thrown(() => decryptFile(path('ok.sbx'), path('bad'), { keyring, concurrency: value as number }));
      expect(d, `decrypt ${String(value)}`).toBeInstanceOf(type);
    }
    expect(await stat(path('bad.sbx')).catch(() => null)).toBeNull();
    expect(await stat(path('bad')).catch(() => null)).toBeNull();
  });
});

describe('failures on the pool leave no output file', () => {
  const F = 1000;
  const n = 3 * MIB + 123; // four slots of frames
  const plaintext = pattern(n, 21);
  const setup = async (): Promise<Buffer> => {
    await writeFile(path('p'), plaintext);
    await encryptFile(path('p'), path('p.sbx'), { keyring, frameLength: F, concurrency: 1 });
    return readFile(path('p.sbx'));
  };
  const headerEnd = (m: Uint8Array): number => (readPreamble(m.subarray(0, 64), MIB) as number) + TAG_BYTES;
  const frameStart = (m: Uint8Array, i: number): number => headerEnd(m) + i * (F + 17);
  const flip = (m: Uint8Array, at: number): Buffer => Buffer.from(Uint8Array.from(m, (b, i) => (i === at ? b ^ 1 : b)));
  const frames = Math.floor(n / F);

  it('reports what the single-threaded path reports, for each kind of damage', async () => {
    const good = await setup();
    const cases: [string, Buffer][] = [
      ['tampered first frame', flip(good, frameStart(good, 0) + 10)],
      ['tampered frame in the middle', flip(good, frameStart(good, 1500) + 10)],
      ['tampered last regular frame', flip(good, frameStart(good, frames - 1) + 10)],
      ['tampered final frame', flip(good, good.length - 3)],
      ['truncated', good.subarray(0, good.length - 30)],
      ['cut after a regular frame', good.subarray(0, frameStart(good, 2000))],
      ['appended byte', Buffer.concat([good, Buffer.of(0)])],
      ['unknown frame type in the middle', Buffer.from(Uint8Array.from(good, (b, i) => (i === frameStart(good, 1200) ? 7 : b)))],
      // A tag failure before a structural fault is reported first (SPEC §8.1 order).
      ['tampered frame, then cut', flip(good, frameStart(good, 1100) + 3).subarray(0, frameStart(good, 2500) + 5)],
      ['tampered frame, then a byte appended', Buffer.concat([flip(good, frameStart(good, 3000) + 3), Buffer.of(1)])],
      ['tampered frame, then an unknown frame type', Buffer.from(Uint8Array.from(flip(good, frameStart(good, 1049) + 3), (b, i) => (i === frameStart(good, 1050) ? 9 : b)))],
    ];
    for (const [name, bytes] of cases) {
      await writeFile(path('bad.sbx'), bytes);
      const single = await thrown(() => decryptFile(path('bad.sbx'), path('bad-out'), { keyring, concurrency: 1 }));
      expect(code(single), name).toMatch(/^ERR_/);
      for (const where of ['workers', 'here'] as const) {
        setSlotPlacement(where);
        const pooled = await thrown(() => decryptFile(path('bad.sbx'), path('bad-out'), { keyring, concurrency: 2 }));
        expect(code(pooled), `${name}, slots on ${where}`).toBe(code(single));
        expect(await stat(path('bad-out')).catch(() => null), name).toBeNull();
      }
      setSlotPlacement('workers');
    }
    expect(await leftovers()).toEqual([]);
  });

  it('a failed pooled decryptFile leaves an existing destination untouched', async () => {
    const good = await setup();
    await writeFile(path('keep'), 'old contents');
    await writeFile(path('bad.sbx'), flip(good, frameStart(good, 2900) + 1));
    expect(code(await thrown(() => decryptFile(path('bad.sbx'), path('keep'), { keyring, concurrency: 2 })))).toBe('ERR_DECRYPTION_FAILED');
    expect(await readFile(path('keep'), 'utf8')).toBe('old contents');
  });

  for (const kind of ['exit', 'fault'] as const) {
    it(`a worker that ${kind === 'exit' ? 'dies' : 'fails'} mid-file fails the call; no file; the next call works`, async () => {
      const good = await setup();
      await rm(path('w'), { force: true });
      injectFrameWorkerFault(kind);
      const e = await thrown(() => encryptFile(path('p'), path('w.sbx'), { keyring, frameLength: F, concurrency: 2 }));
      // A SealboxError with the code the README and src/errors.ts give for a worker thread Sealbox started.
      expect(e).toBeInstanceOf(SealboxError);
      expect(code(e)).toBe('ERR_WORKER');
      expect(await stat(path('w.sbx')).catch(() => null)).toBeNull();
      injectFrameWorkerFault(kind);
      expect(code(await thrown(() => decryptFile(path('p.sbx'), path('w'), { keyring, concurrency: 2 })))).toBe('ERR_WORKER');
      expect(await stat(path('w')).catch(() => null)).toBeNull();
      expect(await leftovers()).toEqual([]);
      // The pool replaces a dead thread.
      await decryptFile(path('p.sbx'), path('w'), { keyring, concurrency: 2 });
      expect(bytesEqual(await readFile(path('w')), plaintext)).toBe(true);
      expect(good.length).toBeGreaterThan(n);
    });
  }

  describe('a write that fails', () => {
    afterEach(() => vi.restoreAllMocks());
    it('fails encryptFile and decryptFile on the pool, leaving no file', async () => {
      await setup();
      const fh = await open(path('p'), 'r');
      const proto = Object.getPrototypeOf(fh) as { writev: (...args: unknown[]) => Promise<unknown> };
      await fh.close();
      const real = proto.writev;
      let calls = 0;
      vi.spyOn(proto, 'writev').mockImplementation(function (this: unknown, ...args: unknown[]) {
        if (++calls === 2) return Promise.reject(Object.assign(new Error('no space left'), { code: 'ENOSPC' }));
        return real.apply(this, args);
      });
      const e = await thrown(() => encryptFile(path('p'), path('x.sbx'), { keyring, frameLength: F, concurrency: 2 }));
      expect(code(e)).toBe('ENOSPC');
      expect(await stat(path('x.sbx')).catch(() => null)).toBeNull();
      calls = 0;
      const d = await thrown(() => decryptFile(path('p.sbx'), path('x'), { keyring, concurrency: 2 }));
      expect(code(d)).toBe('ENOSPC');
      expect(await stat(path('x')).catch(() => null)).toBeNull();
      expect(await leftovers()).toEqual([]);
    });
  });
});

describe('early writeback (a datasync every 16 MiB written)', () => {
  afterEach(() => vi.restoreAllMocks());
  it('a failing datasync fails the call on either path, leaving no file', async () => {
    await writeFile(path('big'), pattern(20 * MIB, 4));
    const fh = await open(path('big'), 'r');
    const proto = Object.getPrototypeOf(fh) as { datasync: () => Promise<void> };
    await fh.close();
    let calls = 0;
    vi.spyOn(proto, 'datasync').mockImplementation(() => {
      calls++;
      return Promise.reject(Object.assign(new Error('I/O error'), { code: 'EIO' }));
    });
    for (const concurrency of [1, 2]) {
      const before = calls;
      const e = await thrown(() => encryptFile(path('big'), path('big.sbx'), { keyring, concurrency }));
      expect(code(e), `concurrency ${concurrency}`).toBe('EIO');
      expect(calls).toBeGreaterThan(before);
      expect(await stat(path('big.sbx')).catch(() => null)).toBeNull();
    }
    vi.restoreAllMocks();
    await encryptFile(path('big'), path('big.sbx'), { keyring, concurrency: 1 });
    vi.spyOn(proto, 'datasync').mockImplementation(() => Promise.reject(Object.assign(new Error('I/O error'), { code: 'EIO' })));
    for (const concurrency of [1, 2]) {
      const e = await thrown(() => decryptFile(path('big.sbx'), path('big.out'), { keyring, concurrency }));
      expect(code(e), `concurrency ${concurrency}`).toBe('EIO');
      expect(await stat(path('big.out')).catch(() => null)).toBeNull();
    }
    expect(await leftovers()).toEqual([]);
  });
});

describe('signed messages (suite 2) on the pool', () => {
  const SIGNED = SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;
  it('each path verifies the other; a bad signature leaves no file', async () => {
    const plaintext = pattern(2 * MIB + 777, 8);
    await writeFile(path('s'), plaintext);
    await encryptFile(path('s'), path('s1.sbx'), { keyring, suite: SIGNED, concurrency: 1 });
    await encryptFile(path('s'), path('s2.sbx'), { keyring, suite: SIGNED, concurrency: 2 });
    for (const [src, concurrency] of [['s1.sbx', 2], ['s2.sbx', 1], ['s2.sbx', 2]] as const) {
      await rm(path('s.out'), { force: true });
      await decryptFile(path(src), path('s.out'), { keyring, signaturePolicy: 'require-signed', concurrency });
      expect(bytesEqual(await readFile(path('s.out')), plaintext)).toBe(true);
    }
    const two = await readFile(path('s2.sbx'));
    const forged = Buffer.from(two);
    forged[forged.length - 20]! ^= 1;
    await writeFile(path('forged.sbx'), forged);
    const e = await thrown(() => decryptFile(path('forged.sbx'), path('f.out'), { keyring, concurrency: 2 }));
    expect(code(e)).toBe('ERR_DECRYPTION_FAILED');
    expect(await stat(path('f.out')).catch(() => null)).toBeNull();
  });
});

describe('slots on the calling thread and on workers, mixed (the default)', () => {
  beforeAll(() => setSlotPlacement('auto'));
  afterAll(() => setSlotPlacement('workers'));
  it('byte-identical to concurrency 1, signed or not, with the threads starting during the call', async () => {
    const plaintext = pattern(24 * MIB + 99, 12);
    await writeFile(path('mix'), plaintext);
    const materialsManager = new FixedMaterialsManager();
    await encryptFileWithMessageId(path('mix'), path('mix1.sbx'), { materialsManager, frameLength: 4096, concurrency: 1 }, MESSAGE_ID);
    const one = await readFile(path('mix1.sbx'));
    for (const concurrency of [2, 3, 8]) {
      await encryptFileWithMessageId(path('mix'), path('mix.sbx'), { materialsManager, frameLength: 4096, concurrency }, MESSAGE_ID);
      expect(bytesEqual(await readFile(path('mix.sbx')), one), `concurrency ${concurrency}`).toBe(true);
      await decryptFile(path('mix.sbx'), path('mix.out'), { materialsManager, concurrency });
      expect(bytesEqual(await readFile(path('mix.out')), plaintext)).toBe(true);
    }
    await encryptFile(path('mix'), path('mixs.sbx'), { keyring, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384, concurrency: 3 });
    for (const concurrency of [1, 3]) {
      await decryptFile(path('mixs.sbx'), path('mixs.out'), { keyring, signaturePolicy: 'require-signed', concurrency });
      expect(bytesEqual(await readFile(path('mixs.out')), plaintext)).toBe(true);
    }
  });
});
