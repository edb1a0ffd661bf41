// The strace parser's state machine, line by line over a stream (strace 6.1 text): memory stays flat. The
// only state is one held event (a `-k` stack may follow it), the table of `<unfinished ...>` calls per pid,
// at most one partial call whose line a program's output or a strace message broke, and at most two lines
// that may open a `-c` table. Speed: most lines are one complete call or one half of a split call, read by
// strace-fast's fastCall straight into an event (the halves through the same unfinished/resumed handling as the
// general path's); the rest go through strace-line's parseText. Lines come in batches, and events leave in
// batches (parseStraceBatches); parseStrace un-batches them (unbatch.ts). -ff sets: strace-ff.ts.

import { unparsedReason, type SignalEvent, type SyscallEvent, type SyscallResult, type TraceEvent, type UnparsedCode } from './events.js';
import { DEFAULT_MAX_LINE, LineSplitter, keepLine, type Line } from './lines.js';
import { FAST_CALL, FAST_NONE, FAST_UNFINISHED, fastCall, fastCallBytes, type FastCall } from './strace-fast.js';
import { continuesCall, parseText, type Item, type Prefix } from './strace-line.js';
import { decodeLiteral } from './strace-scan.js';
import { headerColumns, isRule, ruleExtents } from './strace-c.js';
import { Unbatch } from './unbatch.js';

/**
 * Takes the syscalls the parser completes in place of their events: what `summary` needs of a call and no
 * more (its name, result and -T duration). Every syscall event the parser would emit reaches it once, in the
 * same order, those that never returned (`result: null`) included; every other event is emitted as before.
 */
export interface CallSink {
  call(name: string, result: SyscallResult | null, duration: number | undefined): void;
}

export interface ParseStraceOptions {
  /** Name reported in every event's `file`. */
  file: string;
  /** Longest line kept; longer ones become `unparsed` with `truncated: true`. */
  maxLine?: number;
  /** Pid of every event whose line names none (a `-ff` file `prefix.1234`). */
  pid?: number;
  /** Syscalls go to this sink instead of being emitted as events (parseStraceBatches only). */
  sink?: CallSink;
}

const NOT_SUNK = -2;

/** Where `-k` frames after a call given to a sink go: nowhere (the sink keeps no stack). */
const SINK_TARGET: SyscallEvent = { kind: 'syscall', source: 'strace', file: '', line: 0, pid: null, name: '', args: '', result: null };

/**
 * The `<unfinished ...>` calls waiting for their `<... resumed>`, one a pid (-1: no pid), in the order they
 * were set. A Map from pid to a slot kept across calls, rather than an entry deleted at each resumption and
 * added again at the next start: that churn rehashed the Map every few calls (its set was the parser's
 * costliest line on a threaded trace). Only up to KEPT_SLOTS slots are kept empty; past that a resumed
 * call's slot goes (a trace of ever new pids), so the Map holds the calls pending and at most that many more.
 */
const KEPT_SLOTS = 256;
class PendingCalls {
  private readonly slots = new Map<number, { ev: SyscallEvent | null; seq: number }>();
  private seq = 0;

  get(pid: number): SyscallEvent | undefined {
    return this.slots.get(pid)?.ev ?? undefined;
  }

  set(pid: number, ev: SyscallEvent): void {
    const slot = this.slots.get(pid);
    if (slot === undefined) this.slots.set(pid, { ev, seq: ++this.seq });
    else {
      // Where a Map entry would be: a call set again after its take goes last; one replaced stays where it was.
      if (slot.ev === null) slot.seq = ++this.seq;
      slot.ev = ev;
    }
  }

  /** Removes the call of `pid` (there is one). */
  take(pid: number): void {
    if (this.slots.size > KEPT_SLOTS) this.slots.delete(pid);
    else this.slots.get(pid)!.ev = null;
  }

  /** The pid of the call set first among those named `name`, or undefined. */
  firstNamed(name: string): number | undefined {
    let first: number | undefined;
    let seq = Infinity;
    for (const [pid, slot] of this.slots) if (slot.ev?.name === name && slot.seq < seq) { first = pid; seq = slot.seq; }
    return first;
  }

  /** Every call, in the order they were set; none is left. */
  takeAll(): SyscallEvent[] {
    const live = [...this.slots.values()].filter((slot) => slot.ev !== null).sort((a, b) => a.seq - b.seq);
    this.slots.clear();
    return live.map((slot) => slot.ev!);
  }
}

/** Line-at-a-time state machine; `parseStrace` feeds it from a stream. */
export class StraceParser {
  private held: SyscallEvent | SignalEvent | null = null;
  /** Exits right after the held call: `-k` prints exit_group's frames after `+++ exited`. */
  private heldExits: TraceEvent[] = [];
  /** Where a `-k` frame goes: the last syscall, emitted or pending. */
  private stackTarget: SyscallEvent | SignalEvent | null = null;
  private readonly pending = new PendingCalls();
  private partial: { text: string; line: number; mode: 'output' | 'interrupted' } | null = null;
  private readonly items: Item[] = [];
  /** Lines that may open a `-c` table (a personality heading, a header), held until the rule under them. */
  private tableStart: Line[] = [];
  /** Inside a `-c` table: its columns' extents, and whether the closing rule was seen (the total comes next). */
  private table: { cols: number; extents: Array<[number, number]>; syscallAt: number; errorsAt: number; closed: boolean } | null = null;
  /** Scratch for the fast path (one complete call, or one half of a split call, on one line). */
  private readonly fast: FastCall = { pid: null, timestamp: undefined, name: '', args: '', result: { value: '' }, duration: undefined };
  /** The fast path's prefix, for the split-call handling it shares with the general path (never kept). */
  private readonly fastPrefix: Prefix = { pid: null, timestamp: undefined };
  private joinedRun = false;
  /** The pid of the call last given to the sink, while no other event followed it (NOT_SUNK otherwise). */
  private sunkPid: number | null | typeof NOT_SUNK = NOT_SUNK;
  private readonly defaultPid: number | null;
  /**
   * A write to fd 1 or 2 printed as `<unfinished ...>`: its text (from the string literal) is what the
   * program's own output, sharing the stream, will put on the next lines.
   */
  private expected: { pid: number | null; rest: string } | null = null;

  constructor(
    private readonly file: string,
    defaultPid: number | null = null,
    private readonly maxLine: number = DEFAULT_MAX_LINE,
    private readonly sink: CallSink | null = null,
  ) {
    this.defaultPid = defaultPid;
  }

  /** Parses one line (kept only as a copy: it may be a LineSplitter's reused record); the events it completes are appended to `out`. */
  line(l: Line, out: TraceEvent[]): void {
    if ((this.table !== null || this.tableStart.length > 0) && this.tableLine(l, out)) return;
    this.traceLine(l, out);
  }

  /** `released`: a line held as a possible table start that turned out not to be one. */
  private traceLine(l: Line, out: TraceEvent[], released = false): void {
    if (l.tooLong) {
      this.finishPartial(out);
      this.emit(out, {
        kind: 'unparsed', file: this.file, line: l.lineNo, pid: this.defaultPid, text: l.text,
        code: 'LINE_TOO_LONG', reason: unparsedReason('LINE_TOO_LONG', this.maxLine), truncated: true, length: l.length,
      });
      return;
    }
    let lineNo = l.lineNo;
    const partial = this.partial;
    if (this.expected !== null && partial === null && this.expected.rest.startsWith(l.text + '\n')) {
      const text = l.text;
      this.emit(out, { kind: 'output', file: this.file, line: lineNo, pid: this.expected.pid, text: text + '\n' });
      this.expected.rest = this.expected.rest.slice(text.length + 1);
      if (this.expected.rest === '') this.expected = null;
      return;
    }
    if (partial === null) {
      const f = this.fast;
      // With a sink nothing reads a call's timestamp or arguments (but an unfinished write's: stdWriteText), so
      // the fast path reads the line from its bytes, without its text.
      const light = this.sink !== null;
      const kind = l.bytes !== undefined
        ? fastCallBytes(l.bytes, l.start!, l.end! - l.start!, light ? null : l.text, this.defaultPid, f, light)
        : fastCall(l.text, this.defaultPid, f);
      if (kind === FAST_CALL) {
        if (this.sink !== null) {
          this.toSink(this.sink, out, f.name, f.result, f.duration, f.pid);
          return;
        }
        const ev: SyscallEvent = {
          kind: 'syscall', source: 'strace', file: this.file, line: lineNo, pid: f.pid, name: f.name, args: f.args,
          result: f.result,
        };
        if (f.timestamp !== undefined) ev.timestamp = f.timestamp;
        if (f.duration !== undefined) ev.duration = f.duration;
        this.emit(out, ev);
        return;
      }
      if (kind !== FAST_NONE) {
        const p = this.fastPrefix;
        p.pid = f.pid;
        p.timestamp = f.timestamp;
        if (kind === FAST_UNFINISHED) this.unfinished(p, f.name, f.args, lineNo, out);
        else this.resumed(p, f.name, f.args, f.result, f.duration, lineNo, out);
        return;
      }
      if (!released && mayStartTable(l.text)) {
        this.tableStart.push(keepLine(l));
        return;
      }
    }
    let text = l.text;
    if (partial !== null) {
      if (partial.mode === 'interrupted' && !continuesLine(text)) {
        this.finishPartial(out);
      } else if (partial.text.length + text.length + 1 > this.maxLine) {
        this.partial = null;
        this.emit(out, this.unparsed(partial.text, partial.line, 'STRACE_UNTERMINATED_CALL'));
      } else {
        this.partial = null;
        text = partial.text + '\n' + text;
        lineNo = partial.line;
        this.joinedRun = true;
      }
    }
    this.run(text, lineNo, false, out);
    this.joinedRun = false;
  }

  /**
   * strace's own `-c` table after a `-C` trace: its heading, header, rules, rows and total become
   * `message` events. Returns false when `l` is not part of the table (it is then parsed as trace).
   */
  private tableLine(l: Line, out: TraceEvent[]): boolean {
    const text = l.text;
    const table = this.table;
    if (table !== null) {
      if (!l.tooLong && (isRule(text, table.cols) ? !table.closed : isRow(text, table, table.closed))) {
        this.message(l, out);
        if (table.closed) this.table = null;
        else if (text.charCodeAt(0) === 0x2d /* - */) table.closed = true;
        return true;
      }
      this.table = null;
      return false;
    }
    const held = this.tableStart;
    const header = held[held.length - 1]!;
    const cols = headerColumns(header.text);
    if (!l.tooLong) {
      if (cols === null && headerColumns(text) !== null) {
        // A personality heading, then the header.
        held.push(keepLine(l));
        return true;
      }
      if (cols !== null && isRule(text, cols.length)) {
        this.tableStart = [];
        for (const h of held) this.message(h, out);
        this.message(l, out);
        this.table = { cols: cols.length, extents: ruleExtents(text), syscallAt: cols.indexOf('syscall'), errorsAt: cols.indexOf('errors'), closed: false };
        return true;
      }
    }
    // Not a table after all: the held lines are trace lines like any other.
    this.tableStart = [];
    for (const h of held) this.traceLine(h, out, true);
    return false;
  }

  private message(l: Line, out: TraceEvent[]): void {
    this.emit(out, { kind: 'message', file: this.file, line: l.lineNo, pid: this.defaultPid, text: l.text });
  }

  /** End of input: completes what is held and emits calls that never resumed with `result: null`. */
  end(out: TraceEvent[]): void {
    if (this.tableStart.length > 0) {
      const held = this.tableStart;
      this.tableStart = [];
      for (const h of held) this.traceLine(h, out, true);
    }
    this.table = null;
    this.finishPartial(out);
    this.flushHeld(out);
    for (const ev of this.pending.takeAll()) {
      if (this.sink !== null) this.sink.call(ev.name, ev.result, ev.duration);
      else out.push(ev);
    }
  }

  private finishPartial(out: TraceEvent[]): void {
    const partial = this.partial;
    if (partial === null) return;
    this.partial = null;
    this.run(partial.text, partial.line, true, out);
  }

  private run(text: string, lineNo: number, final: boolean, out: TraceEvent[]): void {
    const items = this.items;
    parseText(text, items, final, this.defaultPid);
    // Joined lines (rare) hold newlines: their items' lines are counted from the first.
    const joined = this.joinedRun || final;
    for (let k = 0; k < items.length; k++) {
      const item = items[k]!;
      const line = joined ? lineNo + countNewlines(text, item.at) : lineNo;
      if (item.t === 'incomplete') {
        this.partial = { text: text.slice(item.at), line, mode: item.mode };
        break;
      }
      this.handle(item, line, out);
    }
    items.length = 0;
  }

  private handle(item: Exclude<Item, { t: 'incomplete' }>, line: number, out: TraceEvent[]): void {
    const file = this.file;
    switch (item.t) {
      case 'call': {
        const ev = this.syscall(item.p, item.name, item.args, line);
        ev.result = item.result;
        if (item.result === null) ev.split = true;
        if (item.duration !== undefined) ev.duration = item.duration;
        this.emit(out, ev);
        return;
      }
      case 'detached': {
        this.emit(out, this.syscall(item.p, item.name, item.args, line));
        return;
      }
      case 'unfinished':
        this.unfinished(item.p, item.name, item.args, line, out);
        return;
      case 'resumed':
        this.resumed(item.p, item.name, item.args, item.result, item.duration, line, out);
        return;
      case 'signal': {
        const ev: TraceEvent = { kind: 'signal', file, line, pid: item.p.pid, signal: item.signal, info: item.info };
        copyPrefix(ev, item.p);
        if (item.stopped) ev.stopped = true;
        this.emit(out, ev);
        return;
      }
      case 'exit': {
        const key = item.p.pid ?? -1;
        const start = this.pending.get(key);
        // The process died inside the call: it never returns.
        if (start !== undefined) { this.pending.take(key); this.emit(out, start); }
        const ev: TraceEvent = { kind: 'exit', file, line, pid: item.p.pid, how: item.how };
        copyPrefix(ev, item.p);
        if (item.code !== undefined) ev.code = item.code;
        if (item.signal !== undefined) ev.signal = item.signal;
        if (item.coreDumped) ev.coreDumped = true;
        this.emit(out, ev);
        return;
      }
      case 'message': {
        const ev: TraceEvent = { kind: 'message', file, line, pid: item.p.pid, text: item.text };
        copyPrefix(ev, item.p);
        this.emit(out, ev);
        return;
      }
      case 'output':
        this.emit(out, { kind: 'output', file, line, pid: item.pid, text: item.text });
        return;
      case 'command':
        this.emit(out, { kind: 'command', file, line, pid: this.defaultPid, text: item.text, prompt: item.prompt, argv: item.argv, command: item.command });
        return;
      case 'stack': {
        const target = this.stackTarget;
        if (target === null) {
          this.emit(out, this.unparsed(' > ' + item.frame, line, 'STRACE_ORPHAN_STACK_FRAME'));
          return;
        }
        (target.stack ??= []).push(item.frame);
        return;
      }
      case 'unparsed': {
        // Flattened: the output of an unfinished write to fd 1/2 stands between events, its newlines now spaces.
        const shown = this.expected?.rest.replace(/\n/g, ' ').trimEnd();
        if (this.expected !== null && shown === item.text) {
          this.emit(out, { kind: 'output', file, line, pid: this.expected.pid, text: this.expected.rest });
          this.expected = null;
          return;
        }
        this.emit(out, this.unparsed(item.text, line, item.code));
        return;
      }
    }
  }

  /** `name(args <unfinished ...>`: held per pid until its `<... name resumed>`. `p` is not kept. */
  private unfinished(p: Prefix, name: string, args: string, line: number, out: TraceEvent[]): void {
    const key = p.pid ?? -1;
    const old = this.pending.get(key);
    if (old !== undefined) this.emit(out, old);
    const ev = this.syscall(p, name, args, line);
    ev.split = true;
    this.pending.set(key, ev);
    this.stackTarget = ev;
    if (name === 'write') {
      const rest = stdWriteText(args);
      this.expected = rest === null ? null : { pid: p.pid, rest };
    }
  }

  /** `<... name resumed>args) = result`: completes the held start, or stands alone. `p` is not kept. */
  private resumed(
    p: Prefix, name: string, args: string, result: SyscallResult | null, duration: number | undefined, line: number, out: TraceEvent[],
  ): void {
    if (name === 'write') this.expected = null;
    let key = p.pid ?? -1;
    let start = this.pending.get(key);
    if (start === undefined && p.pid === null) {
      // strace on stderr drops the `[pid N]` prefix again once only one process is left.
      const first = this.pending.firstNamed(name);
      if (first !== undefined) { key = first; start = this.pending.get(first); }
    }
    let ev: SyscallEvent;
    if (start !== undefined && start.name === name && this.sink !== null) {
      // What the lines below do, but for the event's fields nothing reads once it is sunk.
      this.pending.take(key);
      this.toSink(this.sink, out, name, result, duration !== undefined ? duration : start.duration, start.pid);
      return;
    }
    if (start !== undefined && start.name === name) {
      this.pending.take(key);
      ev = start;
      ev.args += args;
      if (ev.comm === undefined && p.comm !== undefined) ev.comm = p.comm;
    } else {
      if (start !== undefined) { this.pending.take(key); this.emit(out, start); }
      // A resumption whose start the trace lacks: still one call, never lost.
      ev = this.syscall({ ...p, timestamp: undefined }, name, args, line);
      if (ev.timestamp === undefined) delete ev.timestamp;
    }
    ev.result = result;
    ev.split = true;
    ev.endLine = line;
    if (p.timestamp !== undefined) ev.endTimestamp = p.timestamp;
    if (duration !== undefined) ev.duration = duration;
    this.emit(out, ev);
  }

  private syscall(p: Prefix, name: string, args: string, line: number): SyscallEvent {
    const ev: SyscallEvent = { kind: 'syscall', source: 'strace', file: this.file, line, pid: p.pid, name, args, result: null };
    copyPrefix(ev, p);
    if (p.number !== undefined) ev.number = p.number;
    if (p.ip !== undefined) ev.ip = p.ip;
    return ev;
  }

  private unparsed(text: string, line: number, code: UnparsedCode): TraceEvent {
    return { kind: 'unparsed', file: this.file, line, pid: this.defaultPid, text, code, reason: unparsedReason(code) };
  }

  private flushHeld(out: TraceEvent[]): void {
    if (this.held === null) return;
    out.push(this.held);
    this.held = null;
    if (this.heldExits.length > 0) {
      for (const e of this.heldExits) out.push(e);
      this.heldExits = [];
    }
  }

  /**
   * What emit() does with a syscall event when there is a sink, from the call's parts (the fast path and a
   * resumption make no event). `-k` frames after the call go nowhere, as they would go to its event.
   */
  private toSink(sink: CallSink, out: TraceEvent[], name: string, result: SyscallResult | null, duration: number | undefined, pid: number | null): void {
    this.flushHeld(out);
    sink.call(name, result, duration);
    SINK_TARGET.stack = undefined;
    this.stackTarget = SINK_TARGET;
    this.sunkPid = pid;
  }

  /** Syscalls wait one step: `-k` frames on the following lines belong to them. */
  private emit(out: TraceEvent[], ev: TraceEvent): void {
    if (ev.kind === 'exit' && this.held !== null && this.held.pid === ev.pid) { this.heldExits.push(ev); return; }
    // After a call given to the sink, its process's exit: -k frames after it still belong to the call.
    if (ev.kind === 'exit' && this.sunkPid !== NOT_SUNK && this.sunkPid === ev.pid) { out.push(ev); return; }
    if (ev.kind === 'syscall' && this.sink !== null) {
      this.toSink(this.sink, out, ev.name, ev.result, ev.duration, ev.pid);
      return;
    }
    this.flushHeld(out);
    this.sunkPid = NOT_SUNK;
    // -k frames on the following lines belong to a syscall, or to a signal (where it was delivered).
    if (ev.kind === 'syscall' || ev.kind === 'signal') { this.held = ev; this.stackTarget = ev; return; }
    this.stackTarget = null;
    out.push(ev);
  }
}

function copyPrefix(ev: { comm?: string; timestamp?: string }, p: Prefix): void {
  if (p.comm !== undefined) ev.comm = p.comm;
  if (p.timestamp !== undefined) ev.timestamp = p.timestamp;
}

function countNewlines(s: string, end: number): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0 && i < end; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

const HEADING = /^System call usage summary for .+ mode:$/;

/** A line that may open a `-c` table: strace's personality heading, or a header naming its columns. */
function mayStartTable(text: string): boolean {
  return HEADING.test(text) || (text.indexOf('syscall') >= 0 && headerColumns(text) !== null);
}

const ROW_NUMBER = /^\d+(?:\.\d+)?$/;
const ROW_NAME = /^[A-Za-z_]\w*$/;

/** A table row cut by the rule's extents: numbers in every cell (errors may be blank), a name (or `total`). */
function isRow(text: string, t: { cols: number; extents: Array<[number, number]>; syscallAt: number; errorsAt: number }, total: boolean): boolean {
  if (t.extents.length !== t.cols) return false;
  for (let c = 0; c < t.cols; c++) {
    const [s, e] = t.extents[c]!;
    if (s > 0 && text.charCodeAt(s - 1) !== 0x20) return false;
    // The last column is printed unpadded and may run past its rule (a long syscall name).
    const cell = text.slice(s, c === t.cols - 1 ? undefined : e).trim();
    if (c === t.syscallAt) {
      if (total ? cell !== 'total' : !ROW_NAME.test(cell) || cell === 'total') return false;
    } else if (!(ROW_NUMBER.test(cell) || (cell === '' && c === t.errorsAt))) return false;
  }
  return true;
}

const STD_WRITE = /^[12](?:<[^>]*>)?, "((?:[^"\\]|\\.)*)", \d+$/;

/** The whole text a `write(1|2, "...", N` will print, or null when strace cut the literal short. */
function stdWriteText(args: string): string | null {
  // What the pattern needs first, checked by hand: fd 1 or 2, and a whole literal (`"...", N`, not `"..."..., N`).
  const c = args.charCodeAt(0);
  if ((c !== 0x31 && c !== 0x32) || args.length < 2) return null;
  const comma = args.lastIndexOf(', ');
  if (comma < 1 || args.charCodeAt(comma - 1) !== 0x22 /* " */) return null;
  const m = STD_WRITE.exec(args);
  return m === null ? null : decodeLiteral(m[1]!, 0, m[1]!.length);
}

/** After a strace message cut a call's line: does this line carry on with that call (or make it unfinished)? */
function continuesLine(text: string): boolean {
  return continuesCall(text, 0) || text.startsWith(' <unfinished ...>');
}

/**
 * Lines per event batch, whatever the input's chunk size (256 KiB from a file): a consumer that spends a
 * promise or two per event lets young garbage pile up while a batch is consumed, and every event and line of
 * a big batch still held then is copied by the scavenger; small batches keep that live set small.
 */
const BATCH_LINES = 256;

/**
 * Parses strace output (stderr or an `-o` file) as a stream of event batches: the events each run of at
 * most BATCH_LINES lines of an input chunk completes, in order (never an empty batch). The fast form: one
 * async step per batch, not per event.
 */
export async function* parseStraceBatches(
  input: AsyncIterable<Buffer | string> | NodeJS.ReadableStream,
  opts: ParseStraceOptions,
): AsyncGenerator<TraceEvent[]> {
  const maxLine = opts.maxLine ?? DEFAULT_MAX_LINE;
  const parser = new StraceParser(opts.file, opts.pid ?? null, maxLine, opts.sink ?? null);
  const lines = new LineSplitter(maxLine);
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    lines.push(chunk);
    for (let l = lines.next(); l !== null;) {
      const out: TraceEvent[] = [];
      for (let k = 0; k < BATCH_LINES && l !== null; k++, l = lines.next()) parser.line(l, out);
      if (out.length > 0) yield out;
    }
  }
  const out: TraceEvent[] = [];
  const last = lines.end();
  if (last !== null) parser.line(last, out);
  parser.end(out);
  if (out.length > 0) yield out;
}

/**
 * Parses strace output (stderr or an `-o` file) as a stream of events. Lines it does not understand
 * become `unparsed` events; nothing is dropped and nothing throws on bad input.
 */
export function parseStrace(
  input: AsyncIterable<Buffer | string> | NodeJS.ReadableStream,
  opts: ParseStraceOptions,
): AsyncGenerator<TraceEvent> {
  return new Unbatch(parseStraceBatches(input, opts));
}


/** Convenience for tests and small inputs. */
export async function parseStraceText(text: string, file = '<text>'): Promise<TraceEvent[]> {
  const events: TraceEvent[] = [];
  for await (const e of parseStrace(oneChunk(text), { file })) events.push(e);
  return events;
}

async function* oneChunk(text: string): AsyncGenerator<string> {
  yield text;
}
