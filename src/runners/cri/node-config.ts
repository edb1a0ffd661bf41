// What a node's CRI runtime says of its handlers (containerd's Status verbose `config`), and the one way to
// end a pod sandbox, used by runs (cri/run.ts) and by doctor's test pods.

import path from 'node:path';
import { loadExeca } from '../../load-execa.js';
import type { CriClient } from './client.js';
import { killAll, listProcesses } from '../procs.js';
import { CONTAINERD_NAMESPACE } from './pod-spec.js';

/** What containerd's Status(verbose) says of its CRI config: the handlers and the sandbox image. */
export interface CriConfig {
  runtimes: Record<string, { runtimeType: string; options: Record<string, unknown> | null }>;
  sandboxImage: string | null;
}

/** The `config` JSON of containerd's Status(verbose) info; null when the runtime does not publish one (CRI-O). */
export function readCriConfig(info: Record<string, string>): CriConfig | null {
  const text = info.config;
  if (text === undefined) return null;
  let cfg: { containerd?: { runtimes?: Record<string, { runtimeType?: string; options?: Record<string, unknown> | null }> }; sandboxImage?: string };
  try {
    cfg = JSON.parse(text) as typeof cfg;
  } catch {
    return null;
  }
  const runtimes: CriConfig['runtimes'] = {};
  for (const [name, r] of Object.entries(cfg.containerd?.runtimes ?? {})) runtimes[name] = { runtimeType: r.runtimeType ?? '', options: r.options ?? null };
  return { runtimes, sandboxImage: typeof cfg.sandboxImage === 'string' && cfg.sandboxImage !== '' ? cfg.sandboxImage : null };
}

/** runsc run by containerd's runc v2 shim through a BinaryName (scripts/setup-cri.sh): its binary and state root. */
export interface RunscBehindShim { binary: string; root: string }

const RUNC_SHIM = 'io.containerd.runc.v2';
/** The runc v2 shim's default state root. */
const RUNC_SHIM_ROOT = '/run/containerd/runc';

/** The handler's runsc behind the runc shim, or null (another shim, or not runsc). */
export function runscBehindShim(config: CriConfig, handler: string): RunscBehindShim | null {
  const r = config.runtimes[handler];
  const bn = r?.options?.BinaryName;
  if (r?.runtimeType !== RUNC_SHIM || typeof bn !== 'string' || !path.basename(bn).includes('runsc')) return null;
  const root = typeof r.options?.Root === 'string' && r.options.Root !== '' ? r.options.Root : RUNC_SHIM_ROOT;
  return { binary: bn, root };
}

/**
 * runsc under the handler's own state root: the shim knows nothing of runsc's state, so kill, wait and
 * delete go to runsc directly. Null when runsc could not be run at all.
 */
export async function runscCommand(r: RunscBehindShim, args: string[], timeoutMs: number) {
  const execa = await loadExeca();
  return execa(r.binary, ['--root', path.join(r.root, CONTAINERD_NAMESPACE), ...args], {
    reject: false, stdin: 'ignore', timeout: timeoutMs, forceKillAfterDelay: 1000,
  }).catch(() => null);
}

/** The pod's shim: containerd-shim-runc-v2 started with `-id POD`. */
const shimToken = (podSandboxId: string) => `-id ${podSandboxId} `;

/**
 * Stops and removes a pod sandbox; resolves to null, or to why it could not be removed. Behind the runc v2
 * shim a gVisor container is never seen to exit (the shim watches the sandbox's pid, and `runsc kill` fails
 * once the sandbox stops: "sandbox is not running"), so StopPodSandbox alone waits for ever: runsc's own
 * state goes first (delete -force), then, if Stop still fails, the pod's shim, whose end makes containerd
 * mark everything exited ("shim disconnected"); containerd reaps it in the background, so Stop and Remove are
 * retried for a while.
 */
export async function removePodSandbox(client: CriClient, podSandboxId: string, runsc: RunscBehindShim | null, timeoutMs = 15_000): Promise<string | null> {
  const opts = { timeoutMs };
  const stopPod = (ms: number) => client.stopPodSandbox({ podSandboxId }, { timeoutMs: ms }).then(() => null, (e: Error) => e.message);
  if (runsc) {
    const ids = (await client.listContainers({ filter: { podSandboxId } }, opts).catch(() => ({ containers: [] }))).containers.map((c) => c.id);
    for (const id of [...ids, podSandboxId]) await runscCommand(runsc, ['delete', '-force', id], timeoutMs);
    // A short first try: when the shim still holds the pod's containers as running it never succeeds.
    if ((await stopPod(2000)) !== null) await killAll({ roots: [], argvTokens: [shimToken(podSandboxId)], cgroupNames: [] }, 3000);
  }
  const deadline = Date.now() + 2 * timeoutMs;
  for (;;) {
    const failure = (await stopPod(timeoutMs)) ?? (await client.removePodSandbox({ podSandboxId }, opts).then(() => null, (e: Error) => e.message));
    if (failure === null) {
      // containerd's `shim delete` after a killed shim outlives the Remove by a moment: the pod is gone once it is.
      while (Date.now() < deadline && (await listProcesses()).some((p) => p.cmdline.includes('containerd-shim') && p.cmdline.includes(shimToken(podSandboxId)))) {
        await new Promise((r) => setTimeout(r, 100));
      }
      return null;
    }
    if (Date.now() > deadline) return failure;
    await new Promise((r) => setTimeout(r, 500));
  }
}
