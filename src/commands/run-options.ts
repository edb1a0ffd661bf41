// Every option of `trace-compare run`, declared once (vitest's cli-config is the model): this table drives
// the yargs parser, the splitting of our options from the command's own (run-args.ts), the parsed type
// RunArgs, `--help`, and the options table of docs/cli.md (scripts/gen-cli-docs.ts; a test keeps it in step).

import { REPORT_FORMATS } from '../format.js';
import { flagsOf, type ArgsOf, type OptionSpec } from './options.js';

export type { OptionSpec };

export const RUN_OPTIONS = {
  pod: {
    type: 'string', array: true, value: 'NAME',
    describe: 'add an environment: runc, gvisor (handler runsc), crun, or NAME=HANDLER; repeatable. Default (as root): runc and gvisor',
  },
  host: { type: 'boolean', default: true, describe: 'also run on the host, as the first environment; --no-host: the pods only' },
  format: { type: 'string', value: 'FORMAT', choices: REPORT_FORMATS, default: 'table', describe: `output format: ${REPORT_FORMATS.join(', ')}` },
  wide: { type: 'boolean', default: false, describe: 'table: one line per row however wide (default: fits 100 columns)' },
  timeout: {
    type: 'number', default: 60, value: 'S',
    describe: 'seconds the whole run may take (environments and kernel-release probe; at most 2147483); then everything is torn down, exit 124',
  },
  env: {
    type: 'string', array: true, value: 'NAME=VALUE',
    describe: 'set a variable for the command in every environment, NAME=VALUE; repeatable (the default set: PATH, HOME, the caller\'s LANG/LC_*, TERM, TZ)',
  },
  rootfs: { type: 'string', value: 'DIR', describe: 'root filesystem for the pods, used as-is and read-only (default: the host\'s system directories, a generated /etc)' },
  include: {
    type: 'string', array: true, value: 'CMD',
    describe: 'also copy this host command (and what it needs) into the pods; only for commands outside /usr, /bin, /sbin, /lib*; repeatable',
  },
  privileged: {
    type: 'boolean', default: false,
    describe: 'pods without seccomp and with every capability, like Kubernetes\' privileged: true (default: RuntimeDefault seccomp, containerd\'s capabilities)',
  },
  pids: { type: 'string', value: 'N', describe: 'most tasks (processes and threads) in each pod; default 1024' },
  memory: { type: 'string', value: 'SIZE', describe: 'memory limit of each pod, e.g. 512Mi, 2Gi (swap the same); default 1Gi' },
  cpus: { type: 'string', value: 'N', describe: 'CPU limit of each pod, e.g. 0.5 or 500m; default 1' },
  'install-missing': { type: 'boolean', default: false, describe: 'apt-get install missing runtimes and tracers (root, Debian/Ubuntu)' },
  perf: { type: 'boolean', default: true, describe: 'measure what reaches the host kernel with perf; --no-perf: do not (hostKernelCalls and hostKernel become null)' },
  'keep-temp': { type: 'boolean', default: false, describe: 'keep bundles and logs (their paths are printed on stderr)' },
  backend: {
    type: 'string', value: 'KIND', choices: ['oci', 'cri'], default: 'oci',
    describe: 'how pods run: oci, an OCI bundle run by the runtime itself; cri, a pod sandbox through a CRI runtime (containerd) with the pod\'s RuntimeClass handler, as a kubelet runs it (docs/cri.md)',
  },
  'cri-endpoint': {
    type: 'string', value: 'URL',
    describe: '--backend cri: the CRI runtime\'s socket (default: the private containerd of scripts/setup-cri.sh when it runs, else unix:///run/containerd/containerd.sock)',
  },
} as const satisfies Record<string, OptionSpec>;

/** The parsed options: what has a default is always set, the rest may be absent. */
export type RunArgs = ArgsOf<typeof RUN_OPTIONS>;

/** The flags as written on the command line, and whether each takes a value (`--no-X` for booleans on by default). */
export const runFlags = (): Map<string, boolean> => flagsOf(RUN_OPTIONS);
