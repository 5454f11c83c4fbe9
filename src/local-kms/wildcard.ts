/**
 * IAM wildcard patterns (`*` any run of characters, `?` exactly one character, everything else
 * literal), matched without regular expressions.
 *
 * Key policies match these against caller-chosen text (encryption-context values in
 * `StringLike`/`StringNotLike`, inside the operation's write transaction). A pattern turned into
 * a backtracking RegExp (`^a.*b.*c$`) takes time polynomial in the value with the number of
 * `*` as exponent, so a few kilobytes of context could stall the whole local KMS. Here a
 * pattern is split at its `*`s into segments: the first must match at the start, the last at
 * the end, and each middle one is taken at its leftmost match after the previous one (taking
 * the leftmost is always right: whatever a later match could leave for the rest, an earlier one
 * leaves more). No position is revisited: each segment search starts where the last ended, so a
 * match costs at most (value length + segments) x (longest segment) character comparisons,
 * linear in the value for a given pattern.
 *
 * Characters are Unicode code points, so `?` matches one character even outside the BMP.
 */

/** A compiled pattern. */
export interface WildcardMatcher {
  /** The pattern as written. */
  readonly pattern: string;
  /**
   * True when the whole of `value` matches. `counter.steps` (when given) grows by the number of
   * character comparisons made: tests use it to prove the bound above.
   */
  test(value: string, counter?: { steps: number }): boolean;
}

/** One `*`-free piece of a pattern; `?` is the only wildcard left in it. */
type Segment = readonly string[];

function matchesAt(segment: Segment, value: readonly string[], at: number, counter: { steps: number }): boolean {
  for (let i = 0; i < segment.length; i++) {
    counter.steps++;
    const c = segment[i];
    if (c !== '?' && c !== value[at + i]) return false;
  }
  return true;
}

function matchSegments(segments: readonly Segment[], value: readonly string[], counter: { steps: number }): boolean {
  const first = segments[0]!;
  if (segments.length === 1) return value.length === first.length && matchesAt(first, value, 0, counter);
  const last = segments[segments.length - 1]!;
  if (value.length < first.length + last.length) return false;
  const end = value.length - last.length;
  if (!matchesAt(first, value, 0, counter) || !matchesAt(last, value, end, counter)) return false;
  let pos = first.length;
  for (let s = 1; s < segments.length - 1; s++) {
    const segment = segments[s]!;
    let at = pos;
    while (at + segment.length <= end && !matchesAt(segment, value, at, counter)) at++;
    if (at + segment.length > end) return false;
    pos = at + segment.length;
  }
  return true;
}

/**
 * Compiles an IAM wildcard pattern.
 *
 * @example
 * ```ts
 * compileWildcard('kms:Generate*', true).test('kms:generatedatakey'); // true
 * compileWildcard('tenant-??').test('tenant-42'); // true
 * ```
 * @throws TypeError when `pattern` is not a string.
 */
export function compileWildcard(pattern: string, ignoreCase = false): WildcardMatcher {
  if (typeof pattern !== 'string') throw new TypeError('"pattern" expected a string');
  const fold = (s: string) => (ignoreCase ? s.toLowerCase() : s);
  // Runs of `*` are one `*`; empty segments between them match the empty string.
  const segments: Segment[] = fold(pattern)
    .split('*')
    .map((piece) => Array.from(piece));
  return {
    pattern,
    test(value: string, counter = { steps: 0 }): boolean {
      return matchSegments(segments, Array.from(fold(value)), counter);
    },
  };
}
