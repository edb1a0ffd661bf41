// What a host executable needs to run elsewhere: its interpreter (PT_INTERP or #!) and shared libraries.

import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { RunError } from './errors.js';

export type ExecutableKind =
  | { kind: 'static' }
  | { kind: 'dynamic'; interp: string }
  | { kind: 'script'; interpreter: string; arg: string | null }
  | { kind: 'unknown' };

const PT_INTERP = 3;

/** Reads the header only: ELF PT_INTERP (32/64-bit, either endianness) or a `#!` line. */
export async function inspectExecutable(file: string): Promise<ExecutableKind> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(256);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead >= 2 && head[0] === 0x23 && head[1] === 0x21) {
      const line = head.subarray(2, bytesRead).toString('utf8').split('\n')[0]!.trim();
      const [interpreter, ...rest] = line.split(/\s+/);
      if (!interpreter) return { kind: 'unknown' };
      return { kind: 'script', interpreter, arg: rest.length ? rest.join(' ') : null };
    }
    if (bytesRead < 52 || head.readUInt32BE(0) !== 0x7f454c46) return { kind: 'unknown' };
    const is64 = head[4] === 2;
    const le = head[5] === 1;
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const u64 = (b: Buffer, o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
    const phoff = is64 ? u64(head, 32) : u32(head, 28);
    const phentsize = u16(head, is64 ? 54 : 42);
    const phnum = u16(head, is64 ? 56 : 44);
    if (phnum === 0 || phentsize < (is64 ? 56 : 32) || phnum > 4096) return { kind: 'static' };
    const ph = Buffer.alloc(phentsize * phnum);
    await fh.read(ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      if (u32(ph, o) !== PT_INTERP) continue;
      const off = is64 ? u64(ph, o + 8) : u32(ph, o + 4);
      const size = is64 ? u64(ph, o + 32) : u32(ph, o + 16);
      const buf = Buffer.alloc(Math.min(size, 4096));
      await fh.read(buf, 0, buf.length, off);
      return { kind: 'dynamic', interp: buf.toString('latin1').replace(/\0.*$/s, '') };
    }
    return { kind: 'static' };
  } finally {
    await fh.close();
  }
}

// Asked once per file and loader while this process runs: the pods of one command copy the same command
// (and a lesson, the same strace), and each ask is a process spawned (~20 ms from node).
const listed = new Map<string, Promise<string[]>>();

/**
 * Shared libraries of a dynamic executable, as absolute host paths (interpreter included), from the
 * dynamic loader's own `--list`: it applies the real search rules (RUNPATH, ld.so.cache, hwcaps).
 */
export function sharedLibraries(file: string, interp: string): Promise<string[]> {
  const key = `${interp}\0${file}`;
  let libs = listed.get(key);
  if (!libs) {
    libs = listLibraries(file, interp);
    listed.set(key, libs);
    libs.catch(() => listed.delete(key)); // a failure is not remembered: the next ask says it again
  }
  return libs;
}

async function listLibraries(file: string, interp: string): Promise<string[]> {
  // node's own execFile: execa cost ~8 ms more CPU per call, and a pod's rootfs waits for this one.
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(interp, ['--list', file], { timeout: 10_000, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (e, out, err) => {
      if (!e) return resolve(out);
      const status = typeof e.code === 'number' ? `exit ${e.code}` : e.signal ? `killed by ${e.signal}` : e.message;
      reject(new RunError('HOST_UNREADABLE', `cannot list the shared libraries of ${file}: ${err.trim() || status}`));
    });
    child.stdin?.end();
  });
  const libs = new Set<string>([interp]);
  for (const line of stdout.split('\n')) {
    // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)`, `/lib64/ld-linux-x86-64.so.2 (0x...)`,
    // `linux-vdso.so.1 (0x...)` (in the kernel, nothing to copy), `libfoo.so => not found`.
    const m = /^\s*(\S+)(?:\s+=>\s+(.*?))?\s*(?:\(0x[0-9a-f]+\))?\s*$/.exec(line);
    if (!m) continue;
    const target = m[2] ?? m[1]!;
    if (target === 'not found') {
      throw new RunError('HOST_UNREADABLE', `${file} needs ${m[1]}, which the dynamic loader cannot find`);
    }
    if (target.startsWith('/')) libs.add(target);
  }
  return [...libs];
}
