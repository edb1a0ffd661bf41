// What a live test may expect of the installed tools, read from the tools themselves: a test never
// holds one machine's kernel release or tool version as a constant.

import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';

/**
 * The kernel release gVisor's Sentry reports, for the runsc installed here: 4.4.0 up to
 * release-20260426, 4.19.0-gvisor since release-20260427.0. Debian spells the version
 * `runsc version 0.0~20221219.0`, upstream `runsc version release-20221219.0`.
 */
export async function gvisorRelease(): Promise<string> {
  const text = String((await execa('runsc', ['--version'], { reject: false, stdin: 'ignore' })).stdout);
  const m = /(\d{8})\.\d+/.exec(text);
  if (!m) throw new Error(`cannot read the release date from runsc --version: ${JSON.stringify(text)}`);
  return Number(m[1]) >= 20260427 ? '4.19.0-gvisor' : '4.4.0';
}

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/**
 * Whether a command is installed: an executable of that name on PATH, or in an sbin directory (runc, perf,
 * setpriv may live there while a non-root PATH leaves them out).
 */
export function has(cmd: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), '/usr/bin', '/bin', '/usr/local/bin', ...SBIN];
  return dirs.some((d) => {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return statSync(join(d, cmd)).isFile();
    } catch {
      return false;
    }
  });
}
