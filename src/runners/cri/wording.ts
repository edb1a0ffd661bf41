// The words each container runtime uses when a pod asks for a RuntimeClass handler the node does not have.
// The seed's pod stayed in ContainerCreating with dockershim's wording; containerd and CRI-O say the same
// thing differently. Each pattern is the runtime's own format string, quoted from its source.

/** Which node software answered. */
export type HandlerRuntime = 'containerd' | 'dockershim' | 'cri-o';

export interface Wording {
  runtime: HandlerRuntime;
  /** The runtime's format string and where it lives, for the docs and the report. */
  format: string;
  source: string;
  /** The message for `handler`, as the runtime prints it (what a kubelet event shows after `desc = `). */
  example(handler: string): string;
  /** Captures the handler's name in group 1. */
  pattern: RegExp;
}

export const WORDINGS: readonly Wording[] = [
  {
    runtime: 'containerd',
    format: 'failed to get sandbox runtime: no runtime for %q is configured',
    source: 'containerd 1.6/1.7 pkg/cri/server/sandbox_run.go (getSandboxRuntime); 2.x internal/cri',
    example: (h) => `failed to get sandbox runtime: no runtime for ${JSON.stringify(h)} is configured`,
    pattern: /no runtime for "((?:[^"\\]|\\.)*)" is configured/,
  },
  {
    runtime: 'dockershim',
    format: 'RuntimeHandler %q not supported',
    source: 'kubelet\'s dockershim (pkg/kubelet/dockershim/docker_sandbox.go, removed in Kubernetes 1.24): the seed\'s wording',
    example: (h) => `RuntimeHandler ${JSON.stringify(h)} not supported`,
    pattern: /RuntimeHandler "((?:[^"\\]|\\.)*)" not supported/,
  },
  {
    runtime: 'cri-o',
    format: 'failed to find runtime handler %s from runtime list %v',
    source: 'CRI-O internal/oci/oci.go (ValidateRuntimeHandler)',
    example: (h) => `failed to find runtime handler ${h} from runtime list map[crun:0xc000004480 runc:0xc00021fc80]`,
    pattern: /failed to find runtime handler (\S+) from runtime list/,
  },
];

export interface HandlerMissing {
  runtime: HandlerRuntime;
  handler: string;
  /** The matched words, as the runtime wrote them. */
  words: string;
}

/** The runtime that refused a handler it lacks, and the handler's name; null for any other failure. */
export function recogniseHandlerMissing(message: string): HandlerMissing | null {
  for (const w of WORDINGS) {
    const m = w.pattern.exec(message);
    if (!m) continue;
    const quoted = m[1]!;
    // %q is Go's quoting: the same escapes as JSON for the names a handler can have.
    let handler = quoted;
    if (w.runtime !== 'cri-o') {
      try {
        handler = JSON.parse(`"${quoted}"`) as string;
      } catch {
        // A %q escape JSON lacks (\a, \x..): keep the text as written.
      }
    }
    return { runtime: w.runtime, handler, words: m[0] };
  }
  return null;
}

/** One or two lines: what the refusal means, whoever said it. */
export function meaning(handler: string): string {
  return `The node's container runtime has no handler named "${handler}": a pod whose RuntimeClass names it cannot get a sandbox, ` +
    'so it stays in ContainerCreating (kubelet event FailedCreatePodSandBox) until the handler is added to the runtime\'s config and the runtime restarted.';
}
