// Renders an event back as strace text, such that parsing it again gives the same event (line
// numbers aside). A split call renders as its `<unfinished ...>` and `<... resumed>` lines.

import type { SyscallEvent, SyscallResult, TraceEvent } from './events.js';

function prefix(pid: number | null, comm: string | undefined, timestamp: string | undefined, e?: SyscallEvent): string {
  let s = '';
  if (pid !== null) s += comm !== undefined ? `${pid}<${comm}> ` : `${pid} `;
  if (timestamp !== undefined) s += timestamp + ' ';
  if (e?.number !== undefined) s += `[${String(e.number).padStart(4)}] `;
  if (e?.ip !== undefined) s += `[${e.ip}] `;
  return s;
}

function result(r: SyscallResult, duration: number | undefined): string {
  let s = ` = ${r.value}`;
  let note = r.annotation;
  // A decoration glued to the value (`3</etc/passwd>`) is printed glued again.
  if (note !== undefined && note.startsWith('<') && r.errno === undefined) {
    const end = gluedEnd(note);
    s += note.slice(0, end);
    note = note.slice(end).trimStart() || undefined;
  }
  if (r.errno !== undefined) s += ' ' + r.errno;
  if (r.errnoMessage !== undefined) s += ` (${r.errnoMessage})`;
  if (note !== undefined) s += ' ' + note;
  if (duration !== undefined) s += ` <${duration.toFixed(6)}>`;
  return s;
}

/** End of the first `<...>` group of an annotation (brackets inside are skipped). */
function gluedEnd(note: string): number {
  let sq = 0;
  for (let i = 1; i < note.length; i++) {
    const c = note[i];
    if (c === '[') sq++;
    else if (c === ']') sq = Math.max(0, sq - 1);
    else if (c === '>' && sq === 0) return i + 1;
  }
  return note.length;
}

function renderSyscall(e: SyscallEvent): string {
  const stack = e.stack?.map((f) => '\n > ' + f).join('') ?? '';
  if (!e.split) {
    const head = prefix(e.pid, e.comm, e.timestamp, e) + `${e.name}(${e.args}`;
    if (e.result === null) return head + ' <detached ...>' + stack;
    return head + ')' + result(e.result, e.duration) + stack;
  }
  const end = prefix(e.pid, e.comm, e.endTimestamp, e) + `<... ${e.name} resumed>`;
  const tail = e.result === null ? ' <unfinished ...>) = ?' : ')' + result(e.result, e.duration);
  // A resumption whose start the trace lacked: only the resumed half.
  if (e.timestamp === undefined && e.endTimestamp !== undefined) return end + e.args + tail + stack;
  const start = prefix(e.pid, e.comm, e.timestamp, e) + `${e.name}(${e.args} <unfinished ...>`;
  // Never resumed: the process died (or the trace ended) inside the call.
  if (e.result === null && e.endTimestamp === undefined && e.endLine === undefined) return start + stack;
  return start + '\n' + end + tail + stack;
}

/** One event as strace prints it (several lines for a split call or a `-k` stack). */
export function renderStraceEvent(e: TraceEvent): string {
  switch (e.kind) {
    case 'syscall':
      return renderSyscall(e);
    case 'signal': {
      const body = e.stopped ? `--- stopped by ${e.signal} ---` : e.info === '' ? `--- ${e.signal} ---` : `--- ${e.signal} ${e.info} ---`;
      return prefix(e.pid, e.comm, e.timestamp) + body + (e.stack?.map((f) => '\n > ' + f).join('') ?? '');
    }
    case 'exit': {
      const what = e.how === 'exited' ? `exited with ${e.code ?? 0}` : `killed by ${e.signal ?? 'SIGKILL'}${e.coreDumped ? ' (core dumped)' : ''}`;
      return prefix(e.pid, e.comm, e.timestamp) + `+++ ${what} +++`;
    }
    case 'message':
      return prefix(e.pid, e.comm, e.timestamp) + e.text;
    case 'output':
      return e.text;
    case 'command':
    case 'unparsed':
      return e.text;
  }
}
