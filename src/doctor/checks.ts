// The chain the seed walks through, one link at a time, for one RuntimeClass: the runtime binary, the CRI
// runtime behind the socket, the handler in its CRI config, the sandbox image, a pod with that handler, and
// the kernel release a container in it reports. Each link is ok, failed with the evidence, or skipped
// with why; a failed pod start in one of the known "no such handler" wordings carries the fix.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadExeca } from '../load-execa.js';
import { escapeControls } from '../report/escape.js';
import { which } from '../runners/which.js';
import { register } from '../runners/registry.js';
import { POD_NAMESPACE, RUN_LABEL, parseCriLogLine } from '../runners/cri/pod-spec.js';
import { readCriConfig, removePodSandbox, runscBehindShim, type CriConfig } from '../runners/cri/node-config.js';
import { parseRunscLogDir } from '../../parsers/runsc-log.js';
import { releaseFromUname } from '../compare.js';
import type { CriClient, PodSandboxConfig, VersionResponse } from '../runners/cri/client.js';
import { recogniseHandlerMissing, meaning, WORDINGS, type HandlerMissing } from '../runners/cri/wording.js';
import { containerdStanza, crioStanza, runtimeClassManifest, upstreamPlan, type HandlerPlan } from './fix.js';

export type CheckStatus = 'ok' | 'failed' | 'skipped';
export const CHECKS = ['runtime binary', 'CRI runtime', 'handler configured', 'sandbox image', 'pod starts', 'kernel release'] as const;
export type CheckName = (typeof CHECKS)[number];

export interface Check {
  name: CheckName;
  status: CheckStatus;
  /** ok: what was found; failed: the evidence (the runtime's own words); skipped: why. */
  detail: string;
}

/** What the doctor tells the user to do about a handler the runtime lacks. */
export interface Fix {
  /** The refusal as recognised in the runtime's words. */
  refusal: HandlerMissing;
  /** The seed's (dockershim's) words for the same refusal, and CRI-O's. */
  otherWordings: { runtime: string; words: string }[];
  meaning: string;
  /** Where the stanza goes, and the stanza. */
  configFile: string;
  stanza: string;
  /** Upstream's form when the stanza is the local one (or none). */
  upstream: { note: string; stanza: string } | null;
  runtimeClass: string;
}

export interface PodDiagnosis {
  /** As given: `gvisor`, `kata`, `sandboxed=runsc`. */
  pod: string;
  runtimeClass: string;
  handler: string;
  checks: Check[];
  /** The kernel release the pod's container reported, when it ran. */
  release: string | null;
  fix: Fix | null;
}

export { readCriConfig, type CriConfig };

/** The OCI binary behind each handler the docs know (kata's runtime CLI; its shim is containerd-shim-kata-v2). */
const BINARY: Record<string, string> = { runsc: 'runsc', runc: 'runc', crun: 'crun', kata: 'kata-runtime' };
export const binaryOf = (handler: string): string => BINARY[handler] ?? handler;

/** Whatever the node software answered with, shared by every pod's checks. */
export interface Node {
  endpoint: string;
  /** null when nothing answered at the endpoint; `failure` says why. */
  cri: CriClient | null;
  failure: string | null;
  version: VersionResponse | null;
  /** null with `configFailure` when the runtime's CRI config could not be read. */
  config: CriConfig | null;
  configFailure: string | null;
}

const ok = (name: CheckName, detail: string): Check => ({ name, status: 'ok', detail });
const failed = (name: CheckName, detail: string): Check => ({ name, status: 'failed', detail });
const skipped = (name: CheckName, detail: string): Check => ({ name, status: 'skipped', detail });

const firstLine = (s: string) => s.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';

/** Link 1: the runtime's binary is on PATH and answers --version. */
export async function checkBinary(handler: string, signal?: AbortSignal): Promise<Check> {
  const name = binaryOf(handler);
  const bin = await which(name);
  if (!bin) return failed('runtime binary', `${name} is not installed (not on PATH or in an sbin directory)`);
  const execa = await loadExeca();
  const r = await execa(bin, ['--version'], { reject: false, stdin: 'ignore', timeout: 10_000, ...(signal ? { cancelSignal: signal } : {}) });
  const version = firstLine(String(r.stdout)) || firstLine(String(r.stderr));
  if (r.exitCode !== 0) return failed('runtime binary', `${bin} --version failed (${r.timedOut ? 'timed out' : `exit ${r.exitCode ?? r.signal}`}): ${version || 'no output'}`);
  return ok('runtime binary', `${bin}: ${version}`);
}

/** Link 3: the handler is in the CRI config, and a BinaryName it names is executable. */
export async function checkHandlerConfigured(node: Node, handler: string): Promise<Check> {
  if (!node.cri) return skipped('handler configured', 'no CRI runtime to ask');
  if (!node.config) return skipped('handler configured', node.configFailure ?? `${node.version?.runtimeName ?? 'the runtime'} does not publish its handlers in CRI Status`);
  const known = Object.keys(node.config.runtimes).sort();
  const r = node.config.runtimes[handler];
  if (!r) return failed('handler configured', `containerd.runtimes has no "${handler}" (configured: ${known.join(', ') || 'none'})`);
  const binaryName = typeof r.options?.BinaryName === 'string' && r.options.BinaryName !== '' ? r.options.BinaryName : null;
  if (binaryName && !(await which(binaryName))) return failed('handler configured', `"${handler}" (${r.runtimeType}) names BinaryName ${binaryName}, which is not an executable file`);
  return ok('handler configured', `"${handler}": runtime_type ${r.runtimeType || '(default)'}${binaryName ? `, BinaryName ${binaryName}` : ''}`);
}

/** Link 4: the sandbox (pause) image is present. containerd pulls it before it looks at the handler. */
export async function checkSandboxImage(node: Node, signal?: AbortSignal): Promise<Check> {
  if (!node.cri) return skipped('sandbox image', 'no CRI runtime to ask');
  const image = node.config?.sandboxImage;
  if (!image) return skipped('sandbox image', 'the runtime does not say which sandbox image it uses');
  try {
    const st = await node.cri.imageStatus({ image: { image } }, { signal });
    if (!st.image) return failed('sandbox image', `${image} is not present: RunPodSandbox would try to pull it first`);
    return ok('sandbox image', `${image} (${st.image.id.slice(0, 19)})`);
  } catch (e) {
    return failed('sandbox image', `ImageStatus ${image}: ${(e as Error).message}`);
  }
}

/** gVisor behind containerd's runc v2 shim (setup-cri's form): the shim never sees a gVisor container exit. */

/**
 * Links 5 and 6: RunPodSandbox with the handler (in the node's network namespace: no CNI needed), then a
 * container running `uname -r`; Stop and Remove always, also when aborted. A gVisor pod is asked to log
 * its syscalls (dev.gvisor.flag.* annotations, passed when the handler has pod_annotations): the release is
 * read from the Sentry's uname, since behind the runc v2 shim a gVisor container's output and exit never
 * reach containerd.
 */
export async function checkPod(node: Node, handler: string, runId: string, imageOk: boolean, signal?: AbortSignal): Promise<{ checks: Check[]; release: string | null; refusal: HandlerMissing | null }> {
  const cri = node.cri;
  const noPod = skipped('kernel release', 'no pod');
  if (!cri) return { checks: [skipped('pod starts', 'no CRI runtime to ask'), noPod], release: null, refusal: null };
  if (!imageOk) return { checks: [skipped('pod starts', 'the sandbox image is not present (containerd would pull it before it looks at the handler)'), noPod], release: null, refusal: null };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trace-compare-doctor-'));
  const runscLogDir = handler === 'runsc' ? path.join(dir, 'runsc') + '/' : null;
  const config: PodSandboxConfig = {
    // No hostname: a pod in the node's network namespace shares its UTS namespace (runc refuses to set one).
    metadata: { name: runId, uid: runId, namespace: POD_NAMESPACE, attempt: 0 },
    logDirectory: dir,
    labels: { [RUN_LABEL]: runId },
    annotations: runscLogDir ? { 'dev.gvisor.flag.debug-log': runscLogDir, 'dev.gvisor.flag.strace': 'true' } : {},
    linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
  };
  let podId: string | null = null;
  let unregister: () => void = () => undefined;
  try {
    const started = Date.now();
    try {
      // Not cancelled by a stop signal: a RunPodSandbox cut short leaves a pod whose id we never learn.
      podId = (await cri.runPodSandbox({ config, runtimeHandler: handler })).podSandboxId;
    } catch (e) {
      const words = (e as { details?: string }).details ?? (e as Error).message;
      return { checks: [failed('pod starts', `RunPodSandbox with handler "${handler}": ${words}`), noPod], release: null, refusal: recogniseHandlerMissing(words) };
    }
    const id = podId;
    unregister = register({ label: `doctor pod ${handler}`, tempDir: dir, containerId: id, teardown: () => removePod(node, handler, id) });
    if (signal?.aborted) return { checks: [], release: null, refusal: null };
    const podCheck = ok('pod starts', `RunPodSandbox with handler "${handler}": pod ${id.slice(0, 13)} ready in ${((Date.now() - started) / 1000).toFixed(2)} s`);
    const release = await unameInPod(cri, id, config, node.config?.sandboxImage ?? '', runscLogDir, signal);
    return { checks: [podCheck, release.check], release: release.value, refusal: null };
  } finally {
    if (podId) await removePod(node, handler, podId);
    unregister();
    await rm(dir, { recursive: true, force: true });
  }
}

const UNAME_WAIT_MS = 20_000;

async function unameInPod(cri: CriClient, podId: string, sandboxConfig: PodSandboxConfig, image: string, runscLogDir: string | null, signal?: AbortSignal): Promise<{ check: Check; value: string | null }> {
  const fail = (why: string) => ({ check: failed('kernel release', `uname -r in the pod: ${why}`), value: null });
  try {
    // Not cancelled either: the container goes with its pod. busybox is the sandbox image's (setup-cri's).
    const { containerId } = await cri.createContainer({
      podSandboxId: podId,
      sandboxConfig,
      config: { metadata: { name: 'uname' }, image: { image }, command: ['/bin/busybox', 'uname', '-r'], logPath: 'uname.log', labels: sandboxConfig.labels ?? {} },
    });
    await cri.startContainer({ containerId }, { signal });
    const deadline = Date.now() + UNAME_WAIT_MS;
    while (!signal?.aborted) {
      const st = (await cri.containerStatus({ containerId }, { signal })).status;
      if (st?.state === 'CONTAINER_EXITED') {
        const out = criLogStdout(await readFile(path.join(sandboxConfig.logDirectory!, 'uname.log'), 'utf8').catch(() => '')).trim();
        if (st.exitCode === 0 && out !== '') return { check: ok('kernel release', `uname -r in the pod: ${out}`), value: out };
        if (!runscLogDir) return fail(`exit ${st.exitCode}${st.reason ? ` (${st.reason})` : ''}, output ${JSON.stringify(out)}`);
      }
      const sentry = runscLogDir ? await sentryRelease(runscLogDir) : null;
      if (sentry) return { check: ok('kernel release', `uname -r in the pod: ${sentry} (uname's answer in the Sentry's strace log)`), value: sentry };
      if (Date.now() > deadline) return fail(`no answer within ${UNAME_WAIT_MS / 1000} s${runscLogDir ? ' (nor a uname in the Sentry\'s log: does the handler pass dev.gvisor.* pod annotations to a runsc with --allow-flag-override?)' : ''}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return fail('interrupted');
  } catch (e) {
    return fail((e as Error).message);
  }
}

/** The stdout of a container's CRI log, partial lines joined. */
function criLogStdout(log: string): string {
  let out = '';
  for (const line of log.split('\n')) {
    const l = parseCriLogLine(line);
    if (l?.stream === 'stdout') out += l.text + (l.partial ? '' : '\n');
  }
  return out;
}

/** The release the first successful uname in a gVisor pod's boot logs returned. */
async function sentryRelease(dir: string): Promise<string | null> {
  try {
    for await (const e of parseRunscLogDir(dir)) {
      if (e.kind === 'syscall' && e.name === 'uname') {
        const r = releaseFromUname(e);
        if (r) return r;
      }
    }
  } catch {
    // No boot log yet.
  }
  return null;
}

/** The shim processes of a pod (the runc v2 shim serves a pod's containers from one process), cleanup runs included. */
/** Stop and Remove always; a failure is said, with where to find the pod (runs' teardown, node-config.ts). */
async function removePod(node: Node, handler: string, podId: string): Promise<void> {
  const failure = await removePodSandbox(node.cri!, podId, node.config ? runscBehindShim(node.config, handler) : null);
  if (failure !== null) process.stderr.write(`trace-compare: could not remove pod ${podId.slice(0, 13)}: ${escapeControls(failure)} (trace-compare pods lists it)\n`);
}

/**
 * How this node runs its other handlers, for `handler`: when one is containerd's runc v2 shim with a
 * BinaryName and a file named after the handler's binary sits beside it (scripts/setup-cri.sh's wrappers,
 * which work around this machine's traps), the same shim with that file, its state dir beside theirs.
 */
export async function siblingPlan(config: CriConfig, handler: string): Promise<HandlerPlan | null> {
  for (const r of Object.values(config.runtimes)) {
    const bn = r.options?.BinaryName;
    if (r.runtimeType !== 'io.containerd.runc.v2' || typeof bn !== 'string' || !path.isAbsolute(bn)) continue;
    const candidate = path.join(path.dirname(bn), binaryOf(handler));
    if (candidate === bn || !(await which(candidate))) continue;
    const root = r.options?.Root;
    return { kind: 'runc-shim', handler, binaryName: candidate, ...(typeof root === 'string' && path.isAbsolute(root) ? { root: path.join(path.dirname(root), handler) } : {}) };
  }
  return null;
}

/** The fix for a refusal: the stanza for the runtime that refused, the other wordings, the RuntimeClass. */
export async function fixFor(node: Node, refusal: HandlerMissing, runtimeClass: string): Promise<Fix> {
  const handler = refusal.handler;
  const otherWordings = WORDINGS.filter((w) => w.runtime !== refusal.runtime).map((w) => ({ runtime: w.runtime, words: w.example(handler) }));
  const manifest = runtimeClassManifest(runtimeClass, handler);
  if (refusal.runtime === 'cri-o') {
    const bin = (await which(binaryOf(handler))) ?? `/usr/bin/${binaryOf(handler)}`;
    return { refusal, otherWordings, meaning: meaning(handler), configFile: '/etc/crio/crio.conf.d/99-' + handler + '.conf', stanza: crioStanza(handler, bin), upstream: null, runtimeClass: manifest };
  }
  const version = node.version?.runtimeVersion ?? null;
  const upstream = upstreamPlan(handler);
  // Upstream's form needs the handler's own shim on containerd's PATH (containerd-shim-runsc-v1 is not in Debian).
  const shimName = upstream?.kind === 'shim' ? `containerd-shim-${upstream.runtimeType.split('.').slice(2).join('-')}` : null;
  const shimHere = shimName !== null && (await which(shimName)) !== null;
  const bin = await which(binaryOf(handler));
  let plan: HandlerPlan | null = shimHere ? upstream : (node.config && (await siblingPlan(node.config, handler))) ?? (bin ? { kind: 'runc-shim', handler, binaryName: bin } : upstream);
  plan ??= { kind: 'runc-shim', handler, binaryName: `/usr/local/bin/${binaryOf(handler)}` };
  const upstreamNote = upstream && plan.kind !== 'shim'
    ? { note: `upstream's form, with the handler's own shim (${shimName}) on containerd's PATH${handler === 'runsc' ? ' (gVisor\'s release ships it; the seed\'s install script put it in /usr/local/bin)' : ''}:`, stanza: containerdStanza(upstream, version) }
    : null;
  return {
    refusal,
    otherWordings,
    meaning: meaning(handler),
    configFile: 'the config.toml containerd was started with (--config; default /etc/containerd/config.toml), then restart containerd',
    stanza: containerdStanza(plan, version),
    upstream: upstreamNote,
    runtimeClass: manifest,
  };
}
