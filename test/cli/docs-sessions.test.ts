import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CLI, ensureBuilt } from './build.js';
import { q, tmp } from './run.js';

/**
 * The example sessions of docs/cli.md (and of the other pages in DOCS), run as written, so that
 * they cannot drift from what the CLI prints. The convention (docs/cli.md, "About the examples"):
 *
 * - Every ```console block is a session, unless the line before it is
 *   `<!-- not run: <reason> -->`. Lines starting `$ ` are commands (bash, run in order in one
 *   shell, in a fresh directory that is also $HOME, with `sealbox` on PATH and no
 *   SEALBOX_HOME); the lines after a command up to the next command are what it prints on
 *   stdout and stderr together.
 * - Comparison ignores what changes from run to run: UUIDs, ISO times, hex strings of 16+
 *   digits and epoch milliseconds are compared by shape, the session's directory is shown as
 *   /home/me, and `...` in the expected text stands for any text (a line of its own: any
 *   lines). Trailing spaces are ignored.
 * - Port 4599 is replaced by a free port. A command ending in `&` runs in the background: the
 *   session waits (up to 20 s) until it has printed as many lines as the docs show after it,
 *   and stops it when the session ends.
 */

interface Session {
  line: number;
  steps: { command: string; expected: string[] }[];
}

/** The pages whose ```console blocks are sessions, and how many each has at least (a block made
 * into ```sh by mistake would otherwise drop out of the test unnoticed). */
const DOCS: readonly (readonly [page: string, atLeast: number])[] = [
  ['docs/cli.md', 10],
  ['README.md', 1],
  ['docs/kms-server.md', 2],
];

function extractSessions(markdown: string, page: string): Session[] {
  const lines = markdown.split('\n');
  const sessions: Session[] = [];
  for (let i = 0; i < lines.length; i++) {
    // A block may be indented (inside a list item): its lines are read without the indent.
    const indent = /^( *)```console$/.exec(lines[i]!)?.[1];
    if (indent === undefined) continue;
    const skipped = /^<!-- not run: .+ -->$/.test((lines[i - 1] ?? '').trim());
    const session: Session = { line: i + 1, steps: [] };
    for (i++; i < lines.length && lines[i] !== `${indent}\`\`\``; i++) {
      const line = lines[i]!.startsWith(indent) ? lines[i]!.slice(indent.length) : lines[i]!;
      if (line.startsWith('$ ')) session.steps.push({ command: line.slice(2), expected: [] });
      else if (session.steps.length === 0) throw new Error(`${page}:${i + 1}: a session must start with a "$ " command`);
      else session.steps.at(-1)!.expected.push(line);
    }
    if (!skipped) sessions.push(session);
  }
  return sessions;
}

/** Replaces what differs between runs by its shape. */
function normalise(text: string, dir: string): string {
  return text
    .split(dir).join('/home/me')
    .replace(/\r/g, '')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/\b[0-9a-f]{16,}\b/g, '<hex>')
    .replace(/\b1[6-9]\d{11}\b/g, '<epoch-ms>')
    .split('\n').map((l) => l.trimEnd()).join('\n');
}

/** A regular expression for the expected text: `...` is any text; a `...` line is any lines. */
function pattern(expected: string): RegExp {
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const body = expected
    .split('\n')
    .map((line) => (line === '...' ? '[\\s\\S]*' : line.split('...').map(escape).join('.*')))
    .join('\n')
    .replace(/\n\[\\s\\S\]\*/g, '(?:\\n[\\s\\S]*)?');
  return new RegExp(`^${body}$`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const STEP = '\x1eSEALBOX-STEP';

async function runSession(session: Session): Promise<{ actual: string[]; expected: string[] }> {
  const dir = tmp('docs-session');
  const bin = join(dir, '.bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'sealbox'), `#!/bin/sh\nexec ${q(process.execPath)} ${q(CLI)} "$@"\n`);
  chmodSync(join(bin, 'sealbox'), 0o755);
  const port = String(await freePort());
  const script = [
    'exec 2>&1',
    `__step() { __rc=$?; printf '\\n${STEP} %s\\n' "$1"; return $__rc; }`,
    `__bg() { for _ in $(seq 200); do [ "$(wc -l < "$1")" -ge "$2" ] && break; sleep 0.1; done; cat "$1"; }`,
    ...session.steps.flatMap((s, i) => {
      const command = s.command.replace(/\b4599\b/g, port);
      const background = /\s&$/.test(command);
      // The output file is made before the job starts: the job's own redirection may not have
      // run yet when __bg first reads it (seen as "No such file" in the session's output).
      return [`__step ${i}`, background ? `: > .background-${i}\n${command.replace(/\s&$/, '')} >> .background-${i} 2>&1 &\n__bg .background-${i} ${s.expected.length}` : command];
    }),
    `__step end`,
    'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; exit 0',
  ].join('\n');
  const env: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH}`, HOME: dir, LANG: 'C.UTF-8', TERM: 'dumb' };
  const r = spawnSync('bash', ['-c', script], { cwd: dir, env, timeout: 60_000 });
  const out = r.stdout.toString();
  const parts = out.split(new RegExp(`\\n${STEP} [^\\n]*\\n`));
  // parts[0] is before the first step; the last is after the end marker.
  const actual = parts.slice(1, session.steps.length + 1).map((p) => normalise(p, dir).replace(/\n+$/, ''));
  const expected = session.steps.map((s) => normalise(s.expected.join('\n').replace(/\b4599\b/g, port), 'no directory to replace').replace(/\n+$/, ''));
  return { actual, expected };
}

beforeAll(() => ensureBuilt(), 120_000);

for (const [page, atLeast] of DOCS) {
  describe(`${page} example sessions`, () => {
    const sessions = extractSessions(readFileSync(join(process.cwd(), page), 'utf8'), page);

    it(`there are at least ${atLeast} sessions to run`, () => {
      expect(sessions.length).toBeGreaterThanOrEqual(atLeast);
    });

    for (const session of sessions) {
      it(`the session at ${page}:${session.line} prints what the docs show`, async () => {
        const { actual, expected } = await runSession(session);
        // Every step that differs, at once: the docs show what the CLI prints.
        const differing = session.steps.flatMap((step, i) =>
          pattern(expected[i]!).test(actual[i] ?? '') ? [] : [`$ ${step.command}\n--- docs:\n${expected[i]}\n--- printed:\n${actual[i]}`]);
        expect(differing.join('\n\n'), `${page}:${session.line}`).toBe('');
      }, 90_000);
    }
  });
}
