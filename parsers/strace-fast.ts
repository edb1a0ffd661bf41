// The fast path of the strace parser: reads the common lines straight into a reused record without allocating
// an item: one complete call, the start of a split call (`name(args <unfinished ...>`) and its end
// (`<... name resumed>args) = value`), with -y decorations; any other line is left to the general parser
// (strace-line.ts). A threaded trace is mostly split halves: they must not fall to the slow path.

import type { SyscallResult } from './events.js';
import {
  COLON, COMMA, EQ, LBRACE, LBRACK, LPAREN, LT, QUOTE, RBRACE, RBRACK, RPAREN, SLASH, SP, STAR, TAB,
  angleEnd, at, decodeLiteral, digitsEnd, durationEnd, durationOut, groupEnd, isAlnum, isDigit, isNameChar, stringEnd, timestampEnd,
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
 * Speed: no read past either end of the line (parsers/strace-scan.ts `at`), and the work in three functions
 * of moderate size (prefix here, arguments, result): each deoptimisation recompiles only what it hit.
 */
export function fastCall(s: string, defaultPid: number | null, out: FastCall): FastKind {
  const n = s.length;
  let i = 0;
  while (i < n && s.charCodeAt(i) === SP) i++;
  let c = at(s, i);
  let pid = defaultPid;
  if (c === LBRACK) {
    if (!s.startsWith('[pid', i)) return FAST_NONE;
    let j = i + 4;
    while (at(s, j) === SP) j++;
    const d = digitsEnd(s, j);
    if (d === j || at(s, d) !== RBRACK) return FAST_NONE;
    pid = 0;
    for (let k = j; k < d; k++) pid = pid * 10 + (s.charCodeAt(k) - 0x30);
    i = d + 1;
    while (at(s, i) === SP) i++;
    c = at(s, i);
  } else if (isDigit(c)) {
    const d = digitsEnd(s, i);
    const e = at(s, d);
    if (e === SP) {
      pid = 0;
      for (let k = i; k < d; k++) pid = pid * 10 + (s.charCodeAt(k) - 0x30);
      i = d + 1;
      while (at(s, i) === SP) i++;
      c = at(s, i);
    } else if (e === LT) return FAST_NONE;
  }
  let timestamp: string | undefined;
  if (isDigit(c)) {
    const e = timestampEnd(s, i);
    if (e < 0) return FAST_NONE;
    timestamp = s.slice(i, e);
    i = e;
    while (at(s, i) === SP) i++;
    c = at(s, i);
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
  let as: number;
  if (resumed) {
    // The general parser takes the first ` resumed>` within 80 characters of `<...`.
    if (!s.startsWith(RESUMED, i) || i - ns + 5 > 80) return FAST_NONE;
    as = i + RESUMED.length;
  } else {
    if (at(s, i) !== LPAREN) return FAST_NONE;
    as = i + 1;
  }
  const name = s.slice(ns, i);
  // A write to fd 1 or 2 may have the program's output glued in after its count: the fast path takes it only
  // when nothing is (stdWriteShown); writev's, and anything else, to the general scan.
  c = at(s, as);
  const std = (c === 0x31 || c === 0x32) && !isDigit(at(s, as + 1)) && (name === 'write' || name === 'writev');
  if (std && (resumed || name === 'writev')) return FAST_NONE;
  const ae = argsEnd(s, as, resumed);
  if (std && !stdWriteShown(s, as, ae === ARGS_UNFINISHED ? unfinishedAt : ae)) return FAST_NONE;
  if (ae === ARGS_UNFINISHED) {
    out.pid = pid;
    out.timestamp = timestamp;
    out.name = name;
    out.args = s.slice(as, unfinishedAt);
    return FAST_UNFINISHED;
  }
  if (ae < 0 || !fastResult(s, ae + 1, out)) return FAST_NONE;
  out.pid = pid;
  out.timestamp = timestamp;
  out.name = name;
  out.args = s.slice(as, ae);
  return resumed ? FAST_RESUMED : FAST_CALL;
}

/**
 * `write(1|2[<decoration>], "literal"[...], COUNT` ending at `end` (the `)` or the ` <unfinished ...>`), with
 * COUNT the literal's length in bytes unless strace cut the literal short: the general scan (strace-line's
 * scanCall) then finds no program output glued in, and reads the call as the fast path does.
 */
function stdWriteShown(s: string, as: number, end: number): boolean {
  if (end < 0) return false;
  let i = as + 1;
  if (at(s, i) === LT) {
    i = angleEnd(s, i);
    if (i < 0) return false;
  }
  if (at(s, i) !== COMMA || at(s, i + 1) !== SP || at(s, i + 2) !== QUOTE) return false;
  const ls = i + 2;
  const le = stringEnd(s, ls);
  if (le < 0) return false;
  const truncated = s.startsWith('...', le);
  i = truncated ? le + 3 : le;
  if (at(s, i) !== COMMA) return false;
  i++;
  while (at(s, i) === SP) i++;
  const d = digitsEnd(s, i);
  if (d === i || d !== end) return false;
  return truncated || s.slice(i, d) === String(Buffer.byteLength(decodeLiteral(s, ls + 1, le - 1)));
}

/** What argsEnd returns for `name(args <unfinished ...>` (the args end at `unfinishedAt`). */
const ARGS_UNFINISHED = -2;
let unfinishedAt = 0;

/**
 * The arguments from `as` (just after `name(` or `resumed>`): the index of the `)` that closes them, -1 for
 * anything the fast path leaves to the general parser, or ARGS_UNFINISHED (the line ends with the marker).
 */
function argsEnd(s: string, as: number, resumed: boolean): number {
  const n = s.length;
  let depth = 1;
  for (let j = as; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c >= 128 || FAST_SPECIAL[c] === 0) continue;
    if (c === QUOTE) {
      const e = stringEnd(s, j);
      if (e < 0) return -1;
      j = e - 1;
    } else if (c === LPAREN || c === LBRACK || c === LBRACE) depth++;
    else if (c === RPAREN || c === RBRACK || c === RBRACE) {
      if (--depth === 0) return c === RPAREN ? j : -1;
    } else if (c === SLASH) {
      if (at(s, j + 1) !== STAR) continue;
      const e = s.indexOf('*/', j + 2);
      if (e < 0) return -1;
      j = e + 1;
    } else if (c === 0x73 /* s */) {
      // Possibly a `strace: Process N attached` message glued in.
      if (at(s, j + 6) === COLON) return -1;
    } else {
      // `<`: as the general scan reads it (strace-line's scanCall).
      const before = at(s, j - 1);
      if (depth === 1 && before === SP && s.startsWith(UNFINISHED, j - 1)) {
        // `<... x resumed> <unfinished ...>) = ?` (died inside) and anything after the marker: general path.
        if (resumed) return -1;
        let e = j - 1 + UNFINISHED.length;
        while (e < n && s.charCodeAt(e) === SP) e++;
        if (e < n) return -1;
        unfinishedAt = j - 1;
        return ARGS_UNFINISHED;
      }
      if (depth === 1 && before === SP && s.startsWith(' <detached ...>', j - 1)) return -1;
      // A decoration (`3</etc/passwd>`, `AT_FDCWD</tmp>`) may hold brackets of its own; any other `<` is text.
      if (j > as && (isAlnum(before) || (before === SLASH && at(s, j - 2) === STAR)) && at(s, j + 1) !== LT) {
        const e = angleEnd(s, j);
        if (e > 0) j = e - 1;
      }
    }
  }
  return -1;
}

/**
 * ` = value[<decoration>][ ERRNO (msg)][ <dur>]` from `j` (just past the arguments' `)`) to the end of the
 * line: fills `out.result` and `out.duration`, or returns false.
 */
function fastResult(s: string, j: number, out: FastCall): boolean {
  const n = s.length;
  while (at(s, j) === SP) j++;
  if (at(s, j) !== EQ || at(s, j + 1) !== SP) return false;
  j += 2;
  const vs = j;
  let c = 0;
  while (j < n) {
    c = s.charCodeAt(j);
    if (c === SP || c === LT || c === TAB) break;
    j++;
  }
  if (j === vs || (j < n && c === TAB)) return false;
  const result: SyscallResult = { value: s.slice(vs, j) };
  if (j < n && c === LT) {
    // `= 3</etc/passwd>`: the value's decoration; only a duration may follow it here.
    const e = angleEnd(s, j);
    if (e < 0) return false;
    result.annotation = s.slice(j, e);
    j = e;
    if (j < n && s.charCodeAt(j) !== SP) return false;
    while (at(s, j) === SP) j++;
  } else {
    while (at(s, j) === SP) j++;
    if (at(s, j) === 0x45 /* E */ && isAlnum(at(s, j + 1))) {
      const es = j;
      while (j < n && isAlnum(s.charCodeAt(j))) j++;
      result.errno = s.slice(es, j);
      const m = j;
      while (at(s, j) === SP) j++;
      if (at(s, j) === LPAREN) {
        const g = groupEnd(s, j);
        if (g < 0) return false;
        result.errnoMessage = s.slice(j + 1, g - 1);
        j = g;
        while (at(s, j) === SP) j++;
        // The general parser needs a space between the message and a duration.
        if (j === g && j < n) return false;
      } else if (j === m && j < n) return false;
    }
  }
  let duration: number | undefined;
  if (at(s, j) === LT) {
    const d = durationEnd(s, j);
    if (d < 0) return false;
    duration = durationOut;
    j = d;
    while (at(s, j) === SP) j++;
  }
  if (j < n) return false;
  out.result = result;
  out.duration = duration;
  return true;
}
