// Which command an argument vector runs. main() dispatches on it; the entry point asks it, before the CLI has
// loaded, whether the command may trace (src/prestart.ts).

import { isRunOption, splitRunArgs } from './commands/run-args.js';

export const SUBCOMMANDS = new Set(['parse', 'summary', 'diff', 'run', 'lesson', 'doctor', 'pods', 'cleanup', 'help', 'completion']);

/** `run`: argv[0] is a command or a run option; `run-word`: argv[0] is `run`; else the subcommand's own. */
export type Route = 'run' | 'run-word' | 'lesson' | 'other';

export function routeOf(argv: string[]): Route {
  const first = argv[0];
  if (first === undefined) return 'other';
  if (first.startsWith('-') ? isRunOption(first) : !SUBCOMMANDS.has(first)) return 'run';
  if (first === 'run') return 'run-word';
  return first === 'lesson' ? 'lesson' : 'other';
}

/**
 * Whether `argv` may trace the host kernel: a run or a lesson, as root, without --no-perf, help or version.
 * A guess made before the options are parsed: a session started on it and not wanted is ended at exit.
 */
export function mayTrace(argv: string[]): boolean {
  if (process.getuid?.() !== 0) return false;
  const route = routeOf(argv);
  if (route === 'other') return false;
  const options = route === 'lesson' ? argv.slice(1) : splitRunArgs(route === 'run' ? argv : argv.slice(1)).options;
  return !options.some((o) => /^(--no-perf|--perf=false|-h|--help|--version)$/.test(o));
}
