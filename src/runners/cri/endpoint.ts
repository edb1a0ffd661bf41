// Where the CRI backend finds a runtime by default: trace-compare's private containerd
// (scripts/setup-cri.sh) when it is running, else the usual containerd socket.

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/** setup-cri.sh's dir (TRACE_COMPARE_CRI_DIR overrides it there and here alike). */
export function privateCriDir(): string {
  return process.env.TRACE_COMPARE_CRI_DIR || '/run/trace-compare-cri';
}

export const SYSTEM_CONTAINERD_ENDPOINT = 'unix:///run/containerd/containerd.sock';

/** The private containerd's endpoint when its socket exists and its pid file names a live containerd. */
export async function privateCriEndpoint(): Promise<string | null> {
  const dir = privateCriDir();
  const sock = path.join(dir, 'containerd.sock');
  if (!(await stat(sock).catch(() => null))?.isSocket()) return null;
  const pid = Number((await readFile(path.join(dir, 'containerd.pid'), 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  return cmdline.includes('--config') && cmdline.includes(path.join(dir, 'config.toml')) ? `unix://${sock}` : null;
}

export async function defaultCriEndpoint(): Promise<string> {
  return (await privateCriEndpoint()) ?? SYSTEM_CONTAINERD_ENDPOINT;
}
