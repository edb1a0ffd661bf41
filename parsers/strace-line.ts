// The general strace line parser: turns one line (or a run of joined lines, or a whole trace flattened onto
// one line) into items in order. No state between calls: parsers/strace.ts pairs `<unfinished ...>`
// with `<... resumed>`, attaches `-k` stacks and joins lines that a program's output or a strace
// message broke apart. Char-code scanning only (strace-scan.ts): no backtracking regexes on the hot path.

import { headerColumns } from './strace-c.js';
import { pastedCommand } from './strace-command.js';
import type { SyscallResult, UnparsedCode } from './events.js';
import {
  COMMA, COLON, DOT, EQ, GT, LBRACE, LBRACK, LPAREN, LT, MINUS, NL, PLUS, QUOTE, RBRACE, RBRACK, RPAREN, SLASH, SP, STAR, TAB,
  angleEnd, decodeLiteral, digitsEnd, durationEnd, durationOut, groupEnd, isAlnum, isDigit, isNameChar, isSpace,
  skipSpaces, stringEnd, timestampEnd,
} from './strace-scan.js';

/** What precedes the body of a strace line: `pid<comm> timestamp [nr] [ip] `. */
export interface Prefix {
  pid: number | null;
  comm?: string;
  timestamp?: string;
  number?: number;
  ip?: string;
}

export type Item =
  | { t: 'call'; p: Prefix; name: string; args: string; result: SyscallResult | null; duration?: number; at: number }
  /** The call was printed as `name(args <unfinished ...>` (or cut short by a strace message). */
  | { t: 'unfinished'; p: Prefix; name: string; args: string; at: number }
  /** `restart_syscall(<...>` then ` <detached ...>`: strace let go of the process inside the call. */
  | { t: 'detached'; p: Prefix; name: string; args: string; at: number }
  | { t: 'resumed'; p: Prefix; name: string; args: string; result: SyscallResult | null; duration?: number; at: number }
  | { t: 'signal'; p: Prefix; signal: string; info: string; stopped: boolean; at: number }
  | { t: 'exit'; p: Prefix; how: 'exited' | 'killed'; code?: number; signal?: string; coreDumped?: boolean; at: number }
  | { t: 'message'; p: Prefix; text: string; at: number }
  | { t: 'output'; pid: number | null; text: string; at: number }
  | { t: 'stack'; frame: string; at: number }
  /** A shell prompt running strace, pasted with its trace: `user@host:~$ strace ls`. */
  | { t: 'command'; text: string; prompt: string; argv: string[]; command: string[]; at: number }
  | { t: 'unparsed'; text: string; code: UnparsedCode; at: number }
  /** The call starting at `at` needs the next line(s): a program's output or a message broke it. */
  | { t: 'incomplete'; at: number; mode: 'output' | 'interrupted' };


/** Characters scanCall must look at; everything else is skipped with one table lookup. */
const SPECIAL = new Uint8Array(128);
for (const c of '"()[]{}</,s') SPECIAL[c.charCodeAt(0)] = 1;

/** Parses the line prefix at i. Returns the body position, or -1 when a `[pid` prefix is malformed. */
function parsePrefix(s: string, i: number, p: Prefix): number {
  i = skipSpaces(s, i);
  let c = s.charCodeAt(i);
  if (c === LBRACK && s.startsWith('[pid', i)) {
    let j = skipSpaces(s, i + 4);
    const d = digitsEnd(s, j);
    if (d === j) return -1;
    p.pid = Number(s.slice(j, d));
    j = d;
    if (s.charCodeAt(j) === LT) {
      const e = angleEnd(s, j);
      if (e < 0) return -1;
      p.comm = s.slice(j + 1, e - 1);
      j = e;
    }
    if (s.charCodeAt(j) !== RBRACK) return -1;
    i = skipSpaces(s, j + 1);
  } else if (isDigit(c)) {
    const d = digitsEnd(s, i);
    const n = s.charCodeAt(d);
    if (n === LT || n === SP) {
      let j = d;
      let comm: string | undefined;
      if (n === LT) {
        const e = angleEnd(s, d);
        if (e >= 0 && s.charCodeAt(e) === SP) { comm = s.slice(d + 1, e - 1); j = e; } else j = -1;
      }
      if (j >= 0) {
        let pid = 0;
        for (let k = i; k < d; k++) pid = pid * 10 + (s.charCodeAt(k) - 0x30);
        p.pid = pid;
        if (comm !== undefined) p.comm = comm;
        i = skipSpaces(s, j);
      }
    }
  }
  c = s.charCodeAt(i);
  if (isDigit(c)) {
    const e = timestampEnd(s, i);
    if (e >= 0) { p.timestamp = s.slice(i, e); i = skipSpaces(s, e); }
  }
  // -n `[  39] ` then -i `[00007f...] `: the ip is long and zero-padded, the number short.
  for (let k = 0; k < 2 && s.charCodeAt(i) === LBRACK; k++) {
    const close = s.indexOf(']', i + 1);
    if (close < 0 || close - i > 20 || s.charCodeAt(close + 1) !== SP) break;
    const inner = s.slice(i + 1, close);
    const trimmed = inner.trim();
    if (inner.length < 8 && trimmed.length > 0 && digitsEnd(trimmed, 0) === trimmed.length) {
      if (p.number !== undefined || p.ip !== undefined) break;
      p.number = Number(trimmed);
    } else if (inner.length >= 8 && /^[0-9a-f?]+$/.test(inner)) {
      if (p.ip !== undefined) break;
      p.ip = inner;
    } else break;
    i = close + 2;
  }
  return i;
}

/** What a write to the terminal should have printed, from its literal(s). */
interface Expected { text: string; truncated: boolean }

/**
 * Matches a program's output at i against what the write printed: `\n` may have become a space (a
 * flattened paste) and `\r` before `\n` may be gone (line splitting). Returns the end of the output,
 * 'more' if the text ends first, or -1 on mismatch.
 */
function matchOutput(s: string, i: number, exp: Expected, final: boolean): number | 'more' {
  const e = exp.text;
  let j = i;
  for (let k = 0; k < e.length; k++) {
    if (j >= s.length) return final ? -1 : 'more';
    const want = e.charCodeAt(k);
    const got = s.charCodeAt(j);
    if (got === want || (want === NL && got === SP)) { j++; continue; }
    if (want === 0x0d && e.charCodeAt(k + 1) === NL) continue;
    return -1;
  }
  if (!exp.truncated) return j;
  // Only a prefix is known: the output ends at the first `)` followed by ` = `.
  for (let k = j; k < s.length; k++) {
    if (s.charCodeAt(k) !== RPAREN) continue;
    const q = skipSpaces(s, k + 1);
    if (s.charCodeAt(q) === EQ) return k;
  }
  return final ? -1 : 'more';
}

/** Scratch outputs of parseResult (one call at a time; avoids an object per line). */
let resultOut: SyscallResult = { value: '' };
let resultDuration: number | undefined;

/** Parses `= value [ERRNO (msg)] [annotation] [<duration>]` at i (just past the `)`); returns the end or -1. */
function parseResult(s: string, i: number): number {
  i = skipSpaces(s, i);
  if (s.charCodeAt(i) !== EQ || s.charCodeAt(i + 1) !== SP) return -1;
  i += 2;
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === SP || c === LT || c === NL || c === TAB) break;
    j++;
  }
  if (j === i) return -1;
  const result: SyscallResult = { value: s.slice(i, j) };
  resultDuration = undefined;
  let note: string | undefined;
  if (s.charCodeAt(j) === LT) {
    const e = angleEnd(s, j);
    if (e < 0) return -1;
    note = s.slice(j, e);
    j = e;
  }
  for (;;) {
    const k = skipSpaces(s, j);
    if (k === j || k >= s.length) break;
    const c = s.charCodeAt(k);
    if (c === LT) {
      const d = durationEnd(s, k);
      if (d > 0) { resultDuration = durationOut; j = d; break; }
      if (s.charCodeAt(k + 1) === DOT) break;
      const e = angleEnd(s, k);
      if (e < 0) break;
      note = note === undefined ? s.slice(k, e) : note + ' ' + s.slice(k, e);
      j = e;
    } else if (c === 0x45 /* E */ && result.errno === undefined && note === undefined && isAlnum(s.charCodeAt(k + 1))) {
      let e = k;
      while (e < s.length && isAlnum(s.charCodeAt(e))) e++;
      result.errno = s.slice(k, e);
      j = e;
      const m = skipSpaces(s, j);
      if (s.charCodeAt(m) === LPAREN) {
        const g = groupEnd(s, m);
        if (g > 0) { result.errnoMessage = s.slice(m + 1, g - 1); j = g; }
      }
    } else if (c === LPAREN || (c === SLASH && s.charCodeAt(k + 1) === STAR)) {
      const g = c === LPAREN ? groupEnd(s, k) : s.indexOf('*/', k + 2) + 2;
      if (g <= 1) break;
      note = note === undefined ? s.slice(k, g) : note + ' ' + s.slice(k, g);
      j = g;
    } else break;
  }
  if (note !== undefined) result.annotation = note;
  resultOut = result;
  return j;
}

const UNFINISHED = ' <unfinished ...>';
const DETACHED = ' <detached ...>';
const PROCESS_MSG = 'strace: Process ';

/** `strace: Process N attached|detached` at i: its end, or -1. */
function processMessageEnd(s: string, i: number): number {
  if (!s.startsWith(PROCESS_MSG, i)) return -1;
  const d = digitsEnd(s, i + PROCESS_MSG.length);
  if (d === i + PROCESS_MSG.length || s.charCodeAt(d) !== SP) return -1;
  if (s.startsWith('attached', d + 1) || s.startsWith('detached', d + 1)) return d + 9;
  return -1;
}

/**
 * After a message that cut a call short: does the call go on here? strace printed the call's first arguments
 * when it entered, the message, and then either the rest (the arguments decoded when the call returned:
 * `"\x88\xa1"..., 8, GRND_NONBLOCK) = 8`, `{st_mode=...}`, `[{WIFEXITED(s) ...}]`; clone3's
 * ` => {parent_tid=[N]}`, the value it changed) or ` <unfinished ...>` (taken by the caller).
 */
export function continuesCall(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c === COMMA || c === RPAREN || c === QUOTE || c === LBRACE) return true;
  if (c === LBRACK) {
    // An array (`[{...}]`, `[SIGCHLD]`, `[]`), not a `[pid N]` prefix or a `[ Process PID=N ]` message.
    const d = s.charCodeAt(i + 1);
    return d === LBRACE || d === RBRACK || d === QUOTE || (((d >= 0x41 && d <= 0x5a) || (d >= 0x61 && d <= 0x7a)) && !s.startsWith('pid', i + 1));
  }
  return s.startsWith(DETACHED, i) || s.startsWith(' => ', i);
}

interface CallScan {
  kind: 'closed' | 'unfinished' | 'detached' | 'incomplete' | 'bad';
  /** Argument text (output and messages removed). */
  args: string;
  /** Index after `)` / after the marker. */
  end: number;
  mode?: 'output' | 'interrupted';
  /** Printed as `<unfinished ...>)`: the call never returned. */
  died?: boolean;
  output?: { text: string; at: number };
  messages?: { text: string; at: number }[];
}

/**
 * Scans a call's arguments from just after `name(` to the matching `)`. Honours strings, nesting and
 * comments; strips a program's output glued after a write's count and strace messages glued inside.
 */
function scanCall(s: string, name: string, start: number, final: boolean): CallScan {
  let depth = 1;
  let pieceStart = start;
  let args = '';
  let commas = 0;
  // Output can only follow the count of a write to fd 1 or 2 (or writev's iovcnt).
  let watchOutput = (name === 'write' || name === 'writev') && (s.charCodeAt(start) === 0x31 || s.charCodeAt(start) === 0x32)
    && !isDigit(s.charCodeAt(start + 1));
  let lit: Expected | null = watchOutput ? { text: '', truncated: false } : null;
  let output: { text: string; at: number } | undefined;
  let messages: { text: string; at: number }[] | undefined;
  const n = s.length;
  for (let j = start; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c < 128 && SPECIAL[c] === 0) continue;
    if (c === QUOTE) {
      const e = stringEnd(s, j);
      if (e < 0) return { kind: 'bad', args: '', end: j };
      if (lit !== null && commas === 1) {
        lit.text += decodeLiteral(s, j + 1, e - 1);
        if (s.startsWith('...', e)) lit.truncated = true;
      }
      j = e - 1;
    } else if (c === LPAREN || c === LBRACK || c === LBRACE) depth++;
    else if (c === RPAREN || c === RBRACK || c === RBRACE) {
      depth--;
      if (depth === 0) {
        if (c !== RPAREN) return { kind: 'bad', args: '', end: j };
        args += s.slice(pieceStart, j);
        // The old form `getpid() <unfinished ...>`: every argument printed, the call not yet returned.
        if (s.charCodeAt(j + 1) === SP && s.charCodeAt(j + 2) === LT && s.startsWith(UNFINISHED, j + 1)) {
          const u: CallScan = { kind: 'unfinished', args, end: j + 1 + UNFINISHED.length };
          if (messages) u.messages = messages;
          return u;
        }
        const r: CallScan = { kind: 'closed', args, end: j + 1 };
        if (output) r.output = output;
        if (messages) r.messages = messages;
        return r;
      }
    } else if (c === SLASH && s.charCodeAt(j + 1) === STAR) {
      const e = s.indexOf('*/', j + 2);
      if (e < 0) return { kind: 'bad', args: '', end: j };
      j = e + 1;
    } else if (c === LT) {
      if (depth === 1 && s.startsWith(UNFINISHED, j - 1)) {
        args += s.slice(pieceStart, j - 1);
        // `<... read resumed> <unfinished ...>) = ?`: the process died inside the call.
        if (s.charCodeAt(j - 1 + UNFINISHED.length) === RPAREN) {
          const r: CallScan = { kind: 'closed', args, end: j + UNFINISHED.length, died: true };
          if (messages) r.messages = messages;
          return r;
        }
        const r: CallScan = { kind: 'unfinished', args, end: j - 1 + UNFINISHED.length };
        if (messages) r.messages = messages;
        return r;
      }
      if (depth === 1 && s.startsWith(DETACHED, j - 1)) {
        args += s.slice(pieceStart, j - 1);
        const r: CallScan = { kind: 'detached', args, end: j - 1 + DETACHED.length };
        if (messages) r.messages = messages;
        return r;
      }
      // `3</etc/passwd>`, `AT_FDCWD</tmp>`: a decoration may hold brackets of its own.
      const before = s.charCodeAt(j - 1);
      if (j > start && (isAlnum(before) || (before === SLASH && s.charCodeAt(j - 2) === STAR)) && s.charCodeAt(j + 1) !== LT) {
        const e = angleEnd(s, j);
        if (e > 0) j = e - 1;
      }
    } else if (c === COMMA && depth === 1) {
      commas++;
      if (watchOutput && lit !== null && commas === 2) {
        // The count (or iovcnt) comes next; whatever follows its digits before `)` is output.
        const q = skipSpaces(s, j + 1);
        const count = name === 'write' && !lit.truncated ? String(Buffer.byteLength(lit.text)) : null;
        const d = digitsEnd(s, q);
        if (d === q) { watchOutput = false; continue; }
        if (s.charCodeAt(d) === RPAREN && (count === null || s.slice(q, d) === count)) { watchOutput = false; continue; }
        // `write(1, ""..., 3 <unfinished ...>`: another process's line comes next, not the program's output.
        if (s.startsWith(UNFINISHED, d) && (count === null || s.slice(q, d) === count)) { watchOutput = false; continue; }
        // Digits run into the output (`184.4.0-...`): try each split of count and output.
        const tries = count !== null && s.startsWith(count, q) ? [q + count.length] : [];
        if (count === null) for (let k = q + 1; k <= d && k - q <= 20; k++) tries.push(k);
        let settled = false;
        for (const at of tries) {
          const m = matchOutput(s, at, lit, final);
          if (m === 'more') {
            if (messages) return { kind: 'bad', args: '', end: j };
            return { kind: 'incomplete', args: '', end: s.length, mode: 'output' };
          }
          if (m < 0 || s.charCodeAt(m) !== RPAREN) continue;
          const shown = lit.truncated ? lit.text + s.slice(at + lit.text.length, m) : lit.text;
          output = { text: shown, at };
          args += s.slice(pieceStart, at);
          pieceStart = m;
          j = m - 1;
          settled = true;
          break;
        }
        watchOutput = false;
        if (!settled) lit = null;
      }
    } else if (c === 0x73 /* s */ && s.charCodeAt(j + 6) === COLON) {
      const e = processMessageEnd(s, j);
      if (e < 0) continue;
      args += s.slice(pieceStart, j);
      (messages ??= []).push({ text: s.slice(j, e), at: j });
      // The newline after the message (a space once flattened) is strace's, not the call's.
      let k = e;
      if (s.charCodeAt(k) === NL || s.charCodeAt(k) === SP) k++;
      if (k >= s.length) {
        if (!final) return { kind: 'incomplete', args: '', end: s.length, mode: 'interrupted' };
        return { kind: 'unfinished', args, end: k, messages };
      }
      // strace may print the call's `<unfinished ...>` on the line after its message.
      if (s.startsWith(UNFINISHED, k)) return { kind: 'unfinished', args, end: k + UNFINISHED.length, messages };
      if (!continuesCall(s, k)) return { kind: 'unfinished', args, end: k, messages };
      pieceStart = k;
      j = k - 1;
    }
  }
  return { kind: 'incomplete', args: '', end: s.length };
}

/** Parses the body of an event at i (after the prefix). Returns items and the end, or null. */
function parseBody(s: string, i: number, p: Prefix, at: number, out: Item[], final: boolean, bare: boolean): number {
  const c = s.charCodeAt(i);
  if (c === MINUS && s.startsWith('--- ', i)) {
    let j = i + 4;
    let stopped = false;
    if (s.startsWith('stopped by ', j)) { stopped = true; j += 11; }
    let e = j;
    while (e < s.length && isAlnum(s.charCodeAt(e))) e++;
    if (e === j) return -1;
    const signal = s.slice(j, e);
    let k = e;
    if (s.startsWith(' ---', k)) { out.push({ t: 'signal', p, signal, info: '', stopped, at }); return k + 4; }
    if (s.charCodeAt(k) !== SP) return -1;
    k++;
    const infoStart = k;
    // Skip balanced groups so a ` ---` inside a string cannot end the info.
    while (k < s.length) {
      const d = s.charCodeAt(k);
      if (d === LBRACE || d === LPAREN || d === LBRACK) { const g = groupEnd(s, k); if (g < 0) return -1; k = g; continue; }
      if (d === SP && s.startsWith(' ---', k) && (k + 4 >= s.length || isSpace(s.charCodeAt(k + 4)))) {
        out.push({ t: 'signal', p, signal, info: s.slice(infoStart, k), stopped, at });
        return k + 4;
      }
      if (d === NL) return -1;
      k++;
    }
    return -1;
  }
  if (c === PLUS && s.startsWith('+++ ', i)) {
    const e = s.indexOf(' +++', i + 4);
    if (e < 0) return -1;
    const body = s.slice(i + 4, e);
    if (body.startsWith('exited with ')) {
      const n = body.slice(12);
      if (n.length === 0 || digitsEnd(n, 0) !== n.length) return -1;
      out.push({ t: 'exit', p, how: 'exited', code: Number(n), at });
    } else if (body.startsWith('killed by ')) {
      let sig = body.slice(10);
      const core = sig.endsWith(' (core dumped)');
      if (core) sig = sig.slice(0, -14);
      if (sig.length === 0 || sig.indexOf(' ') >= 0) return -1;
      out.push(core ? { t: 'exit', p, how: 'killed', signal: sig, coreDumped: true, at } : { t: 'exit', p, how: 'killed', signal: sig, at });
    } else {
      out.push({ t: 'message', p, text: s.slice(i, e + 4), at });
    }
    return e + 4;
  }
  if (c === 0x73 /* s */ && s.startsWith('strace: ', i)) {
    const pe = processMessageEnd(s, i);
    const nl = s.indexOf('\n', i);
    const e = pe >= 0 ? pe : nl >= 0 ? nl : s.length;
    out.push({ t: 'message', p, text: s.slice(i, e), at });
    return e;
  }
  if (c === LBRACK && s.startsWith('[ Process PID=', i)) {
    const e = s.indexOf(' ]', i);
    if (e < 0) return -1;
    out.push({ t: 'message', p, text: s.slice(i, e + 2), at });
    return e + 2;
  }
  if (c === GT && s.charCodeAt(i + 1) === SP && bare) {
    // -k frame: ` > /lib/x.so(fn+0x1a) [0x7f...]`; ends at the `]` of its address.
    const a = s.indexOf(' [0x', i + 2);
    const nl = s.indexOf('\n', i);
    const lineEnd = nl >= 0 ? nl : s.length;
    const e = a >= 0 && a < lineEnd ? s.indexOf(']', a) : -1;
    const end = e >= 0 && e < lineEnd ? e + 1 : lineEnd;
    out.push({ t: 'stack', frame: s.slice(i + 2, end), at });
    return end;
  }
  if (c === LT && s.startsWith('<... ', i)) {
    const r = s.indexOf(' resumed>', i + 5);
    if (r < 0 || r - i > 80) return -1;
    const name = s.slice(i + 5, r);
    for (let k = 0; k < name.length; k++) if (!isNameChar(name.charCodeAt(k))) return -1;
    const sc = scanCall(s, name, r + 9, final);
    if (sc.kind !== 'closed') {
      if (sc.kind === 'incomplete' && sc.mode !== undefined) { out.push({ t: 'incomplete', at, mode: sc.mode }); return s.length; }
      return -1;
    }
    const end = parseResult(s, sc.end);
    if (end < 0) return -1;
    if (sc.messages) for (const m of sc.messages) out.push({ t: 'message', p: { pid: null }, text: m.text, at });
    if (sc.output) out.push({ t: 'output', pid: p.pid, text: sc.output.text, at });
    const result = sc.died ? null : resultOut;
    out.push(resultDuration === undefined
      ? { t: 'resumed', p, name, args: sc.args, result, at }
      : { t: 'resumed', p, name, args: sc.args, result, duration: resultDuration, at });
    return end;
  }
  if (!isNameChar(c)) return -1;
  let e = i + 1;
  while (e < s.length && isNameChar(s.charCodeAt(e))) e++;
  if (s.charCodeAt(e) !== LPAREN) return -1;
  const name = s.slice(i, e);
  const sc = scanCall(s, name, e + 1, final);
  if (sc.kind === 'incomplete') {
    if (sc.mode === undefined) return -1;
    out.push({ t: 'incomplete', at, mode: sc.mode });
    return s.length;
  }
  if (sc.kind === 'bad') return -1;
  if (sc.messages) for (const m of sc.messages) out.push({ t: 'message', p: { pid: null }, text: m.text, at });
  if (sc.kind === 'unfinished' || sc.kind === 'detached') {
    out.push({ t: sc.kind, p, name, args: sc.args, at });
    return sc.end;
  }
  const end = parseResult(s, sc.end);
  if (end < 0) return -1;
  if (sc.output) out.push({ t: 'output', pid: p.pid, text: sc.output.text, at });
  const result = sc.died ? null : resultOut;
  out.push(resultDuration === undefined
    ? { t: 'call', p, name, args: sc.args, result, at }
    : { t: 'call', p, name, args: sc.args, result, duration: resultDuration, at });
  return end;
}

/** Parses one event (prefix and body) at i; pushes its items and returns the end, or -1. */
function parseEvent(s: string, i: number, out: Item[], final: boolean, defaultPid: number | null): number {
  const p: Prefix = { pid: defaultPid };
  const b = parsePrefix(s, i, p);
  if (b < 0 || b >= s.length) return -1;
  const mark = out.length;
  const bare = p.pid === defaultPid && p.timestamp === undefined && p.number === undefined && p.ip === undefined;
  const e = parseBody(s, b, p, i, out, final, bare);
  if (e < 0) out.length = mark;
  return e;
}

/** Where another event could start after unknown text: after a space, at a plausible first char. */
function canStart(c: number): boolean {
  return isNameChar(c) || c === LBRACK || c === LT || c === MINUS || c === PLUS;
}

const MAX_RESYNC_TRIES = 64;

/**
 * Parses text (one line, joined lines, or a flattened trace) into items. `final`: no more text will
 * come, so a call cut short by a strace message is taken as unfinished rather than incomplete.
 */
export function parseText(s: string, out: Item[], final: boolean, defaultPid: number | null = null): void {
  let i = 0;
  const n = s.length;
  while (i < n) {
    i = skipSpacesExceptStack(s, i);
    if (i >= n) break;
    const e = parseEvent(s, i, out, final, defaultPid);
    if (e > i) { i = e; continue; }
    // A -C run's summary table flattened onto the same line: strace's own output, so a message.
    const te = flatTable(s, i);
    if (te > i) {
      out.push({ t: 'message', p: { pid: defaultPid }, text: s.slice(i, te), at: i });
      i = te;
      continue;
    }
    // Unknown text (a shell prompt, a pasted heading): find the next event, keep the text as unparsed.
    let tries = 0;
    let next = -1;
    for (let k = i + 1; k < n && tries < MAX_RESYNC_TRIES; k++) {
      if (!isSpace(s.charCodeAt(k - 1)) || !canStart(s.charCodeAt(k))) continue;
      tries++;
      const mark = out.length;
      const e2 = parseEvent(s, k, out, final, defaultPid);
      if (e2 > k) {
        const found = out.splice(mark);
        unknownText(s, i, k, out);
        for (const f of found) out.push(f);
        next = e2;
        break;
      }
    }
    if (next < 0) {
      unknownText(s, i, n, out);
      return;
    }
    i = next;
  }
}

/**
 * Text between events that no rule understood: unparsed, except a shell prompt running strace at its end
 * (`user@host:~$ strace ls`), which is the command that made the trace; text before that prompt stays unparsed.
 */
function unknownText(s: string, from: number, to: number, out: Item[]): void {
  const text = s.slice(from, to).trimEnd();
  const cmd = pastedCommand(text);
  if (cmd === null) {
    out.push({ t: 'unparsed', text, code: 'STRACE_UNRECOGNISED_LINE', at: from });
    return;
  }
  const before = text.slice(0, cmd.at).trimEnd();
  if (before !== '') out.push({ t: 'unparsed', text: before, code: 'STRACE_UNRECOGNISED_LINE', at: from });
  out.push({ t: 'command', text: text.slice(cmd.at), prompt: cmd.prompt, argv: cmd.argv, command: cmd.command, at: from + cmd.at });
}

const TABLE_START = /^(?:% time|seconds|usecs\/call|calls|errors|syscall|shortest|longest|max|min|avg)\b/;
const NUMBER_TOKEN = /^\s+[\d.]+(?=\s|$)/;

/**
 * End of a strace -c table that starts at `i` with its newlines lost: a header (columns as strace-c.ts
 * knows them, in any -U order), a rule with one run of dashes per column, rows, the same rule again and
 * the `total` row. -1 when the text there is not such a table.
 */
function flatTable(s: string, i: number): number {
  if (!TABLE_START.test(s.slice(i, i + 12))) return -1;
  const ruleStart = s.indexOf(' -', i);
  if (ruleStart < 0 || ruleStart - i > 300) return -1;
  const cols = headerColumns(s.slice(i, ruleStart));
  if (cols === null) return -1;
  const ruleAt = new RegExp(`^\\s+(-+(?: -+){${cols.length - 1}})(?=\\s|$)`).exec(s.slice(ruleStart, ruleStart + 400));
  if (ruleAt === null) return -1;
  const rule = ruleAt[1]!;
  const second = s.indexOf(' ' + rule, ruleStart + ruleAt[0].length);
  if (second < 0) return -1;
  let end = second + 1 + rule.length;
  const total = /^\s+(?:[\d.]+\s+)*total\b/.exec(s.slice(end, end + 200));
  if (total === null) return -1;
  end += total[0].length;
  // Columns after `syscall` (-U orders) follow the word total on its row.
  const before = total[0].trim().split(/\s+/).length - 1;
  for (let k = before + 1; k < cols.length; k++) {
    const m = NUMBER_TOKEN.exec(s.slice(end, end + 40));
    if (m === null) break;
    end += m[0].length;
  }
  return end;
}

/** Skips separators between events, but not the leading space of a ` > ` stack frame. */
function skipSpacesExceptStack(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (!isSpace(c)) break;
    if (c === SP && s.charCodeAt(i + 1) === GT && s.charCodeAt(i + 2) === SP) break;
    i++;
  }
  return i;
}
