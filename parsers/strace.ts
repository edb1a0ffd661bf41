// Streaming strace 6.1 text parser. Memory stays flat: the only state is one held event (a `-k` stack
// may follow it), the table of `<unfinished ...>` calls per pid, at most one partial call whose line a
// program's output or a strace message broke, and at most two lines that may open a `-c` table.
// Speed: most lines are one complete call, read by strace-line's fastCall straight into an event; the
// rest go through parseText. Lines come in batches, and events leave in batches (parseStraceBatches).

import { open as openFile, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { SignalEvent, SyscallEvent, TraceEvent } from '../src/events.js';
import { DEFAULT_MAX_LINE, readLineBatches, type Line } from './lines.js';
import { decodeLiteral, fastCall, parseText, type FastCall, type Item, type Prefix } from './strace-line.js';
import { headerColumns, isRule } from './strace-c.js';

export interface ParseStraceOptions {
  /** Name reported in every event's `file`. */
  file: string;
  /** Longest line kept; longer ones become `unparsed` with `truncated: true`. */
  maxLine?: number;
  /** Pid of every event whose line names none (a `-ff` file `prefix.1234`). */
  pid?: number;
}

const UNTERMINATED = 'a system call the trace ended inside of (no closing parenthesis)';

/** Line-at-a-time state machine; `parseStrace` feeds it from a stream. */
export class StraceParser {
  private held: SyscallEvent | SignalEvent | null = null;
  /** Exits right after the held call: `-k` prints exit_group's frames after `+++ exited`. */
  private heldExits: TraceEvent[] = [];
  /** Where a `-k` frame goes: the last syscall, emitted or pending. */
  private stackTarget: SyscallEvent | SignalEvent | null = null;
  private readonly pending = new Map<number, SyscallEvent>();
  private partial: { text: string; line: number; mode: 'output' | 'interrupted' } | null = null;
  private readonly items: Item[] = [];
  /** Lines that may open a `-c` table (a personality heading, a header), held until the rule under them. */
  private tableStart: Line[] = [];
  /** Inside a `-c` table: its columns' extents, and whether the closing rule was seen (the total comes next). */
  private table: { cols: number; extents: Array<[number, number]>; syscallAt: number; errorsAt: number; closed: boolean } | null = null;
  /** Scratch for the fast path (one complete call on one line). */
  private readonly fast: FastCall = { pid: null, timestamp: undefined, name: '', args: '', result: { value: '' }, duration: undefined };
  private joinedRun = false;
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
  ) {
    this.defaultPid = defaultPid;
  }

  /** Parses one line; the events it completes are appended to `out`. */
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
        reason: `line longer than ${this.maxLine} bytes`, truncated: true, length: l.length,
      });
      return;
    }
    let text = l.text;
    let lineNo = l.lineNo;
    const partial = this.partial;
    if (this.expected !== null && partial === null && this.expected.rest.startsWith(text + '\n')) {
      this.emit(out, { kind: 'output', file: this.file, line: lineNo, pid: this.expected.pid, text: text + '\n' });
      this.expected.rest = this.expected.rest.slice(text.length + 1);
      if (this.expected.rest === '') this.expected = null;
      return;
    }
    if (partial === null) {
      const f = this.fast;
      if (fastCall(text, this.defaultPid, f)) {
        const ev: SyscallEvent = {
          kind: 'syscall', source: 'strace', file: this.file, line: lineNo, pid: f.pid, name: f.name, args: f.args,
          result: f.result,
        };
        if (f.timestamp !== undefined) ev.timestamp = f.timestamp;
        if (f.duration !== undefined) ev.duration = f.duration;
        this.emit(out, ev);
        return;
      }
      if (!released && mayStartTable(text)) {
        this.tableStart.push(l);
        return;
      }
    } else {
      if (partial.mode === 'interrupted' && !continuesLine(text)) {
        this.finishPartial(out);
      } else if (partial.text.length + text.length + 1 > this.maxLine) {
        this.partial = null;
        this.emit(out, this.unparsed(partial.text, partial.line, UNTERMINATED));
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
        held.push(l);
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
    for (const ev of this.pending.values()) out.push(ev);
    this.pending.clear();
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
      case 'unfinished': {
        const key = item.p.pid ?? -1;
        const old = this.pending.get(key);
        if (old !== undefined) this.emit(out, old);
        const ev = this.syscall(item.p, item.name, item.args, line);
        ev.split = true;
        this.pending.set(key, ev);
        this.stackTarget = ev;
        if (item.name === 'write') {
          const rest = stdWriteText(item.args);
          this.expected = rest === null ? null : { pid: item.p.pid, rest };
        }
        return;
      }
      case 'resumed': {
        if (item.name === 'write') this.expected = null;
        let key = item.p.pid ?? -1;
        let start = this.pending.get(key);
        if (start === undefined && item.p.pid === null) {
          // strace on stderr drops the `[pid N]` prefix again once only one process is left.
          for (const [k, ev] of this.pending) if (ev.name === item.name) { key = k; start = ev; break; }
        }
        let ev: SyscallEvent;
        if (start !== undefined && start.name === item.name) {
          this.pending.delete(key);
          ev = start;
          ev.args += item.args;
          if (ev.comm === undefined && item.p.comm !== undefined) ev.comm = item.p.comm;
        } else {
          if (start !== undefined) { this.pending.delete(key); this.emit(out, start); }
          // A resumption whose start the trace lacks: still one call, never lost.
          ev = this.syscall({ ...item.p, timestamp: undefined }, item.name, item.args, line);
          if (ev.timestamp === undefined) delete ev.timestamp;
        }
        ev.result = item.result;
        ev.split = true;
        ev.endLine = line;
        if (item.p.timestamp !== undefined) ev.endTimestamp = item.p.timestamp;
        if (item.duration !== undefined) ev.duration = item.duration;
        this.emit(out, ev);
        return;
      }
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
        if (start !== undefined) { this.pending.delete(key); this.emit(out, start); }
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
          this.emit(out, this.unparsed(' > ' + item.frame, line, 'a -k stack frame with no system call or signal before it'));
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
        this.emit(out, this.unparsed(item.text, line, item.reason));
        return;
      }
    }
  }

  private syscall(p: Prefix, name: string, args: string, line: number): SyscallEvent {
    const ev: SyscallEvent = { kind: 'syscall', source: 'strace', file: this.file, line, pid: p.pid, name, args, result: null };
    copyPrefix(ev, p);
    if (p.number !== undefined) ev.number = p.number;
    if (p.ip !== undefined) ev.ip = p.ip;
    return ev;
  }

  private unparsed(text: string, line: number, reason: string): TraceEvent {
    return { kind: 'unparsed', file: this.file, line, pid: this.defaultPid, text, reason };
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

  /** Syscalls wait one step: `-k` frames on the following lines belong to them. */
  private emit(out: TraceEvent[], ev: TraceEvent): void {
    if (ev.kind === 'exit' && this.held !== null && this.held.pid === ev.pid) { this.heldExits.push(ev); return; }
    this.flushHeld(out);
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

/** [start, end) of each run of dashes in a rule: strace pads every cell to its column's rule. */
function ruleExtents(rule: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = rule.indexOf('-'); i >= 0; ) {
    let e = i;
    while (rule.charCodeAt(e) === 0x2d) e++;
    out.push([i, e]);
    i = rule.indexOf('-', e);
  }
  return out;
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

/** After a strace message cut a call's line: does this line carry on with that call? */
const STD_WRITE = /^[12](?:<[^>]*>)?, "((?:[^"\\]|\\.)*)", \d+$/;

/** The whole text a `write(1|2, "...", N` will print, or null when strace cut the literal short. */
function stdWriteText(args: string): string | null {
  const m = STD_WRITE.exec(args);
  return m === null ? null : decodeLiteral(m[1]!, 0, m[1]!.length);
}

function continuesLine(text: string): boolean {
  const c = text.charCodeAt(0);
  // clone3's `=> {parent_tid=[N]}` (a value the call changed), or the call turning unfinished.
  return c === 0x2c /* , */ || c === 0x29 /* ) */ || text.startsWith(' <detached ...>') || text.startsWith(' => ') || text.startsWith(' <unfinished ...>');
}

/**
 * Parses strace output (stderr or an `-o` file) as a stream of event batches: the events each input
 * chunk completes, in order (never an empty batch). The fast form: one async step per chunk.
 */
export async function* parseStraceBatches(
  input: AsyncIterable<Buffer | string> | NodeJS.ReadableStream,
  opts: ParseStraceOptions,
): AsyncGenerator<TraceEvent[]> {
  const maxLine = opts.maxLine ?? DEFAULT_MAX_LINE;
  const parser = new StraceParser(opts.file, opts.pid ?? null, maxLine);
  for await (const lines of readLineBatches(input as AsyncIterable<Buffer | string> | Readable, maxLine)) {
    const out: TraceEvent[] = [];
    for (let i = 0; i < lines.length; i++) parser.line(lines[i]!, out);
    if (out.length > 0) yield out;
  }
  const out: TraceEvent[] = [];
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

/**
 * Events one at a time from batches. Hand-written rather than `yield*`: an async generator step per event
 * cost a third of the parse; this one settles each event with one already-resolved promise.
 */
class Unbatch<T> implements AsyncGenerator<T> {
  private batch: T[] = [];
  private i = 0;
  /** A refill in flight: next() calls made meanwhile wait for it, so order is kept. */
  private refilling: Promise<IteratorResult<T>> | null = null;

  constructor(private readonly src: AsyncGenerator<T[]>) {}

  next(): Promise<IteratorResult<T>> {
    if (this.refilling !== null) return this.refilling.then(() => this.next());
    if (this.i < this.batch.length) return Promise.resolve({ value: this.batch[this.i++]!, done: false });
    const p = this.refill();
    this.refilling = p;
    const clear = (): void => { if (this.refilling === p) this.refilling = null; };
    p.then(clear, clear);
    return p;
  }

  private async refill(): Promise<IteratorResult<T>> {
    for (;;) {
      const r = await this.src.next();
      if (r.done === true) { this.batch = []; this.i = 0; return { value: undefined, done: true }; }
      if (r.value.length === 0) continue;
      this.batch = r.value;
      this.i = 1;
      return { value: r.value[0]!, done: false };
    }
  }

  async return(value?: unknown): Promise<IteratorResult<T>> {
    this.batch = [];
    this.i = 0;
    await this.src.return([]);
    return { value: value as T, done: true };
  }

  async throw(err: unknown): Promise<IteratorResult<T>> {
    this.batch = [];
    this.i = 0;
    await this.src.return([]);
    throw err;
  }

  [Symbol.asyncIterator](): AsyncGenerator<T> {
    return this;
  }
}

/** Convenience for tests and small inputs. */
export async function parseStraceText(text: string, file = '<text>'): Promise<TraceEvent[]> {
  const events: TraceEvent[] = [];
  for await (const e of parseStrace(oneChunk(text), { file })) events.push(e);
  return events;
}

const FF_SUFFIX = /\.(\d+)$/;

/** True when the paths are one `strace -ff -o prefix` set: every name is `prefix.<pid>`, same prefix. */
export function isStraceFfSet(paths: string[]): boolean {
  if (paths.length === 0) return false;
  let prefix: string | null = null;
  for (const p of paths) {
    const m = FF_SUFFIX.exec(p);
    if (m === null) return false;
    const pre = p.slice(0, m.index);
    if (prefix === null) prefix = pre;
    else if (pre !== prefix) return false;
  }
  return true;
}

/** The files of an `-ff` set written with `-o prefix`, sorted by pid. */
export async function findStraceFfFiles(prefix: string): Promise<string[]> {
  const dir = dirname(prefix);
  const base = basename(prefix) + '.';
  const names = await readdir(dir);
  return names
    .filter((n) => n.startsWith(base) && /^\d+$/.test(n.slice(base.length)))
    .sort((a, b) => Number(a.slice(base.length)) - Number(b.slice(base.length)))
    .map((n) => join(dir, n));
}

/** Sort key of an absolute timestamp (`-t`, `-tt`, `-ttt`): [seconds, nanoseconds]; null if relative or absent. */
export function timestampKey(ts: string | undefined): [number, number] | null {
  if (ts === undefined) return null;
  const dot = ts.indexOf('.');
  const whole = dot >= 0 ? ts.slice(0, dot) : ts;
  const frac = dot >= 0 ? Number((ts.slice(dot + 1) + '000000000').slice(0, 9)) : 0;
  if (whole.indexOf(':') >= 0) {
    const [h, m, s] = whole.split(':').map(Number);
    return [(h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 0), frac];
  }
  const secs = Number(whole);
  // `-r` prints small relative deltas; `-ttt` prints seconds since the epoch.
  return secs >= 100_000_000 ? [secs, frac] : null;
}

function eventTimestamp(e: TraceEvent): string | undefined {
  return e.timestamp ?? (e.kind === 'syscall' ? e.endTimestamp : undefined);
}

/**
 * Parses an `-ff` set (`prefix.1234`...; each file's pid comes from its suffix). With absolute
 * timestamps the files merge into one trace in time order; otherwise they follow one another.
 */
export async function* parseStraceFiles(paths: string[], maxLine?: number): AsyncGenerator<TraceEvent> {
  const ff = isStraceFfSet(paths);
  const open = (path: string): AsyncGenerator<TraceEvent> => {
    const m = FF_SUFFIX.exec(path);
    const opts: ParseStraceOptions = { file: path };
    if (ff && m !== null) opts.pid = Number(m[1]);
    if (maxLine !== undefined) opts.maxLine = maxLine;
    return parseStrace(fileChunks(path), opts);
  };
  const gens = paths.map(open);
  const heads: (TraceEvent | null)[] = [];
  for (const g of gens) {
    const r = await g.next();
    heads.push(r.done ? null : r.value);
  }
  const mergeable = heads.every((h) => h === null || timestampKey(eventTimestamp(h)) !== null);
  if (!mergeable) {
    for (let i = 0; i < gens.length; i++) {
      if (heads[i] === null) continue;
      yield heads[i]!;
      yield* gens[i]!;
    }
    return;
  }
  // k-way merge; an event without a timestamp keeps its file's last one (ties: earlier file first).
  const keys: ([number, number] | null)[] = heads.map((h) => (h === null ? null : timestampKey(eventTimestamp(h))));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      if (heads[i] === null) continue;
      if (best < 0) { best = i; continue; }
      const a = keys[i]!, b = keys[best]!;
      if (a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])) best = i;
    }
    if (best < 0) return;
    yield heads[best]!;
    const r = await gens[best]!.next();
    if (r.done) { heads[best] = null; continue; }
    heads[best] = r.value;
    const k = timestampKey(eventTimestamp(r.value));
    if (k !== null) keys[best] = k;
  }
}

const FF_CHUNK = 64 * 1024;

/**
 * A file's bytes, reopened for every chunk: merging an -ff set keeps every file's parser alive at once, and
 * holding each one's descriptor ran out of them (EMFILE) past `ulimit -n` files. Chunks are sized to what is
 * left, so each parked parser keeps a small file's bytes, not a whole 64 KiB buffer.
 */
async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  for (let pos = 0; ; ) {
    const fh = await openFile(path, 'r');
    let chunk: Buffer;
    try {
      const want = Math.max(1, Math.min(FF_CHUNK, (await fh.stat()).size - pos));
      const buf = Buffer.allocUnsafeSlow(want);
      chunk = buf.subarray(0, (await fh.read(buf, 0, want, pos)).bytesRead);
    } finally {
      await fh.close();
    }
    if (chunk.length === 0) return;
    pos += chunk.length;
    yield chunk;
  }
}

async function* oneChunk(text: string): AsyncGenerator<string> {
  yield text;
}
