// Char-code scanning helpers shared by strace's line parsers (general and fast): character classes, the
// ends of strings, groups, decorations, timestamps and durations, and the one decoder of strace's string literals.

export const SP = 0x20, LPAREN = 0x28, RPAREN = 0x29, LBRACK = 0x5b, RBRACK = 0x5d, LBRACE = 0x7b, RBRACE = 0x7d;
export const QUOTE = 0x22, BSLASH = 0x5c, LT = 0x3c, GT = 0x3e, SLASH = 0x2f, STAR = 0x2a, COMMA = 0x2c;
export const DOT = 0x2e, COLON = 0x3a, EQ = 0x3d, NL = 0x0a, TAB = 0x09, MINUS = 0x2d, PLUS = 0x2b, QMARK = 0x3f;

export const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
export const isNameChar = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || isDigit(c) || c === 0x5f || c === QMARK;
export const isAlnum = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || isDigit(c) || c === 0x5f;
export const isSpace = (c: number): boolean => c === SP || c === TAB || c === NL;

/**
 * `s.charCodeAt(i)`, or 0 outside the string. The hot scanners read through it wherever an index may run past
 * the end: an out-of-bounds charCodeAt deoptimises the optimised caller, and recompiling the fast path cost
 * more than 100 ms each time (measured with --trace-opt --trace-deopt on a 50 MB trace).
 */
export const at = (s: string, i: number): number => (i >= 0 && i < s.length ? s.charCodeAt(i) : 0);

export function skipSpaces(s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

export function digitsEnd(s: string, i: number): number {
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  return i;
}

/** End of a `"..."` literal starting at i (the quote), past the closing quote; -1 if unterminated. */
export function stringEnd(s: string, i: number): number {
  // indexOf is native and fast; a quote preceded by an odd run of backslashes is escaped.
  for (let q = s.indexOf('"', i + 1); q >= 0; q = s.indexOf('"', q + 1)) {
    let b = q - 1;
    while (b > i && s.charCodeAt(b) === BSLASH) b--;
    if (((q - 1 - b) & 1) === 0) return q + 1;
  }
  return -1;
}

/** End of a `<...>` decoration starting at i (`3</etc/passwd>`, `<TCP:[a->b]>`), or -1. */
export function angleEnd(s: string, i: number): number {
  // -yy nests: a device's path carries its own `<char 1:3>`, as in `1</dev/null<char 1:3>>`.
  let sq = 0;
  let depth = 1;
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === LBRACK) sq++;
    else if (c === RBRACK) { if (sq > 0) sq--; }
    else if (c === LT && sq === 0) depth++;
    else if (c === GT && sq === 0) { if (--depth === 0) return j + 1; }
    else if (c === NL) return -1;
  }
  return -1;
}

/** End of a balanced group starting at an opening bracket, honouring strings and comments; -1 if open. */
export function groupEnd(s: string, i: number): number {
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === QUOTE) { const e = stringEnd(s, j); if (e < 0) return -1; j = e - 1; }
    else if (c === LPAREN || c === LBRACK || c === LBRACE) depth++;
    else if (c === RPAREN || c === RBRACK || c === RBRACE) { depth--; if (depth === 0) return j + 1; }
    else if (c === SLASH && at(s, j + 1) === STAR) { const e = s.indexOf('*/', j + 2); if (e < 0) return -1; j = e + 1; }
  }
  return -1;
}

/** Timestamp at i: `14:48:47`, `14:48:47.123456`, `1700000000.123456`, `0.000123`. Returns its end or -1. */
export function timestampEnd(s: string, i: number): number {
  let j = digitsEnd(s, i);
  if (j === i) return -1;
  const c = at(s, j);
  if (c === COLON) {
    for (let k = 0; k < 2; k++) {
      if (at(s, j) !== COLON) return -1;
      const e = digitsEnd(s, j + 1);
      if (e !== j + 3) return -1;
      j = e;
    }
    if (at(s, j) === DOT) { const e = digitsEnd(s, j + 1); if (e === j + 1) return -1; j = e; }
  } else if (c === DOT) {
    const e = digitsEnd(s, j + 1);
    if (e === j + 1) return -1;
    j = e;
  } else return -1;
  return j < s.length && isSpace(s.charCodeAt(j)) ? j : -1;
}

/** `<0.000012>` at i: its end, or -1. Sets `durationOut`. */
export let durationOut = 0;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
export function durationEnd(s: string, i: number): number {
  // By hand, in one pass: Number(slice) costs more than the rest of the line. All digits as one integer
  // (exact below 2^53), then one division by an exact power of ten: the same double Number() gives.
  let k = i + 1;
  let v = 0;
  let c = at(s, k);
  while (c >= 0x30 && c <= 0x39) { v = v * 10 + (c - 0x30); c = at(s, ++k); }
  if (k === i + 1 || c !== DOT) return -1;
  const a = k;
  c = at(s, ++k);
  while (c >= 0x30 && c <= 0x39) { v = v * 10 + (c - 0x30); c = at(s, ++k); }
  if (k === a + 1 || c !== GT) return -1;
  durationOut = k - i - 2 <= 15 && k - a - 1 <= 9 ? v / POW10[k - a - 1]! : Number(s.slice(i + 1, k));
  return k + 1;
}

/**
 * Decodes the body of a strace string literal, `s[start, end)` (escapes `\n`, `\t`, `\ooo`, `\xNN`, `\\`, `\"`...),
 * to its bytes, returned as UTF-8 text (`'utf8'`: what a program's output shows) or one char per byte (`'latin1'`:
 * the binary string of parsers/strace-args' string nodes). A character strace left unescaped stands for its
 * UTF-8 bytes, so non-ASCII text reads the same whichever way it was printed.
 */
export function decodeLiteral(s: string, start = 0, end = s.length, as: 'utf8' | 'latin1' = 'utf8'): string {
  let plain = true;
  for (let j = start; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c === BSLASH || c > 0x7e) { plain = false; break; }
  }
  if (plain) return s.slice(start, end);
  const bytes: number[] = [];
  for (let j = start; j < end; j++) {
    let c = s.charCodeAt(j);
    if (c === BSLASH && j + 1 < end) {
      c = s.charCodeAt(++j);
      const simple = ESCAPES[c];
      if (simple !== undefined) { bytes.push(simple); continue; }
      if (c === 0x78 /* x */ && j + 2 < end && isHex(s.charCodeAt(j + 1)) && isHex(s.charCodeAt(j + 2))) {
        bytes.push(parseInt(s.slice(j + 1, j + 3), 16));
        j += 2;
        continue;
      }
      if (c >= 0x30 && c <= 0x37) {
        let k = j;
        while (k < j + 3 && k < end && s.charCodeAt(k) >= 0x30 && s.charCodeAt(k) <= 0x37) k++;
        bytes.push(parseInt(s.slice(j, k), 8) & 0xff);
        j = k - 1;
        continue;
      }
      // `\\`, `\"`, `\'` and any other escaped character stand for that character.
    }
    if (c < 0x80) { bytes.push(c); continue; }
    // A whole code point: a surrogate pair is one character of four UTF-8 bytes.
    const cp = s.codePointAt(j)!;
    for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
    if (cp > 0xffff) j++;
  }
  return Buffer.from(bytes).toString(as);
}

/** C's single-letter escapes, by the letter's char code. */
const ESCAPES: Record<number, number> = {
  0x6e: 10, 0x74: 9, 0x72: 13, 0x76: 11, 0x66: 12, 0x61: 7, 0x62: 8, 0x65: 0x1b,
};

export const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
