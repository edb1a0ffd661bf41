// A run's process, started straight onto its files: no pipe and no execa. execa's streams, signals and
// promises cost ~8 ms of CPU per spawn more than node's own (`/bin/true`, warm), paid by each environment's
// run while gVisor's runs beside it on the same cores.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';

export interface RunChild {
  /** Undefined when it could not be started. */
  readonly pid: number | undefined;
  readonly process: ChildProcess;
  /** Settles once it has exited (both null when it never started); never rejects. */
  readonly ended: Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>;
}

export interface RunSpawnOptions {
  cwd: string;
  /** The workload's whole environment, or null for this process's. */
  env: NodeJS.ProcessEnv | null;
  /** A file for stdin (else none), and the files stdout and stderr go to (created or truncated). */
  stdinFile: string | null;
  stdoutFile: string;
  stderrFile: string;
}

/** Starts argv in a process group of its own (killable as a whole; a terminal's Ctrl-C reaches the tool only). */
export function spawnRun(argv: string[], o: RunSpawnOptions): RunChild {
  const fds: number[] = [];
  try {
    // The run's private dir holds these files: never through a symlink.
    const out = (file: string) => openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
    if (o.stdinFile) fds.push(openSync(o.stdinFile, constants.O_RDONLY | constants.O_NOFOLLOW));
    fds.push(out(o.stdoutFile), out(o.stderrFile));
    const stdio = o.stdinFile ? fds : ['ignore' as const, ...fds];
    const child = spawn(argv[0]!, argv.slice(1), { cwd: o.cwd, detached: true, stdio, ...(o.env ? { env: o.env } : {}) });
    const ended = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('error', () => resolve({ exitCode: null, signal: null }));
      child.once('close', (exitCode, signal) => resolve({ exitCode, signal }));
    });
    return { pid: child.pid, process: child, ended };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
