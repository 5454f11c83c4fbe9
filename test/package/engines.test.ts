import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// docs/decisions/0001-node-versions.md: `engines` and the dependency ranges agree. Every
// runtime dependency as installed accepts the lowest Node of each line Sealbox supports and the
// Node running this test; while Node 20 is supported, the AWS packages are capped below releases
// that may need Node 22. `engines` admits only Nodes whose require() loads ES modules by default
// (20.19+, 22.12+): the CLI require()s ES-module dependencies, and CommonJS users require() Sealbox.

interface Manifest { version: string; engines?: { node?: string }; dependencies?: Record<string, string> }
const ROOT = process.cwd();
const read = (path: string): Manifest => JSON.parse(readFileSync(path, 'utf8')) as Manifest;
const pkg = read(join(ROOT, 'package.json'));

type Version = [number, number, number];
const parse = (v: string): Version => {
  const parts = v.replace(/^v/, '').split('.').map((p) => (p === 'x' || p === '*' || p === '' ? 0 : Number(p)));
  return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];
};
const cmp = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** The comparator forms that appear in `engines.node` fields: >=, >, <=, <, =, ^, ~, N.x, separated by spaces and `||`. */
function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  return range.split('||').some((alt) => {
    const parts = alt.trim().replace(/([<>=^~]+)\s+/g, '$1').split(/\s+/).filter(Boolean);
    return parts.every((c) => {
      const m = /^(>=|<=|>|<|=|\^|~)?(.+)$/.exec(c)!;
      const op = m[1] ?? '', target = parse(m[2]!);
      const wildcardMajor = /^\d+(\.x)?$/.test(m[2]!) && op === '';
      if (c === '*') return true;
      switch (op) {
        case '>=': return cmp(v, target) >= 0;
        case '>': return cmp(v, target) > 0;
        case '<=': return cmp(v, target) <= 0;
        case '<': return cmp(v, target) < 0;
        case '^': return v[0] === target[0] && cmp(v, target) >= 0;
        case '~': return v[0] === target[0] && v[1] === target[1] && cmp(v, target) >= 0;
        default: return wildcardMajor ? v[0] === target[0] : cmp(v, target) === 0;
      }
    });
  });
}

describe('engines and dependency ranges (decision 0001)', () => {
  const engines = pkg.engines?.node ?? '';
  // The lowest version of each line engines admits: `^20.19.0 || >=22.12.0` -> 20.19.0, 22.12.0.
  const floors = engines.split('||').map((alt) => /^\s*(?:\^|>=)\s*(\d+\.\d+\.\d+)\s*$/.exec(alt)?.[1]);
  const lowest = floors[0];

  it('engines.node is one floor per supported line (^20.19.0 || >=22.12.0 form), and the running Node satisfies it', () => {
    expect(floors.length).toBeGreaterThan(0);
    for (const f of floors) expect(f, engines).toBeDefined();
    expect(satisfies(process.versions.node, engines)).toBe(true);
  });

  it('engines.node admits no Node whose require() cannot load ES modules by default (before 20.19, 21, 22.0-22.11)', () => {
    // `sealbox keygen` on Node 22.11 failed with "require() of ES Module .../@scure/base/index.js
    // ... not supported" while `engines` said >=20.19.
    for (const v of ['20.18.3', '21.7.3', '22.0.0', '22.11.0']) expect(satisfies(v, engines), v).toBe(false);
    for (const v of ['20.19.0', '20.20.2', '22.12.0', '24.0.0']) expect(satisfies(v, engines), v).toBe(true);
  });

  it.each(Object.keys(pkg.dependencies ?? {}))('%s as installed runs on every engines floor and on this Node', (name) => {
    const dep = read(join(ROOT, 'node_modules', name, 'package.json'));
    const range = dep.engines?.node;
    if (range === undefined) return;
    for (const f of floors) expect(satisfies(f!, range), `${name}@${dep.version} engines ${range} on ${f}`).toBe(true);
    expect(satisfies(process.versions.node, range), `${name}@${dep.version} engines ${range}`).toBe(true);
  });

  it('while Node 20 is supported, the AWS packages are capped (no floating to releases that need Node 22)', () => {
    if (parse(lowest!)[0] >= 22) return;
    for (const name of ['@aws-sdk/client-kms', '@smithy/core', '@smithy/signature-v4']) {
      expect(pkg.dependencies?.[name], name).toMatch(/<\s*\d/);
    }
  });

  it('the comparator reader agrees with npm on the forms it meets', () => {
    expect(satisfies('20.19.0', '>= 20.19.0')).toBe(true);
    expect(satisfies('20.18.9', '>=20.19')).toBe(false);
    expect(satisfies('20.19.0', '20.x || 22.x || 24.x')).toBe(true);
    expect(satisfies('21.0.0', '20.x || 22.x')).toBe(false);
    expect(satisfies('22.23.5', '^20.19.0 || >=22.12.0')).toBe(true);
    expect(satisfies('22.11.0', '^20.19.0 || >=22.12.0')).toBe(false);
    expect(satisfies('3.1180.0', '>=3.1162.0 <3.1179.0')).toBe(false);
  });
});
