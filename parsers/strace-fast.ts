// The fast path of the strace parser: reads the common line, one complete call and nothing else, straight
// into a reused record without allocating an item; any other line is left to the general parser (strace-line.ts).

import type { SyscallResult } from './events.js';
import {
  COLON, EQ, LBRACE, LBRACK, LPAREN, LT, QUOTE, RBRACE, RBRACK, RPAREN, SLASH, SP, STAR, TAB,
  digitsEnd, durationEnd, durationOut, groupEnd, isAlnum, isDigit, isNameChar, stringEnd, timestampEnd,
} from './strace-scan.js';

/** What `fastCall` read from a line; fields are only valid after it returned true. */
export interface FastCall {
  pid: number | null;
  timestamp: string | undefined;
  name: string;
  args: string;
  result: SyscallResult;
  duration: number | undefined;
}

/** Characters the fast argument scan must stop at; everything else is skipped with one table lookup. */
const FAST_SPECIAL = new Uint8Array(128);
for (const c of '"()[]{}</s') FAST_SPECIAL[c.charCodeAt(0)] = 1;

/**
 * Fast path for the common line: `[pid ]|[[pid N] ][timestamp ]name(args) = value[ ERRNO (msg)][ <dur>]`,
 * one complete call and nothing else. Fills `out` and returns true, or returns false (having allocated
 * nothing worth mentioning) for anything else: the general parser then reads the line. It must agree
 * with parseText wherever it returns true (test/parsers/strace.test.ts checks every fixture line both ways).
 */
export function fastCall(s: string, defaultPid: number | null, out: FastCall): boolean {
  const n = s.length;
  let i = 0;
  while (i < n && s.charCodeAt(i) === SP) i++;
  let c = s.charCodeAt(i);
  let pid = defaultPid;
  if (c === LBRACK) {
    if (!s.startsWith('[pid', i)) return false;
    let j = i + 4;
    while (s.charCodeAt(j) === SP) j++;
    const d = digitsEnd(s, j);
    if (d === j || s.charCodeAt(d) !== RBRACK) return false;
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
    } else if (s.charCodeAt(d) === LT) return false;
  }
  let timestamp: string | undefined;
  if (isDigit(c)) {
    const e = timestampEnd(s, i);
    if (e < 0) return false;
    timestamp = s.slice(i, e);
    i = e;
    while (s.charCodeAt(i) === SP) i++;
  }
  // The name; `[nr]`/`[ip]` prefixes, `<... resumed>`, signals and exits all fail here.
  const ns = i;
  while (i < n && isNameChar(s.charCodeAt(i))) i++;
  if (i === ns || s.charCodeAt(i) !== LPAREN) return false;
  const name = s.slice(ns, i);
  const as = i + 1;
  // A write to the terminal may have the program's output glued in: the general scan handles it.
  if ((name === 'write' || name === 'writev') && (s.charCodeAt(as) === 0x31 || s.charCodeAt(as) === 0x32)) return false;
  let depth = 1;
  let j = as;
  for (; j < n; j++) {
    c = s.charCodeAt(j);
    if (c >= 128 || FAST_SPECIAL[c] === 0) continue;
    if (c === QUOTE) {
      const e = stringEnd(s, j);
      if (e < 0) return false;
      j = e - 1;
    } else if (c === LPAREN || c === LBRACK || c === LBRACE) depth++;
    else if (c === RPAREN || c === RBRACK || c === RBRACE) {
      if (--depth === 0) {
        if (c !== RPAREN) return false;
        break;
      }
    } else if (c === SLASH) {
      if (s.charCodeAt(j + 1) !== STAR) continue;
      const e = s.indexOf('*/', j + 2);
      if (e < 0) return false;
      j = e + 1;
    } else if (c === 0x73 /* s */) {
      // Possibly a `strace: Process N attached` message glued in.
      if (s.charCodeAt(j + 6) === COLON) return false;
    } else return false; // `<`: decorations, <unfinished ...>, <detached ...>
  }
  if (j >= n) return false;
  const ae = j;
  // ` = value`
  j++;
  while (s.charCodeAt(j) === SP) j++;
  if (s.charCodeAt(j) !== EQ || s.charCodeAt(j + 1) !== SP) return false;
  j += 2;
  const vs = j;
  while (j < n) {
    c = s.charCodeAt(j);
    if (c === SP || c === LT || c === TAB) break;
    j++;
  }
  if (j === vs || (j < n && c !== SP)) return false;
  const result: SyscallResult = { value: s.slice(vs, j) };
  let duration: number | undefined;
  while (s.charCodeAt(j) === SP) j++;
  if (j < n && s.charCodeAt(j) === 0x45 /* E */ && isAlnum(s.charCodeAt(j + 1))) {
    const es = j;
    while (j < n && isAlnum(s.charCodeAt(j))) j++;
    result.errno = s.slice(es, j);
    const m = j;
    while (s.charCodeAt(j) === SP) j++;
    if (s.charCodeAt(j) === LPAREN) {
      const g = groupEnd(s, j);
      if (g < 0) return false;
      result.errnoMessage = s.slice(j + 1, g - 1);
      j = g;
      while (s.charCodeAt(j) === SP) j++;
      // The general parser needs a space between the message and a duration.
      if (j === g && j < n) return false;
    } else if (j === m && j < n) return false;
  }
  if (j < n && s.charCodeAt(j) === LT) {
    const d = durationEnd(s, j);
    if (d < 0) return false;
    duration = durationOut;
    j = d;
    while (s.charCodeAt(j) === SP) j++;
  }
  if (j < n) return false;
  out.pid = pid;
  out.timestamp = timestamp;
  out.name = name;
  out.args = s.slice(as, ae);
  out.result = result;
  out.duration = duration;
  return true;
}
