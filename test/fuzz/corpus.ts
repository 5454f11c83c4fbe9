/**
 * Regression vectors: every input that ever broke the oracle is kept in test/fuzz/corpus/
 * (see its README) and replayed by test/fuzz/corpus.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FuzzRequest } from './endpoint.js';

/** Where the vectors live, relative to the repository root. */
export const CORPUS_DIR = join('test', 'fuzz', 'corpus');

function shortHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** Saves a message input that failed `target` as `<target>-<hash>.bin`; returns the path. */
export function saveMessageVector(dir: string, target: string, input: Uint8Array): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${target}-${shortHash(input)}.bin`);
  writeFileSync(path, input);
  return path;
}

/** The endpoint request, as stored in `kms-<hash>.json`. */
export interface StoredRequest {
  readonly kind: string;
  readonly method: string;
  readonly path: string;
  readonly target: string | null;
  readonly sign: FuzzRequest['sign'];
  readonly mayClose: boolean;
  readonly chunked: boolean;
  /** The body, base64. */
  readonly body: string;
  readonly note?: string;
}

/** Saves an endpoint request that broke the oracle as `kms-<hash>.json`; returns the path. */
export function saveEndpointVector(dir: string, req: FuzzRequest, note: string): string {
  mkdirSync(dir, { recursive: true });
  const stored: StoredRequest = {
    kind: req.kind,
    method: req.method,
    path: req.path,
    target: req.target ?? null,
    sign: req.sign,
    mayClose: req.mayClose,
    chunked: req.chunked ?? false,
    body: Buffer.from(req.body).toString('base64'),
    note,
  };
  const text = `${JSON.stringify(stored, null, 2)}\n`;
  const path = join(dir, `kms-${shortHash(Buffer.from(text))}.json`);
  writeFileSync(path, text);
  return path;
}

/** The message vectors: target name and bytes of each `<target>-<hash>.bin`. */
export function loadMessageVectors(dir: string): { file: string; target: string; input: Uint8Array }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((file) => ({ file, target: file.slice(0, file.lastIndexOf('-')), input: new Uint8Array(readFileSync(join(dir, file))) }));
}

/** The endpoint vectors as requests. */
export function loadEndpointVectors(dir: string): { file: string; request: FuzzRequest }[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('kms-') && f.endsWith('.json'))
    .sort()
    .map((file) => {
      const s = JSON.parse(readFileSync(join(dir, file), 'utf8')) as StoredRequest;
      const request: FuzzRequest = {
        kind: s.kind,
        method: s.method,
        path: s.path,
        target: s.target ?? undefined,
        sign: s.sign,
        mayClose: s.mayClose,
        chunked: s.chunked,
        body: new Uint8Array(Buffer.from(s.body, 'base64')),
      };
      return { file, request };
    });
}
