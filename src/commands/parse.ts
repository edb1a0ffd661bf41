// `trace-compare parse`: events out, one JSON object a line (jsonl), a JSON array, or a readable table.

import type { TraceEvent, TraceSource } from '../../parsers/events.js';
import type { ParseFormat } from './saved-options.js';
import { Diagnostics, newTally, tally } from '../diagnostics.js';
import { openInputs } from '../input.js';
import { outputClosed, writeOut } from '../output.js';
import { parseArgs, type ArgNode } from '../../parsers/strace-args.js';
import { headerColumns } from '../../parsers/strace-c.js';
import { escapeControls, terminalSafeJson } from '../report/escape.js';

/** `--args`: each syscall also carries its arguments as a typed tree (parsed only when asked for). */
function withArgTree(e: TraceEvent): TraceEvent | (TraceEvent & { argTree: ArgNode[] }) {
  return e.kind === 'syscall' && e.source === 'strace' ? { ...e, argTree: parseArgs(e.args) } : e;
}

export async function runParse(files: string[], format: ParseFormat, diag: Diagnostics, forced?: TraceSource, args = false): Promise<void> {
  const inputs = await openInputs(files, forced);
  let first = true;
  if (format === 'json') await writeOut('[');
  for (const input of inputs) {
    const t = newTally();
    for await (const raw of diag.watch(input.events)) {
      // The reader went away (`| head`): nothing more can be shown, so stop reading instead of parsing to the end.
      if (outputClosed()) return;
      tally(t, raw);
      const e = args ? withArgTree(raw) : raw;
      // The trace's own text (program output, file names) must not reach the terminal as control sequences.
      if (format === 'jsonl') await writeOut(terminalSafeJson(JSON.stringify(e)) + '\n');
      else if (format === 'json') await writeOut((first ? '\n' : ',\n') + terminalSafeJson(JSON.stringify(e)));
      else await writeOut(escapeControls(tableLine(e)) + '\n');
      first = false;
    }
    // Nothing but program output or nothing at all: say so, and why (a trace sent to the terminal).
    if (t.syscalls === 0 && !tableOnly(t)) diag.noSyscallIn(input.file, t, input.format);
  }
  if (format === 'json') await writeOut(first ? ']\n' : '\n]\n');
}

/** An input holding strace's own -c table and nothing else: its rows are messages, and that is no mistake. */
function tableOnly(t: { events: number; messages: number; firstMessage?: string }): boolean {
  return t.events > 0 && t.messages === t.events && t.firstMessage !== undefined && (headerColumns(t.firstMessage) !== null || /^System call usage summary for /.test(t.firstMessage));
}

/** One fixed-width line per event: streaming, so a 150 MB trace never sits in memory as a table. */
function tableLine(e: TraceEvent): string {
  const where = `${e.file}:${e.line}`.padEnd(18);
  const pid = (e.pid === null ? '' : String(e.pid)).padStart(7);
  switch (e.kind) {
    case 'syscall': {
      const r = e.result;
      const ret = r === null ? '<unfinished>' : [r.value, r.errno, r.errnoMessage && `(${r.errnoMessage})`].filter(Boolean).join(' ');
      return `${where} ${pid} syscall  ${e.name}(${clip(e.args, 60)}) = ${ret}`;
    }
    case 'signal':
      return `${where} ${pid} signal   ${e.signal}`;
    case 'exit':
      return `${where} ${pid} exit     ${e.how === 'exited' ? `exited with ${e.code}` : `killed by ${e.signal}`}`;
    case 'output':
      return `${where} ${pid} output   ${JSON.stringify(e.text)}`;
    case 'message':
      return `${where} ${pid} message  ${e.text}`;
    case 'command':
      return `${where} ${pid} command  ${e.text}`;
    case 'unparsed':
      return `${where} ${pid} unparsed ${JSON.stringify(clip(e.text, 80))}`;
  }
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}
