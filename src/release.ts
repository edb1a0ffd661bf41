// The kernel release read from what `uname` printed, when the trace does not decode it.
// strace prints uname's struct with its release only under -v (`release="6.1.0"`); without -v the seed's
// trace shows `uname({sysname="Linux", nodename="master", ...}) = 0`, yet the command was `uname -r` and its
// output, `4.4.0-142-generic`, is in the trace: that output is the release (kernelReleaseSource 'output').

import type { SyscallEvent, TraceEvent } from '../parsers/events.js';
import { parseArgs } from '../parsers/strace-args.js';

/** uname's fields in the order it prints them: -s -n -r -v -m -p -i -o. */
const LONG: Record<string, string> = {
  '--kernel-name': 's', '--nodename': 'n', '--kernel-release': 'r', '--kernel-version': 'v', '--machine': 'm',
  '--processor': 'p', '--hardware-platform': 'i', '--operating-system': 'o', '--all': 'a',
};

/**
 * Which field of `uname ARGS`'s output is the release (0-based, fields split on whitespace), or null when it
 * prints no release (`uname`, `uname -s`) or the arguments are not uname's (`--help`, an unknown option).
 * The kernel name and the node name hold no spaces, so the release is field 0, 1 or 2 whatever follows it
 * (the kernel version after it does hold spaces: `#168-Ubuntu SMP Wed Jan 16 ...`).
 */
export function unameReleaseField(args: string[]): number | null {
  const set = new Set<string>();
  for (const a of args) {
    if (a.startsWith('--')) {
      const f = LONG[a];
      if (f === undefined) return null;
      set.add(f);
    } else if (a.startsWith('-') && a.length > 1) {
      for (const c of a.slice(1)) {
        if (!'snrvmpioa'.includes(c)) return null;
        set.add(c);
      }
    } else return null; // uname takes no operands
  }
  if (set.has('a')) return 2;
  if (!set.has('r')) return null;
  return (set.has('s') ? 1 : 0) + (set.has('n') ? 1 : 0);
}

/** `execve("/bin/uname", ["uname", "-r"], ...)`: the argv strace printed, or null when it is not all there. */
export function execArgv(e: SyscallEvent): string[] | null {
  if (e.name !== 'execve' && e.name !== 'execveat') return null;
  const nodes = parseArgs(e.args);
  const arr = nodes[e.name === 'execve' ? 1 : 2];
  if (arr?.kind !== 'array') return null;
  const argv: string[] = [];
  for (const n of arr.items) {
    // `[...]` cut short by strace (-s / the 32-argument limit): the argv is not known in full.
    if (n.kind !== 'string' || n.truncated) return null;
    argv.push(Buffer.from(n.value, 'latin1').toString('utf8'));
  }
  return argv;
}

const basename = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/**
 * The release `uname` printed: `command` is the traced command line (argv, or the execve event that started
 * it), `output` what it wrote to stdout. `uname -r` prints the release alone, `uname -a` as its third field,
 * `uname -sr` as its second. null when the command is not uname printing a release, or the output does not
 * hold the field whole. `truncated`: the output is known only in part (strace's `-s` cut the string), so the
 * field must end before the text does.
 */
export function releaseFromOutput(command: string[] | SyscallEvent, output: string, truncated = false): string | null {
  const argv = Array.isArray(command) ? command : execArgv(command);
  if (argv === null || argv.length === 0 || basename(argv[0]!) !== 'uname') return null;
  const field = unameReleaseField(argv.slice(1));
  if (field === null) return null;
  const nl = output.indexOf('\n');
  // Only the first line: uname prints one. Without its newline the line may be cut short.
  const line = nl >= 0 ? output.slice(0, nl) : output;
  const complete = nl >= 0 || !truncated;
  const words = line.split(/[ \t]+/).filter((w) => w !== '');
  const value = words[field];
  if (value === undefined) return null;
  // The last word of a cut line may itself be cut.
  if (field === words.length - 1 && !complete) return null;
  return /^[\x21-\x7e]+$/.test(value) ? value : null;
}

const STDOUT_WRITE = /^1(?:<[^>]*>)?, /;

/**
 * Streaming form for saved traces: remembers the traced command (the first execve of the first process, or a
 * `command` event: the pasted `$ strace uname -r` line) and what that process wrote to stdout (the program's
 * output recovered from the trace, else its `write(1, "...")` calls), at most 4 KiB of it.
 */
export class ReleaseFromOutput {
  private argv: string[] | null = null;
  private pid: number | null | undefined;
  private output = '';
  private written = '';
  private writtenTruncated = false;

  add(e: TraceEvent): void {
    switch (e.kind) {
      case 'command':
        if (this.argv === null && e.command.length > 0) this.argv = e.command;
        return;
      case 'output':
        if (this.output.length < 4096) this.output += e.text;
        return;
      case 'syscall':
        if (this.pid === undefined) this.pid = e.pid;
        if (e.pid !== this.pid || e.result === null || e.result.errno !== undefined) return;
        if ((e.name === 'execve' || e.name === 'execveat') && this.argv === null) this.argv = execArgv(e);
        else if (e.name === 'write' && STDOUT_WRITE.test(e.args) && this.written.length < 4096) {
          const buf = parseArgs(e.args)[1];
          if (buf?.kind === 'string') {
            this.written += Buffer.from(buf.value, 'latin1').toString('utf8');
            if (buf.truncated) this.writtenTruncated = true;
          }
        }
        return;
      default:
    }
  }

  /** The release uname printed, or null. */
  get release(): string | null {
    if (this.argv === null) return null;
    // The recovered output is what the program printed, whole; the write's literal may be cut by -s.
    if (this.output !== '') return releaseFromOutput(this.argv, this.output);
    return this.written === '' ? null : releaseFromOutput(this.argv, this.written, this.writtenTruncated);
  }
}
