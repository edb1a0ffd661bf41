// The host-kernel view of a run taken by perf: the fallback where bpftrace cannot count in the kernel
// (src/runners/bpf-count.ts, the product's mechanism), and the mechanisms the tests and the bench compare
// it with. What perf records around the run and how the record becomes the text the perf-trace parser reads.
//
// During the run perf only records (`perf trace record`: the raw_syscalls enter/exit tracepoints and the
// sched fork/exec tracepoints, written unformatted to a perf.data file). Formatting every event live
// (`perf trace -o FILE`) cost 5x the recording on a 170,000-syscall `find`. Afterwards:
//   - `perf trace -i DATA` replays the syscalls in the same text format perf trace prints live (times
//     relative to the recording's first event, as live);
//   - `perf trace -i` prints no tracepoint other than the syscalls, so the sched:sched_process_fork and
//     sched:sched_process_exec events (exact host pids for parent and child across pid namespaces) come
//     from `perf script` and are put back where live perf trace prints them: a fork before the parent's
//     clone/fork/vfork call that made it (and before the child's first line), an exec before the
//     execve that performed it. Attribution reads the merged text exactly as it read live output.

import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { loadExeca } from '../load-execa.js';
import { readLines, DEFAULT_MAX_LINE } from '../../parsers/lines.js';

const SCHED_EVENTS = 'sched:sched_process_fork,sched:sched_process_exec';

/**
 * How the host kernel's view is taken: argv prefix wrapped around the run, and the step that turns what
 * perf wrote into perf trace text at `textFile`. The product has one (RECORD_THEN_REPLAY); tests may pass
 * another to compare mechanisms.
 */
export interface HostTracer {
  /** perf's arguments up to and including `--`, writing to `dataFile`. */
  args(dataFile: string): string[];
  /** Makes `textFile` (perf trace text) from `dataFile`, then may remove the data file; throws when it cannot. */
  finish(perf: string, dataFile: string, textFile: string): Promise<void>;
}

// -m 1024: 4 MiB ring buffers, so the bursts of gVisor's ptrace platform lose no events (the default lost
// thousands on python3 -c). The fork/exec tracepoints give exact host pids for parent and child: inside a
// pid namespace perf prints clone's return as the namespace-local pid, which can name an unrelated thread.
export const RECORD_THEN_REPLAY: HostTracer = {
  // --no-bpf-event: perf record's side-band thread for BPF events (which we do not use) holds its exit for
  // up to a second (measured: `uname -r` under it 1.18 s, without 0.35 s).
  args: (dataFile) => ['trace', 'record', '-q', '--no-bpf-event', '-m', '1024', '-e', SCHED_EVENTS, '-o', dataFile, '--'],
  finish: async (perf, dataFile, textFile) => {
    const replayFile = `${textFile}.replay`;
    const execa = await loadExeca();
    try {
      const [replay, sched] = await Promise.all([
        execa(perf, ['trace', '-f', '-i', dataFile, '-o', replayFile], { stdin: 'ignore', reject: false, stdout: 'ignore', stderr: 'pipe' }),
        schedEvents(perf, dataFile),
      ]);
      if (replay.exitCode !== 0) throw new Error(`perf trace -i ${dataFile} exited ${replay.exitCode}: ${String(replay.stderr).trim().slice(-300)}`);
      await mergeSchedEvents(replayFile, sched.events, sched.firstNs, textFile);
      await rm(dataFile, { force: true });
    } finally {
      // A record that could not be read stays (for --keep-temp, and so a full trace disk is still seen full).
      await rm(replayFile, { force: true });
    }
  },
};

/** One sched tracepoint as `perf script -F tid,time,event,trace --ns` prints it. */
export interface SchedEvent {
  tid: number;
  /** Nanoseconds, perf's clock. */
  ns: number;
  kind: 'fork' | 'exec';
  /** fork: parent comm, pid, child comm, pid. */
  parentComm?: string;
  parentPid?: number;
  childComm?: string;
  childPid?: number;
  /** exec: filename, new pid, pid before the exec (a non-leader thread's exec takes the leader's pid). */
  filename?: string;
  pid?: number;
  oldPid?: number;
}

const SCRIPT_LINE = /^\s*(\d+)\s+(\d+)\.(\d{9}):\s+sched:sched_process_(fork|exec):\s(.*)$/;
const FORK_FIELDS = /^comm=(.*) pid=(\d+) child_comm=(.*) child_pid=(\d+)$/;
const EXEC_FIELDS = /^filename=(.*) pid=(\d+) old_pid=(\d+)$/;

export function parseSchedLine(line: string): SchedEvent | null {
  const m = SCRIPT_LINE.exec(line);
  if (!m) return null;
  const base = { tid: Number(m[1]), ns: Number(m[2]) * 1e9 + Number(m[3]) };
  if (m[4] === 'fork') {
    const f = FORK_FIELDS.exec(m[5]!);
    return f ? { ...base, kind: 'fork', parentComm: f[1]!, parentPid: Number(f[2]), childComm: f[3]!, childPid: Number(f[4]) } : null;
  }
  const x = EXEC_FIELDS.exec(m[5]!);
  return x ? { ...base, kind: 'exec', filename: x[1]!, pid: Number(x[2]), oldPid: Number(x[3]) } : null;
}

/**
 * The sched events of a recording, in time order, and the time of its first event (the zero of perf
 * trace's relative times). perf script prints every event; the few sched lines are found in its output
 * with Buffer.indexOf, without splitting millions of syscall lines into strings.
 */
async function schedEvents(perf: string, dataFile: string): Promise<{ events: SchedEvent[]; firstNs: number }> {
  const execa = await loadExeca();
  const child = execa(perf, ['script', '-f', '-i', dataFile, '--ns', '-F', 'tid,time,event,trace'], {
    stdin: 'ignore', stderr: 'pipe', reject: false, buffer: { stdout: false }, encoding: 'buffer',
  });
  const events: SchedEvent[] = [];
  let firstNs: number | null = null;
  let carry: Buffer = Buffer.alloc(0);
  const needle = Buffer.from(' sched:sched_process_');
  for await (const chunk of child.stdout! as AsyncIterable<Buffer>) {
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    const lastNl = buf.lastIndexOf(10);
    if (lastNl === -1) {
      carry = buf.length > 1 << 20 ? Buffer.alloc(0) : buf;
      continue;
    }
    if (firstNs === null) {
      const m = /^\s*\d+\s+(\d+)\.(\d{9}):/.exec(buf.subarray(0, buf.indexOf(10)).toString('latin1'));
      if (m) firstNs = Number(m[1]) * 1e9 + Number(m[2]);
    }
    for (let at = buf.indexOf(needle); at !== -1 && at < lastNl; at = buf.indexOf(needle, at + 1)) {
      const start = buf.lastIndexOf(10, at) + 1;
      const end = buf.indexOf(10, at);
      const e = parseSchedLine(buf.subarray(start, end).toString('utf8'));
      if (e) events.push(e);
      at = end;
    }
    carry = Buffer.from(buf.subarray(lastNl + 1));
  }
  const r = await child;
  if (r.exitCode !== 0) throw new Error(`perf script -i ${dataFile} exited ${r.exitCode}: ${String(r.stderr).trim().slice(-300)}`);
  return { events: events.sort((a, b) => a.ns - b.ns), firstNs: firstNs ?? events[0]?.ns ?? 0 };
}

const HEAD = /^(\s*)(\d+\.\d+|\?) (\((?:\s*\d+\.\d+ ms|\s*)\): )(.*)$/;
const COMM_TID = /^(.{0,14}?)\/(\d+) (.*)$/;
const ENTRY = /^(\w+)\(.*(?:\)\s*=.*|\)\s+\.\.\.)$/;
const CONTINUED = /^ ?\.\.\. \[continued\]: (\w+)\(\)\)/;
const CLONES = new Set(['clone', 'clone3', 'fork', 'vfork']);
const EXECS = new Set(['execve', 'execveat']);

interface CallLine {
  line: number;
  /** Entry time in microseconds (perf's %.3f ms), null on an exit printed alone. */
  us: number | null;
  name: string;
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/**
 * Writes `outFile`: the replayed text of `replayFile` (times relative to `firstNs`, the recording's first
 * event) with each sched event as a line where live perf trace prints it. Pass one reads only the lines of
 * clone/fork/exec calls; pass two copies the bytes, inserting the sched lines.
 */
export async function mergeSchedEvents(replayFile: string, sched: SchedEvent[], firstNs: number, outFile: string): Promise<void> {
  const calls = new Map<number, CallLine[]>();
  const born = new Map<number, number>(); // a child's side of clone: its first line
  const byTime: { line: number; us: number }[] = []; // first line at each new time, for the fallback
  let lastUs = -Infinity;
  for await (const ln of readLines(createReadStream(replayFile), DEFAULT_MAX_LINE)) {
    if (ln.tooLong) continue;
    const t = ln.text;
    if (!(t.includes('exec') || t.includes('fork') || t.includes('clone'))) {
      // Only for the fallback: the first line of each new time (a cheap read of the head).
      const close = t.indexOf(' (');
      const us = close > 0 ? Math.round(Number(t.slice(0, close)) * 1000) : NaN;
      if (us > lastUs) {
        byTime.push({ line: ln.lineNo, us });
        lastUs = us;
      }
      continue;
    }
    const h = HEAD.exec(t);
    if (!h) continue;
    const us = h[2] === '?' ? null : Math.round(Number(h[2]) * 1000);
    if (us !== null && us > lastUs) {
      byTime.push({ line: ln.lineNo, us });
      lastUs = us;
    }
    const ct = COMM_TID.exec(h[4]!);
    if (!ct) continue;
    const tid = Number(ct[2]);
    const body = ct[3]!;
    const entry = ENTRY.exec(body);
    const cont = entry ? null : CONTINUED.exec(body);
    const name = entry?.[1] ?? cont?.[1];
    if (name === undefined || !(CLONES.has(name) || EXECS.has(name))) continue;
    if (cont && CLONES.has(name) && !born.has(tid)) born.set(tid, ln.lineNo);
    const list = calls.get(tid) ?? [];
    list.push({ line: ln.lineNo, us: entry ? us : null, name });
    calls.set(tid, list);
  }

  const usOf = (e: SchedEvent) => Math.round((e.ns - firstNs) / 1000);
  // Where each sched event goes: before which replay line (Infinity: at the end).
  const placeOf = (e: SchedEvent): number => {
    const us = usOf(e);
    const names = e.kind === 'fork' ? CLONES : EXECS;
    const owners = e.kind === 'fork' ? [e.tid] : [...new Set([e.oldPid!, e.pid!, e.tid])];
    let at = Infinity;
    for (const tid of owners) {
      const list = (calls.get(tid) ?? []).filter((c) => names.has(c.name));
      // The call in progress at the event: the thread's last entry of that kind at or before it.
      const entered = list.filter((c) => c.us !== null && c.us <= us).pop();
      // Else an exit whose entry perf did not see (the first exec, before perf enabled its events).
      const place = entered ?? list.find((c) => c.us === null);
      if (place) {
        at = place.line;
        break;
      }
    }
    if (at === Infinity) at = byTime.find((b) => b.us > us)?.line ?? Infinity;
    if (e.kind === 'fork') at = Math.min(at, born.get(e.childPid!) ?? Infinity);
    return at;
  };
  const placed = sched.map((e) => ({ e, at: placeOf(e) })).sort((a, b) => a.at - b.at || a.e.ns - b.e.ns);
  const schedText = (e: SchedEvent): string => {
    const head = `${((e.ns - firstNs) / 1e6).toFixed(3).padStart(10)} (         ): `;
    if (e.kind === 'fork') {
      return `${head}${e.parentComm!.slice(0, 14)}/${e.tid} sched:sched_process_fork(parent_comm: "${e.parentComm}", parent_pid: ${e.parentPid} (${e.parentComm}), child_comm: "${e.childComm}", child_pid: ${e.childPid} (${e.childComm}))\n`;
    }
    const comm = basename(e.filename!).slice(0, 15);
    return `${head}${comm.slice(0, 14)}/${e.pid} sched:sched_process_exec(filename: "${e.filename}", pid: ${e.pid} (${comm}), old_pid: ${e.oldPid} (${comm}))\n`;
  };

  // Pass two: bytes as they are; before line N (1-based) go the events placed at N.
  const out = createWriteStream(outFile, { flags: 'wx', mode: 0o600 });
  const write = async (b: Buffer | string) => {
    if (!out.write(b)) await once(out, 'drain');
  };
  let next = 0;
  let lineNo = 1; // the line the next byte starts
  let endedWithNl = true;
  for await (const chunk of createReadStream(replayFile) as AsyncIterable<Buffer>) {
    let from = 0;
    while (next < placed.length && placed[next]!.at !== Infinity) {
      // Advance to the start of line placed[next].at.
      let pos = from;
      while (lineNo < placed[next]!.at) {
        const nl = chunk.indexOf(10, pos);
        if (nl === -1) break;
        pos = nl + 1;
        lineNo++;
      }
      if (lineNo < placed[next]!.at) {
        await write(chunk.subarray(from));
        from = chunk.length;
        break;
      }
      await write(chunk.subarray(from, pos));
      from = pos;
      let text = '';
      while (next < placed.length && placed[next]!.at === lineNo) text += schedText(placed[next++]!.e);
      await write(text);
    }
    if (from < chunk.length) {
      // Count the remaining lines of the chunk so line numbers stay right for later chunks.
      for (let nl = chunk.indexOf(10, from); nl !== -1; nl = chunk.indexOf(10, nl + 1)) lineNo++;
      await write(chunk.subarray(from));
    }
    if (chunk.length > 0) endedWithNl = chunk[chunk.length - 1] === 10;
  }
  let tail = '';
  while (next < placed.length) tail += schedText(placed[next++]!.e);
  if (tail) await write((endedWithNl ? '' : '\n') + tail);
  out.end();
  await once(out, 'finish');
}
