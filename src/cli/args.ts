import { UsageError } from './exit.js';

/**
 * Parses a whole-number option (`--frame-length`, `--limit`) before the command does anything,
 * so a typo is a usage error (exit 1) and never reaches the key store or creates it.
 */
export function positiveInteger(value: string, option: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new UsageError(`${option} expects a whole number from 1 to ${max}, got "${value}"`);
  return n;
}
