// The one event model every parser emits and every report consumes, and the codes of unparsed lines.

import { DEFAULT_MAX_LINE } from './lines.js';

/** Where an event came from: which input and which (1-based) line of it. */
export interface Origin {
  file: string;
  line: number;
}

/** Which tool produced a trace: an input's format, and the source of each syscall event read from it. */
export type TraceSource = 'strace' | 'runsc' | 'perf';

export interface EventBase extends Origin {
  /** Process or thread id, when the trace names one. */
  pid: number | null;
  /** Command name from `-Y` / perf / runsc, when known. */
  comm?: string;
  /** Timestamp text as printed (`-t`, `-tt`, `-ttt`, `-r`, perf ms offset). */
  timestamp?: string;
}

/** What a syscall returned, as printed after `=`. */
export interface SyscallResult {
  /** The value as printed: `0`, `-1`, `0x7f...`, `?`. */
  value: string;
  /** `ENOENT`, `ERESTARTSYS`... when the call failed or is to be restarted. */
  errno?: string;
  /** The text in parentheses after the errno. */
  errnoMessage?: string;
  /** Anything else strace printed after the value: flags, decoded fds, `(Timeout)`. */
  annotation?: string;
}

export interface SyscallEvent extends EventBase {
  kind: 'syscall';
  source: TraceSource;
  name: string;
  /** Raw argument text between the outer parentheses; parse lazily with parsers/strace-args. */
  args: string;
  /** null while the call has not returned: the process died inside it, or the trace ended. */
  result: SyscallResult | null;
  /** `-T` duration in seconds. */
  duration?: number;
  /** Timestamp of the `<... resumed>` half, when the call was split. */
  endTimestamp?: string;
  /** Line of the `<... resumed>` half, when the call was split. */
  endLine?: number;
  /** The call was printed as `<unfinished ...>` and later resumed (or never resumed). */
  split?: boolean;
  /** `-n` syscall number, `-i` instruction pointer, `-k` stack frames. */
  number?: number;
  ip?: string;
  stack?: string[];
  /**
   * perf only: whether the kernel's sys_enter tracepoint fired for this call. A syscall that gVisor's
   * Sentry intercepts with PTRACE_SYSEMU shows only its exit: it never entered the host kernel.
   */
  enteredKernel?: boolean;
}

export interface SignalEvent extends EventBase {
  kind: 'signal';
  signal: string;
  /** The `{si_signo=...}` text. */
  info: string;
  /** `-k`: strace prints the stack where the signal was delivered. */
  stack?: string[];
  /** `--- stopped by SIGSTOP ---`: the process stopped (info is empty). */
  stopped?: boolean;
}

export interface ExitEvent extends EventBase {
  kind: 'exit';
  /** `exited with N` or `killed by SIG`. */
  how: 'exited' | 'killed';
  code?: number;
  signal?: string;
  coreDumped?: boolean;
}

/** The traced program's own output, interleaved with the trace on the same stream. */
export interface OutputEvent extends EventBase {
  kind: 'output';
  text: string;
}

/** strace's own messages: `strace: Process 123 attached`, and others. */
export interface MessageEvent extends EventBase {
  kind: 'message';
  text: string;
}

/**
 * The command line that made the trace, pasted with it from a terminal: a shell prompt running strace
 * (`user@host:~$ strace -f ls`, `$ strace cat f`, `[u@h ~]$ sudo strace ./a.out`, `# strace ...`), or a
 * bare `strace ARGS` line. Only the strace parser makes them.
 */
export interface CommandEvent extends EventBase {
  kind: 'command';
  /** The line as pasted, prompt included. */
  text: string;
  /** The prompt before the command (`user@host:~$`), `''` when there is none. */
  prompt: string;
  /** The tracer's command line, split as a shell would (quotes removed): `['strace', '-f', 'ls']`; sudo left out. */
  argv: string[];
  /** The traced command: argv after strace's own options. Empty when strace attached to a process (-p). */
  command: string[];
}

/**
 * Why a line was not understood: one stable code per idea, each with one wording (`UNPARSED_REASONS`).
 * Documented in docs/formats.md.
 */
export type UnparsedCode =
  | 'LINE_TOO_LONG'
  | 'STRACE_UNRECOGNISED_LINE'
  | 'STRACE_UNTERMINATED_CALL'
  | 'STRACE_ORPHAN_STACK_FRAME'
  | 'PERF_BAD_LINE'
  | 'PERF_BAD_BODY'
  | 'RUNSC_BAD_LINE'
  | 'RUNSC_BAD_STRACE_LINE'
  | 'RUNSC_UNTERMINATED_ENTRY'
  | 'RUNSC_BAD_EXIT';

/** The free-text reason of each code (LINE_TOO_LONG's names the bound: see `unparsedReason`). */
export const UNPARSED_REASONS: Record<Exclude<UnparsedCode, 'LINE_TOO_LONG'>, string> = {
  STRACE_UNRECOGNISED_LINE: 'expected a syscall, signal, exit or strace message',
  STRACE_UNTERMINATED_CALL: 'a system call the trace ended inside of (no closing parenthesis)',
  STRACE_ORPHAN_STACK_FRAME: 'a -k stack frame with no system call or signal before it',
  PERF_BAD_LINE: 'expected a perf trace line: "TS (DUR ms): comm/tid call"',
  PERF_BAD_BODY: 'expected a syscall, a "[continued]" exit or a tracepoint after comm/tid',
  RUNSC_BAD_LINE: 'expected a runsc debug-log line "I1125 14:48:48.044429 1981 file.go:N] ..."',
  RUNSC_BAD_STRACE_LINE: 'expected "[tgid: tid] comm E|X name(args"',
  RUNSC_UNTERMINATED_ENTRY: 'syscall entry without closing ")"',
  RUNSC_BAD_EXIT: 'syscall exit without "= value (duration)"',
};

/** The reason text of a code; `maxLine` is the bound a LINE_TOO_LONG line exceeded. */
export function unparsedReason(code: UnparsedCode, maxLine: number = DEFAULT_MAX_LINE): string {
  return code === 'LINE_TOO_LONG' ? `line longer than ${maxLine} bytes` : UNPARSED_REASONS[code];
}

/** A line no parser understood: kept whole, never dropped. */
export interface UnparsedEvent extends EventBase {
  kind: 'unparsed';
  text: string;
  /** Why, as a stable code: what scripts should test. */
  code: UnparsedCode;
  /** Why, in words: what the parser expected at that point (`unparsedReason(code)`). */
  reason: string;
  /** The line was longer than the bound and was skipped, not held in memory. */
  truncated?: boolean;
  /** Byte length of the original line, when it was truncated. */
  length?: number;
}

export type TraceEvent =
  | SyscallEvent
  | SignalEvent
  | ExitEvent
  | OutputEvent
  | MessageEvent
  | CommandEvent
  | UnparsedEvent;

/**
 * A syscall whose entry a parser has read and whose exit it has not (yet): what the perf and runsc parsers
 * hold per thread until the exit line comes, or emit with `result: null` when it never does.
 */
export interface PendingCall {
  name: string;
  args: string;
  /** Line of the entry. */
  line: number;
  timestamp?: string;
  comm?: string;
}

/** A call counts (as in `strace -c`) when it completed: any value but a bare `?`. */
export function isCompleted(e: SyscallEvent): boolean {
  return completedResult(e.result);
}

/** isCompleted on a call's result alone (the summary's CallSink gets no event). */
export function completedResult(r: SyscallResult | null): r is SyscallResult {
  return r !== null && !(r.value === '?' && r.errno === undefined);
}

/** An errno return counts as an error, restarts included. */
export function isError(e: SyscallEvent): boolean {
  return e.result !== null && errorResult(e.result);
}

/** isError on a call's result alone. */
export function errorResult(r: SyscallResult): boolean {
  return r.errno !== undefined;
}
