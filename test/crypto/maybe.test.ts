import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Steps } from '../../src/crypto/maybe.js';
import { drive } from '../../src/crypto/maybe.js';

/** Yields each input (a value, or a promise of it) and sums what the yields give back. */
function* sum(inputs: readonly (number | Promise<number>)[]): Steps<number> {
  let total = 0;
  for (const input of inputs) total += (yield input) as number;
  return total;
}

describe('drive', () => {
  it('answers synchronously (not a promise) when nothing yielded is a promise', () => {
    const result = drive(sum([1, 2, 3]));
    expect(result).not.toBeInstanceOf(Promise);
    expect(result).toBe(6);
  });

  it('from the first promise on, answers with a promise of the same result', async () => {
    const result = drive(sum([1, Promise.resolve(2), 3, Promise.resolve(4)]));
    expect(result).toBeInstanceOf(Promise);
    expect(await result).toBe(10);
  });

  it('throws synchronously what the steps throw while they run synchronously', () => {
    function* fails(): Steps<number> {
      yield 1;
      throw new RangeError('bad');
    }
    expect(() => drive(fails())).toThrow(RangeError);
  });

  it('throws a rejection at the yield, where the steps may catch it', async () => {
    function* recovers(): Steps<string> {
      try {
        yield Promise.reject(new Error('no'));
        return 'not reached';
      } catch (err) {
        const more = (yield 'then sync') as string;
        return `${(err as Error).message}, ${more}`;
      }
    }
    await expect(drive(recovers())).resolves.toBe('no, then sync');
  });

  it('rejects with what the steps throw after a promise, and with an uncaught rejection', async () => {
    function* failsLater(): Steps<number> {
      yield Promise.resolve(1);
      throw new TypeError('late');
    }
    await expect(drive(failsLater())).rejects.toBeInstanceOf(TypeError);
    await expect(drive(sum([1, Promise.reject(new SyntaxError('x'))]))).rejects.toBeInstanceOf(SyntaxError);
  });

  it('runs `finally` blocks whether the steps end synchronously, asynchronously or by a rejection', async () => {
    const log: string[] = [];
    function* guarded(input: number | Promise<number>): Steps<number> {
      try {
        return (yield input) as number;
      } finally {
        log.push('finally');
      }
    }
    expect(drive(guarded(1))).toBe(1);
    expect(await drive(guarded(Promise.resolve(2)))).toBe(2);
    await expect(drive(guarded(Promise.reject(new Error('x'))))).rejects.toThrow('x');
    expect(log).toEqual(['finally', 'finally', 'finally']);
  });

  it('gives the same result for any mix of values and promises (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: -1000, max: 1000 }), fc.boolean()), { maxLength: 20 }), async (items) => {
        const inputs = items.map(([n, wait]) => (wait ? Promise.resolve(n) : n));
        const expected = items.reduce((a, [n]) => a + n, 0);
        const result = drive(sum(inputs));
        expect(result instanceof Promise).toBe(items.some(([, wait]) => wait));
        expect(await result).toBe(expected);
      }),
    );
  });
});
