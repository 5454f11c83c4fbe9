/** Names an attacker chooses: map keys that are Object.prototype members, endless region names. */

/**
 * `{ ...extra, __proto__: value }` with `__proto__` an own member, as `JSON.parse` makes it
 * (an object literal would set the prototype instead).
 */
export function protoContext(value: string, extra: Record<string, string> = {}): Record<string, string> {
  const pairs = [...Object.entries(extra), ['__proto__', value]].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  return JSON.parse(`{${pairs.join(',')}}`) as Record<string, string>;
}

/** The `i`-th of endless distinct names with AWS region syntax: `zz-a-1`, `zz-b-1`, ..., `zz-ba-1`. */
export function regionName(i: number): string {
  let word = '';
  do {
    word = String.fromCharCode(97 + (i % 26)) + word;
    i = Math.floor(i / 26);
  } while (i > 0);
  return `zz-${word}-1`;
}
