import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { CLI } from './build.js';
import { CLI_COMMAND, HAS_SCRIPT, cliEnv, onTerminal, q, rawKeyFixture, sealbox } from './run.js';

// `sealbox encrypt|decrypt FILE... --output-dir DIR` (docs/cli.md, "Many files").

const { dir, home, K } = rawKeyFixture('many', 'team.key');

let n = 0;
/** A fresh directory with inputs a.txt, b.txt, c.txt and empty sealed/ and plain/. */
function setUp(): { root: string; inputs: string[]; sealed: string; plain: string } {
  const root = join(dir, `case-${n++}`);
  mkdirSync(join(root, 'sealed'), { recursive: true });
  mkdirSync(join(root, 'plain'));
  const inputs = ['a.txt', 'b.txt', 'c.txt'].map((name) => {
    const path = join(root, name);
    writeFileSync(path, `${name} ${randomBytes(8).toString('hex')}\n`);
    return path;
  });
  return { root, inputs, sealed: join(root, 'sealed'), plain: join(root, 'plain') };
}

const jsonLines = (out: Buffer): Record<string, unknown>[] => out.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const leftovers = (d: string): string[] => readdirSync(d).filter((f) => f.endsWith('.sealbox-tmp'));

describe('many files per command', () => {
  it('encrypts X to DIR/X.sbx and decrypts back, with a JSON line per file', () => {
    const { inputs, sealed, plain } = setUp();
    const enc = sealbox(home, ['--json', 'encrypt', ...inputs, '--output-dir', sealed, '--key', K]);
    expect(enc.code, enc.stderr).toBe(0);
    expect(readdirSync(sealed).sort()).toEqual(['a.txt.sbx', 'b.txt.sbx', 'c.txt.sbx']);
    // One line per file, in the order files finish (several run at once).
    const lines = jsonLines(enc.stdout).sort((x, y) => String(x.file).localeCompare(String(y.file)));
    expect(lines.map((l) => l.file)).toEqual(inputs);
    for (const [i, line] of lines.entries()) {
      expect(line).toEqual({ file: inputs[i], ok: true, output: join(sealed, `${['a', 'b', 'c'][i]}.txt.sbx`), bytesWritten: readFileSync(line.output as string).length });
    }
    const sealedFiles = inputs.map((f, i) => join(sealed, `${['a', 'b', 'c'][i]}.txt.sbx`));
    const dec = sealbox(home, ['decrypt', ...sealedFiles, '-d', plain, '-k', K]);
    expect(dec.code, dec.stderr).toBe(0);
    expect(dec.stdout.length).toBe(0);
    for (const [i, name] of ['a.txt', 'b.txt', 'c.txt'].entries()) expect(readFileSync(join(plain, name))).toEqual(readFileSync(inputs[i]!));
  });

  it('a failing file is reported, the others are still done; the exit code is the first failing file\'s in the order given', () => {
    const { root, inputs, sealed, plain } = setUp();
    expect(sealbox(home, ['encrypt', ...inputs, '-d', sealed, '-k', K]).code).toBe(0);
    const bad = join(root, 'bad.sbx');
    writeFileSync(bad, 'not a message');
    const missing = join(root, 'missing.sbx');
    const good = ['a', 'b', 'c'].map((x) => join(sealed, `${x}.txt.sbx`));
    // A tampered one among good ones: exit 2; the good ones are decrypted, the bad one leaves nothing.
    const tampered = readFileSync(good[1]!);
    tampered[tampered.length - 1]! ^= 1;
    writeFileSync(good[1]!, tampered);
    const r = sealbox(home, ['--json', 'decrypt', good[0]!, good[1]!, good[2]!, '-d', plain, '-k', K]);
    expect(r.code).toBe(2);
    const lines = jsonLines(r.stdout);
    expect(lines.find((l) => l.file === good[1])).toMatchObject({ ok: false, exitCode: 2 });
    expect((lines.find((l) => l.file === good[1])!.error as string)).toMatch(/\(ERR_DECRYPTION_FAILED\)$/);
    expect(lines.filter((l) => l.ok === true).map((l) => l.file).sort()).toEqual([good[0], good[2]].sort());
    expect(readdirSync(plain).sort()).toEqual(['a.txt', 'c.txt']);
    expect(leftovers(plain)).toEqual([]);
    // Order decides the exit code: missing (1) before bad (2) is 1; bad before missing is 2.
    const p2 = join(root, 'plain2');
    mkdirSync(p2);
    const first = sealbox(home, ['decrypt', missing, bad, '-d', p2, '-k', K]);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/missing\.sbx: cannot read .*no such file or directory \(ENOENT\)/);
    expect(first.stderr).toMatch(/2 of 2 files failed/);
    const second = sealbox(home, ['decrypt', bad, missing, '-d', p2, '-k', K]);
    expect(second.code).toBe(2);
    expect(readdirSync(p2)).toEqual([]);
  });

  it('refuses existing outputs unless --force; -o alone always replaces, and --force without --output-dir is a usage error', () => {
    const { inputs, sealed } = setUp();
    const out = join(sealed, 'a.txt.sbx');
    writeFileSync(out, 'keep me');
    const r = sealbox(home, ['--json', 'encrypt', inputs[0]!, inputs[1]!, '-d', sealed, '-k', K]);
    expect(r.code).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    expect(jsonLines(r.stdout)[0]).toMatchObject({ file: inputs[0], ok: false, exitCode: 1 });
    expect(jsonLines(r.stdout)[0]!.error).toMatch(/exists; add --force to replace it \(EEXIST\)$/);
    expect(existsSync(join(sealed, 'b.txt.sbx'))).toBe(true);
    const forced = sealbox(home, ['encrypt', inputs[0]!, '-d', sealed, '-k', K, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).not.toBe('keep me');
    expect(sealbox(home, ['encrypt', inputs[0]!, '-o', out, '-k', K, '--force']).code).toBe(1);
  });

  it('usage errors before any work: collisions, decrypt inputs without .sbx, several inputs without --output-dir, -o with --output-dir, stdin', () => {
    const { root, inputs, sealed, plain } = setUp();
    mkdirSync(join(root, 'sub'));
    const twin = join(root, 'sub', 'a.txt');
    writeFileSync(twin, 'twin');
    const cases: string[][] = [
      ['encrypt', inputs[0]!, twin, '-d', sealed, '-k', K],
      ['decrypt', inputs[0]!, '-d', plain, '-k', K],
      ['encrypt', inputs[0]!, inputs[1]!, '-k', K],
      ['decrypt', inputs[0]!, inputs[1]!, '-k', K],
      ['encrypt', inputs[0]!, '-d', sealed, '-o', join(root, 'x.sbx'), '-k', K],
      ['encrypt', '-', '-d', sealed, '-k', K],
      ['encrypt', '-d', sealed, '-k', K],
      ['encrypt', inputs[0]!, '-d', join(root, 'nowhere'), '-k', K],
    ];
    for (const args of cases) {
      const r = sealbox(home, args, '');
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/\((ERR_USAGE|ENOENT)\)\n$/);
    }
    expect(readdirSync(sealed)).toEqual([]);
    expect(readdirSync(plain)).toEqual([]);
  });

  it.runIf(process.platform !== 'win32')('a FIFO among the inputs is refused as not a regular file (no waiting for a writer); the other files are done', () => {
    const { root, inputs, sealed, plain } = setUp();
    const fifo = join(root, 'p.txt');
    execFileSync('mkfifo', [fifo]);
    // Before the fix, opening the FIFO blocked the whole run (no file done, Ctrl-C ignored).
    const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { env: cliEnv(home), timeout: 20_000, killSignal: 'SIGKILL' });
    const enc = run(['encrypt', inputs[0]!, fifo, inputs[1]!, '-d', sealed, '-k', K]);
    expect(enc.signal).toBeNull();
    expect(enc.status).toBe(1);
    expect(enc.stderr.toString()).toContain(`sealbox: ${fifo}: cannot read ${fifo}: not a regular file (EISDIR)\n`);
    expect(readdirSync(sealed).sort()).toEqual(['a.txt.sbx', 'b.txt.sbx']);
    const fifoSbx = join(root, 'p.sbx');
    execFileSync('mkfifo', [fifoSbx]);
    const dec = run(['decrypt', fifoSbx, join(sealed, 'a.txt.sbx'), '-d', plain, '-k', K]);
    expect(dec.signal).toBeNull();
    expect(dec.status).toBe(1);
    expect(dec.stderr.toString()).toContain(`sealbox: ${fifoSbx}: cannot read ${fifoSbx}: not a regular file (EISDIR)\n`);
    expect(readFileSync(join(plain, 'a.txt'))).toEqual(readFileSync(inputs[0]!));
    expect(leftovers(sealed)).toEqual([]);
    expect(leftovers(plain)).toEqual([]);
  }, 60_000);

  it.runIf(HAS_SCRIPT)('shows a progress line across files on a terminal, and none when stderr is not one', async () => {
    const { inputs, sealed } = setUp();
    const r = await onTerminal(`${CLI_COMMAND} encrypt ${inputs.map(q).join(' ')} --output-dir ${q(sealed)} --key ${q(K)}`, { env: cliEnv(home), eof: true });
    expect(r.code).toBe(0);
    expect(r.screen).toMatch(/sealbox encrypt: 3\/3 files/);
    const piped = sealbox(home, ['encrypt', ...inputs, '-d', sealed, '-k', K, '--force']);
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
  });

  it('each file is fsynced before its rename; the directory is fsynced once, after the last rename, even when a file failed', () => {
    const { root, inputs, sealed } = setUp();
    // A preload records the CLI's fsyncs and renames by path (fs and fs/promises, as bundled).
    const preload = join(root, 'record-fs.cjs');
    const log = join(root, 'fs.log');
    writeFileSync(preload, `
      const fs = require('node:fs'); const fsp = require('node:fs/promises');
      const events = []; const paths = new Map();
      const openSync = fs.openSync; fs.openSync = function (p, ...a) { const fd = openSync.call(this, p, ...a); paths.set(fd, String(p)); return fd; };
      const fsync = fs.fsync; fs.fsync = function (fd, cb) { events.push('fsync ' + paths.get(fd)); return fsync.call(this, fd, cb); };
      const renameSync = fs.renameSync; fs.renameSync = function (a, b) { events.push('rename ' + a + ' ' + b); return renameSync.call(this, a, b); };
      const open = fsp.open; fsp.open = async function (p, ...a) { const fh = await open.call(this, p, ...a); const sync = fh.sync.bind(fh); fh.sync = () => { events.push('fsync ' + p); return sync(); }; return fh; };
      process.on('exit', () => fs.writeFileSync(${JSON.stringify(log)}, events.join('\\n')));
    `);
    const missing = join(root, 'missing.txt');
    const r = spawnSync(process.execPath, [CLI, 'encrypt', inputs[0]!, missing, inputs[1]!, inputs[2]!, '-d', sealed, '-k', K], { env: cliEnv(home, { NODE_OPTIONS: `--require ${preload}` }) });
    expect(r.status, r.stderr.toString()).toBe(1);
    expect(readdirSync(sealed).sort()).toEqual(['a.txt.sbx', 'b.txt.sbx', 'c.txt.sbx']);
    const events = readFileSync(log, 'utf8').split('\n');
    const renames = events.map((e, i) => [e, i] as const).filter(([e]) => e.startsWith('rename '));
    expect(renames).toHaveLength(3);
    for (const [e, i] of renames) {
      const tmpFile = e.split(' ')[1]!;
      expect(tmpFile).toMatch(/\.sealbox-tmp$/);
      expect(events.indexOf(`fsync ${tmpFile}`)).toBeGreaterThanOrEqual(0);
      expect(events.indexOf(`fsync ${tmpFile}`)).toBeLessThan(i);
    }
    const dirSyncs = events.map((e, i) => [e, i] as const).filter(([e]) => e === `fsync ${sealed}`);
    expect(dirSyncs).toHaveLength(1);
    expect(dirSyncs[0]![1]).toBeGreaterThan(renames[2]![1]);
    expect(leftovers(sealed)).toEqual([]);
  });

  it('with the local KMS default key, each file gets its own data key and audit row (data keys asked for together share a transaction, not a key)', () => {
    const { root, sealed, plain } = setUp();
    const kmsHome = join(root, 'kms-home');
    const names = Array.from({ length: 40 }, (_, i) => `f${i}.txt`);
    for (const name of names) writeFileSync(join(root, name), `${name}\n`);
    const enc = sealbox(kmsHome, ['encrypt', ...names.map((f) => join(root, f)), '-d', sealed]);
    expect(enc.code, enc.stderr).toBe(0);
    const audit = sealbox(kmsHome, ['audit', 'show', '--limit', '1000']).stdout.toString().trim().split('\n');
    expect(audit.filter((l) => l.split('\t')[2] === 'GenerateDataKey' && l.split('\t')[3] === 'ok')).toHaveLength(40);
    expect(sealbox(kmsHome, ['audit', 'verify']).code).toBe(0);
    // Distinct wrapped data keys: the EDK ciphertexts differ, and every file decrypts.
    const edks = new Set(names.map((f) => readFileSync(join(sealed, `${f}.sbx`)).subarray(0, 400).toString('hex')));
    expect(edks.size).toBe(40);
    const dec = sealbox(kmsHome, ['decrypt', ...names.map((f) => join(sealed, `${f}.sbx`)), '-d', plain]);
    expect(dec.code, dec.stderr).toBe(0);
    for (const name of names) expect(readFileSync(join(plain, name), 'utf8')).toBe(`${name}\n`);
  });

  it('--json with stdout closed early (| head -c 1): exit 141 and no temporary file left, for decrypt none holding plaintext', () => {
    const { root, sealed, plain } = setUp();
    const names = Array.from({ length: 200 }, (_, i) => `p${i}.txt`);
    for (const name of names) writeFileSync(join(root, name), `${name} secret\n`);
    expect(sealbox(home, ['encrypt', ...names.map((f) => join(root, f)), '-d', sealed, '-k', K]).code).toBe(0);
    for (const [direction, inputs, out] of [
      ['encrypt', names.map((f) => join(root, f)), join(root, 'sealed-again')],
      ['decrypt', names.map((f) => join(sealed, `${f}.sbx`)), plain],
    ] as const) {
      mkdirSync(out, { recursive: true });
      // The first JSON line gets through; the next write meets the closed pipe while other files are still being written.
      const r = spawnSync('bash', ['-c', `${CLI_COMMAND} --json ${direction} ${inputs.map(q).join(' ')} -d ${q(out)} -k ${q(K)} 2>/dev/null | head -c 1 > /dev/null; echo "\${PIPESTATUS[0]}"`], { env: cliEnv(home) });
      expect(r.stdout.toString(), direction).toBe('141\n');
      expect(leftovers(out), direction).toEqual([]);
      // What was renamed into place is whole.
      for (const file of readdirSync(out)) {
        if (direction === 'decrypt') expect(readFileSync(join(out, file), 'utf8')).toBe(`${file} secret\n`);
        else expect(sealbox(home, ['decrypt', join(out, file), '-k', K]).stdout.toString()).toBe(`${file.slice(0, -4)} secret\n`);
      }
    }
  });

  it('an error nobody handles (the last-resort handler) while files are being written: one line, a failing exit, and no temporary file left', () => {
    const { root, sealed, plain } = setUp();
    const names = Array.from({ length: 200 }, (_, i) => `u${i}.txt`);
    for (const name of names) writeFileSync(join(root, name), `${name} secret\n`);
    expect(sealbox(home, ['encrypt', ...names.map((f) => join(root, f)), '-d', sealed, '-k', K]).code).toBe(0);
    // A fault injected from outside: on the 20th fsync an exception is thrown from a callback,
    // which nothing in the CLI catches, while other outputs' temporary files are still open.
    const preload = join(root, 'fault.cjs');
    writeFileSync(preload, [
      "const fs = require('node:fs');",
      'const real = fs.fsync;',
      'let n = 0;',
      "fs.fsync = function (fd, cb) { if (++n === 20) setImmediate(() => { throw new Error('injected fault'); }); return real.call(this, fd, cb); };",
    ].join('\n'));
    const r = spawnSync(process.execPath, [CLI, 'decrypt', ...names.map((f) => join(sealed, `${f}.sbx`)), '-d', plain, '-k', K], {
      env: { ...cliEnv(home), NODE_OPTIONS: `--require ${preload}` },
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr.toString()).toMatch(/^sealbox: .*injected fault/m);
    expect(leftovers(plain)).toEqual([]);
    for (const file of readdirSync(plain)) expect(readFileSync(join(plain, file), 'utf8')).toBe(`${file} secret\n`);
  });
});
