// Parser for gVisor's `runsc --strace --debug-log=DIR/` boot log (runsc.log.*.boot.txt), streaming.
//
// Every line of a runsc debug log has the glog head `I1125 14:48:48.044429    1981 file.go:561] `.
// Lines from strace.go are the Sentry's strace of the sandboxed app (gVisor pkg/sentry/strace):
//   [   1:   1] uname E uname(0x7f4a60c5d9a6)                      entry: [tgid: tid] comm E name(args)
//   [   1:   1] uname X uname(0x7f.. {Release: 4.4.0, ...}) = 0 (0x0) (1.252µs)
//   [   1:   1] uname X rseq(...) = 0 (0x0) errno=38 (invalid system call number) (44.737µs)
// tgid and tid are in the sandbox's pid namespace; the duration is Go's time.Duration text.
// E and X of one tid make ONE syscall event (source 'runsc'); an E whose X never comes (the task
// died in the call, the log was cut) is emitted with result null. Events come out at their X.
//
// Choice, documented: the other lines of the debug log (config dump, mounts, "EXEC:", "Unsupported
// syscall") are not trace lines, but they are real runtime facts, so each becomes a `message`
// event (text = the part after `] `), except boot.go's "application exiting with exit status N /
// killed by signal N", which becomes an `exit` event. Lines without the glog head (a Go panic's
// stack, say) are `unparsed`. Nothing is dropped.

import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { readLines, DEFAULT_MAX_LINE } from './lines.js';
import { ParseError } from './errors.js';
import { unparsedReason, type PendingCall, type SyscallEvent, type SyscallResult, type TraceEvent, type UnparsedCode, type UnparsedEvent } from './events.js';

export interface RunscLogOptions {
  file: string;
  maxLine?: number;
}

const GLOG = /^([DIWEF])(\d{4}) (\d{2}:\d{2}:\d{2}\.\d+)\s+(\d+) ([^\s\]]+)\] ?(.*)$/;
const STRACE = /^\[\s*(\d+):\s*(\d+)\] (.*?) ([EX]) (\w+)\((.*)$/;
// Exit tail. runsc 20221219 prints `%d (%#x)`, newer ones print only `%#x`; errno part on failure.
const EXIT_TAIL = /\) = (-?\d+|0x[0-9a-f]+)(?: \((0x[0-9a-f]+)\))?(?: errno=(\d+) \((.*)\))? \(([0-9.]+(?:ns|µs|us|ms|s|m|h)[0-9.a-zµ]*)\)$/;

// boot.go's last word on the container's init: `application exiting with exit status 1` or
// `application exiting with killed by signal 11`. It becomes an `exit` event (pid null: the container).
const APP_EXIT = /^application exiting with (?:exit status (\d+)|killed by signal (\d+))$/;
const SIGNALS: Record<number, string> = {
  1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE',
  9: 'SIGKILL', 10: 'SIGUSR1', 11: 'SIGSEGV', 12: 'SIGUSR2', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM',
  24: 'SIGXCPU', 25: 'SIGXFSZ', 31: 'SIGSYS',
};

/** Linux x86-64 errno numbers → names, for the `errno=N` that gVisor prints. */
const ERRNO: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 4: 'EINTR', 5: 'EIO', 6: 'ENXIO', 7: 'E2BIG', 8: 'ENOEXEC', 9: 'EBADF',
  10: 'ECHILD', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 14: 'EFAULT', 15: 'ENOTBLK', 16: 'EBUSY', 17: 'EEXIST',
  18: 'EXDEV', 19: 'ENODEV', 20: 'ENOTDIR', 21: 'EISDIR', 22: 'EINVAL', 23: 'ENFILE', 24: 'EMFILE', 25: 'ENOTTY',
  26: 'ETXTBSY', 27: 'EFBIG', 28: 'ENOSPC', 29: 'ESPIPE', 30: 'EROFS', 31: 'EMLINK', 32: 'EPIPE', 33: 'EDOM',
  34: 'ERANGE', 35: 'EDEADLK', 36: 'ENAMETOOLONG', 37: 'ENOLCK', 38: 'ENOSYS', 39: 'ENOTEMPTY', 40: 'ELOOP',
  42: 'ENOMSG', 43: 'EIDRM', 61: 'ENODATA', 62: 'ETIME', 71: 'EPROTO', 75: 'EOVERFLOW', 84: 'EILSEQ',
  88: 'ENOTSOCK', 89: 'EDESTADDRREQ', 90: 'EMSGSIZE', 91: 'EPROTOTYPE', 92: 'ENOPROTOOPT', 93: 'EPROTONOSUPPORT',
  95: 'EOPNOTSUPP', 97: 'EAFNOSUPPORT', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL', 100: 'ENETDOWN', 101: 'ENETUNREACH',
  103: 'ECONNABORTED', 104: 'ECONNRESET', 105: 'ENOBUFS', 106: 'EISCONN', 107: 'ENOTCONN', 110: 'ETIMEDOUT',
  111: 'ECONNREFUSED', 113: 'EHOSTUNREACH', 114: 'EALREADY', 115: 'EINPROGRESS', 116: 'ESTALE', 122: 'EDQUOT',
  125: 'ECANCELED', 512: 'ERESTARTSYS', 513: 'ERESTARTNOINTR', 514: 'ERESTARTNOHAND', 516: 'ERESTART_RESTARTBLOCK',
};

/** Go's time.Duration text (`1.252µs`, `350ns`, `1m2.5s`) in seconds, or undefined. */
export function goDurationSeconds(text: string): number | undefined {
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  let rest = text;
  while (rest.length > 0) {
    const m = /^([0-9.]+)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * unit[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** Splits an argument list at its top-level commas, minding quotes and brackets. */
export function splitTopLevel(args: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 0 && args[i + 1] === ' ') {
      out.push(args.slice(start, i));
      start = i + 2;
      i++;
    }
  }
  if (args.length > 0) out.push(args.slice(start));
  return out;
}

/** X lines repeat the arguments with outputs filled in but print `...` for write buffers: merge. */
function mergeArgs(enter: string, exit: string): string {
  const e = splitTopLevel(enter);
  const x = splitTopLevel(exit);
  if (e.length !== x.length) return exit;
  return x.map((a, i) => (a === '...' ? e[i]! : a)).join(', ');
}

/** An entry, and how many strace lines had been seen at it. */
type Entry = PendingCall & { seq: number };

export async function* parseRunscLog(
  input: AsyncIterable<Buffer | string> | Readable,
  opts: RunscLogOptions,
): AsyncGenerator<TraceEvent> {
  const file = opts.file;
  const pending = new Map<number, Entry>();
  let seq = 0; // strace lines seen: an E/X pair with other strace lines between them was split

  const unfinished = (tid: number, p: Entry): SyscallEvent => ({
    kind: 'syscall', source: 'runsc', file, line: p.line, pid: tid, comm: p.comm, timestamp: p.timestamp,
    name: p.name, args: p.args, result: null,
  });

  const maxLine = opts.maxLine ?? DEFAULT_MAX_LINE;
  const bad = (code: UnparsedCode, line: number, text: string, more?: Pick<UnparsedEvent, 'pid' | 'comm' | 'timestamp'>): UnparsedEvent =>
    ({ kind: 'unparsed', file, line, pid: null, ...more, text, code, reason: unparsedReason(code) });

  for await (const ln of readLines(input, maxLine)) {
    if (ln.tooLong) {
      yield { kind: 'unparsed', file, line: ln.lineNo, pid: null, text: ln.text, code: 'LINE_TOO_LONG', reason: unparsedReason('LINE_TOO_LONG', maxLine), truncated: true, length: ln.length };
      continue;
    }
    const g = GLOG.exec(ln.text);
    if (!g) {
      if (ln.text.trim() === '') continue;
      yield bad('RUNSC_BAD_LINE', ln.lineNo, ln.text);
      continue;
    }
    const timestamp = g[3]!;
    const msg = g[6]!;
    const s = g[5]!.startsWith('strace.go:') ? STRACE.exec(msg) : null;
    if (!s) {
      if (g[5]!.startsWith('strace.go:')) {
        yield bad('RUNSC_BAD_STRACE_LINE', ln.lineNo, ln.text, { pid: null, timestamp });
      } else {
        const end = APP_EXIT.exec(msg);
        if (end && end[1] !== undefined) {
          yield { kind: 'exit', file, line: ln.lineNo, pid: null, timestamp, how: 'exited', code: Number(end[1]) };
        } else if (end) {
          const n = Number(end[2]);
          yield { kind: 'exit', file, line: ln.lineNo, pid: null, timestamp, how: 'killed', signal: SIGNALS[n] ?? `SIG${n}` };
        } else {
          yield { kind: 'message', file, line: ln.lineNo, pid: null, timestamp, text: msg };
        }
      }
      continue;
    }
    seq++;
    const tid = Number(s[2]);
    const comm = s[3]!;
    const name = s[5]!;
    const rest = s[6]!;
    if (s[4] === 'E') {
      if (!rest.endsWith(')')) {
        yield bad('RUNSC_UNTERMINATED_ENTRY', ln.lineNo, ln.text, { pid: tid, comm, timestamp });
        continue;
      }
      const old = pending.get(tid);
      if (old) yield unfinished(tid, old);
      pending.set(tid, { name, args: rest.slice(0, -1), line: ln.lineNo, timestamp, comm, seq });
      continue;
    }
    const tail = EXIT_TAIL.exec(rest);
    if (!tail) {
      yield bad('RUNSC_BAD_EXIT', ln.lineNo, ln.text, { pid: tid, comm, timestamp });
      continue;
    }
    const exitArgs = rest.slice(0, tail.index);
    const result: SyscallResult = { value: tail[1]! };
    if (tail[2] !== undefined) result.annotation = `(${tail[2]})`;
    if (tail[3] !== undefined) {
      const n = Number(tail[3]);
      result.errno = ERRNO[n] ?? `errno=${n}`;
      result.errnoMessage = tail[4]!;
    }
    const duration = goDurationSeconds(tail[5]!);
    const p = pending.get(tid);
    let ev: SyscallEvent;
    if (p && p.name === name) {
      pending.delete(tid);
      ev = {
        kind: 'syscall', source: 'runsc', file, line: p.line, pid: tid, comm, timestamp: p.timestamp,
        name, args: mergeArgs(p.args, exitArgs), result, endTimestamp: timestamp, endLine: ln.lineNo,
      };
      if (seq !== p.seq + 1) ev.split = true;
    } else {
      if (p) {
        pending.delete(tid);
        yield unfinished(tid, p);
      }
      // An exit whose entry is not in this log (the log starts mid-call).
      ev = { kind: 'syscall', source: 'runsc', file, line: ln.lineNo, pid: tid, comm, timestamp, name, args: exitArgs, result };
    }
    if (duration !== undefined) ev.duration = duration;
    yield ev;
  }
  for (const [tid, p] of pending) yield unfinished(tid, p);
}

/** Every `*.boot.txt` log in a `--debug-log=DIR/` directory, oldest first (names hold the time). */
export async function runscBootLogs(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new ParseError('RUNSC_LOG_DIR_UNREADABLE', `cannot read runsc debug-log directory ${dir}: ${(e as Error).message}`, { file: dir }, { cause: e });
  }
  const boots = names.filter((n) => n.endsWith('.boot.txt')).sort();
  if (boots.length === 0) {
    throw new ParseError('RUNSC_NO_BOOT_LOG', `no runsc boot log (*.boot.txt) in ${dir}`, {
      file: dir, hint: 'run runsc with --strace --debug-log=DIR/ (trailing slash: one file per command)',
    });
  }
  return boots.map((n) => join(dir, n));
}

/** Events of every boot log in the directory, one file after the other. */
export async function* parseRunscLogDir(dir: string, maxLine?: number): AsyncGenerator<TraceEvent> {
  yield* parseRunscLogFiles(await runscBootLogs(dir), maxLine);
}

/** Events of the given boot logs, one file after the other (runners hand over their list). */
export async function* parseRunscLogFiles(paths: string[], maxLine?: number): AsyncGenerator<TraceEvent> {
  for (const path of paths) {
    const opts: RunscLogOptions = { file: path };
    if (maxLine !== undefined) opts.maxLine = maxLine;
    yield* parseRunscLog(createReadStream(path), opts);
  }
}
