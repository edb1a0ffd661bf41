// The fast path of the strace parser: reads the common lines straight into a reused record without allocating
// an item: one complete call, the start of a split call (`name(args <unfinished ...>`) and its end
// (`<... name resumed>args) = value`), with -y decorations; any other line is left to the general parser
// (strace-line.ts). A threaded trace is mostly split halves: they must not fall to the slow path.

import type { SyscallResult } from './events.js';
import {
  COLON, COMMA, EQ, LBRACE, LBRACK, LPAREN, LT, QUOTE, RBRACE, RBRACK, RPAREN, SLASH, SP, STAR, TAB,
  BSLASH, DOT, GT, NL, decodeLiteral, groupEnd, isAlnum, isDigit, isNameChar,
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
// The same as bytes: a byte comparison costs a fraction of String.prototype.startsWith at an offset (the
// unfinished marker's test alone was ~3% of a trace's parse).
const UNFINISHED_B = Buffer.from(UNFINISHED, 'latin1');
const RESUMED_B = Buffer.from(RESUMED, 'latin1');
const DETACHED_B = Buffer.from(' <detached ...>', 'latin1');

/** Whether the line's `n` bytes at `o` hold `p` from `i` on. */
function bytesAt(b: Buffer, o: number, n: number, i: number, p: Uint8Array): boolean {
  if (i < 0 || i + p.length > n) return false;
  for (let k = 0; k < p.length; k++) if (b[o + i + k] !== p[k]) return false;
  return true;
}

/** Characters the fast argument scan must stop at; everything else is skipped with one table lookup. */
const FAST_SPECIAL = new Uint8Array(128);
for (const c of '"()[]{}</s') FAST_SPECIAL[c.charCodeAt(0)] = 1;

/**
 * Fast path for the common lines, `[pid ]|[[pid N] ][timestamp ]` then one of `name(args) = RESULT`,
 * `name(args <unfinished ...>` or `<... name resumed>args) = RESULT`, and nothing else; RESULT is
 * `value[<decoration>][ ERRNO (msg)][ <dur>]`. Fills `out` and returns what it read, or returns FAST_NONE
 * (having allocated nothing worth mentioning) for anything else: the general parser then reads the line.
 * It must agree with parseText wherever it takes a line (test/parsers/strace.test.ts checks every fixture
 * line both ways). This form takes the line alone (its bytes made here); the parser gives fastCallBytes the
 * bytes the line was decoded from.
 */
export function fastCall(s: string, defaultPid: number | null, out: FastCall): FastKind {
  // With the `\n` fastCallBytes needs after the line.
  const b = Buffer.from(s + '\n', 'utf8');
  return b.length === s.length + 1 ? fastCallBytes(b, 0, s.length, s, defaultPid, out) : FAST_NONE;
}

/**
 * The line fastCallBytes is reading: its bytes `lb[lo, lo + ln)`, and its text (`ls`) when the caller gave it
 * or a rare shape needed it (a comment, an errno message with brackets, a write to fd 1 or 2). Fields are
 * sliced from the text when there is one, else decoded from the bytes (ASCII: latin1 is their text).
 */
let lb: Buffer = Buffer.alloc(0);
let lo = 0;
let ln = 0;
let ls: string | null = null;

/** The line's text, made once. */
function lineText(): string {
  return (ls ??= lb.toString('latin1', lo, lo + ln));
}

/** The line's characters [a, e). */
function field(a: number, e: number): string {
  return ls !== null ? ls.slice(a, e) : lb.toString('latin1', lo + a, lo + e);
}

/**
 * Strings of up to INTERN_MAX bytes the fast path met before (names, short values, errnos and their
 * messages), by a hash of their bytes: a hit makes no string (and the string's own hash, which the summary's
 * table lookup needs, is already computed). Direct-mapped: a collision just makes the string again.
 */
const INTERN_MAX = 32;
const INTERN_SLOTS = 1024;
const interned: string[] = new Array<string>(INTERN_SLOTS).fill('');

/** The line's characters [a, e), through the interned strings when short. */
function short(a: number, e: number): string {
  const len = e - a;
  if (len > INTERN_MAX || len === 0) return field(a, e);
  const b = lb;
  const o = lo + a;
  // Length, ends and middle: enough to tell syscall names and errnos apart, in constant time.
  const slot = Math.imul(b[o]! | (b[o + len - 1]! << 8) | (b[o + (len >> 1)]! << 16) | (len << 24), 0x9e3779b1) >>> 22;
  const hit = interned[slot]!;
  if (hit.length === len) {
    let k = 0;
    while (k < len && hit.charCodeAt(k) === b[o + k]) k++;
    if (k === len) return hit;
  }
  return (interned[slot] = field(a, e));
}

/** `b[o + i]`, or 0 outside the line's `n` bytes. */
const bat = (b: Buffer, o: number, n: number, i: number): number => (i >= 0 && i < n ? b[o + i]! : 0);

/**
 * fastCall on an all-ASCII line whose bytes are `b[o, o + n)`, followed by the `\n` or `\r` that ended it
 * (LineSplitter gives them: strace escapes other bytes, so that is nearly every line, and its byte and
 * character indexes agree), and its text `s` if the caller has it (null: made only if needed). Speed: the scan
 * reads bytes, not characters (a Uint8Array load costs a third of a charCodeAt: 85 against 230 ns over a
 * line's characters, measured on threads-io); without the text, the fields are decoded from the bytes or found
 * interned. Runs of spaces, digits and name bytes are scanned without a bound check a byte: the byte after the
 * line ends them (a tenth of this function's time); any other read that may pass the line's end goes through
 * `bat`. The arguments and the result are scanned in functions of their own.
 * `light`: the caller reads no timestamp, and no arguments but a write's (a parser whose calls go to a
 * CallSink): they are not sliced (`timestamp` undefined, `args` empty).
 */
export function fastCallBytes(
  b: Buffer, o: number, n: number, s: string | null, defaultPid: number | null, out: FastCall, light = false,
): FastKind {
  lb = b;
  lo = o;
  ln = n;
  ls = s;
  let i = 0;
  while (i < n && b[o + i] === SP) i++;
  let c = bat(b, o, n, i);
  let pid = defaultPid;
  if (c === LBRACK) {
    if (bat(b, o, n, i + 1) !== 0x70 || bat(b, o, n, i + 2) !== 0x69 || bat(b, o, n, i + 3) !== 0x64 /* pid */) return FAST_NONE;
    let j = i + 4;
    while (b[o + j] === SP) j++;
    let d = j;
    pid = 0;
    for (c = bat(b, o, n, d); c >= 0x30 && c <= 0x39; c = b[o + ++d]!) pid = pid * 10 + (c - 0x30);
    if (d === j || c !== RBRACK) return FAST_NONE;
    i = d + 1;
    while (b[o + i] === SP) i++;
    c = bat(b, o, n, i);
  } else if (c >= 0x30 && c <= 0x39) {
    let d = i;
    let v = 0;
    for (c = bat(b, o, n, d); c >= 0x30 && c <= 0x39; c = b[o + ++d]!) v = v * 10 + (c - 0x30);
    if (c === SP) {
      pid = v;
      i = d + 1;
      while (b[o + i] === SP) i++;
    } else if (c === LT) return FAST_NONE;
    c = bat(b, o, n, i);
  }
  let timestamp: string | undefined;
  if (c >= 0x30 && c <= 0x39) {
    const e = timestampEndB(b, o, n, i);
    if (e < 0) return FAST_NONE;
    if (!light) timestamp = field(i, e);
    i = e;
    while (b[o + i] === SP) i++;
    c = bat(b, o, n, i);
  }
  // The name, or `<... name resumed>`; `[nr]`/`[ip]` prefixes, signals and exits all fail here.
  let resumed = false;
  let ns = i;
  if (c === LT) {
    if (bat(b, o, n, i + 1) !== DOT || bat(b, o, n, i + 2) !== DOT || bat(b, o, n, i + 3) !== DOT || bat(b, o, n, i + 4) !== SP) return FAST_NONE;
    ns = i += 5;
    resumed = true;
  }
  while (NAME_BYTE[b[o + i]!] === 1) i++;
  if (i === ns) return FAST_NONE;
  let as: number;
  if (resumed) {
    // The general parser takes the first ` resumed>` within 80 characters of `<...`.
    if (!bytesAt(b, o, n, i, RESUMED_B) || i - ns + 5 > 80) return FAST_NONE;
    as = i + RESUMED.length;
  } else {
    if (bat(b, o, n, i) !== LPAREN) return FAST_NONE;
    as = i + 1;
  }
  const name = short(ns, i);
  // A write to fd 1 or 2 may have the program's output glued in after its count: the fast path takes it only
  // when nothing is (stdWriteShown); writev's, and anything else, to the general scan.
  c = bat(b, o, n, as);
  const std = (c === 0x31 || c === 0x32) && !isDigit(bat(b, o, n, as + 1)) && (name === 'write' || name === 'writev');
  if (std && (resumed || name === 'writev')) return FAST_NONE;
  const ae = argsEnd(b, o, n, as, resumed);
  if (std && !stdWriteShown(b, o, n, as, ae === ARGS_UNFINISHED ? unfinishedAt : ae)) return FAST_NONE;
  if (ae === ARGS_UNFINISHED) {
    out.pid = pid;
    out.timestamp = timestamp;
    out.name = name;
    out.args = light && name !== 'write' ? '' : field(as, unfinishedAt);
    return FAST_UNFINISHED;
  }
  if (ae < 0 || !fastResult(b, o, n, ae + 1, out)) return FAST_NONE;
  out.pid = pid;
  out.timestamp = timestamp;
  out.name = name;
  out.args = light ? '' : field(as, ae);
  return resumed ? FAST_RESUMED : FAST_CALL;
}

/** Bytes of a syscall name (strace-scan's isNameChar). */
const NAME_BYTE = new Uint8Array(256);
for (let c = 0; c < 128; c++) if (isNameChar(c)) NAME_BYTE[c] = 1;

/** strace-scan's timestampEnd over bytes. */
function timestampEndB(b: Buffer, o: number, n: number, i: number): number {
  let j = i;
  while (isDigit(b[o + j]!)) j++;
  if (j === i) return -1;
  const c = bat(b, o, n, j);
  if (c === COLON) {
    for (let k = 0; k < 2; k++) {
      if (bat(b, o, n, j) !== COLON) return -1;
      let e = j + 1;
      while (isDigit(b[o + e]!)) e++;
      if (e !== j + 3) return -1;
      j = e;
    }
    if (bat(b, o, n, j) === DOT) {
      let e = j + 1;
      while (isDigit(b[o + e]!)) e++;
      if (e === j + 1) return -1;
      j = e;
    }
  } else if (c === DOT) {
    let e = j + 1;
    while (isDigit(b[o + e]!)) e++;
    if (e === j + 1) return -1;
    j = e;
  } else return -1;
  const d = bat(b, o, n, j);
  return d === SP || d === TAB || d === NL ? j : -1;
}

/** strace-scan's stringEnd over bytes: past the closing quote of the literal at i, or -1. */
function stringEndB(b: Buffer, o: number, n: number, i: number): number {
  for (let j = i + 1; j < n; j++) {
    const c = b[o + j]!;
    if (c === BSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  return -1;
}

/** strace-scan's angleEnd over bytes: past the `>` closing the decoration at i, or -1. */
function angleEndB(b: Buffer, o: number, n: number, i: number): number {
  let sq = 0;
  let depth = 1;
  for (let j = i + 1; j < n; j++) {
    const c = b[o + j]!;
    if (c === LBRACK) sq++;
    else if (c === RBRACK) { if (sq > 0) sq--; }
    else if (c === LT && sq === 0) depth++;
    else if (c === GT && sq === 0) { if (--depth === 0) return j + 1; }
    else if (c === NL) return -1;
  }
  return -1;
}

/**
 * strace-scan's groupEnd on an errno message (`(No such file or directory)` at i): its end. A message of
 * plain words is scanned here; one with quotes, brackets or a comment goes to groupEnd on the line's text.
 */
function messageEnd(b: Buffer, o: number, n: number, i: number): number {
  for (let j = i + 1; j < n; j++) {
    const c = b[o + j]!;
    if (c === RPAREN) return j + 1;
    if (c === QUOTE || c === LPAREN || c === LBRACK || c === LBRACE || c === RBRACK || c === RBRACE || c === SLASH) break;
  }
  return groupEnd(lineText(), i);
}

/** strace-scan's durationEnd over bytes (`<0.000012>` at i): its end, or -1; sets `durationB`. */
let durationB = 0;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
function durationEndB(b: Buffer, o: number, n: number, i: number): number {
  let k = i + 1;
  let v = 0;
  let c = bat(b, o, n, k);
  while (c >= 0x30 && c <= 0x39) { v = v * 10 + (c - 0x30); c = b[o + ++k]!; }
  if (k === i + 1 || c !== DOT) return -1;
  const a = k;
  c = b[o + ++k]!;
  while (c >= 0x30 && c <= 0x39) { v = v * 10 + (c - 0x30); c = b[o + ++k]!; }
  if (k === a + 1 || c !== GT) return -1;
  durationB = k - i - 2 <= 15 && k - a - 1 <= 9 ? v / POW10[k - a - 1]! : Number(field(i + 1, k));
  return k + 1;
}

/**
 * `write(1|2[<decoration>], "literal"[...], COUNT` ending at `end` (the `)` or the ` <unfinished ...>`), with
 * COUNT the literal's length in bytes unless strace cut the literal short: the general scan (strace-line's
 * scanCall) then finds no program output glued in, and reads the call as the fast path does.
 */
function stdWriteShown(b: Buffer, o: number, n: number, as: number, end: number): boolean {
  if (end < 0) return false;
  let i = as + 1;
  if (bat(b, o, n, i) === LT) {
    i = angleEndB(b, o, n, i);
    if (i < 0) return false;
  }
  if (bat(b, o, n, i) !== COMMA || bat(b, o, n, i + 1) !== SP || bat(b, o, n, i + 2) !== QUOTE) return false;
  const ls = i + 2;
  const le = stringEndB(b, o, n, ls);
  if (le < 0) return false;
  const truncated = bat(b, o, n, le) === DOT && bat(b, o, n, le + 1) === DOT && bat(b, o, n, le + 2) === DOT;
  i = truncated ? le + 3 : le;
  if (bat(b, o, n, i) !== COMMA) return false;
  i++;
  while (b[o + i] === SP) i++;
  let d = i;
  while (isDigit(bat(b, o, n, d))) d++;
  if (d === i || d !== end) return false;
  return truncated || field(i, d) === String(Buffer.byteLength(decodeLiteral(lineText(), ls + 1, le - 1)));
}

/** What argsEnd returns for `name(args <unfinished ...>` (the args end at `unfinishedAt`). */
const ARGS_UNFINISHED = -2;
let unfinishedAt = 0;

/**
 * The arguments from `as` (just after `name(` or `resumed>`): the index of the `)` that closes them, -1 for
 * anything the fast path leaves to the general parser, or ARGS_UNFINISHED (the line ends with the marker).
 */
function argsEnd(b: Buffer, o: number, n: number, as: number, resumed: boolean): number {
  let depth = 1;
  for (let j = as; j < n; j++) {
    const c = b[o + j]!;
    if (c >= 128 || FAST_SPECIAL[c] === 0) continue;
    if (c === QUOTE) {
      const e = stringEndB(b, o, n, j);
      if (e < 0) return -1;
      j = e - 1;
    } else if (c === LPAREN || c === LBRACK || c === LBRACE) depth++;
    else if (c === RPAREN || c === RBRACK || c === RBRACE) {
      if (--depth === 0) return c === RPAREN ? j : -1;
    } else if (c === SLASH) {
      if (bat(b, o, n, j + 1) !== STAR) continue;
      const e = lineText().indexOf('*/', j + 2);
      if (e < 0) return -1;
      j = e + 1;
    } else if (c === 0x73 /* s */) {
      // Possibly a `strace: Process N attached` message glued in.
      if (bat(b, o, n, j + 6) === COLON) return -1;
    } else {
      // `<`: as the general scan reads it (strace-line's scanCall).
      const before = bat(b, o, n, j - 1);
      if (depth === 1 && before === SP && bytesAt(b, o, n, j - 1, UNFINISHED_B)) {
        // `<... x resumed> <unfinished ...>) = ?` (died inside) and anything after the marker: general path.
        if (resumed) return -1;
        let e = j - 1 + UNFINISHED.length;
        while (e < n && b[o + e] === SP) e++;
        if (e < n) return -1;
        unfinishedAt = j - 1;
        return ARGS_UNFINISHED;
      }
      if (depth === 1 && before === SP && bytesAt(b, o, n, j - 1, DETACHED_B)) return -1;
      // A decoration (`3</etc/passwd>`, `AT_FDCWD</tmp>`) may hold brackets of its own; any other `<` is text.
      if (j > as && (isAlnum(before) || (before === SLASH && bat(b, o, n, j - 2) === STAR)) && bat(b, o, n, j + 1) !== LT) {
        const e = angleEndB(b, o, n, j);
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
function fastResult(b: Buffer, o: number, n: number, j: number, out: FastCall): boolean {
  while (b[o + j] === SP) j++;
  if (bat(b, o, n, j) !== EQ || bat(b, o, n, j + 1) !== SP) return false;
  j += 2;
  const vs = j;
  let c = 0;
  while (j < n) {
    c = b[o + j]!;
    if (c === SP || c === LT || c === TAB) break;
    j++;
  }
  if (j === vs || (j < n && c === TAB)) return false;
  // A long value is mostly an address, met once: interned, it would only push the names out.
  const result: SyscallResult = { value: j - vs <= 8 ? short(vs, j) : field(vs, j) };
  if (j < n && c === LT) {
    // `= 3</etc/passwd>`: the value's decoration; only a duration may follow it here.
    const e = angleEndB(b, o, n, j);
    if (e < 0) return false;
    result.annotation = field(j, e);
    j = e;
    if (j < n && b[o + j] !== SP) return false;
    while (b[o + j] === SP) j++;
  } else {
    while (b[o + j] === SP) j++;
    if (bat(b, o, n, j) === 0x45 /* E */ && isAlnum(bat(b, o, n, j + 1))) {
      const es = j;
      while (isAlnum(b[o + j]!)) j++;
      result.errno = short(es, j);
      const m = j;
      while (b[o + j] === SP) j++;
      if (bat(b, o, n, j) === LPAREN) {
        const g = messageEnd(b, o, n, j);
        if (g < 0) return false;
        result.errnoMessage = short(j + 1, g - 1);
        j = g;
        while (b[o + j] === SP) j++;
        // The general parser needs a space between the message and a duration.
        if (j === g && j < n) return false;
      } else if (j === m && j < n) return false;
    }
  }
  let duration: number | undefined;
  if (bat(b, o, n, j) === LT) {
    const d = durationEndB(b, o, n, j);
    if (d < 0) return false;
    duration = durationB;
    j = d;
    while (b[o + j] === SP) j++;
  }
  if (j < n) return false;
  out.result = result;
  out.duration = duration;
  return true;
}
