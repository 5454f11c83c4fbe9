/**
 * Text that came from outside the command line (a message header: context pairs, wrapped-key
 * names; error messages quoting them or file names) as a terminal may show it: nothing in it can
 * move the cursor, clear the screen, end a line or reorder what follows. A header is not
 * authenticated without the key, so a crafted one could otherwise make `inspect` show
 * "signed: yes" for an unsigned message.
 *
 * Escaped, visibly and unambiguously: C0 controls, DEL and C1 controls as `\xHH`; bidirectional
 * controls and other invisible direction marks (U+061C, U+200E, U+200F, U+202A-U+202E,
 * U+2066-U+2069) and the line and paragraph separators (U+2028, U+2029) as `\u{HHHH}`; and a
 * backslash itself as `\\`, so that an escape in the output always stands for the character it
 * names. Everything else, other non-ASCII text included, is shown as it is. JSON output (`--json`)
 * is never passed through this: it carries the exact values (JSON escapes C0 controls itself).
 */
export function displayText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === '\\') return '\\\\';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16).padStart(4, '0')}}`;
  });
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point.
const UNSAFE = /[\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;
