/**
 * Pagination markers of the list operations (ListKeys, ListAliases, ListResourceTags,
 * ListKeyRotations, ListKeyPolicies; grants.ts has its own). AWS KMS answers a `Marker` it did
 * not issue with `InvalidMarkerException` ("the marker that specifies where pagination should
 * next begin is not valid"), so each list accepts only markers of the form it issues, rather
 * than reading any string as a position (which returned an empty or a whole list silently).
 */
import { LocalKmsError } from './errors.js';

/** The error for a marker this KMS did not issue. */
export function invalidMarker(): LocalKmsError {
  return new LocalKmsError('InvalidMarkerException', 'The marker is not valid.');
}

/**
 * A key's storage id (`keys.key_id`): a key id, or a multi-Region key id with its region, any
 * name the LocalKms constructor accepts (`[a-z0-9-]+`, unbounded: a bound of 64 refused the
 * marker ListKeys itself issued for a multi-Region key of a longer region name).
 */
const KEY_MARKER = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}\/[a-z0-9-]+)$/;

/** ListKeys: the marker is the storage id of the last key listed. @throws InvalidMarkerException */
export function keyMarker(marker: string | undefined): string {
  if (marker === undefined) return '';
  if (!KEY_MARKER.test(marker)) throw invalidMarker();
  return marker;
}

/** A marker naming a text position (an alias name, a tag key): base64url of its UTF-8. */
export function textMarker(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/**
 * Reads a {@link textMarker}; `''` (before everything) when absent.
 * @throws InvalidMarkerException when it is not base64url of well-formed UTF-8 text.
 */
export function readTextMarker(marker: string | undefined): string {
  if (marker === undefined) return '';
  if (!/^[A-Za-z0-9_-]+$/.test(marker)) throw invalidMarker();
  const bytes = Buffer.from(marker, 'base64url');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalidMarker();
  }
  // Only the canonical encoding: one position has one marker.
  if (text.length === 0 || textMarker(text) !== marker) throw invalidMarker();
  return text;
}

/** A marker naming a position by number (a key material version). */
export function numberMarker(n: number): string {
  return String(n);
}

/** Reads a {@link numberMarker}; 0 when absent. @throws InvalidMarkerException */
export function readNumberMarker(marker: string | undefined): number {
  if (marker === undefined) return 0;
  if (!/^[1-9]\d{0,14}$/.test(marker)) throw invalidMarker();
  return Number(marker);
}

/**
 * For a list this KMS never truncates (ListKeyPolicies: a key has one policy): it issues no
 * marker, so any marker given is not one of its own.
 * @throws InvalidMarkerException when `marker` is given.
 */
export function noMarker(marker: string | undefined): void {
  if (marker !== undefined) throw invalidMarker();
}
