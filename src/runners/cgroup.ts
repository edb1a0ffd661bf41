// A cgroup of its own for a host run, so that everything the workload started ends with it: a daemon
// that called setsid leaves the process group and the process tree, but never its cgroup. Containers
// have theirs from the runtime. Uses the cgroup v2 hierarchy (unified, or the `unified` mount of a
// hybrid setup), where cgroup.kill ends every member at once.

import { readFile, readdir, mkdir, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Every cgroup hierarchy's mount point, v1 controllers and v2 alike. */
export async function cgroupMounts(): Promise<{ dir: string; v2: boolean }[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const out: { dir: string; v2: boolean }[] = [];
  for (const line of text.split('\n')) {
    // mount ID, parent, major:minor, root, mount point, options... - fstype source super-options
    const [left, right] = line.split(' - ');
    const fstype = right?.split(' ')[0];
    const dir = left?.split(' ')[4];
    if (dir && (fstype === 'cgroup' || fstype === 'cgroup2')) out.push({ dir, v2: fstype === 'cgroup2' });
  }
  return out;
}

/** Where cgroup2 is mounted, or null (no cgroup v2 here). */
export async function cgroup2Mount(): Promise<string | null> {
  return (await cgroupMounts()).find((m) => m.v2)?.dir ?? null;
}

/**
 * Removes the cgroup `name` (a direct child of each hierarchy's root, where runc and runsc put a
 * container without a cgroupsPath) from every hierarchy, killing what is still in it. runsc leaves
 * them behind when its sandbox is killed while starting. Returns the dirs that could not be removed.
 */
export async function removeCgroupsNamed(name: string): Promise<string[]> {
  const left: string[] = [];
  for (const { dir } of await cgroupMounts()) {
    if (!(await removeCgroupDir(path.join(dir, name)))) left.push(path.join(dir, name));
  }
  return left;
}

/** Removes a cgroup and its children (a pod's cgroup holds its containers'), ending their processes. */
async function removeCgroupDir(dir: string): Promise<boolean> {
  // Most runs leave none (runc and runsc remove theirs): one call tells, where the attempts below took four.
  const children = await readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : []));
  if (children === null) return true;
  for (const c of children) if (c.isDirectory() && !(await removeCgroupDir(path.join(dir, c.name)))) return false;
  for (let i = 0; i < 100; i++) {
    await writeFile(path.join(dir, 'cgroup.kill'), '1').catch(() => undefined);
    const procs = await readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const pid of procs.split('\n').filter(Boolean)) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone already */ }
    }
    try {
      await rmdir(dir);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY') return false; // a child cgroup, or not ours to remove
      await new Promise((r) => setTimeout(r, 20)); // members still exiting
    }
  }
  return false;
}

export interface RunCgroup {
  /** The cgroup's name (a path component of every member's /proc/PID/cgroup line). */
  name: string;
  /** Argv prefix that moves the process into the cgroup, then execs the rest (constant shell text). */
  enter: string[];
}

/** A new cgroup `name` under the cgroup2 root; null when cgroup v2 is absent or not writable (not root). */
export async function createRunCgroup(name: string): Promise<RunCgroup | null> {
  const mount = await cgroup2Mount();
  if (!mount) return null;
  const dir = path.join(mount, name);
  try {
    await mkdir(dir);
  } catch {
    return null;
  }
  return {
    name,
    // "0" moves the writing process; exec keeps the pid, so perf or strace starts inside.
    enter: ['/bin/sh', '-c', 'echo 0 > "$0" && exec "$@"', path.join(dir, 'cgroup.procs')],
  };
}
