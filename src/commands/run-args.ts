// Splits `trace-compare uname -r --pod gvisor` into our options and the command's own argument vector.
// With `--`, everything after it is the command, untouched; without it, our known options are taken out
// wherever they stand and the rest, in order, is the command.

import { runFlags } from './run-options.js';

export interface SplitArgs {
  options: string[];
  command: string[];
}

/** Our options and whether each takes a value: derived from the one option table. */
const OPTIONS = runFlags();

export function splitRunArgs(argv: string[]): SplitArgs {
  const dd = argv.indexOf('--');
  if (dd !== -1) return { options: argv.slice(0, dd), command: argv.slice(dd + 1) };
  const options: string[] = [];
  const command: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith('--') && a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    const takesValue = OPTIONS.get(name);
    // After the command has started, -h/--help are the command's own.
    if (takesValue === undefined || ((a === '-h' || a === '--help') && command.length > 0)) {
      command.push(a);
      continue;
    }
    options.push(a);
    if (takesValue && name === a && i + 1 < argv.length) options.push(argv[++i]!);
  }
  return { options, command };
}

/** `trace-compare --pod gvisor -- ls` starts with a run option, so it is a run (help and version are not). */
export function isRunOption(arg: string): boolean {
  const name = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
  return name === '--' || (OPTIONS.has(name) && name !== '--help' && name !== '-h');
}
