import { UsageError } from './exit.js';

/**
 * Parses a whole-number option (`--frame-length`, `--limit`, `--days`, `--period`) before the
 * command does anything, so a typo or a value out of range is a usage error (exit 1) naming
 * the range, and never reaches the key store or creates it.
 */
export function integerOption(value: string, option: string, min: number, max: number): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${option} expects a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

/** A whole number from 1 to `max`. */
export function positiveInteger(value: string, option: string, max = Number.MAX_SAFE_INTEGER): number {
  return integerOption(value, option, 1, max);
}

/** A value from a fixed list; the usage error lists the valid ones. */
export function oneOf(value: string, option: string, valid: readonly string[]): string {
  if (!valid.includes(value)) throw new UsageError(`${option} must be one of ${valid.join(', ')}; got "${value}"`);
  return value;
}
