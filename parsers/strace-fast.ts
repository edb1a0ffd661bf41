// The fast path of the strace parser: reads the common lines straight into a reused record without allocating
// an item: one complete call, the start of a split call (`name(args <unfinished ...>`) and its end
// (`<... name resumed>args) = value`), with -y decorations; any other line is left to the general parser
// (strace-line.ts). A threaded trace is mostly split halves: they must not fall to the slow path.

import type { SyscallResult } from './events.js';
import {
  COLON, EQ, LBRACE, LBRACK, LPAREN, LT, QUOTE, RBRACE, RBRACK, RPAREN, SLASH, SP, STAR, TAB,
  angleEnd, digitsEnd, durationEnd, durationOut, groupEnd, isAlnum, isDigit, isNameChar, stringEnd, timestampEnd,
} from './strace-scan.js';

/** What `fastCall` read: not a line it takes, one complete call, the start of a split call, or its end. */
export const FAST_NONE = 0, FAST_CALL = 1, FAST_UNFINISHED = 2, FAST_RESUMED = 3;
export type FastKind = typeof FAST_NONE | typeof FAST_CALL | typeof FAST_UNFINISHED | typeof FAST_RESUMED;

/** What `fastCall` read from a line; valid only after it returned a kind other than FAST_NONE. */
export interface FastCall {
  pid: number | null;
  timestamp: string | undefined;
  name: string;
  /** All the arguments (FAST_CALL), those before `<unfinished ...>`, or those after `resumed>`. */
  args: string;
  /** Not set for FAST_UNFINISHED. */
  result: SyscallResult;
  duration: number | undefined;
}

const UNFINISHED = ' <unfinished ...>';
const RESUMED = ' resumed>';

/** Characters the fast argument scan must stop at; everything else is skipped with one table lookup. */
const FAST_SPECIAL = new Uint8Array(128);
for (const c of '"()[]{}</s') FAST_SPECIAL[c.charCodeAt(0)] = 1;

/**
 * Fast path for the common lines, `[pid ]|[[pid N] ][timestamp ]` then one of `name(args) = RESULT`,
 * `name(args <unfinished ...>` or `<... name resumed>args) = RESULT`, and nothing else; RESULT is
 * `value[<decoration>][ ERRNO (msg)][ <dur>]`. Fills `out` and returns what it read, or returns FAST_NONE
 * (having allocated nothing worth mentioning) for anything else: the general parser then reads the line.
 * It must agree with parseText wherever it takes a line (test/parsers/strace.test.ts checks every fixture
 * line both ways).
 */
export function fastCall(s: string, defaultPid: number | null, out: FastCall): FastKind {
  const n = s.length;
  let i = 0;
  while (i < n && s.charCodeAt(i) === SP) i++;
  let c = s.charCodeAt(i);
  let pid = defaultPid;
  if (c === LBRACK) {
    if (!s.startsWith('[pid', i)) return FAST_NONE;
    let j = i + 4;
    while (s.charCodeAt(j) === SP) j++;
    const d = digitsEnd(s, j);
    if (d === j || s.charCodeAt(d) !== RBRACK) return FAST_NONE;
    pid = 0;
    for (let k = j; k < d; k++) pid = pid * 10 + (s.charCodeAt(k) - 0x30);
    i = d + 1;
    while (s.charCodeAt(i) === SP) i++;
    c = s.charCodeAt(i);
  } else if (isDigit(c)) {
    const d = digitsEnd(s, i);
    if (s.charCodeAt(d) === SP) {
      pid = 0;
      for (let k = i; k < d; k++) pid = pid * 10 + (s.charCodeAt(k) - 0x30);
      i = d + 1;
      while (s.charCodeAt(i) === SP) i++;
      c = s.charCodeAt(i);
    } else if (s.charCodeAt(d) === LT) return FAST_NONE;
  }
  let timestamp: string | undefined;
  if (isDigit(c)) {
    const e = timestampEnd(s, i);
    if (e < 0) return FAST_NONE;
    timestamp = s.slice(i, e);
    i = e;
    while (s.charCodeAt(i) === SP) i++;
    c = s.charCodeAt(i);
  }
  // The name, or `<... name resumed>`; `[nr]`/`[ip]` prefixes, signals and exits all fail here.
  let resumed = false;
  let ns = i;
  if (c === LT) {
    if (!s.startsWith('<... ', i)) return FAST_NONE;
    ns = i += 5;
    resumed = true;
  }
  while (i < n && isNameChar(s.charCodeAt(i))) i++;
  if (i === ns) return FAST_NONE;
  const name = s.slice(ns, i);
  let as: number;
  if (resumed) {
    // The general parser takes the first ` resumed>` within 80 characters of `<...`.
    if (!s.startsWith(RESUMED, i) || i - ns + 5 > 80) return FAST_NONE;
    as = i + RESUMED.length;
  } else {
    if (s.charCodeAt(i) !== LPAREN) return FAST_NONE;
    as = i + 1;
  }
  // A write to fd 1 or 2 may have the program's output glued in: the general scan handles it.
  c = s.charCodeAt(as);
  if ((c === 0x31 || c === 0x32) && !isDigit(s.charCodeAt(as + 1)) && (name === 'write' || name === 'writev')) return FAST_NONE;
  let depth = 1;
  let j = as;
  for (; j < n; j++) {
    c = s.charCodeAt(j);
    if (c >= 128 || FAST_SPECIAL[c] === 0) continue;
    if (c === QUOTE) {
      const e = stringEnd(s, j);
      if (e < 0) return FAST_NONE;
      j = e - 1;
    } else if (c === LPAREN || c === LBRACK || c === LBRACE) depth++;
    else if (c === RPAREN || c === RBRACK || c === RBRACE) {
      if (--depth === 0) {
        if (c !== RPAREN) return FAST_NONE;
        break;
      }
    } else if (c === SLASH) {
      if (s.charCodeAt(j + 1) !== STAR) continue;
      const e = s.indexOf('*/', j + 2);
      if (e < 0) return FAST_NONE;
      j = e + 1;
    } else if (c === 0x73 /* s */) {
      // Possibly a `strace: Process N attached` message glued in.
      if (s.charCodeAt(j + 6) === COLON) return FAST_NONE;
    } else {
      // `<`: as the general scan reads it (strace-line's scanCall).
      if (depth === 1 && s.charCodeAt(j - 1) === SP && s.startsWith(UNFINISHED, j - 1)) {
        // `<... x resumed> <unfinished ...>) = ?` (died inside) and anything after the marker: general path.
        if (resumed) return FAST_NONE;
        let e = j - 1 + UNFINISHED.length;
        while (s.charCodeAt(e) === SP) e++;
        if (e < n) return FAST_NONE;
        out.pid = pid;
        out.timestamp = timestamp;
        out.name = name;
        out.args = s.slice(as, j - 1);
        return FAST_UNFINISHED;
      }
      if (depth === 1 && s.startsWith(' <detached ...>', j - 1)) return FAST_NONE;
      // A decoration (`3</etc/passwd>`, `AT_FDCWD</tmp>`) may hold brackets of its own; any other `<` is text.
      const before = s.charCodeAt(j - 1);
      if (j > as && (isAlnum(before) || (before === SLASH && s.charCodeAt(j - 2) === STAR)) && s.charCodeAt(j + 1) !== LT) {
        const e = angleEnd(s, j);
        if (e > 0) j = e - 1;
      }
    }
  }
  if (j >= n) return FAST_NONE;
  const ae = j;
  // ` = value`
  j++;
  while (s.charCodeAt(j) === SP) j++;
  if (s.charCodeAt(j) !== EQ || s.charCodeAt(j + 1) !== SP) return FAST_NONE;
  j += 2;
  const vs = j;
  while (j < n) {
    c = s.charCodeAt(j);
    if (c === SP || c === LT || c === TAB) break;
    j++;
  }
  if (j === vs || (j < n && c === TAB)) return FAST_NONE;
  const result: SyscallResult = { value: s.slice(vs, j) };
  let duration: number | undefined;
  if (j < n && c === LT) {
    // `= 3</etc/passwd>`: the value's decoration; only a duration may follow it here.
    const e = angleEnd(s, j);
    if (e < 0) return FAST_NONE;
    result.annotation = s.slice(j, e);
    j = e;
    if (j < n && s.charCodeAt(j) !== SP) return FAST_NONE;
    while (s.charCodeAt(j) === SP) j++;
  } else {
    while (s.charCodeAt(j) === SP) j++;
    if (j < n && s.charCodeAt(j) === 0x45 /* E */ && isAlnum(s.charCodeAt(j + 1))) {
      const es = j;
      while (j < n && isAlnum(s.charCodeAt(j))) j++;
      result.errno = s.slice(es, j);
      const m = j;
      while (s.charCodeAt(j) === SP) j++;
      if (s.charCodeAt(j) === LPAREN) {
        const g = groupEnd(s, j);
        if (g < 0) return FAST_NONE;
        result.errnoMessage = s.slice(j + 1, g - 1);
        j = g;
        while (s.charCodeAt(j) === SP) j++;
        // The general parser needs a space between the message and a duration.
        if (j === g && j < n) return FAST_NONE;
      } else if (j === m && j < n) return FAST_NONE;
    }
  }
  if (j < n && s.charCodeAt(j) === LT) {
    const d = durationEnd(s, j);
    if (d < 0) return FAST_NONE;
    duration = durationOut;
    j = d;
    while (s.charCodeAt(j) === SP) j++;
  }
  if (j < n) return FAST_NONE;
  out.pid = pid;
  out.timestamp = timestamp;
  out.name = name;
  out.args = s.slice(as, ae);
  out.result = result;
  out.duration = duration;
  return resumed ? FAST_RESUMED : FAST_CALL;
}
