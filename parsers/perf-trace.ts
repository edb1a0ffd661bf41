// Parser for `perf trace` text output (perf 6.1's tools/perf/builtin-trace.c), streaming.
// The same text whether perf printed it live or replayed a recording (`perf trace -i`, the sched lines
// put back by src/runners/host-trace.ts, which is how a run makes it).
//
// Line forms, after the head `TS ( DUR ms): comm/tid ` (TS is `?` when perf saw no entry time,
// DUR is blank when not computed; comm is cut to 14 characters and may hold spaces or `/`):
//   name(args)            = result        entry and exit printed together: the kernel saw both
//   name(args)            ...             entry printed alone because another task's line came
//                                         between; its exit follows later as `[continued]`
//    ... [continued]: name())  = result   an exit; if the same tid has a pending `...` entry
//                                         of that name, the two halves make one call
//   exit_group(args)      = ?             exit/exit_group: printed at entry, never returns
//   sched:sched_process_fork(...)         a tracepoint asked for with -e: a `message` event
//   LOST N events!                        ring buffer overflow: a `message` event (see lostEvents)
//
// KEY FACT: an exit with no entry means the kernel's sys_enter tracepoint did not fire for that
// call. Measured here: every syscall of gVisor's ptrace stub that runs the app looks like that
// (PTRACE_SYSEMU stops the task before the syscall runs), as does the child side of
// clone/fork (it returns without entering) and the first execve of the traced command (entered
// before perf enabled its events). Such calls get `enteredKernel: false`; src/attribution.ts
// interprets them. perf prints a stale entry time on such lines when the thread made an earlier
// call, so their timestamp and duration are dropped.
//
// The exit is what completes a call, so events come out in exit order; memory holds at most one
// pending entry per thread.

import type { Readable } from 'node:stream';
import { readLines, DEFAULT_MAX_LINE } from './lines.js';
import { unparsedReason, type MessageEvent, type PendingCall, type SyscallEvent, type SyscallResult, type TraceEvent, type UnparsedEvent } from './events.js';

export interface PerfTraceOptions {
  /** Name of the input, for event origins and messages. */
  file: string;
  maxLine?: number;
}

// ANSI colour sequences: perf colours `continued`, LOST and long durations when writing to a tty.
const ANSI = /\x1b\[[0-9;]*m/g;
const HEAD = /^\s*(\d+\.\d+|\?) \((?:\s*(\d+\.\d+) ms|\s*)\): (.*)$/;
const COMM_TID = /^(.{0,14}?)\/(\d+) (.*)$/;
const CONTINUED = /^ ?\.\.\. \[continued\]: (\w+)\(\)\)\s*=(?: (.*))?$/;
const INTERRUPTED = /^(\w+)\((.*)\)\s+\.\.\.$/;
const COMPLETE = /^(\w+)\((.*)\)\s*=(?: (.*))?$/;
const TRACEPOINT = /^([\w-]+:[\w-]+)(?:\(.*\)|\s.*)?$/;
const PAGEFAULT = /^(?:maj|min)fault \[/;
const LOST = /^LOST (\d+) events!$/;

/** Parses perf's result text: `0`, `-1 ENOENT (No such file...)`, `4023 (uname)`, `?`, or nothing. */
export function parsePerfResult(text: string): SyscallResult {
  const t = text.trim();
  const err = /^(-\d+) (\S+) \((.*)\)$/.exec(t);
  if (err) return { value: err[1]!, errno: err[2]!, errnoMessage: err[3]! };
  const sp = t.indexOf(' ');
  if (sp === -1) return { value: t };
  return { value: t.slice(0, sp), annotation: t.slice(sp + 1) };
}

/** The count in a `LOST N events!` message, or null for any other event. */
export function lostEvents(e: TraceEvent): number | null {
  if (e.kind !== 'message') return null;
  const m = LOST.exec(e.text);
  return m ? Number(m[1]) : null;
}

export async function* parsePerfTrace(
  input: AsyncIterable<Buffer | string> | Readable,
  opts: PerfTraceOptions,
): AsyncGenerator<TraceEvent> {
  const file = opts.file;
  const pending = new Map<number | null, PendingCall>();

  const flush = (key: number | null): SyscallEvent | null => {
    const p = pending.get(key);
    if (!p) return null;
    pending.delete(key);
    return {
      kind: 'syscall', source: 'perf', file, line: p.line, pid: key, comm: p.comm,
      timestamp: p.timestamp, name: p.name, args: p.args, result: null, enteredKernel: true, split: true,
    };
  };

  const maxLine = opts.maxLine ?? DEFAULT_MAX_LINE;
  for await (const ln of readLines(input, maxLine)) {
    if (ln.tooLong) {
      const u: UnparsedEvent = {
        kind: 'unparsed', file, line: ln.lineNo, pid: null, text: ln.text,
        code: 'LINE_TOO_LONG', reason: unparsedReason('LINE_TOO_LONG', maxLine), truncated: true, length: ln.length,
      };
      yield u;
      continue;
    }
    const text = ln.text.replace(ANSI, '').trimEnd();
    if (text.trim() === '') continue; // perf separates its summary blocks with blank lines
    if (LOST.test(text.trim())) {
      yield { kind: 'message', file, line: ln.lineNo, pid: null, text: text.trim() };
      continue;
    }
    const head = HEAD.exec(text);
    if (!head) {
      yield { kind: 'unparsed', file, line: ln.lineNo, pid: null, text, code: 'PERF_BAD_LINE', reason: unparsedReason('PERF_BAD_LINE') };
      continue;
    }
    const ts = head[1] === '?' ? undefined : head[1]!;
    const durMs = head[2] === undefined ? undefined : Number(head[2]);
    let body = head[3]!;
    let pid: number | null = null;
    let comm: string | undefined;
    const ct = COMM_TID.exec(body);
    // Without -f/-p on one thread perf omits comm/tid; a body then starts with the call itself.
    if (ct && (ct[3]!.startsWith(' ...') || /^[\w-]+[:(]/.test(ct[3]!) || PAGEFAULT.test(ct[3]!))) {
      comm = ct[1]!;
      pid = Number(ct[2]);
      body = ct[3]!;
    }
    const base = { file, line: ln.lineNo, pid, comm };

    const cont = CONTINUED.exec(body);
    if (cont) {
      const name = cont[1]!;
      const result = parsePerfResult(cont[2] ?? '');
      const p = pending.get(pid);
      if (p && p.name === name) {
        pending.delete(pid);
        const ev: SyscallEvent = {
          kind: 'syscall', source: 'perf', ...base, line: p.line, timestamp: p.timestamp, name, args: p.args,
          result, enteredKernel: true, split: true, endLine: ln.lineNo,
        };
        if (durMs !== undefined) ev.duration = durMs / 1000;
        yield ev;
      } else {
        const stale = flush(pid);
        if (stale) yield stale;
        yield { kind: 'syscall', source: 'perf', ...base, name, args: '', result, enteredKernel: false };
      }
      continue;
    }
    const intr = INTERRUPTED.exec(body);
    if (intr) {
      const stale = flush(pid);
      if (stale) yield stale;
      pending.set(pid, { name: intr[1]!, args: intr[2]!, line: ln.lineNo, timestamp: ts, comm });
      continue;
    }
    const done = COMPLETE.exec(body);
    if (done) {
      const stale = flush(pid);
      if (stale) yield stale;
      const ev: SyscallEvent = {
        kind: 'syscall', source: 'perf', ...base, timestamp: ts, name: done[1]!, args: done[2]!,
        result: parsePerfResult(done[3] ?? ''), enteredKernel: true,
      };
      if (durMs !== undefined) ev.duration = durMs / 1000;
      yield ev;
      continue;
    }
    if (TRACEPOINT.test(body) || PAGEFAULT.test(body)) {
      const m: MessageEvent = { kind: 'message', ...base, text: body };
      if (ts !== undefined) m.timestamp = ts;
      yield m;
      continue;
    }
    yield { kind: 'unparsed', ...base, text, code: 'PERF_BAD_BODY', reason: unparsedReason('PERF_BAD_BODY') };
  }
  // Entries whose exit never came: the thread died inside the call, or the trace was cut.
  for (const key of [...pending.keys()]) {
    const stale = flush(key);
    if (stale) yield stale;
  }
}
