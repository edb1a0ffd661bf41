// An OCI bundle (config.json + rootfs) for one run, inside the run's private temp dir.
//
// How the workload is traced under runc/crun: strace runs *inside* the container as its process
// (`strace -f -v -s 256 -o LOG -- CMD`), so the log holds the workload's syscalls from its execve on
// and nothing of runc's setup (runc init, pivot_root, capability drops). The alternative, strace on
// the runtime keeping only the workload pid's events after its execve, needs pid-namespace mapping
// and exec detection and still stops runc init at every syscall. strace is copied with its own
// libraries and loader into a host dir that is bind-mounted read-only at TOOLS_DIR.
//
// The log is the one host path a pod reaches: a single regular file the host created (O_EXCL, in its
// private dir), bind-mounted as a file at POD_STRACE_LOG. A mountpoint cannot be unlinked, renamed or
// replaced by a symlink or FIFO from inside (EBUSY), and no host directory is mounted writable, so the
// workload can neither create host files nor redirect what the tool reads or writes. It can still
// write into that one file, as it could into strace's stderr: docs/architecture.md says what that means.
// Both mountpoints live under /dev, the container's own tmpfs: nothing is created in the rootfs, so a
// user's --rootfs stays untouched.

import { mkdir, writeFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { PodRuntime } from '../runtime.js';
import { buildRootfs, buildToolDir, type BuiltRootfs, type HostMount } from './rootfs.js';
import { envList, WORKLOAD_CWD } from './environment.js';
import { RunError } from './errors.js';
import { ociConfinement, DEFAULT_LIMITS, type Confinement, type Limits } from './confinement.js';

export const TOOLS_DIR = '/dev/.trace-compare/tools';
/** Where the in-container strace writes its log: a bind mount of one host file. */
export const POD_STRACE_LOG = '/dev/.trace-compare/strace.log';
/** Name of the strace log in the run's private out/ dir (host and pods alike). */
export const STRACE_LOG = 'strace.log';

/** strace flags shared by host and container runs: -v so uname's release="..." is printed. */
export const STRACE_FLAGS = ['-f', '-v', '-s', '256'];

export interface BundleRequest {
  kind: PodRuntime;
  /** The run's private temp dir; the bundle goes in `<dir>/bundle`. */
  dir: string;
  command: string[];
  rootfs?: string;
  include?: string[];
  /** Host path of strace, when the workload is to be traced (runc/crun only). */
  strace?: string;
  /** Host file receiving the strace log (bound at POD_STRACE_LOG): an existing, empty regular file. */
  straceLog?: string;
  hostname?: string;
  /** Like Kubernetes' `privileged: true`: no seccomp, every capability. Default: a default pod's confinement. */
  privileged?: boolean;
  /** cgroup limits; default DEFAULT_LIMITS. */
  limits?: Limits;
  /** The workload's variables (environment.ts), the same as on the host. */
  env: Record<string, string>;
  /** A rootfs generated for every pod of a command (shared-rootfs.ts), used instead of making one; not with `rootfs`. */
  sharedRootfs?: BuiltRootfs;
}

export interface Bundle {
  dir: string;
  rootfs: string;
  /** The container's process argv (strace wrapper included when tracing). */
  args: string[];
  /** What confines the pod, for the report. */
  confinement: Confinement;
}

export async function createBundle(req: BundleRequest): Promise<Bundle> {
  const dir = path.join(req.dir, 'bundle');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let rootfs: string;
  let workload: string[];
  let hostMounts: HostMount[] = [];
  const userRootfs = req.rootfs !== undefined;
  if (req.rootfs !== undefined) {
    rootfs = path.resolve(req.rootfs);
    const st = await stat(rootfs).catch(() => null);
    if (!st?.isDirectory()) throw new RunError('BAD_REQUEST', `--rootfs ${req.rootfs} is not a directory`);
    workload = req.command;
  } else {
    const built = req.sharedRootfs ?? (await buildRootfs(path.join(dir, 'rootfs'), req.command, req.include));
    rootfs = built.dir;
    workload = built.argv;
    hostMounts = built.mounts;
  }

  const mounts: OciMount[] = [...BASE_MOUNTS];
  // The host's system dirs, read-only; nosuid: a setuid binary gains nothing in a pod.
  for (const m of hostMounts) mounts.push({ destination: m.destination, type: 'bind', source: m.source, options: ['rbind', 'ro', 'nosuid', 'nodev'] });
  // The pod's writable layer, in memory and bounded (its pages count against the pod's memory limit).
  if (!userRootfs) {
    for (const d of ['/root', '/run', '/var/tmp']) {
      mounts.push({ destination: d, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', 'size=65536k'] });
    }
  }
  // A writable /tmp even on a read-only root; only where the mountpoint exists in a user's rootfs.
  if (!userRootfs || (await stat(path.join(rootfs, 'tmp')).catch(() => null))?.isDirectory()) {
    mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=65536k'] });
  }
  let args = workload;
  const inPodStrace = Boolean(req.strace) && req.kind !== 'runsc';
  // A default Kubernetes pod on containerd: RuntimeDefault seccomp, containerd's capabilities (plus
  // CAP_SYS_PTRACE for the in-pod strace), cgroup limits and a cgroup namespace (confinement.ts).
  const c = ociConfinement({
    privileged: req.privileged ?? false,
    limits: req.limits ?? { ...DEFAULT_LIMITS },
    traceWithStrace: inPodStrace,
    runtime: req.kind,
  });
  if (req.strace && inPodStrace) {
    const tools = path.join(req.dir, 'tools');
    const run = await buildToolDir(tools, req.strace, 'strace', TOOLS_DIR);
    if (!req.straceLog) throw new Error('createBundle: strace without a log file');
    mounts.push(
      { destination: TOOLS_DIR, type: 'bind', source: tools, options: ['rbind', 'ro', 'nosuid', 'nodev'] },
      { destination: POD_STRACE_LOG, type: 'bind', source: req.straceLog, options: ['bind', 'rw', 'nosuid', 'nodev', 'noexec'] },
    );
    args = [...run, ...STRACE_FLAGS, '-o', POD_STRACE_LOG, '--', ...workload];
  }
  if (c.sysfsWritable) {
    const i = mounts.findIndex((m) => m.destination === '/sys');
    mounts[i] = { ...mounts[i]!, options: mounts[i]!.options!.map((o) => (o === 'ro' ? 'rw' : o)) };
  }

  const config = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false, // stdout and stderr stay separate pipes
      user: { uid: 0, gid: 0 },
      args,
      env: envList(req.env),
      cwd: WORKLOAD_CWD,
      capabilities: c.capabilities,
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: c.noNewPrivileges,
    },
    // Read-only in every case: the generated rootfs lies on the host's disk, where a pod's writes would
    // have no quota. Writable space is the size-bounded tmpfs mounts (/tmp, /dev, /dev/shm).
    root: { path: rootfs, readonly: true },
    hostname: req.hostname ?? 'trace-compare',
    mounts,
    linux: {
      resources: c.resources,
      // Own network namespace with no interfaces configured: no network.
      namespaces: c.namespaces,
      ...(c.seccomp ? { seccomp: c.seccomp } : {}),
      maskedPaths: c.maskedPaths,
      readonlyPaths: c.readonlyPaths,
    },
  };
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  return { dir, rootfs, args, confinement: c.description };
}

interface OciMount { destination: string; type: string; source: string; options?: string[] }

const BASE_MOUNTS: OciMount[] = [
  { destination: '/proc', type: 'proc', source: 'proc' },
  { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
  { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
  { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
];
