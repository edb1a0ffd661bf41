// What the CRI backend asks of the runtime, as data: the environment name resolved like a RuntimeClass,
// the PodSandboxConfig and ContainerConfig of one run, and the readers of what comes back (containerd's
// log format, the Sentry's log of a pod). Pure: no I/O; tested without a runtime.

import type { ContainerConfig, Mount, PodSandboxConfig, SecurityProfile } from './client.js';
import type { EnvironmentSpec } from '../types.js';
import type { Limits } from '../confinement.js';
import { CPU_PERIOD_US } from '../confinement.js';
import { envList } from '../environment.js';
import { RunError } from '../errors.js';
import { recogniseHandlerMissing } from './wording.js';

/** The label every pod sandbox and container of ours carries; its value is the run's id. */
export const RUN_LABEL = 'trace-compare.io/run';
/** The CRI namespace (PodSandboxMetadata.namespace) of our pods. */
export const POD_NAMESPACE = 'trace-compare';
/** containerd's CRI namespace: the runtimes' state roots have a subdirectory of that name. */
export const CONTAINERD_NAMESPACE = 'k8s.io';

/** RuntimeClass-style names: the handler each stands for; anything else is NAME=HANDLER or a handler itself. */
const CLASSES: Record<string, { handler: string; runtime: EnvironmentSpec['runtime'] }> = {
  runc: { handler: 'runc', runtime: 'runc' },
  crun: { handler: 'crun', runtime: 'crun' },
  gvisor: { handler: 'runsc', runtime: 'runsc' },
  runsc: { handler: 'runsc', runtime: 'runsc' },
  kata: { handler: 'kata', runtime: 'runc' },
};
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * `--pod NAME` under --backend cri: the handler is whatever the node's runtime calls it, so any name is
 * accepted and the runtime says whether it has it. gVisor's handler (runsc) is traced by its Sentry;
 * every other handler (runc, crun, kata...) runs strace inside the container, measured as runc is.
 */
export function resolveCriEnvironment(spec: string): EnvironmentSpec & { handler: string } {
  const eq = spec.indexOf('=');
  const name = eq >= 0 ? spec.slice(0, eq) : spec;
  const handler = eq >= 0 ? spec.slice(eq + 1) : (CLASSES[spec]?.handler ?? spec);
  for (const [what, v] of [['environment name', name], ['runtime handler', handler]] as const) {
    if (!NAME.test(v)) {
      throw new RunError('BAD_REQUEST', `bad ${what} '${v}' in '${spec}'`, { hint: 'use letters, digits, ".", "_" or "-", e.g. --pod gvisor or --pod sandboxed=runsc' });
    }
  }
  if (name === 'host') throw new RunError('BAD_REQUEST', "'host' is not a pod", { hint: 'the host runs anyway (--no-host leaves it out)' });
  const runtime = handler === 'runsc' ? 'runsc' : handler === 'crun' ? 'crun' : 'runc';
  return { name, runtime, handler };
}

/** The host's answer when a handler is not configured: containerd's, CRI-O's, dockershim's words (wording.ts). */
export const isHandlerMissing = (message: string): boolean => recogniseHandlerMissing(message) !== null;

export interface SandboxRequest {
  id: string;
  /** Host dir where containerd writes the containers' logs (CRI format). */
  logDirectory: string;
  /** The pod's cgroup parent, made by us first (a pod-level cgroup, as the kubelet makes). */
  cgroupParent: string;
  privileged: boolean;
  /** gVisor: where the Sentry writes its strace log (a dir, ending in '/'); null: no log. */
  runscLogDir: string | null;
}

/** The pod: the node's network (no CNI), its own pid namespace per container, a run label. */
export function sandboxConfig(r: SandboxRequest): PodSandboxConfig {
  return {
    metadata: { name: r.id, uid: r.id, namespace: POD_NAMESPACE, attempt: 0 },
    // No hostname: a pod in the node's network namespace shares its UTS namespace too.
    logDirectory: r.logDirectory,
    labels: { [RUN_LABEL]: r.id },
    // runsc reads dev.gvisor.flag.* when started with --allow-flag-override (setup-cri.sh's wrapper) and
    // containerd passes them on (pod_annotations): the Sentry logs this pod's syscalls into the run's dir.
    annotations: r.runscLogDir ? { 'dev.gvisor.flag.debug-log': r.runscLogDir, 'dev.gvisor.flag.strace': 'true' } : {},
    linux: {
      cgroupParent: r.cgroupParent,
      securityContext: {
        namespaceOptions: NAMESPACES,
        privileged: r.privileged,
        seccomp: seccompProfile(r.privileged),
      },
    },
  };
}

const NAMESPACES = { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } as const;

function seccompProfile(privileged: boolean): SecurityProfile {
  return { profileType: privileged ? 'Unconfined' : 'RuntimeDefault' };
}

export interface ContainerRequest {
  id: string;
  image: string;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** Read-only binds of host paths (system dirs, the generated /etc, the strace copy). */
  readOnly: { source: string; destination: string }[];
  /** The one writable bind: the strace log file (runc-like handlers). */
  straceLog?: { source: string; destination: string };
  privileged: boolean;
  /** strace runs in the container: containerd adds CAP_SYS_PTRACE and its profile allows what strace needs. */
  ptrace: boolean;
  limits: Limits;
  logPath: string;
}

export function containerConfig(r: ContainerRequest): ContainerConfig {
  const mounts: Mount[] = r.readOnly.map((m) => ({ containerPath: m.destination, hostPath: m.source, readonly: true }));
  if (r.straceLog) mounts.push({ containerPath: r.straceLog.destination, hostPath: r.straceLog.source, readonly: false });
  return {
    metadata: { name: 'workload', attempt: 0 },
    image: { image: r.image },
    // command replaces the image's entrypoint, args its cmd: the argv exactly, never through a shell.
    command: r.argv.slice(0, 1),
    args: r.argv.slice(1),
    workingDir: r.cwd,
    envs: envList(r.env).map((kv) => ({ key: kv.slice(0, kv.indexOf('=')), value: kv.slice(kv.indexOf('=') + 1) })),
    mounts,
    labels: { [RUN_LABEL]: r.id },
    logPath: r.logPath,
    linux: {
      resources: {
        cpuPeriod: CPU_PERIOD_US,
        cpuQuota: Math.round(r.limits.cpus * CPU_PERIOD_US),
        memoryLimitInBytes: r.limits.memoryBytes,
        memorySwapLimitInBytes: r.limits.memoryBytes,
      },
      securityContext: {
        privileged: r.privileged,
        namespaceOptions: NAMESPACES,
        seccomp: seccompProfile(r.privileged),
        ...(r.ptrace && !r.privileged ? { capabilities: { addCapabilities: ['SYS_PTRACE'] } } : {}),
      },
    },
  };
}

/** One line of containerd's container log: `2026-11-26T15:34:14.32Z stdout F text` (P: a partial line). */
export function parseCriLogLine(line: string): { stream: 'stdout' | 'stderr'; text: string; partial: boolean } | null {
  const m = /^\S+ (stdout|stderr) ([PF])(?: (.*))?$/s.exec(line);
  if (!m) return null;
  return { stream: m[1] as 'stdout' | 'stderr', partial: m[2] === 'P', text: m[3] ?? '' };
}

/**
 * Whether a line of a gVisor pod's boot log belongs to the pod's pause container rather than the
 * workload: the Sentry's strace lines of the sandbox's first task group (the pause is the sandbox's root
 * container, started first: thread group 1 in the Sentry's root pid namespace), and boot.go's
 * "application exiting" line, which reports the root container's end (the pause killed at teardown).
 */
export function isPauseLine(line: string): boolean {
  const at = line.indexOf('] ');
  if (at < 0) return false;
  const rest = line.slice(at + 2);
  return /^\[\s*1:\s*\d+\] /.test(rest) || /^application exiting with /.test(rest);
}
