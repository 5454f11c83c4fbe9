// A short, deterministic run of both fuzzers (part of `npm test`), and proof that the oracle
// can fail: injected broken targets and a broken server must be reported.
import { describe, expect, it } from 'vitest';
import { startKmsServer } from '../../src/kms-server/server.js';
import { credentialStoreFor } from '../../src/kms-server/server.js';
import { decrypt } from '../../src/decrypt.js';
import { runEndpointFuzz } from './endpoint.js';
import type { MessageTarget } from './messages.js';
import { MESSAGE_TARGETS, checkInput, fuzzKeyring, makeSeeds, runMessageFuzz } from './messages.js';
import { Rng } from './rng.js';
import { readHeader } from '../../src/stream/read-header.js';
import { DecryptFramer } from '../../src/stream/decrypt-framer.js';
import type { DecryptPlan } from '../../src/message/prologue.js';
import { acceptHeader, beginDecryption } from '../../src/message/prologue.js';
import { framerChunksWith } from './differential.js';

const SEED = 20261206;

describe('message fuzzer, short run', () => {
  for (const target of MESSAGE_TARGETS) {
    // The stream entry points cost about ten times a one-shot decrypt per input.
    const n = target.ciInputs ?? (target.weight >= 4 ? 3000 : 1000);
    it(`${target.name}: ${n} inputs, every outcome the right plaintext or a coded error`, async () => {
      const report = await runMessageFuzz({ seed: SEED, iterations: n, targets: [target] });
      expect(report.inputs).toBe(n);
      expect(report.violations.map((v) => `${v.kind} ${v.mutation}: ${v.detail}`)).toEqual([]);
      const outcomes = report.perTarget[target.name]!.outcomes;
      // The run reached past the cheap rejections: valid inputs decrypted and authentication failures happened.
      expect(Object.keys(outcomes).length).toBeGreaterThan(3);
      if (target.name !== 'readHeader') {
        expect(outcomes.plaintext).toBeGreaterThan(0);
        expect(outcomes.ERR_DECRYPTION_FAILED).toBeGreaterThan(0);
      }
      // Every seed, the signed ones (suite 2) included, was fuzzed, and not only rejected early.
      for (const [name, seedOutcomes] of Object.entries(report.perSeed)) {
        expect(Object.values(seedOutcomes).reduce((a, b) => a + b, 0), name).toBeGreaterThan(0);
        expect(Object.keys(seedOutcomes).length, name).toBeGreaterThan(1);
      }
    }, 60_000);
  }

  it('the seeds include signed messages (suite 2) that decrypt, with their signature last', async () => {
    const seeds = await makeSeeds();
    const signed = seeds.filter((s) => s.signed);
    expect(signed.length).toBeGreaterThanOrEqual(3);
    for (const s of signed) {
      expect((await readHeader(s.bytes)).suite.signed, s.name).toBe(true);
      expect(Buffer.from((await decrypt(s.bytes, { keyring: fuzzKeyring(), signaturePolicy: 'require-signed' })).plaintext).equals(Buffer.from(s.plaintext)), s.name).toBe(true);
      // The final frame's type byte, then its length, where the mutators expect them.
      expect(s.bytes[s.finalFrame], s.name).toBe(1);
    }
    // Fixed bytes: the same seeds in every run, so corpus files and replays keep their meaning.
    const again = await makeSeeds();
    expect(again.map((s) => Buffer.from(s.bytes).toString('base64'))).toEqual(seeds.map((s) => Buffer.from(s.bytes).toString('base64')));
  });

  it('a signed seed under every target: the right plaintext, or the refusal the entry point documents', async () => {
    const seeds = await makeSeeds();
    const keyring = fuzzKeyring();
    for (const seed of seeds.filter((s) => s.signed)) {
      for (const target of MESSAGE_TARGETS) {
        const input = target.armored ? seed.armored : seed.bytes;
        for (let i = 0; i < 4; i++) {
          const { violation, outcome } = await checkInput(target, input, 'none', seed, seeds, new Rng(i), keyring, { timeoutMs: 10_000 });
          expect(violation?.detail, `${seed.name} ${target.name}`).toBeUndefined();
          const expected = target.name === 'readHeader' ? ['header'] : target.name === 'rewrap' || target.name === 'rewrapFile' ? ['ERR_UNSUPPORTED_VERSION'] : target.name === 'decryptRange' ? ['plaintext', 'ERR_SIGNATURE_POLICY'] : ['plaintext'];
          expect(expected, `${seed.name} ${target.name}`).toContain(outcome);
        }
      }
    }
  });

  it('the same seed replays the same inputs', async () => {
    const seen: string[][] = [[], []];
    for (const run of [0, 1]) {
      await runMessageFuzz({ seed: 99, iterations: 200, targets: [MESSAGE_TARGETS[0]!], onInput: (_t, input) => seen[run]!.push(Buffer.from(input).toString('base64')) });
    }
    expect(seen[0]).toEqual(seen[1]);
  });
});

describe('the oracle fails when it should', () => {
  const broken = (name: string, run: MessageTarget['run']): MessageTarget => ({ name, weight: 1, run });

  it('a decrypt that skips authentication (returns the seed plaintext whatever the input) is a forgery', async () => {
    const seeds = await makeSeeds();
    const report = await runMessageFuzz({
      seed: SEED,
      iterations: 200,
      targets: [broken('no-auth', async (input, _rng, _k, hint) => ({ plaintext: hint ? hint.plaintext : input }))],
    });
    expect(seeds.length).toBeGreaterThan(0);
    expect(report.violations.length).toBeGreaterThan(0);
    expect(new Set(report.violations.map((v) => v.kind))).toContain('forgery');
  });

  it('a decrypt that throws something other than a SealboxError is an exception', async () => {
    const report = await runMessageFuzz({
      seed: SEED,
      iterations: 200,
      targets: [
        broken('throws', async (input, _rng, keyring) => {
          if (input.length % 7 === 3) throw new TypeError('Cannot read properties of undefined');
          return { plaintext: (await decrypt(input, { keyring })).plaintext };
        }),
      ],
    });
    expect(report.violations.map((v) => v.kind)).toContain('exception');
    expect(report.violations.every((v) => v.input.length % 7 === 3)).toBe(true);
  });

  it('a decrypt that never settles is a hang; one that loses the plaintext of a valid message is caught', async () => {
    const hang = await runMessageFuzz({ seed: SEED, iterations: 3, timeoutMs: 50, targets: [broken('hangs', () => new Promise(() => undefined))] });
    expect(hang.violations.map((v) => v.kind)).toEqual(['hang', 'hang', 'hang']);
    const lossy = await runMessageFuzz({
      seed: SEED,
      iterations: 500,
      targets: [broken('lossy', async (input, _rng, keyring) => ({ plaintext: (await decrypt(input, { keyring })).plaintext.subarray(1) }))],
    });
    expect(lossy.violations.map((v) => v.kind)).toContain('wrong-plaintext');
  });

  it('a framer that releases a signed message\'s last regular frame before its signature (a plaintext of whole frames) is caught', async () => {
    // The framer as it was before it held the last regular frame back (it withheld only the
    // final frame, empty for a plaintext of whole frames): outputDiscardedOnFailure emits each
    // regular frame at once, as only decryptFile may.
    const early = (plan: DecryptPlan): DecryptFramer =>
      new DecryptFramer({ maxHeaderBytes: plan.limits.maxHeaderBytes, acceptHeader: (b) => acceptHeader(plan, b), begin: (h, b, t) => Promise.resolve(beginDecryption(plan, h, b, t)), outputDiscardedOnFailure: true });
    const report = await runMessageFuzz({ seed: SEED, iterations: 400, targets: [broken('early-release', framerChunksWith(early))] });
    expect(report.violations.length).toBeGreaterThan(0);
    expect(report.violations.every((v) => v.detail.includes('its last frame with plaintext included'))).toBe(true);
    // Only the signed seeds of whole frames: elsewhere the final frame has plaintext and is withheld.
    const seeds = await makeSeeds();
    const whole = seeds.filter((s) => s.signed && s.plaintext.length > 0 && s.plaintext.length % s.frameLength === 0);
    expect(whole.map((s) => s.name)).toEqual(['signed-whole-frames', 'signed-one-whole-frame']);
    expect(report.violations.every((v) => whole.some((s) => Buffer.from(v.input).subarray(0, s.headerEnd + 16).equals(s.bytes.subarray(0, s.headerEnd + 16))))).toBe(true);
  });

  it('an allocation far beyond the limits is a memory violation', async () => {
    const report = await runMessageFuzz({
      seed: SEED,
      iterations: 64,
      targets: [
        broken('hoards', async () => {
          // What an unchecked declared length would do: 64 MiB for one input.
          const waste = new Uint8Array(64 * 1024 * 1024);
          waste[waste.length - 1] = 1;
          throw Object.assign(new (await import('../../src/errors.js')).SealboxError('ERR_FORMAT_INVALID', 'x'), { waste });
        }),
      ],
    });
    expect(report.violations.map((v) => v.kind)).toContain('memory');
  });
});

describe('KMS endpoint fuzzer', () => {
  it('a short run: every malformed request gets a 4xx AWS-shaped error (or is closed when oversized or slow); another client keeps being answered', async () => {
    const report = await runEndpointFuzz({ seed: SEED, iterations: 300, slowRequests: 2, requestTimeoutMs: 500 });
    expect(report.violations.map((v) => `${v.request.kind}: ${v.detail}`)).toEqual([]);
    expect(report.requests).toBe(300);
    expect(report.health.checks).toBeGreaterThan(3);
    expect(report.kinds['slow-body']).toBeDefined();
    expect(Object.keys(report.kinds.oversized ?? {}).every((k) => k === '413' || /^E[A-Z]+$/.test(k))).toBe(true);
  }, 60_000);

  it('a server that answers 500 to some operation breaks the oracle', async () => {
    const report = await runEndpointFuzz({
      seed: SEED,
      iterations: 150,
      slowRequests: 0,
      start: (kms, requestTimeoutMs) => {
        const store = credentialStoreFor(kms);
        return startKmsServer({
          kms: { execute: (op, input, caller) => (op === 'DescribeKey' ? Promise.reject(new TypeError('bug')) : kms.execute(op, input, caller)) },
          region: kms.region,
          credentials: (id) => store.lookup(id),
          limits: { requestTimeoutMs },
        });
      },
    });
    // The health client's DescribeKey fails too: both the oracle and the health check notice.
    expect(report.violations.some((v) => v.kind === 'oracle' && v.detail.startsWith('HTTP 500'))).toBe(true);
    expect(report.violations.some((v) => v.kind === 'health')).toBe(true);
  }, 60_000);
});
