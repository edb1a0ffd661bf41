// One updating line on a terminal while the environments run: each environment, its elapsed time and the
// syscalls its workload trace holds so far. Counted from the growing trace files (new bytes only, every
// half second), so it costs nothing per syscall. Quiet unless stderr is a terminal, and never when a JSON
// report goes to a pipe (a script is reading).

import { open, readdir } from 'node:fs/promises';
import path from 'node:path';

const TICK_MS = 500;

/** Where an environment's workload trace grows: strace's log, or runsc's debug-log dir (its *.boot.txt). */
export interface TraceWhere {
  file?: string;
  dir?: string;
}

interface Env {
  name: string;
  started: number | null;
  ended: number | null;
  where: TraceWhere | null;
  /** Per file: bytes read so far, syscalls counted. */
  read: Map<string, { offset: number; calls: number; partial: string }>;
}

export interface Progress {
  /** The environment's run started; its trace grows at `where`. */
  watch(name: string, where: TraceWhere): void;
  /** The environment's run is over (its figures are being read). */
  done(name: string): void;
  /** Clears the line; nothing is written after. */
  stop(): void;
}

const QUIET: Progress = { watch: () => undefined, done: () => undefined, stop: () => undefined };

export function progressWanted(format: string, stderr: { isTTY?: boolean } = process.stderr, stdout: { isTTY?: boolean } = process.stdout): boolean {
  if (!stderr.isTTY || process.env.CI) return false;
  return !(format === 'json' && !stdout.isTTY);
}

/** A syscall line: strace's (one per call, resumed halves not counted twice) or the Sentry's exit lines (` X `). */
function countCalls(text: string, runsc: boolean): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (runsc ? / X \w+\(/.test(line) : line.length > 0 && !line.includes('<... ') && !/^(?:\d+ +)?(?:\+\+\+|---) /.test(line)) n++;
  }
  return n;
}

export function startProgress(names: string[], enabled: boolean, out: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled) return QUIET;
  const envs = new Map<string, Env>(names.map((name) => [name, { name, started: null, ended: null, where: null, read: new Map() }]));
  let width = 0;
  let busy = false;
  const poll = async (e: Env) => {
    if (!e.where) return;
    const files = e.where.file ? [e.where.file] : e.where.dir
      ? (await readdir(e.where.dir).catch(() => [] as string[])).filter((f) => f.endsWith('.boot.txt')).map((f) => path.join(e.where!.dir!, f))
      : [];
    for (const f of files) {
      const st = e.read.get(f) ?? { offset: 0, calls: 0, partial: '' };
      e.read.set(f, st);
      const fh = await open(f, 'r').catch(() => null);
      if (!fh) continue;
      try {
        const buf = Buffer.alloc(1 << 20);
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, st.offset);
          if (bytesRead === 0) break;
          st.offset += bytesRead;
          const text = st.partial + buf.subarray(0, bytesRead).toString('latin1');
          const nl = text.lastIndexOf('\n');
          st.calls += countCalls(text.slice(0, nl + 1), e.where.dir !== undefined);
          st.partial = text.slice(nl + 1).slice(-4096);
        }
      } finally {
        await fh.close();
      }
    }
  };
  const render = () => {
    const now = Date.now();
    const parts = [...envs.values()].map((e) => {
      if (e.started === null) return `${e.name} waiting`;
      const s = (((e.ended ?? now) - e.started) / 1000).toFixed(1);
      const calls = [...e.read.values()].reduce((n, r) => n + r.calls, 0);
      return `${e.name} ${s} s, ${calls.toLocaleString('en-US')} syscalls${e.ended !== null ? ' (done)' : ''}`;
    });
    const line = `trace-compare: ${parts.join(' | ')}`.slice(0, Math.max(20, (out.columns ?? 100) - 1));
    out.write(`\r${line}${' '.repeat(Math.max(0, width - line.length))}`);
    width = line.length;
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void Promise.all([...envs.values()].filter((e) => e.ended === null).map(poll))
      .catch(() => undefined)
      .finally(() => {
        busy = false;
        if (!stopped) render();
      });
  }, TICK_MS);
  timer.unref();
  let stopped = false;
  return {
    watch: (name, where) => {
      const e = envs.get(name);
      if (e) Object.assign(e, { started: Date.now(), where });
    },
    done: (name) => {
      const e = envs.get(name);
      if (e && e.ended === null) e.ended = Date.now();
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (width > 0) out.write(`\r${' '.repeat(width)}\r`);
    },
  };
}
