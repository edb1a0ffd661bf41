// What fixes a missing handler: the runtime's config stanza that adds it, and the RuntimeClass that names it.
// Pure text; the doctor decides which form fits the node (a shim binary on PATH or not).

/** How containerd should run a handler. */
export type HandlerPlan =
  /** The handler's own shim v2 (`containerd-shim-runsc-v1` for io.containerd.runsc.v1): upstream's form. */
  | { kind: 'shim'; handler: string; runtimeType: string }
  /** containerd's runc v2 shim driving another OCI binary (a runsc or crun, or a wrapper of one); `root`: its state dir. */
  | { kind: 'runc-shim'; handler: string; binaryName: string; root?: string };

/**
 * Annotations containerd passes from the pod to the runtime: gVisor reads its flags from `dev.gvisor.*`
 * (trace-compare's CRI backend names each pod's Sentry strace log that way).
 */
const PASSED_ANNOTATIONS: Record<string, string> = { runsc: 'dev.gvisor.*' };

/** Upstream's runtime_type of each handler the docs know (gVisor's and Kata's own shims). */
const UPSTREAM_TYPE: Record<string, string> = {
  runsc: 'io.containerd.runsc.v1',
  kata: 'io.containerd.kata.v2',
  runc: 'io.containerd.runc.v2',
};

/** Upstream's form for `handler`, or null when there is no well-known shim for it. */
export function upstreamPlan(handler: string): HandlerPlan | null {
  const runtimeType = UPSTREAM_TYPE[handler];
  return runtimeType ? { kind: 'shim', handler, runtimeType } : null;
}

/**
 * The CRI plugin's table in containerd's config.toml: `io.containerd.grpc.v1.cri` in containerd 1.x
 * (config version 2), `io.containerd.cri.v1.runtime` in 2.x (config version 3).
 */
export function criPluginTable(containerdVersion: string | null): string {
  const major = Number(/^v?(\d+)\./.exec(containerdVersion ?? '')?.[1] ?? 1);
  return major >= 2 ? 'plugins."io.containerd.cri.v1.runtime"' : 'plugins."io.containerd.grpc.v1.cri"';
}

/** TOML's basic string: the same escapes as JSON for the paths a binary can have. */
const tomlString = (s: string) => JSON.stringify(s);

/** TOML key: bare when it can be, quoted otherwise (a handler name may hold dots). */
const tomlKey = (s: string) => (/^[A-Za-z0-9_-]+$/.test(s) ? s : JSON.stringify(s));

/** The config.toml stanza that adds the handler to containerd's CRI plugin. */
export function containerdStanza(plan: HandlerPlan, containerdVersion: string | null): string {
  const table = `${criPluginTable(containerdVersion)}.containerd.runtimes.${tomlKey(plan.handler)}`;
  const lines = [`[${table}]`, `  runtime_type = ${tomlString(plan.kind === 'shim' ? plan.runtimeType : 'io.containerd.runc.v2')}`];
  const passed = PASSED_ANNOTATIONS[plan.handler];
  if (passed) lines.push(`  pod_annotations = [${tomlString(passed)}]`, `  container_annotations = [${tomlString(passed)}]`);
  if (plan.kind === 'runc-shim') {
    lines.push(`  [${table}.options]`, `    BinaryName = ${tomlString(plan.binaryName)}`);
    if (plan.root) lines.push(`    Root = ${tomlString(plan.root)}`);
  }
  return lines.join('\n') + '\n';
}

/** CRI-O's drop-in (/etc/crio/crio.conf.d/) for an OCI binary. */
export function crioStanza(handler: string, binary: string): string {
  return [
    `[crio.runtime.runtimes.${tomlKey(handler)}]`,
    `runtime_path = ${tomlString(binary)}`,
    'runtime_type = "oci"',
    `runtime_root = ${tomlString(`/run/${handler}`)}`,
  ].join('\n') + '\n';
}

/** The RuntimeClass a pod names (`runtimeClassName: NAME`) to get the handler. node.k8s.io/v1 since Kubernetes 1.20. */
export function runtimeClassManifest(name: string, handler: string): string {
  return ['apiVersion: node.k8s.io/v1', 'kind: RuntimeClass', 'metadata:', `  name: ${name}`, `handler: ${handler}`].join('\n') + '\n';
}
