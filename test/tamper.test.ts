import { beforeAll, describe, expect, it } from 'vitest';
import { decrypt, encrypt, MultiKeyring, SealboxError } from '../src/index.js';
import type { Keyring } from '../src/index.js';
import { pattern, testKeyring } from './helpers/keys.js';

// Every single-bit flip and every truncation of three sample messages must be rejected with a
// SealboxError code, and no plaintext may come back (issue 2, "Shown by tests").
const keyring: Keyring = new MultiKeyring({ generator: testKeyring('a', 1), children: [testKeyring('b', 2)] });

interface Sample { name: string; ciphertext: Uint8Array }
const samples: Sample[] = [];

beforeAll(async () => {
  samples.push({ name: 'empty plaintext', ciphertext: (await encrypt(new Uint8Array(0), { keyring: testKeyring('a', 1), frameLength: 64 })).ciphertext });
  samples.push({ name: 'one frame', ciphertext: (await encrypt(pattern(40), { keyring: testKeyring('a', 1), frameLength: 64 })).ciphertext });
  samples.push({
    name: 'several frames, context, two EDKs',
    ciphertext: (await encrypt(pattern(150), { keyring, frameLength: 64, encryptionContext: { tenant: 'acme', purpose: 'test' } })).ciphertext,
  });
});

async function outcome(bytes: Uint8Array): Promise<string> {
  try {
    await decrypt(bytes, { keyring });
    return 'PLAINTEXT RETURNED';
  } catch (err) {
    return err instanceof SealboxError ? err.code : `non-SealboxError ${String(err)}`;
  }
}

describe.each([0, 1, 2])('sample %i', (i) => {
  it('decrypts untouched', async () => {
    const s = samples[i]!;
    expect(await outcome(s.ciphertext)).toBe('PLAINTEXT RETURNED');
  });

  it('rejects every single-bit flip with a code', async () => {
    const s = samples[i]!;
    const codes = new Map<string, number>();
    for (let bit = 0; bit < s.ciphertext.length * 8; bit++) {
      const bytes = s.ciphertext.slice();
      bytes[bit >> 3]! ^= 1 << (bit & 7);
      const code = await outcome(bytes);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect(codes.has('PLAINTEXT RETURNED')).toBe(false);
    for (const code of codes.keys()) expect(code).toMatch(/^ERR_[A-Z_]+$/);
    expect(codes.get('ERR_DECRYPTION_FAILED')).toBeGreaterThan(0);
  });

  it('rejects every truncation with a code', async () => {
    const s = samples[i]!;
    for (let len = 0; len < s.ciphertext.length; len++) {
      const code = await outcome(s.ciphertext.subarray(0, len));
      expect(code, `length ${len}`).toMatch(/^ERR_(TRUNCATED|FORMAT_INVALID)$/);
    }
  });

  it('reports every single-bit flip of the key commitment as ERR_COMMITMENT_MISMATCH (checked before the header tag)', async () => {
    const s = samples[i]!;
    // Suite 1: the commitment (32 bytes) is the header body's last item.
    const headerEnd = 8 + new DataView(s.ciphertext.buffer, s.ciphertext.byteOffset).getUint32(4);
    for (let bit = (headerEnd - 32) * 8; bit < headerEnd * 8; bit++) {
      const bytes = s.ciphertext.slice();
      bytes[bit >> 3]! ^= 1 << (bit & 7);
      expect(await outcome(bytes), `bit ${bit}`).toBe('ERR_COMMITMENT_MISMATCH');
    }
  });

  it('rejects any appended byte', async () => {
    const s = samples[i]!;
    const longer = new Uint8Array(s.ciphertext.length + 1);
    longer.set(s.ciphertext);
    expect(await outcome(longer)).toBe('ERR_TRAILING_DATA');
  });
});
