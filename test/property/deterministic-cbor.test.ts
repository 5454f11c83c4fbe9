import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isDeterministicItem } from '../../src/format/cbor.js';
import { headerDecoder, headerEncoder } from '../helpers/cbor-encoder.js';

// SPEC §3.1 / rule 5: isDeterministicItem accepts exactly the bytes that are one item of the
// header's CBOR subset (uint, bytes, text, array, map) in deterministic encoding.

type Item = number | bigint | Uint8Array | string | Item[] | Map<Item, Item>;

/** Deterministic encoding by construction: map entries sorted by their keys' encodings. */
function canonical(item: Item): Uint8Array {
  return headerEncoder.encode(sorted(item)) as Uint8Array;
}
function sorted(item: Item): Item {
  if (Array.isArray(item)) return item.map(sorted);
  if (item instanceof Map) {
    const entries = [...item.entries()].map(([k, v]) => [sorted(k), sorted(v), Buffer.from(headerEncoder.encode(sorted(k)) as Uint8Array)] as const);
    entries.sort((a, b) => Buffer.compare(a[2], b[2]));
    return new Map(entries.map(([k, v]) => [k, v]));
  }
  return item;
}

const scalar = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 32 - 1 }), // cbor-x writes larger JS numbers as floats
  fc.bigInt({ min: 2n ** 32n, max: 2n ** 64n - 1n }),
  fc.uint8Array({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);
const item: fc.Arbitrary<Item> = fc.letrec<{ item: Item }>((tie) => ({
  item: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('item'), { maxLength: 4 }),
    fc.array(fc.tuple(fc.string({ maxLength: 6 }), tie('item')), { maxLength: 4 }).map((pairs) => new Map<Item, Item>(pairs)),
  ),
})).item;

describe('isDeterministicItem', () => {
  it('accepts every item of the subset in deterministic encoding', () => {
    fc.assert(
      fc.property(item, (i) => {
        expect(isDeterministicItem(canonical(i))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts a changed encoding only when it is the deterministic encoding of what it decodes to', () => {
    fc.assert(
      fc.property(item, fc.nat(), fc.integer({ min: 1, max: 255 }), (i, at, xor) => {
        const bytes = canonical(i).slice();
        bytes[at % bytes.length]! ^= xor;
        if (!isDeterministicItem(bytes)) return;
        const decoded = headerDecoder.decode(bytes) as Item;
        expect(Buffer.from(canonical(decoded)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['empty', ''],
    ['two items', '0101'],
    ['non-shortest integer', '1801'],
    ['non-shortest 8-byte integer', '1b00000000ffffffff'],
    ['indefinite array', '9f01ff'],
    ['negative integer', '20'],
    ['tag', 'c101'],
    ['float', 'f93c00'],
    ['true', 'f5'],
    ['invalid UTF-8', '62c328'],
    ['map keys out of order', 'a2616201616101'],
    ['map key twice', 'a2616101616101'],
    ['map key twice, with different values', 'a2616101616102'],
    ['map key twice in a nested map, with different values', 'a16178a2616101616102'],
    ['byte string longer than the input', '45010203'],
    ['array count beyond the input', '9bffffffffffffffff'],
  ])('refuses %s', (_name, hex) => {
    expect(isDeterministicItem(Buffer.from(hex, 'hex'))).toBe(false);
  });

  it('takes no stack for deep nesting', () => {
    const deep = new Uint8Array(200_000).fill(0x81);
    deep[deep.length - 1] = 0x00;
    expect(isDeterministicItem(deep)).toBe(true);
  });

  it('holds deep nesting in a few bytes a level: a 1 MiB header of it is read under a 24 MiB heap', async () => {
    // decodeHeader scans a header whose field check failed, so the attacker chooses what is
    // scanned: 1 MiB of nested arrays or maps after a field error of another code (here, 256
    // EDKs). An object a level held about 80 MiB of heap for the nested arrays.
    const { outputFiles } = await build({
      stdin: {
        contents: `
          import { decodeHeader } from './src/format/header.js';
          const n = 1024 * 1024;
          for (const [nest, end] of [[0x81, 0x00], [0xa1, 0x00]]) {
            const b = new Uint8Array(8 + n).fill(nest);
            b.set([0x53, 0x42, 0x58, 1]);
            new DataView(b.buffer).setUint32(4, n);
            // [suite 1, 32-byte id, {}, a list of 256 EDKs: rule 22, ERR_LIMIT_EXCEEDED unless rule 5 comes first
            b.set([0x86, 0x01, 0x58, 0x20], 8);
            b.fill(0, 12, 44);
            b.set([0xa0, 0x99, 0x01, 0x00], 44);
            b[b.length - 1] = end;
            try { decodeHeader(b, { maxHeaderBytes: n, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 }); } catch (e) { console.log(e.code); }
          }`,
        resolveDir: process.cwd(),
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const run = spawnSync(process.execPath, ['--max-old-space-size=24', '--input-type=module', '-e', outputFiles[0]!.text], { encoding: 'utf8' });
    // The nesting is the first of the 256 EDKs, and the body ends before the other 255 (the
    // nested maps also lack their innermost value): rule 5 comes first, ERR_FORMAT_INVALID.
    expect([run.status, run.stdout.trim().split('\n')]).toEqual([0, ['ERR_FORMAT_INVALID', 'ERR_FORMAT_INVALID']]);
  });
});
