// What confines a pod: the parts of an OCI spec that make a runc/crun/runsc container look like a
// default Kubernetes pod on containerd, plus a JSON-able description of them for the report.
//
// All of containerd's defaults (seccomp profile, capabilities, device rules, masked and read-only
// paths, namespaces) come from files in ./confinement/ that scripts/make-seccomp-profile.sh has a
// real containerd render; nothing here restates them. Pure: no I/O, the same options give the same
// result.

import seccompDefault from './confinement/seccomp-runtime-default.json' with { type: 'json' };
import seccompSysPtrace from './confinement/seccomp-runtime-default-sys-ptrace.json' with { type: 'json' };
import containerd from './confinement/containerd-defaults.json' with { type: 'json' };
import { RunError } from './errors.js';

/** cgroup limits of one pod. */
export interface Limits {
  /** pids.max: tasks (processes and threads) in the pod's cgroup. */
  pids: number;
  /** memory limit in bytes; swap is capped at the same value, so the pod cannot swap. */
  memoryBytes: number;
  /** CPU time as a number of CPUs (CFS quota / period), e.g. 0.5. */
  cpus: number;
}

/**
 * Defaults for a teaching tool running small commands: 1024 tasks stops a fork bomb long before the
 * host's pid space but leaves room for build-like workloads (kubelet's podPidsLimit is unset by
 * default, so a real pod is often unbounded here); 1 GiB and 1 CPU are a small pod's usual limits,
 * enough for shells, compilers and interpreters, and leave the (two-core) host usable meanwhile.
 */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({ pids: 1024, memoryBytes: 1024 ** 3, cpus: 1 });

/** CFS period; 100 ms is the kernel's and runc's default, and kubelet's. */
export const CPU_PERIOD_US = 100_000;

import type { PodRuntime } from '../runtime.js';
export type { PodRuntime };

export interface ConfinementOptions {
  /** Like a Kubernetes `privileged: true` container: no seccomp, every capability. Only on request. */
  privileged: boolean;
  limits: Limits;
  /** strace runs inside the pod as its process (runc/crun); ignored for runsc, traced by its Sentry. */
  traceWithStrace: boolean;
  runtime: PodRuntime;
  /** runsc only: true when runsc is started with --oci-seccomp, so it applies linux.seccomp. */
  runscOciSeccomp?: boolean;
  /**
   * The capabilities privileged grants, e.g. the names in the caller's CapBnd. containerd grants the
   * capabilities of its own process; default: those of the machine that rendered the profile.
   */
  hostCapabilities?: readonly string[];
}

export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  /** Always empty: containerd's CRI clears ambient capabilities (WithoutAmbientCaps). */
  ambient: string[];
}

export interface OciSeccompArg { index: number; value: number; valueTwo?: number; op: string }
export interface OciSeccompRule { names: string[]; action: string; errnoRet?: number; args?: OciSeccompArg[] | null }
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls: OciSeccompRule[];
}

export interface OciDeviceRule { allow: boolean; type?: string; major?: number; minor?: number; access?: string }

/** linux.resources of the spec. */
export interface OciResources {
  devices: OciDeviceRule[];
  pids: { limit: number };
  memory: { limit: number; swap: number };
  cpu: { quota: number; period: number };
}

/** How a pod is confined, as the report shows it. JSON-able. */
export interface Confinement {
  profile: 'RuntimeDefault' | 'privileged';
  /** One line: which seccomp filter applies, e.g. 'RuntimeDefault (containerd 1.6.20~ds1)'. */
  seccomp: string;
  capabilities: string[];
  limits: Limits;
  namespaces: string[];
  /** No user namespace, as in containerd's default pod: uid 0 in a runc/crun pod is uid 0 on the host. */
  userNamespace: false;
  noNewPrivileges: boolean;
  notes: string[];
}

export interface OciConfinement {
  /** process.capabilities */
  capabilities: OciCapabilities;
  /** linux.seccomp; absent when privileged. */
  seccomp?: OciSeccomp;
  /** linux.resources */
  resources: OciResources;
  /** linux.namespaces */
  namespaces: { type: string }[];
  /** process.noNewPrivileges */
  noNewPrivileges: boolean;
  /** linux.maskedPaths and linux.readonlyPaths; empty when privileged. */
  maskedPaths: string[];
  readonlyPaths: string[];
  /** Mount /sys read-write instead of read-only (containerd's WithWriteableSysfs, privileged only). */
  sysfsWritable: boolean;
  description: Confinement;
}

/** containerd's version that rendered the profile, e.g. '1.6.20~ds1'. */
export const CONTAINERD_VERSION: string = containerd.generated.containerdVersion;

export function ociConfinement(opts: ConfinementOptions): OciConfinement {
  checkLimits(opts.limits);
  const limits: Limits = { ...opts.limits };
  const inPodStrace = opts.traceWithStrace && opts.runtime !== 'runsc';
  const notes: string[] = [];
  let caps: string[];
  let seccomp: OciSeccomp | undefined;
  let seccompText: string;
  const namespaces = [...containerd.namespaces];

  if (opts.privileged) {
    caps = [...(opts.hostCapabilities ?? containerd.privilegedCapabilities)];
    seccompText = 'unconfined (--privileged)';
    notes.push(
      'privileged: no seccomp filter, every capability the runtime holds, no masked or read-only /proc ' +
        'paths, /sys writable, all device access allowed (host device nodes are not added), no cgroup ' +
        "namespace: what containerd's CRI does for a privileged container",
    );
  } else {
    // containerd resolves the profile's capability-conditional rules against the bounding set, so
    // the profile used is the one rendered for exactly the capability set returned here.
    caps = [...(inPodStrace ? containerd.capabilitiesWithSysPtrace : containerd.capabilities)];
    seccomp = structuredClone((inPodStrace ? seccompSysPtrace : seccompDefault) as OciSeccomp);
    seccompText = `RuntimeDefault (containerd ${CONTAINERD_VERSION})`;
    // CRI adds a cgroup namespace on cgroup v2 hosts only; here every pod gets one, so /proc/self/cgroup
    // and /sys/fs/cgroup show the pod's own cgroup as the root on v1 and hybrid hosts too.
    namespaces.push('cgroup');
    if (inPodStrace) {
      notes.push(
        "CAP_SYS_PTRACE added to containerd's default set for the in-pod strace: with it the profile also " +
          'allows process_vm_readv/writev, kcmp, pidfd_getfd and process_madvise, so strace reads tracee ' +
          'memory in one call instead of word by word with PTRACE_PEEKDATA. ptrace itself is allowed by the ' +
          'default profile (kernel >= 4.8). The workload gets the capability too.',
      );
    }
    if (opts.runtime === 'runsc' && !opts.runscOciSeccomp) {
      seccompText += ' in the spec, not applied by runsc (no --oci-seccomp)';
      notes.push(
        "runsc ignores linux.seccomp unless started with --oci-seccomp: the workload's syscalls are " +
          "served by gVisor's Sentry, a user-space kernel, which is itself held by gVisor's own host " +
          'seccomp filter; the RuntimeDefault profile does not stand between the workload and the Sentry',
      );
    } else if (opts.runtime === 'runsc') {
      seccompText += ', applied by runsc inside the sandbox (--oci-seccomp)';
    }
    notes.push(`rendered by containerd for kernel ${containerd.generated.kernel} (${containerd.generated.machine})`);
  }
  if (opts.runtime === 'runsc') {
    notes.push(
      'runsc puts the whole sandbox (Sentry, Gofer, platform threads) in the limited cgroup: pids.max counts ' +
        "the Sentry's host threads, not the workload's tasks, and when they reach it the sandbox dies " +
        "(the Sentry panics) where a runc pod's fork would fail with EAGAIN; memory includes the Sentry's own",
    );
  }
  notes.push(
    `limits: pids.max ${limits.pids}, memory ${limits.memoryBytes} bytes with swap capped at the same ` +
      `(no swapping), CPU quota ${cpuQuota(limits.cpus)} us per ${CPU_PERIOD_US} us`,
    opts.runtime === 'runsc'
      ? "no user namespace in the spec, as in a default containerd pod: the workload's uid 0 is root of gVisor's Sentry"
      : 'no user namespace: uid 0 in the pod is uid 0 on the host, as in a default containerd pod',
  );
  // Kubernetes sets no_new_privs only for allowPrivilegeEscalation: false; CRI starts from
  // WithNewPrivileges, so a default pod (and a privileged one) runs without it.
  const noNewPrivileges = false;
  notes.push('no_new_privs off: a default pod (allowPrivilegeEscalation unset) runs without it');

  return {
    capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps], ambient: [] },
    ...(seccomp ? { seccomp } : {}),
    resources: {
      devices: structuredClone(opts.privileged ? containerd.privilegedDevices : containerd.devices) as OciDeviceRule[],
      pids: { limit: limits.pids },
      memory: { limit: limits.memoryBytes, swap: limits.memoryBytes },
      cpu: { quota: cpuQuota(limits.cpus), period: CPU_PERIOD_US },
    },
    namespaces: namespaces.map((type) => ({ type })),
    noNewPrivileges,
    maskedPaths: opts.privileged ? [] : [...containerd.maskedPaths],
    readonlyPaths: opts.privileged ? [] : [...containerd.readonlyPaths],
    sysfsWritable: opts.privileged,
    description: {
      profile: opts.privileged ? 'privileged' : 'RuntimeDefault',
      seccomp: seccompText,
      capabilities: [...caps],
      limits,
      namespaces,
      userNamespace: false,
      noNewPrivileges,
      notes,
    },
  };
}

function cpuQuota(cpus: number): number {
  return Math.round(cpus * CPU_PERIOD_US);
}

/** Smallest limits a pod can start with: runc init, strace and one workload process, and their pages. */
export const MIN_LIMITS: Readonly<Limits> = Object.freeze({
  pids: 4,
  memoryBytes: 8 * 1024 ** 2,
  // The kernel's smallest CFS quota is 1 ms.
  cpus: 1000 / CPU_PERIOD_US,
});

function checkLimits(l: Limits): void {
  for (const key of ['pids', 'memoryBytes', 'cpus'] as const) {
    const v = l[key];
    if (!Number.isFinite(v) || v < MIN_LIMITS[key] || (key !== 'cpus' && !Number.isInteger(v))) {
      throw new RunError('BAD_REQUEST', `${key} limit ${v} is invalid: at least ${MIN_LIMITS[key]}${key === 'cpus' ? '' : ', a whole number'}`);
    }
  }
}

const BINARY = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 } as const;
const DECIMAL = { k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 } as const;

/**
 * A limit flag's value in Kubernetes quantity notation: pids '512'; memory '512Mi', '1Gi', '1G',
 * '1073741824' (bytes); cpus '0.5', '500m', '2'. Throws a RunError (BAD_REQUEST) naming the flag when invalid.
 */
export function parseLimit(key: keyof Limits, text: string, flag = `--${key === 'memoryBytes' ? 'memory' : key}`): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(text);
  let value: number | undefined;
  if (m) {
    const n = Number(m[1]);
    const unit = m[2]!;
    if (key === 'pids' && unit === '') value = n;
    else if (key === 'cpus' && (unit === '' || unit === 'm')) value = unit === 'm' ? n / 1000 : n;
    else if (key === 'memoryBytes') {
      const mult = unit === '' ? 1 : (BINARY as Record<string, number>)[unit] ?? (DECIMAL as Record<string, number>)[unit];
      if (mult !== undefined) value = Math.round(n * mult);
    }
  }
  const hint = { pids: 'a whole number, e.g. 512', memoryBytes: 'bytes or a quantity like 512Mi, 2Gi', cpus: 'CPUs like 0.5, 2 or 500m' }[key];
  if (value === undefined) throw new RunError('BAD_REQUEST', `${flag} ${JSON.stringify(text)}: expected ${hint}`);
  try {
    checkLimits({ ...DEFAULT_LIMITS, [key]: value });
  } catch {
    throw new RunError('BAD_REQUEST', `${flag} ${text} is too small or not whole: at least ${MIN_LIMITS[key]}`);
  }
  return value;
}

/** One line for a text report, e.g. 'RuntimeDefault (containerd 1.6.20~ds1), 14 capabilities, pids 1024, memory 1Gi, 1 CPU'. */
export function confinementSummary(c: Confinement): string {
  const mem = c.limits.memoryBytes;
  const memText = mem % BINARY.Gi === 0 ? `${mem / BINARY.Gi}Gi` : mem % BINARY.Mi === 0 ? `${mem / BINARY.Mi}Mi` : `${mem} bytes`;
  return `${c.seccomp}, ${c.capabilities.length} capabilities, pids ${c.limits.pids}, memory ${memText}, ` +
    `${c.limits.cpus} CPU${c.limits.cpus === 1 ? '' : 's'}, namespaces ${c.namespaces.join(' ')}`;
}
