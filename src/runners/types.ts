// What a runner is asked to do and what it hands back: raw trace files plus the process result.

import type { Confinement, Limits } from './confinement.js';
import type { HostTracer } from './host-trace.js';
import type { CountSession } from './bpf-session.js';
import type { BuiltRootfs } from './rootfs.js';
import type { TraceWhere } from '../progress.js';

import type { RuntimeKind } from '../runtime.js';
export type { RuntimeKind };

/** One environment to compare, named like a Kubernetes RuntimeClass ('gvisor' -> runsc). */
export interface EnvironmentSpec {
  name: string;
  runtime: RuntimeKind;
  /** --backend cri: the runtime handler the pod asks for (RuntimeClass style: gvisor -> runsc); runtime says how it is traced. */
  handler?: string;
}

export interface RunOptions {
  /** Argument vector of the workload; never a shell string. */
  command: string[];
  /** Wall-clock limit; the run is torn down (containers deleted, processes killed) when it passes. */
  timeoutMs: number;
  /** A root filesystem to use as-is (read-only; never modified). Default: one built from the host. */
  rootfs?: string;
  /** Aborting ends the run like a timeout does, reported as `interrupted`. */
  signal?: AbortSignal;
  /**
   * Take the host kernel's view of the whole run (runtime included): counted in the kernel by bpftrace
   * (bpf-count.ts) when it is installed, else `perf trace record` during it and text made afterwards (host-trace.ts).
   */
  tracePerf: boolean;
  /** Tests and benches only: take the host-kernel view with this perf mechanism instead (to compare mechanisms). */
  hostTracer?: HostTracer;
  /**
   * The in-kernel count session the caller shares between its runs (bpf-count.ts shareCount); the caller
   * stops it before reading the figures. Without one, a run that counts starts a session of its own.
   */
  counter?: CountSession;
  /** Told once the workload runs, where its trace grows (for src/progress.ts). */
  onTraceStart?: (where: TraceWhere) => void;
  /** Trace the workload's own syscalls (strace, or runsc --strace). Default true; false = bare run. */
  traceWorkload?: boolean;
  /**
   * Extra host executables (names on PATH or paths) copied into a generated rootfs, e.g. `cat` for
   * `sh -c '... | cat'`. Ignored with `rootfs`. A busybox command gets its applet links anyway.
   */
  include?: string[];
  /** Pods without `rootfs`: the rootfs the caller generated for all its pods (shared-rootfs.ts); default their own. */
  sharedRootfs?: BuiltRootfs;
  /** Keep the temporary directory (bundle, state, logs) even after dispose(), for debugging. */
  keepTemp?: boolean;
  /** Pods only: drop seccomp and grant every capability, like Kubernetes' `privileged: true`. */
  privileged?: boolean;
  /** Pods only: cgroup limits (default: confinement.ts DEFAULT_LIMITS). */
  limits?: Limits;
  /** The workload's variables, the same in every environment; default workloadEnvironment(process.env). */
  env?: Record<string, string>;
  /** A regular file replayed as the workload's stdin (the same bytes in every environment); default none. */
  stdinFile?: string;
  /** Pods as OCI bundles run by the runtime itself (default), or through a CRI runtime (containerd), as a kubelet runs them. */
  backend?: 'oci' | 'cri';
  /** --backend cri: the runtime's socket, e.g. unix:///run/containerd/containerd.sock (default: src/runners/cri/endpoint.ts). */
  criEndpoint?: string;
}

export interface RunOutcome {
  env: EnvironmentSpec;
  /**
   * Exit status as reported by the environment. Containers (and runs wrapped by perf) report a
   * workload killed by signal N as 128+N, like a shell; `signal` is set only when it is certain.
   */
  exitCode: number | null;
  /** Signal name (e.g. 'SIGKILL') when the run ended by a signal we could observe directly. */
  signal: string | null;
  timedOut: boolean;
  interrupted: boolean;
  /**
   * Set when the runtime failed before the workload started (no container init pid was ever
   * written), with the runtime's stderr tail. Null for host runs and for workloads that started.
   */
  runtimeError: string | null;
  /** --backend cri: the node has no such runtime handler (runtimeError holds the runtime's words). */
  handlerMissing?: boolean;
  /** The runner saw the workload's end in its trace without the exit line the format usually has (a gVisor pod's container). */
  traceEndShown?: boolean;
  /** A bounded sample of what the workload wrote (head and tail, with a marker, past 64 KiB). */
  stdout: string;
  stderr: string;
  /** The full number of bytes written to each, whatever the sample holds. */
  outputBytes: { stdout: number; stderr: number };
  wallMs: number;
  /** strace -f -v -s 256 -o file (host/runc/crun), or runsc's *.boot.txt debug logs (Sentry strace). */
  workloadTrace: { format: 'strace' | 'runsc'; files: string[] };
  /**
   * The host kernel's view of the whole run, null if not measured: perf trace text, or (format `bpf-counts`)
   * the in-kernel counts of src/runners/bpf-count.ts, this run's being those under `root` (the process it started).
   */
  hostTrace: { file: string; format?: 'perf' } | { file: string; format: 'bpf-counts'; root: number } | null;
  /**
   * Host pids known to belong to the workload side: for runc/crun the container's init (the
   * in-container strace, whose descendants are the workload); for runsc the sandbox (Sentry)
   * process; for host the strace process. Empty when the run never got that far.
   */
  workloadHostPids?: number[];
  /** What confined the pod (seccomp, capabilities, limits, namespaces); null on the host. */
  confinement: Confinement | null;
  /** The container id (`trace-compare-<random>`), null for host runs. */
  containerId: string | null;
  /** Private directory holding the trace files until dispose(). */
  tempDir: string;
  /** Removes the temp files (parse the traces first). Idempotent. */
  dispose(): Promise<void>;
}
