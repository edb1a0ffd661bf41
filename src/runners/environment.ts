// The process environment every environment's workload gets: one documented set, the same on the host
// and in each pod, so that columns differ by the runtime and not by locale or PATH (the host used to
// inherit the caller's 40-odd variables while the pods got LANG=C: a UTF-8 locale alone changes
// uname -r from 38 to 112 syscalls).

import { CONTAINER_PATH } from './rootfs.js';
import { RunError } from './errors.js';

/** The working directory of every workload: the one directory every environment has and shares. */
export const WORKLOAD_CWD = '/';

/** Caller variables passed on: the locale and the terminal type, which change what programs do. */
const PASSED = /^(LANG|LANGUAGE|LC_[A-Z_]+|TERM|TZ)$/;

/**
 * The workload's variables: a clean PATH (the pods' standard one), HOME=/root, the caller's locale
 * (LANG, LANGUAGE, LC_*), TERM and TZ, then each `--env K=V` (which may override any of them).
 */
export function workloadEnvironment(caller: NodeJS.ProcessEnv, extra: string[] = []): Record<string, string> {
  const env: Record<string, string> = { PATH: CONTAINER_PATH, HOME: '/root' };
  for (const [k, v] of Object.entries(caller)) if (PASSED.test(k) && v !== undefined) env[k] = v;
  for (const kv of extra) {
    const eq = kv.indexOf('=');
    if (eq <= 0 || /[\0]/.test(kv)) throw new RunError('BAD_REQUEST', `--env ${kv}: expected NAME=VALUE`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return env;
}

/** As an OCI process.env list, sorted so the order is the same everywhere. */
export function envList(env: Record<string, string>): string[] {
  return Object.keys(env).sort().map((k) => `${k}=${env[k]}`);
}
