// What runs killed with SIGKILL (or a crashed node) left behind, and its removal: `trace-compare cleanup`.
// A run marks its private dir with an owner file (its node pid, that process's start time and the
// container/cgroup id), so a dir whose owner still lives is never touched, and a stale one is known
// by name: trace-compare-* in the temp dir, cgroups named trace-compare-<12 hex> in every hierarchy.

import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadExeca } from '../load-execa.js';
import { killAll, findProcesses } from './procs.js';
import { OWNER, SCRATCH_ROOT, TEMP_PREFIX, startTime } from './run-dir.js';
import { cgroupMounts, removeCgroupsNamed } from './cgroup.js';
import { readPrivateText } from './private-files.js';
import { connectCri } from './cri/client.js';
import { defaultCriEndpoint } from './cri/endpoint.js';
import { readCriConfig, removePodSandbox, runscBehindShim } from './cri/node-config.js';
import { RUN_LABEL } from './cri/pod-spec.js';

const CGROUP_NAME = /^trace-compare-[0-9a-f]{12}$/;

interface RunDir { dir: string; id: string | null; live: boolean }

async function runDirs(tmp: string): Promise<RunDir[]> {
  const out: RunDir[] = [];
  // Directories only, as readdir sees them (a symlink is not followed): a file or link of that name is not a run's.
  for (const entry of await readdir(tmp, { withFileTypes: true }).catch(() => [])) {
    if (!entry.name.startsWith(TEMP_PREFIX) || !entry.isDirectory()) continue;
    const dir = path.join(tmp, entry.name);
    const [pid, start, id] = ((await readPrivateText(path.join(dir, OWNER))) ?? '').trim().split(' ');
    // The pid alone could have been reused: the start time tells the same process apart.
    const live = pid !== undefined && /^\d+$/.test(pid) && Number(pid) !== process.pid && startTime(Number(pid)) === start;
    out.push({ dir, id: id ?? null, live });
  }
  return out;
}

export interface CleanupReport {
  /** Each thing removed (or, with dryRun, to remove), in words. */
  removed: string[];
  /** What could not be removed, with the reason. */
  failed: string[];
  /** What was left alone: dirs of runs still going, cgroups with processes that no stale dir here explains. */
  live: string[];
}

/**
 * Finds what earlier runs left in `tmp` (default: the temp dir), in `scratch` (default: the scratch tmpfs,
 * unless `tmp` is given) and in the cgroup trees, and removes it.
 */
export async function cleanupLeftovers(opts: { tmp?: string; scratch?: string; dryRun?: boolean } = {}): Promise<CleanupReport> {
  const tmp = opts.tmp ?? os.tmpdir();
  const scratch = opts.scratch ?? (opts.tmp === undefined ? SCRATCH_ROOT : null);
  const report: CleanupReport = { removed: [], failed: [], live: [] };
  const dirs = [...await runDirs(tmp), ...(scratch !== null && scratch !== tmp ? await runDirs(scratch) : [])];
  const liveIds = new Set(dirs.filter((d) => d.live && d.id).map((d) => d.id!));
  report.live = dirs.filter((d) => d.live).map((d) => d.dir);

  // Cgroups of dead runs: containers (runc, runsc) and host runs alike. Those of a stale dir here are
  // ended; one no dir here explains may be a live run's with another TMPDIR: removed only when empty.
  const stale = new Set(dirs.filter((d) => !d.live && d.id && CGROUP_NAME.test(d.id)).map((d) => d.id!));
  const names = stale;
  for (const { dir } of await cgroupMounts()) {
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      if (!CGROUP_NAME.test(n) || liveIds.has(n) || stale.has(n)) continue;
      if ((await readFile(path.join(dir, n, 'cgroup.procs'), 'utf8').catch(() => '')).trim() === '') {
        if (opts.dryRun) report.removed.push(`empty cgroup ${path.join(dir, n)}`);
        else if (await rmdir(path.join(dir, n)).then(() => true, () => false)) report.removed.push(`empty cgroup ${path.join(dir, n)}`);
      } else if (!report.live.some((f) => f.startsWith(`cgroup ${n} `))) {
        report.live.push(`cgroup ${n} (running processes, no run dir in ${tmp}: a run with another TMPDIR? give --tmpdir)`);
      }
    }
  }

  // Pods first (--backend cri), so containerd ends their shims and containers in order.
  await removeStalePods(stale, opts.dryRun ?? false, tmp, report);
  const execa = await loadExeca();
  for (const d of dirs.filter((x) => !x.live)) {
    const pids = await findProcesses({ roots: [], argvTokens: [d.dir + '/'], cgroupNames: d.id ? [d.id] : [] });
    if (opts.dryRun) {
      report.removed.push(`${d.dir}${pids.length ? ` and processes ${pids.join(', ')}` : ''}`);
      continue;
    }
    // Runtimes first, so they tear their containers down in order; then anything still running.
    for (const rt of ['runc', 'runsc']) {
      await execa(rt, ['--root', path.join(d.dir, 'state'), 'delete', '--force', d.id ?? ''], {
        reject: false, stdin: 'ignore', timeout: 5000, forceKillAfterDelay: 1000,
      }).catch(() => undefined);
    }
    const left = await killAll({ roots: [], argvTokens: [d.dir + '/'], cgroupNames: d.id ? [d.id] : [] }, 5000);
    if (left.length) report.failed.push(`${d.dir}: processes ${left.join(', ')} survived SIGKILL`);
    for (const mp of await mountsUnder(d.dir)) {
      const r = await execa('umount', ['-l', mp], { reject: false, stdin: 'ignore' }).catch(() => null);
      if (r?.exitCode === 0) report.removed.push(`mount ${mp}`);
      else report.failed.push(`mount ${mp}: umount failed`);
    }
    try {
      await rm(d.dir, { recursive: true, force: true, maxRetries: 3 });
      report.removed.push(`${d.dir}${pids.length ? ` (and its processes ${pids.join(', ')})` : ''}`);
    } catch (e) {
      report.failed.push(`${d.dir}: ${(e as Error).message}`);
    }
  }
  for (const n of names) {
    if (opts.dryRun) {
      report.removed.push(`cgroup ${n}`);
      continue;
    }
    const left = await removeCgroupsNamed(n);
    if (left.length) report.failed.push(`cgroup ${n}: ${left.join(', ')} still busy`);
    else report.removed.push(`cgroup ${n}`);
  }
  return report;
}

/**
 * Pod sandboxes of dead runs with --backend cri, at the node's CRI runtime (labelled with their run's id).
 * Only a run whose dir here says it is dead is removed: a pod of a run with another TMPDIR, or of a doctor
 * still checking, is left and listed. No CRI runtime: no pods.
 */
async function removeStalePods(stale: Set<string>, dryRun: boolean, tmp: string, report: CleanupReport): Promise<void> {
  const endpoint = await defaultCriEndpoint();
  const cri = await connectCri(endpoint).catch(() => null);
  if (!cri) return;
  try {
    const config = readCriConfig((await cri.status({ verbose: true })).info);
    for (const p of (await cri.listPodSandbox({})).items) {
      const run = p.labels[RUN_LABEL];
      if (run === undefined) continue;
      const what = `pod sandbox ${p.id.slice(0, 13)} of ${run} (handler ${p.runtimeHandler}) at ${endpoint}`;
      if (!stale.has(run)) {
        report.live.push(`${what} (no dead run's dir in ${tmp}: a run still going, or with another TMPDIR? give --tmpdir)`);
      } else if (dryRun) {
        report.removed.push(what);
      } else {
        const failure = await removePodSandbox(cri, p.id, config ? runscBehindShim(config, p.runtimeHandler) : null);
        if (failure === null) report.removed.push(what);
        else report.failed.push(`${what}: ${failure}`);
      }
    }
  } catch (e) {
    report.failed.push(`pods at ${endpoint}: ${(e as Error).message}`);
  } finally {
    cri.close();
  }
}

/** Mount points at or below `dir` in this mount namespace, deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return text.split('\n').map((l) => l.split(' ')[4] ?? '')
    .filter((mp) => mp === dir || mp.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}
