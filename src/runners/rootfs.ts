// A minimal root filesystem made from the host: the command, what it needs to start, a small /etc.

import { copyFile, lstat, mkdir, readlink, realpath, symlink, writeFile, chmod, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { UserError, ExitCode } from '../errors.js';
import { inspectExecutable, sharedLibraries } from './elf.js';
import { which } from './resolve.js';

/** PATH inside the containers: where Debian, and most images, keep their commands. */
export const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Copies the host path `hostPath` into `root` at the same path, reproducing every symlink on the
 * way (Debian's /bin -> usr/bin, /lib64/ld-linux... -> ...), so the copy resolves exactly as on the host.
 */
export async function mirrorPath(root: string, hostPath: string, depth = 0): Promise<void> {
  if (depth > 40) throw new UserError(`too many symlinks resolving ${hostPath}`, ExitCode.Failure);
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
    if (i !== parts.length - 1) throw new UserError(`${p} is not a directory (in ${hostPath})`, ExitCode.Failure);
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
    files.push(...(await closure(info.interpreter, seen)));
    // `#!/usr/bin/env prog`: env looks prog up on PATH at run time, so bring prog too.
    if (path.basename(info.interpreter) === 'env' && info.arg) {
      const prog = await which(info.arg.split(/\s+/).find((a) => !a.startsWith('-')) ?? '');
      if (prog) files.push(...(await closure(prog, seen)));
    }
  }
  return files;
}

/** Resolves a command name to an absolute host path, or throws a UserError naming it. */
export async function resolveCommand(name: string): Promise<string> {
  const found = await which(name, CONTAINER_PATH + ':' + (process.env.PATH ?? ''));
  if (!found) throw new UserError(`command not found on this host: ${name}`, ExitCode.Usage,
    'give a command installed here, or a root filesystem containing it with --rootfs');
  return found;
}

const ETC: Record<string, string> = {
  passwd: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  group: 'root:x:0:\nnogroup:x:65534:\n',
  hostname: 'trace-compare\n',
  'nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n',
  hosts: '127.0.0.1\tlocalhost\n::1\tlocalhost\n',
};

/**
 * Builds the rootfs for `command` (argv[0] on the host's PATH) plus `include`d commands, each at the
 * path it has on the host. Returns the argv to run inside.
 */
export async function buildRootfs(root: string, command: string[], include: string[] = []): Promise<string[]> {
  await mkdir(root, { recursive: true, mode: 0o755 });
  const main = await resolveCommand(command[0]!);
  const files = new Set<string>();
  for (const exe of [main, ...(await Promise.all(include.map(resolveCommand)))]) {
    for (const f of await closure(exe)) files.add(f);
  }
  for (const f of files) await mirrorPath(root, f);
  if (path.basename(await realpath(main)) === 'busybox') await linkBusyboxApplets(root, main);
  for (const d of ['etc', 'tmp', 'proc', 'dev', 'sys', 'root']) await mkdir(path.join(root, d), { recursive: true });
  await chmod(path.join(root, 'tmp'), 0o1777);
  for (const [name, text] of Object.entries(ETC)) await writeFile(path.join(root, 'etc', name), text);
  // Keep argv[0] as the user wrote it (error messages quote it) when the container's PATH finds
  // the same file; resolveCommand searched CONTAINER_PATH first, so a hit there is that file.
  const keepName = !command[0]!.includes('/') && CONTAINER_PATH.split(':').includes(path.dirname(main));
  return [keepName ? command[0]! : main, ...command.slice(1)];
}

/** busybox runs `cat` only if /bin/cat exists: link every applet it has to it, where nothing is yet. */
async function linkBusyboxApplets(root: string, busybox: string): Promise<void> {
  const res = await execa(busybox, ['--list-full'], { reject: false, stdin: 'ignore', timeout: 10_000 });
  if (res.exitCode !== 0) return;
  for (const rel of String(res.stdout).split('\n').map((s) => s.trim()).filter(Boolean)) {
    const link = path.join(root, rel);
    if (await lstat(link).catch(() => null)) continue;
    // Resolve through the rootfs' own symlinked dirs (bin -> usr/bin): mkdir only real parents.
    const parent = path.dirname(link);
    const pst = await stat(parent).catch(() => null);
    if (!pst) await mkdir(parent, { recursive: true });
    await symlink(busybox, link).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'EEXIST') throw e; });
  }
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
