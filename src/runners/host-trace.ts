// The host-kernel view of a run: what perf records around it and how the record becomes the text the
// perf-trace parser reads.
//
// During the run perf only records (`perf trace record`: the raw_syscalls enter/exit tracepoints and the
// sched fork/exec tracepoints, written unformatted to a perf.data file). Formatting every event live
// (`perf trace -o FILE`) cost 5x the recording on a 170,000-syscall `find`. Afterwards:
//   - `perf trace -i DATA -T` replays the syscalls in the same text format perf trace prints live
//     (absolute times with -T: turned back into times relative to the first event here);
//   - `perf trace -i` prints no tracepoint other than the syscalls, so the sched:sched_process_fork and
//     sched:sched_process_exec events (exact host pids for parent and child across pid namespaces) come
//     from `perf script` and are put back where live perf trace prints them: a fork before the parent's
//     clone/fork/vfork call that made it (and before the child's first line), an exec before the
//     execve that performed it. Attribution reads the merged text exactly as it read live output.

import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { execa } from 'execa';
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
  args: (dataFile) => ['trace', 'record', '-q', '-m', '1024', '-e', SCHED_EVENTS, '-o', dataFile, '--'],
  finish: async (perf, dataFile, textFile) => {
    const replayFile = `${textFile}.replay`;
    try {
      const [replay, sched] = await Promise.all([
        execa(perf, ['trace', '-f', '-i', dataFile, '-T', '-o', replayFile], { stdin: 'ignore', reject: false, stdout: 'ignore', stderr: 'pipe' }),
        schedEvents(perf, dataFile),
      ]);
      if (replay.exitCode !== 0) throw new Error(`perf trace -i ${dataFile} exited ${replay.exitCode}: ${String(replay.stderr).trim().slice(-300)}`);
      await mergeSchedEvents(replayFile, sched, textFile);
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

/** The sched events of a recording, in time order (perf script prints every event; only these are kept). */
async function schedEvents(perf: string, dataFile: string): Promise<SchedEvent[]> {
  const child = execa(perf, ['script', '-f', '-i', dataFile, '--ns', '-F', 'tid,time,event,trace'], {
    stdin: 'ignore', stderr: 'pipe', reject: false, buffer: { stdout: false },
  });
  const out: SchedEvent[] = [];
  for await (const ln of readLines(child.stdout!, DEFAULT_MAX_LINE)) {
    if (ln.tooLong || !ln.text.includes(' sched:sched_process_')) continue;
    const e = parseSchedLine(ln.text);
    if (e) out.push(e);
  }
  const r = await child;
  if (r.exitCode !== 0) throw new Error(`perf script -i ${dataFile} exited ${r.exitCode}: ${String(r.stderr).trim().slice(-300)}`);
  return out.sort((a, b) => a.ns - b.ns);
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
 * Writes `outFile`: the replayed text of `replayFile` with times made relative to the first event, and each
 * sched event as a line where live perf trace prints it. Two passes over the replay; memory holds only the
 * clone/exec lines and each thread's first line.
 */
export async function mergeSchedEvents(replayFile: string, sched: SchedEvent[], outFile: string): Promise<void> {
  const calls = new Map<number, CallLine[]>();
  const firstLine = new Map<number, number>();
  const byTime: { line: number; us: number }[] = []; // first line at or after each new time, for the fallback
  let firstUs: number | null = null;
  let lastUs = -Infinity;
  for await (const ln of readLines(createReadStream(replayFile), DEFAULT_MAX_LINE)) {
    if (ln.tooLong) continue;
    const h = HEAD.exec(ln.text);
    if (!h) continue;
    const us = h[2] === '?' ? null : Math.round(Number(h[2]) * 1000);
    if (us !== null) {
      firstUs ??= us;
      if (us > lastUs) {
        byTime.push({ line: ln.lineNo, us });
        lastUs = us;
      }
    }
    const ct = COMM_TID.exec(h[4]!);
    if (!ct) continue;
    const tid = Number(ct[2]);
    if (!firstLine.has(tid)) firstLine.set(tid, ln.lineNo);
    const body = ct[3]!;
    const entry = ENTRY.exec(body);
    const cont = entry ? null : CONTINUED.exec(body);
    const name = entry?.[1] ?? cont?.[1];
    if (name === undefined || !(CLONES.has(name) || EXECS.has(name))) continue;
    const list = calls.get(tid) ?? [];
    list.push({ line: ln.lineNo, us: entry ? us : null, name });
    calls.set(tid, list);
  }

  // Where each sched event goes: before which replay line (Infinity: at the end).
  const placeOf = (e: SchedEvent): number => {
    const us = Math.round(e.ns / 1000);
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
    if (e.kind === 'fork') at = Math.min(at, firstLine.get(e.childPid!) ?? Infinity);
    return at;
  };
  const placed = sched.map((e) => ({ e, at: placeOf(e) })).sort((a, b) => a.at - b.at || a.e.ns - b.e.ns);
  const baseUs = Math.min(firstUs ?? Infinity, sched.length > 0 ? Math.round(sched[0]!.ns / 1000) : Infinity);
  const rel = (us: number) => ((us - baseUs) / 1000).toFixed(3).padStart(10);
  const schedText = (e: SchedEvent): string => {
    const head = `${rel(Math.round(e.ns / 1000))} (         ): `;
    if (e.kind === 'fork') {
      return `${head}${e.parentComm!.slice(0, 14)}/${e.tid} sched:sched_process_fork(parent_comm: "${e.parentComm}", parent_pid: ${e.parentPid} (${e.parentComm}), child_comm: "${e.childComm}", child_pid: ${e.childPid} (${e.childComm}))`;
    }
    const comm = basename(e.filename!).slice(0, 15);
    return `${head}${comm.slice(0, 14)}/${e.pid} sched:sched_process_exec(filename: "${e.filename}", pid: ${e.pid} (${comm}), old_pid: ${e.oldPid} (${comm}))`;
  };

  const out = createWriteStream(outFile, { flags: 'wx', mode: 0o600 });
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  let next = 0;
  let chunk = '';
  for await (const ln of readLines(createReadStream(replayFile), DEFAULT_MAX_LINE)) {
    while (next < placed.length && placed[next]!.at <= ln.lineNo) chunk += schedText(placed[next++]!.e) + '\n';
    const h = ln.tooLong ? null : HEAD.exec(ln.text);
    chunk += (h && h[2] !== '?' ? `${rel(Math.round(Number(h[2]) * 1000))} ${h[3]}${h[4]}` : ln.text) + '\n';
    if (chunk.length > 1 << 16) {
      await write(chunk);
      chunk = '';
    }
  }
  while (next < placed.length) chunk += schedText(placed[next++]!.e) + '\n';
  await write(chunk);
  out.end();
  await once(out, 'finish');
}
