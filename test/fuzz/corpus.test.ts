// Replays the fuzz regression vectors (test/fuzz/corpus/README.md) under the fuzzer's oracle.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORPUS_DIR, loadEndpointVectors, loadMessageVectors } from './corpus.js';
import { runEndpointFuzz } from './endpoint.js';
import { armorBytes } from './mutate.js';
import { AllocationMeter, MESSAGE_TARGETS, allocationBound, checkInput, fuzzKeyring, makeSeeds } from './messages.js';
import { Rng } from './rng.js';

const dir = join(process.cwd(), CORPUS_DIR);
const vectors = loadMessageVectors(dir);
const requests = loadEndpointVectors(dir);

describe('fuzz corpus: message vectors', async () => {
  const keyring = fuzzKeyring();
  const seeds = await makeSeeds(keyring);

  it('the corpus is there (hand-made vectors at least)', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(8);
  });

  for (const { file, target: name, input } of vectors) {
    const targets = name === 'any' ? MESSAGE_TARGETS : MESSAGE_TARGETS.filter((t) => t.name === name);
    it(`${file}: ${targets.map((t) => t.name).join(', ')}`, async () => {
      expect(targets.length).toBeGreaterThan(0);
      for (const target of targets) {
        const bytes = target.armored && name === 'any' ? armorBytes(input) : input;
        const meter = new AllocationMeter();
        const uninstall = meter.install();
        let result;
        try {
          result = await checkInput(target, bytes, 'corpus', undefined, seeds, new Rng(1), keyring, { timeoutMs: 10_000 });
        } finally {
          uninstall();
        }
        expect(result.violation?.detail, `${target.name}`).toBeUndefined();
        expect(meter.bytes, `${target.name} allocation`).toBeLessThanOrEqual(allocationBound(bytes.length));
      }
    }, 60_000);
  }
});

describe.runIf(requests.length > 0)('fuzz corpus: KMS endpoint vectors', () => {
  it(`${requests.length} stored requests get a well-shaped answer`, async () => {
    const report = await runEndpointFuzz({ seed: 1, iterations: 0, slowRequests: 0, replay: requests.map((r) => r.request) });
    expect(report.violations.map((v) => `${v.request.kind}: ${v.detail}`)).toEqual([]);
    expect(report.requests).toBe(requests.length);
  }, 60_000);
});
