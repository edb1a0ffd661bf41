// A private containerd of a test file's own (scripts/setup-cri.sh's, in a temp dir, with its own TMPDIR for
// the CLI), started before the file's tests and stopped after them, and the CLI pointed at it.
import { afterAll, beforeAll, expect } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { has } from './live.js';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/trace-compare.js');

/** What a private containerd needs here that is missing: root and the tools setup-cri.sh uses. */
export const CRI_MISSING = [
  ...(process.getuid?.() === 0 ? [] : ['root']),
  ...['containerd', 'ctr', 'runc', 'runsc', 'busybox'].filter((c) => !has(c)),
];

export interface PrivateCri {
  /** setup-cri.sh's dir: config.toml, the socket, the runsc wrapper. Set once the tests start. */
  dir: string;
  /** The TMPDIR the CLI runs with. */
  tmp: string;
  endpoint(): string;
  env(): NodeJS.ProcessEnv;
  setup(verb: 'start' | 'stop' | 'status'): ReturnType<typeof execa>;
  /** trace-compare CMD --cri-endpoint <this containerd> ARGS... */
  cli(cmd: string, ...args: string[]): ReturnType<typeof execa>;
  /** Mount points under its dir (containerd's shm and overlay mounts, should a pod outlive a failure). */
  mounts(): string[];
}

/** Registers the containerd's start (beforeAll) and its stop and removal (afterAll) in the calling describe. */
export function usePrivateCri(prefix: string): PrivateCri {
  const cri: PrivateCri = {
    dir: '',
    tmp: '',
    endpoint: () => `unix://${cri.dir}/containerd.sock`,
    env: () => ({ ...process.env, TRACE_COMPARE_CRI_DIR: cri.dir, NO_COLOR: '1', TMPDIR: cri.tmp }),
    setup: (verb) => execa('bash', [path.join(root, 'scripts/setup-cri.sh'), verb], { env: cri.env(), reject: false, stdin: 'ignore' }),
    cli: (cmd, ...args) => execa('node', [bin, cmd, '--cri-endpoint', cri.endpoint(), ...args], { cwd: root, env: cri.env(), reject: false, stdin: 'ignore' }),
    mounts: () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(cri.dir + '/')),
  };
  beforeAll(async () => {
    if (!existsSync(path.join(root, 'dist/src/cli.js'))) await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, reject: false });
    // Short paths: the socket's path must fit in sun_path (108 bytes).
    cri.dir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    cri.tmp = mkdtempSync(path.join(os.tmpdir(), `${prefix}-tmp-`));
    const r = await cri.setup('start');
    expect(r.exitCode, String(r.stderr)).toBe(0);
  });
  afterAll(async () => {
    if (!cri.dir) return;
    await cri.setup('stop');
    for (const m of cri.mounts().reverse()) await execa('umount', ['-l', m], { reject: false });
    rmSync(cri.dir, { recursive: true, force: true });
    rmSync(cri.tmp, { recursive: true, force: true });
  });
  return cri;
}
