// Environment names (RuntimeClass style) -> runtimes, and whether the runtime binaries are here.

import { readFile } from 'node:fs/promises';
import { loadExeca } from '../load-execa.js';
import { RunError } from './errors.js';
import { which } from './which.js';
import type { EnvironmentSpec, RuntimeKind } from './types.js';

const HANDLERS: readonly RuntimeKind[] = ['runc', 'runsc', 'crun'];

/** Well-known RuntimeClass names. `host` is not a RuntimeClass but is how we name "no sandbox". */
const KNOWN: Record<string, RuntimeKind> = {
  host: 'host',
  runc: 'runc',
  crun: 'crun',
  gvisor: 'runsc',
  runsc: 'runsc',
};

/** `runc`, `gvisor`, `crun`, `host`, or `NAME=HANDLER` with HANDLER one of runc|runsc|crun. */
export function resolveEnvironment(spec: string): EnvironmentSpec {
  const eq = spec.indexOf('=');
  if (eq >= 0) {
    const name = spec.slice(0, eq);
    const handler = spec.slice(eq + 1);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
      throw new RunError('BAD_REQUEST', `bad environment name '${name}' in '${spec}'`, { hint: 'use letters, digits, ".", "_" or "-", e.g. --pod sandboxed=runsc' });
    }
    if (!(HANDLERS as readonly string[]).includes(handler)) {
      throw new RunError('BAD_REQUEST', `unknown runtime handler '${handler}' in '${spec}'`, { hint: `the handler must be one of ${HANDLERS.join(', ')}, e.g. --pod sandboxed=runsc` });
    }
    return { name, runtime: handler as RuntimeKind };
  }
  const kind = KNOWN[spec];
  if (!kind) {
    throw new RunError('BAD_REQUEST', `unknown environment '${spec}'`, { hint: `known names: ${Object.keys(KNOWN).join(', ')}; or NAME=HANDLER with HANDLER one of ${HANDLERS.join(', ')}` });
  }
  return { name: spec, runtime: kind };
}

/** A binary the runners need, and the Debian package that provides it. */
export type Tool = 'runc' | 'crun' | 'runsc' | 'strace' | 'perf';
const PACKAGE: Record<Tool, string> = {
  runc: 'runc', crun: 'crun', runsc: 'runsc', strace: 'strace', perf: 'linux-perf',
};

/** The tools one environment needs: its runtime plus the tracers the options ask for. */
export function toolsFor(kind: RuntimeKind, opts: { tracePerf: boolean; traceWorkload?: boolean }): Tool[] {
  const tools: Tool[] = [];
  if (kind !== 'host') tools.push(kind);
  if (kind !== 'runsc' && opts.traceWorkload !== false) tools.push('strace');
  if (opts.tracePerf) tools.push('perf');
  return tools;
}

/** Finds the binary of one tool; throws a RunError (NOT_AVAILABLE) saying what to install. */
export async function checkTool(tool: Tool): Promise<string> {
  const found = await which(tool);
  if (found) return found;
  throw new RunError('NOT_AVAILABLE', `${tool} is not installed (not found on PATH)`, { hint: `install it: apt-get install ${PACKAGE[tool]}` });
}

/** Checks a runtime kind: its binary, and root for containers. Returns the binary path (or null for host). */
export async function checkRuntime(kind: RuntimeKind): Promise<string | null> {
  if (kind === 'host') return null;
  const bin = await checkTool(kind);
  if (process.getuid?.() !== 0) {
    throw new RunError('NOT_AVAILABLE', `running under ${kind} needs root (this process runs as uid ${process.getuid?.()})`, { hint: 'run as root (e.g. with sudo), or leave out --pod to trace on the host only' });
  }
  return bin;
}

/** Checks every tool; collects all that are missing into one error. */
export async function checkTools(tools: Tool[]): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const missing: Tool[] = [];
  for (const t of new Set(tools)) {
    const p = await which(t);
    if (p) found[t] = p; else missing.push(t);
  }
  if (missing.length > 0) {
    throw new RunError('NOT_AVAILABLE', `missing: ${missing.join(', ')}`, { hint: `install: apt-get install ${missing.map((t) => PACKAGE[t]).join(' ')} (or pass --install-missing as root)` });
  }
  return found;
}

/** Installs the Debian packages of the missing tools with apt-get (root on Debian/Ubuntu only). */
export async function installMissing(tools: Tool[]): Promise<Tool[]> {
  const missing: Tool[] = [];
  for (const t of new Set(tools)) if (!(await which(t))) missing.push(t);
  if (missing.length === 0) return [];
  const pkgs = missing.map((t) => PACKAGE[t]);
  if (process.getuid?.() !== 0) {
    throw new RunError('NOT_AVAILABLE', `cannot install ${pkgs.join(' ')}: not root`, { hint: `run: sudo apt-get install ${pkgs.join(' ')}` });
  }
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
  if (!/^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b/m.test(osRelease) || !(await which('apt-get'))) {
    throw new RunError('NOT_AVAILABLE', `cannot install ${pkgs.join(' ')}: not a Debian/Ubuntu system with apt-get`, { hint: `install ${missing.join(', ')} with your package manager` });
  }
  const execa = await loadExeca();
  const res = await execa('apt-get', ['install', '-y', ...pkgs], {
    reject: false, env: { DEBIAN_FRONTEND: 'noninteractive' }, stdin: 'ignore',
  });
  if (res.exitCode !== 0) {
    throw new RunError('NOT_AVAILABLE', `apt-get install ${pkgs.join(' ')} failed (exit ${res.exitCode})`, { hint: String(res.stderr).split('\n').filter(Boolean).slice(-3).join(' | ') || 'try apt-get update first' });
  }
  return missing;
}
