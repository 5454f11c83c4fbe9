import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ARMOR_BEGIN, ARMOR_END, createArmorStream, createDearmorStream } from '../../src/cli/armor.js';
import { SealboxError } from '../../src/errors.js';

/** Runs `chunks` through a transform; returns the output bytes. */
async function through(transform: NodeJS.ReadWriteStream, chunks: Uint8Array[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks.map((c) => Buffer.from(c))), transform, async (source: AsyncIterable<string | Buffer>) => {
    for await (const c of source) out.push(Buffer.from(c));
  });
  return Buffer.concat(out);
}

/** `bytes` cut at the given points. */
function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const p of at) {
    parts.push(bytes.subarray(from, p));
    from = p;
  }
  parts.push(bytes.subarray(from));
  return parts.filter((p) => p.length > 0);
}

async function code(chunks: Uint8Array[]): Promise<string> {
  try {
    await through(createDearmorStream(), chunks);
    return 'ok';
  } catch (err) {
    return err instanceof SealboxError ? err.code : `foreign:${String(err)}`;
  }
}

const text = (s: string): Uint8Array[] => [Buffer.from(s)];

describe('CLI armor', () => {
  it('armor: BEGIN line, base64 lines of 64 characters, END line', async () => {
    const armored = (await through(createArmorStream(), [new Uint8Array(100).fill(1), new Uint8Array(30).fill(2)])).toString();
    const lines = armored.split('\n');
    expect(lines[0]).toBe(ARMOR_BEGIN);
    expect(lines.at(-2)).toBe(ARMOR_END);
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(1, -3).every((l) => l.length === 64)).toBe(true);
    expect(Buffer.from(lines.slice(1, -2).join(''), 'base64').equals(Buffer.concat([Buffer.alloc(100, 1), Buffer.alloc(30, 2)]))).toBe(true);
    expect((await through(createArmorStream(), [])).toString()).toBe(`${ARMOR_BEGIN}\n${ARMOR_END}\n`);
  });

  it('dearmor(armor(x)) = x for any bytes, write sizes and line endings; binary input passes through unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), async (data, writes, reads, crlf) => {
        let armored = await through(createArmorStream(), cut(data, writes));
        if (crlf) armored = Buffer.from(armored.toString().replace(/\n/g, '\r\n'));
        expect((await through(createDearmorStream(), cut(armored, reads))).equals(Buffer.from(data))).toBe(true);
        // A binary message starts with "SBX": whatever follows goes through untouched.
        const binary = Buffer.concat([Buffer.from('SBX'), Buffer.from(data)]);
        expect((await through(createDearmorStream(), cut(binary, reads))).equals(binary)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses anything but strict armor, with codes', async () => {
    const body = Buffer.from('hello sealbox armor').toString('base64'); // ends in '='
    const ok = `${ARMOR_BEGIN}\n${body}\n${ARMOR_END}\n`;
    expect(await code(text(ok))).toBe('ok');
    expect(await code(text(`${ok}\n  \r\n`))).toBe('ok');
    expect(await code(text(`-----BEGIN PGP MESSAGE-----\n${body}\n${ARMOR_END}\n`))).toBe('ERR_FORMAT_INVALID');
    expect(await code(text(`-${'x'.repeat(100)}`))).toBe('ERR_FORMAT_INVALID');
    expect(await code(text(`${ARMOR_BEGIN}\n${body.replace('a', '!')}\n${ARMOR_END}\n`))).toBe('ERR_FORMAT_INVALID');
    expect(await code(text(`${ARMOR_BEGIN}\n${body}\nQUJD\n${ARMOR_END}\n`))).toBe('ERR_FORMAT_INVALID'); // data after padding
    expect(await code(text(`${ARMOR_BEGIN}\nQUJDR\n${ARMOR_END}\n`))).toBe('ERR_FORMAT_INVALID'); // not a multiple of 4
    expect(await code([Buffer.concat([Buffer.from(`${ARMOR_BEGIN}\nQU`), Buffer.from([0xc3, 0xa9]), Buffer.from(`JD\n${ARMOR_END}\n`)])])).toBe('ERR_FORMAT_INVALID');
    expect(await code(text(`${ARMOR_BEGIN}\n${body}\n`))).toBe('ERR_TRUNCATED');
    expect(await code(text(`${ARMOR_BEGIN}`))).toBe('ERR_TRUNCATED');
    expect(await code(text(`${ok}junk`))).toBe('ERR_TRAILING_DATA');
    expect(await code(text(`${ok}${ok}`))).toBe('ERR_TRAILING_DATA');
  });

  it('a long line in small chunks costs time linear in its length, as short lines do', async () => {
    // 1 MiB of base64 (768 KiB of bytes) as one line or as lines of 64, written in 32-byte chunks
    // straight into the transform. One string grown chunk by chunk, and searched whole each
    // time, took over 100 times as long for the long line (17 s here).
    const base64 = Buffer.from(new Uint8Array(768 * 1024).fill(7)).toString('base64');
    const run = async (body: string): Promise<{ ms: number; bytes: number }> => {
      const all = Buffer.from(`${ARMOR_BEGIN}\n${body}\n${ARMOR_END}\n`);
      const d = createDearmorStream();
      let bytes = 0;
      d.on('data', (b: Buffer) => (bytes += b.length));
      const t = performance.now();
      for (let i = 0; i < all.length; i += 32) d.write(all.subarray(i, i + 32));
      await new Promise<void>((resolve, reject) => d.on('error', reject).end(resolve));
      return { ms: performance.now() - t, bytes };
    };
    const short = base64.replace(/(.{64})/g, '$1\n').trimEnd();
    // Best of two each: the machine is shared. Linear gives about 1; the quadratic reader gave
    // 238 here. The bound is loose so that a busy CI machine cannot fail it.
    const [a, b, c, d] = [await run(short), await run(base64), await run(short), await run(base64)];
    expect([a.bytes, b.bytes]).toEqual([768 * 1024, 768 * 1024]);
    expect(Math.min(b.ms, d.ms) / Math.min(a.ms, c.ms)).toBeLessThan(10);
    // A line one character over the bound is refused, also when it comes in small chunks.
    const over = Buffer.from(`${ARMOR_BEGIN}\n${'A'.repeat(1024 * 1024 + 1)}`);
    expect(await code(cut(over, Array.from({ length: 300 }, (_, i) => (i + 1) * 3511)))).toBe('ERR_FORMAT_INVALID');
  }, 60_000);

  it('a line over 1 MiB is refused however the input is cut: in one chunk too, not only when a chunk ends inside it', async () => {
    // 1 MiB + 4 base64 characters: valid base64, a whole line, then the END line. It passed in
    // one chunk (only a line still pending at a chunk's end was measured) and failed when a
    // chunk boundary fell 1 MiB into it: the outcome depended on how the pipe cut the input.
    const long = Buffer.from(`${ARMOR_BEGIN}\n${'A'.repeat(1024 * 1024 + 4)}\n${ARMOR_END}\n`);
    const cutAt = ARMOR_BEGIN.length + 1 + 1024 * 1024 + 2;
    expect(await code([long])).toBe('ERR_FORMAT_INVALID');
    expect(await code(cut(long, [cutAt]))).toBe('ERR_FORMAT_INVALID');
    expect(await code(cut(long, [100]))).toBe('ERR_FORMAT_INVALID');
    // Exactly 1 MiB, with or without a CR before the LF counted in it, is taken in every cut
    // (base64 may continue on the next line: the CR line's 1 MiB - 1 characters need one more).
    const edge = (cr: string): Buffer => Buffer.from(`${ARMOR_BEGIN}\n${'A'.repeat(1024 * 1024 - cr.length)}${cr}\n${cr ? 'A\r\n' : ''}${ARMOR_END}\n`);
    for (const cr of ['', '\r']) {
      const b = edge(cr);
      expect([await code([b]), await code(cut(b, [cutAt - 3])), await code(cut(b, [cutAt - 1]))]).toEqual(['ok', 'ok', 'ok']);
    }
  }, 60_000);

  it('the 1 MiB bound is a line\'s: a message of many lines, megabytes long, in small chunks decodes', async () => {
    // 2 MiB of bytes, 2.7 MiB of armor in lines of 64, written in 32-byte chunks: each chunk ends
    // inside a line, so what is held between chunks must start again at every line.
    const data = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const body = data.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
    const all = Buffer.from(`${ARMOR_BEGIN}\n${body}\n${ARMOR_END}\n`);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < all.length; i += 32) chunks.push(all.subarray(i, i + 32));
    expect((await through(createDearmorStream(), chunks)).equals(data)).toBe(true);
  }, 30_000);

  it('a first line that cannot be the BEGIN line fails as soon as it is longer, before its line ends or the input does', async () => {
    const d = createDearmorStream();
    const failed = new Promise<unknown>((resolve) => d.on('error', resolve));
    d.write(Buffer.from(`-${'x'.repeat(100)}`));
    // The input is not ended: the error comes from the first line's length alone.
    const err = await Promise.race([failed, new Promise((resolve) => setTimeout(() => resolve('no error'), 500))]);
    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('ERR_FORMAT_INVALID');
  });
});
