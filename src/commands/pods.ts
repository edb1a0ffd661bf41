// `trace-compare pods`: the pod sandboxes and containers trace-compare created that still exist on the CRI
// runtime, like `crictl pods` and `crictl ps -a` restricted to ours (found by their run label). After a
// clean run the answer is empty; anything listed is what a SIGKILL left.

import { ExitCode, UserError } from '../errors.js';
import { makeChalk } from '../format.js';
import { writeOut } from '../output.js';
import { escapeControls, terminalSafeJson } from '../report/escape.js';
import { defaultCriEndpoint } from '../runners/cri/endpoint.js';
import { connectCri, type CriClient } from '../runners/cri/client.js';
import { RunError } from '../runners/errors.js';
import { RUN_LABEL } from '../runners/cri/pod-spec.js';
import { SHARED_OPTIONS, type ArgsOf, type OptionSpec } from './options.js';


export const PODS_OPTIONS = {
  'cri-endpoint': SHARED_OPTIONS['cri-endpoint'],
  format: SHARED_OPTIONS.tableOrJson,
} as const satisfies Record<string, OptionSpec>;

export type PodsArgs = ArgsOf<typeof PODS_OPTIONS>;

export interface PodRow { id: string; name: string; namespace: string; handler: string; state: string; created: string; run: string }
export interface ContainerRow { id: string; name: string; podId: string; image: string; state: string; created: string; run: string }
export interface PodsReport { endpoint: string; pods: PodRow[]; containers: ContainerRow[] }

/** A CRI time (nanoseconds since the epoch, as a decimal string) as an ISO time to the second. */
function created(ns: string): string {
  const ms = Number(BigInt(ns || '0') / 1_000_000n);
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Ours: every sandbox and container carrying the run label, whatever the run. */
export async function listOurs(cri: CriClient, signal?: AbortSignal): Promise<Omit<PodsReport, 'endpoint'>> {
  // A label selector matches a value; ours differ per run, so the key is tested here.
  const [sandboxes, containers] = await Promise.all([cri.listPodSandbox({}, { signal }), cri.listContainers({}, { signal })]);
  const pods = sandboxes.items.filter((s) => RUN_LABEL in s.labels).map((s) => ({
    id: s.id, name: s.metadata?.name ?? '', namespace: s.metadata?.namespace ?? '', handler: s.runtimeHandler,
    state: s.state.replace(/^SANDBOX_/, ''), created: created(s.createdAt), run: s.labels[RUN_LABEL]!,
  }));
  const ctrs = containers.containers.filter((c) => RUN_LABEL in c.labels).map((c) => ({
    id: c.id, name: c.metadata?.name ?? '', podId: c.podSandboxId, image: c.image?.image ?? c.imageRef,
    state: c.state.replace(/^CONTAINER_/, ''), created: created(c.createdAt), run: c.labels[RUN_LABEL]!,
  }));
  return { pods, containers: ctrs };
}

export async function runPods(a: PodsArgs): Promise<number> {
  const endpoint = a['cri-endpoint'] ?? (await defaultCriEndpoint());
  let cri: CriClient;
  try {
    cri = await connectCri(endpoint);
  } catch (e) {
    // The exit code is this command's choice: no runtime to ask is a missing runtime (4), a bad address usage (2).
    if (e instanceof RunError) throw new UserError(e.message, e.code === 'BAD_REQUEST' ? ExitCode.Usage : ExitCode.MissingRuntime, e.context.hint);
    throw e;
  }
  let report: PodsReport;
  try {
    report = { endpoint, ...(await listOurs(cri)) };
  } catch (e) {
    if (e instanceof RunError) throw new UserError(e.message, ExitCode.RuntimeFailed, e.context.hint);
    throw e;
  } finally {
    cri.close();
  }
  await writeOut(a.format === 'json' ? terminalSafeJson(JSON.stringify(report, null, 2)) + '\n' : renderPods(report));
  return ExitCode.Ok;
}

/** Columns padded to their widest cell, like crictl's. */
function columns(head: string[], rows: string[][]): string {
  const cells = [head, ...rows].map((r) => r.map(escapeControls));
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join('   ')).join('\n') + '\n';
}

export function renderPods(r: PodsReport): string {
  const c = makeChalk();
  if (r.pods.length === 0 && r.containers.length === 0) return `no pod sandbox or container of trace-compare at ${escapeControls(r.endpoint)}\n`;
  let out = c.bold(`pod sandboxes (${r.pods.length})`) + '\n';
  out += columns(['POD ID', 'CREATED', 'STATE', 'NAME', 'NAMESPACE', 'HANDLER', 'RUN'],
    r.pods.map((p) => [p.id.slice(0, 13), p.created, p.state, p.name, p.namespace, p.handler, p.run]));
  out += '\n' + c.bold(`containers (${r.containers.length})`) + '\n';
  out += columns(['CONTAINER', 'CREATED', 'STATE', 'NAME', 'POD ID', 'IMAGE', 'RUN'],
    r.containers.map((k) => [k.id.slice(0, 13), k.created, k.state, k.name, k.podId.slice(0, 13), k.image, k.run]));
  out += '\neach belongs to a run still going, or was left by one that was killed (SIGKILL)\n';
  return out;
}
