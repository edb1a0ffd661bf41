// A pod's root filesystem made from the host: its system directories read-only, a generated /etc,
// and whatever the command needs from elsewhere.

import { chmodSync, copyFileSync, lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { copyFile, lstat, mkdir, readlink, realpath, rm, symlink, writeFile, chmod, stat } from 'node:fs/promises';
import path from 'node:path';
import { RunError } from './errors.js';
import { inspectExecutable, sharedLibraries } from './elf.js';
import { which } from './which.js';

/** PATH inside the containers: where Debian, and most images, keep their commands. */
export const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Copies the host path `hostPath` into `root` at the same path, reproducing every symlink on the
 * way (Debian's /bin -> usr/bin, /lib64/ld-linux... -> ...), so the copy resolves exactly as on the host.
 */
export async function mirrorPath(root: string, hostPath: string, depth = 0): Promise<void> {
  if (depth > 40) throw new RunError('HOST_UNREADABLE', `too many symlinks resolving ${hostPath}`);
  const parts = path.resolve(hostPath).split('/').filter(Boolean);
  let cur = '/';
  for (let i = 0; i < parts.length; i++) {
    const p = path.join(cur, parts[i]!);
    const inRoot = path.join(root, p);
    const st = await lstat(p);
    if (st.isSymbolicLink()) {
      const target = await readlink(p);
      const existing = await lstat(inRoot).catch(() => null);
      if (!existing) await symlink(target, inRoot);
      const resolved = path.resolve(path.dirname(p), target);
      await mirrorPath(root, path.join(resolved, ...parts.slice(i + 1)), depth + 1);
      return;
    }
    if (st.isDirectory()) {
      await mkdir(inRoot, { recursive: true });
      cur = p;
      continue;
    }
    if (i !== parts.length - 1) throw new RunError('HOST_UNREADABLE', `${p} is not a directory (in ${hostPath})`);
    if (!(await lstat(inRoot).catch(() => null))) {
      await copyFile(p, inRoot);
      await chmod(inRoot, st.mode & 0o7777);
    }
    return;
  }
}

/** The executable and every file it needs to start: interpreter chain, shared libraries. */
export async function closure(executable: string, seen = new Set<string>()): Promise<string[]> {
  if (seen.has(executable)) return [];
  seen.add(executable);
  const files = [executable];
  const info = await inspectExecutable(executable);
  if (info.kind === 'dynamic') {
    files.push(...(await sharedLibraries(executable, info.interp)));
  } else if (info.kind === 'script') {
    // A #! line names what the kernel will execute: anything else (`#!/etc/shadow`) is refused, never
    // copied into a pod.
    const st = await stat(info.interpreter).catch(() => null);
    if (!st?.isFile() || !(await which(info.interpreter))) {
      throw new RunError('BAD_REQUEST', `${executable}: its #! interpreter ${info.interpreter} is not an executable file`);
    }
    files.push(...(await closure(info.interpreter, seen)));
    // `#!/usr/bin/env prog`: env looks prog up on PATH at run time, so bring prog too.
    if (path.basename(info.interpreter) === 'env' && info.arg) {
      const prog = await which(info.arg.split(/\s+/).find((a) => !a.startsWith('-')) ?? '');
      if (prog) files.push(...(await closure(prog, seen)));
    }
  }
  return files;
}

/** Resolves a command name to an absolute host path, or throws a RunError naming it. */
export async function resolveCommand(name: string): Promise<string> {
  const found = await which(name, CONTAINER_PATH + ':' + (process.env.PATH ?? ''));
  if (!found) throw new RunError('BAD_REQUEST', `command not found on this host: ${name}`, { hint: 'give a command installed here, or a root filesystem containing it with --rootfs' });
  return found;
}

/**
 * The host's system directories, seen by every pod read-only at the same paths, so that any host
 * program runs unchanged and loads the very same files (libraries, locales, Python's stdlib) as on
 * the host. Merged-/usr links (/bin -> usr/bin) are reproduced as links.
 */
const SYSTEM_DIRS = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** A read-only bind of a host directory into the pod. */
export interface HostMount { destination: string; source: string }

/** A rootfs buildRootfs made: its dir, the argv to run in it, the host dirs to mount. */
export interface BuiltRootfs { dir: string; argv: string[]; mounts: HostMount[] }

/** Files of the generated /etc that differ from the host's by design. */
const ETC_OWN: Record<string, string> = {
  hostname: 'trace-compare\n',
  hosts: '127.0.0.1\tlocalhost\n::1\tlocalhost\n',
};

/**
 * The pod's /etc: the host's own files (ld.so.cache, locale and nsswitch settings, alternatives,
 * passwd and group) so programs behave as on the host, but only what the host lets anyone read:
 * a file or directory without the world-read (directory: world-search) bit, such as /etc/shadow,
 * /etc/gshadow or a private key directory, is left out. Symlinks are copied as symlinks.
 */
function copyEtc(from: string, to: string): void {
  // Synchronous: ~1,200 entries in ~30 ms, where a promise per call (a thread-pool round trip each) took
  // ~250 ms of a pod's start.
  mkdirSync(to, { recursive: true, mode: 0o755 });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else if (entry.isDirectory() || entry.isFile()) {
      const st = lstatSync(src, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory() && (st.mode & 0o005) === 0o005) copyEtc(src, dst);
      else if (st.isFile() && (st.mode & 0o004) && !entry.name.endsWith('.lock')) {
        copyFileSync(src, dst);
        chmodSync(dst, st.mode & 0o777);
      }
    }
  }
}

/** Whether `file` lies in one of the system directories every pod sees from the host. */
async function onSystemDirs(file: string): Promise<boolean> {
  const real = await realpath(file).catch(() => file);
  return SYSTEM_DIRS.some((d) => real === `/${d}` || real.startsWith(`/${d}/`));
}

/**
 * Builds the rootfs for `command` (argv[0] on the host's PATH): the host's system directories (as
 * mounts to add), a generated /etc, empty mountpoints. A command outside them (a script in /opt, a
 * binary in the user's dir) is copied in with what it needs that the system dirs do not hold; so are
 * `include`d commands. Returns the argv to run inside and the mounts.
 */
export async function buildRootfs(root: string, command: string[], include: string[] = []): Promise<BuiltRootfs> {
  await mkdir(root, { recursive: true, mode: 0o755 });
  const mounts: HostMount[] = [];
  for (const d of SYSTEM_DIRS) {
    const st = await lstat(`/${d}`).catch(() => null);
    if (st?.isSymbolicLink()) await symlink(await readlink(`/${d}`), path.join(root, d));
    else if (st?.isDirectory()) {
      await mkdir(path.join(root, d));
      mounts.push({ destination: `/${d}`, source: `/${d}` });
    }
  }
  const main = await resolveCommand(command[0]!);
  for (const exe of [main, ...(await Promise.all(include.map(resolveCommand)))]) {
    for (const f of await closure(exe)) if (!(await onSystemDirs(f))) await mirrorPath(root, f);
  }
  for (const d of ['tmp', 'proc', 'dev', 'sys', 'root', 'run', 'var/tmp']) await mkdir(path.join(root, d), { recursive: true });
  await chmod(path.join(root, 'tmp'), 0o1777);
  copyEtc('/etc', path.join(root, 'etc'));
  for (const [name, text] of Object.entries(ETC_OWN)) {
    await rm(path.join(root, 'etc', name), { force: true });
    await writeFile(path.join(root, 'etc', name), text);
  }
  // Keep argv[0] as the user wrote it (error messages quote it) when the container's PATH finds
  // the same file; resolveCommand searched CONTAINER_PATH first, so a hit there is that file.
  const keepName = !command[0]!.includes('/') && CONTAINER_PATH.split(':').includes(path.dirname(main));
  return { dir: root, argv: [keepName ? command[0]! : main, ...command.slice(1)], mounts };
}

/**
 * A self-contained copy of a tool (strace) in a flat dir, runnable in any rootfs whatever libc it
 * has. Returns the argv prefix that runs it, under `mountedAt` (where the dir appears inside).
 * A dynamic tool runs through its own loader: `NAME --library-path lib NAME.real`; the loader copy
 * is called NAME so that the process is still named NAME in ps and in perf trace's comm column.
 */
export async function buildToolDir(dir: string, toolPath: string, name: string, mountedAt: string): Promise<string[]> {
  await mkdir(path.join(dir, 'lib'), { recursive: true });
  const info = await inspectExecutable(toolPath);
  const install = async (from: string, to: string) => {
    await copyFile(from, path.join(dir, to));
    await chmod(path.join(dir, to), 0o755);
  };
  if (info.kind !== 'dynamic') {
    await install(toolPath, name);
    return [`${mountedAt}/${name}`];
  }
  await install(toolPath, `${name}.real`);
  for (const lib of await sharedLibraries(toolPath, info.interp)) {
    await install(lib, lib === info.interp ? name : path.join('lib', path.basename(lib)));
  }
  return [`${mountedAt}/${name}`, '--library-path', `${mountedAt}/lib`, `${mountedAt}/${name}.real`];
}
