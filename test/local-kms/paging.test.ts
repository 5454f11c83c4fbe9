// List markers (src/local-kms/paging.ts): every marker a list issues is accepted by the next
// call and continues where the page ended; a marker it did not issue is InvalidMarkerException,
// never read as some other position.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalKmsError } from '../../src/local-kms/errors.js';
import { keyMarker, numberMarker, readNumberMarker, readTextMarker, textMarker } from '../../src/local-kms/paging.js';
import { freshKms } from './helpers.js';

const invalid = (f: () => unknown): string => {
  try {
    f();
    return 'accepted';
  } catch (err) {
    return err instanceof LocalKmsError ? err.name : `foreign ${String(err)}`;
  }
};

/** A marker changed as a client (or an attacker) might: a character replaced, added or removed, cut, padded. */
const mutatedMarker = (marker: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.tuple(fc.nat(marker.length), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })).map(([i, c]) => marker.slice(0, i) + c + marker.slice(i + 1)),
    fc.tuple(fc.nat(marker.length), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 })).map(([i, s]) => marker.slice(0, i) + s + marker.slice(i)),
    fc.nat(marker.length).map((i) => marker.slice(0, i) + marker.slice(i + 1)),
    fc.constantFrom(`${marker}=`, `${marker}==`, ` ${marker}`, `${marker}\n`, marker.toUpperCase(), marker.replace(/-/g, '+').replace(/_/g, '/'), '', '0', '-1', '1e3', '0x10'),
  );

describe('text markers (ListResourceTags)', () => {
  it('round-trip every well-formed text, and a changed marker is the text it re-encodes to or InvalidMarkerException', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 128 }).chain((text) => fc.tuple(fc.constant(text), mutatedMarker(textMarker(text)))), ([text, changed]) => {
        expect(readTextMarker(textMarker(text))).toBe(text);
        let read: string | undefined;
        const outcome = invalid(() => (read = readTextMarker(changed)));
        if (outcome === 'accepted') expect(textMarker(read!)).toBe(changed);
        else expect(outcome).toBe('InvalidMarkerException');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('number markers (ListKeyRotations)', () => {
  it('round-trip every version, and a changed marker is its own canonical number or InvalidMarkerException', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 ** 15 - 1 }).chain((n) => fc.tuple(fc.constant(n), mutatedMarker(numberMarker(n)))), ([n, changed]) => {
        expect(readNumberMarker(numberMarker(n))).toBe(n);
        let read: number | undefined;
        const outcome = invalid(() => (read = readNumberMarker(changed)));
        if (outcome === 'accepted') expect(numberMarker(read!)).toBe(changed);
        else expect(outcome).toBe('InvalidMarkerException');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('lists walked one item a page', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  /** Every item of a list, one page at a time: each NextMarker must be accepted. */
  async function walk(run: (marker: string | undefined) => Promise<{ items: string[]; next?: string }>): Promise<string[]> {
    const all: string[] = [];
    let marker: string | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const { items, next } = await run(marker);
      all.push(...items);
      if (next === undefined) return all;
      marker = next;
    }
    throw new Error('no last page');
  }

  it('ListKeys: multi-Region keys of a region with a long name (the constructor takes any [a-z0-9-]+) page to the end', async () => {
    const region = `x-${'a'.repeat(70)}-1`;
    const made = freshKms({ region });
    cleanup = made.cleanup;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(((await made.kms.execute('CreateKey', { MultiRegion: true })) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId);
    ids.push(((await made.kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId);
    const listed = await walk(async (Marker) => {
      const r = (await made.kms.execute('ListKeys', { Limit: 1, ...(Marker ? { Marker } : {}) })) as { Keys: { KeyId: string }[]; NextMarker?: string };
      return { items: r.Keys.map((k) => k.KeyId), ...(r.NextMarker ? { next: r.NextMarker } : {}) };
    });
    expect(listed.sort()).toEqual(ids.sort());
  });

  it('ListResourceTags: tag keys of any script page to the end, in order, each once', async () => {
    const made = freshKms();
    cleanup = made.cleanup;
    const id = ((await made.kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const keys = ['a', 'B', 'é', '\u{1F600}', '\uFFFD', 'z\u0301', '日本', 'x'.repeat(128)];
    await made.kms.execute('TagResource', { KeyId: id, Tags: keys.map((k) => ({ TagKey: k, TagValue: 'v' })) });
    const listed = await walk(async (Marker) => {
      const r = (await made.kms.execute('ListResourceTags', { KeyId: id, Limit: 1, ...(Marker ? { Marker } : {}) })) as { Tags: { TagKey: string }[]; NextMarker?: string };
      return { items: r.Tags.map((t) => t.TagKey), ...(r.NextMarker ? { next: r.NextMarker } : {}) };
    });
    expect([...listed].sort()).toEqual([...keys].sort());
    expect(new Set(listed).size).toBe(keys.length);
  });
});

describe('key markers (ListKeys)', () => {
  it('a changed key marker is another well-formed storage id or InvalidMarkerException', () => {
    const marker = '1234abcd-12ab-34cd-56ef-1234567890ab';
    fc.assert(
      fc.property(mutatedMarker(marker), (changed) => {
        const outcome = invalid(() => keyMarker(changed));
        if (outcome === 'accepted') expect(changed).toMatch(/^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}\/[a-z0-9-]+)$/);
        else expect(outcome).toBe('InvalidMarkerException');
      }),
      { numRuns: 1000 },
    );
  });
});
