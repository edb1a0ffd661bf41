// Typed errors: a user mistake prints one clear line, never a stack trace. (A parser's ParseError, with its
// codes, is in parsers/errors.ts; which exit code it means is the CLI's choice.)

/** A mistake the user can fix: bad flags, missing file, missing runtime. Exit code says which. */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.Usage,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/**
 * Exit codes scripts can rely on, declared once: the codes, `--help`'s epilogues and docs/cli.md's table
 * (scripts/gen-cli-docs.ts) all come from this table. `for` says which commands can return it.
 */
export const EXIT_CODES = [
  { name: 'Ok', code: 0, for: 'all', meaning: 'done (for run: compared; the command\'s own exit code is in the report)' },
  { name: 'Failure', code: 1, for: 'all', meaning: 'internal error (a bug: set TRACE_COMPARE_DEBUG=1 for the stack), or the system refused (disk full, too many open files)' },
  { name: 'Usage', code: 2, for: 'all', meaning: 'usage: bad option, unreadable file' },
  { name: 'ParseErrors', code: 3, for: 'saved', meaning: '--strict and some input lines were not understood, or an input held no syscall' },
  { name: 'MissingRuntime', code: 4, for: 'run', meaning: 'a runtime, tracer or RuntimeClass handler is missing (run, lesson, doctor), or pods without root' },
  { name: 'RuntimeFailed', code: 5, for: 'run', meaning: 'a runtime failed to create or run the sandbox (doctor: a pod or its container did not start)' },
  { name: 'Incomplete', code: 6, for: 'run', meaning: 'compared, but an environment\'s figures are incomplete (a tracer failed, a trace was cut short, perf or bpftrace lost events, a bpftrace map filled, the trace disk is full): the report says which and why' },
  { name: 'Timeout', code: 124, for: 'run', meaning: '--timeout ended the run' },
  { name: 'Interrupted', code: 130, for: 'run', meaning: 'stopped by a signal: 129 SIGHUP, 130 SIGINT, 131 SIGQUIT, 143 SIGTERM (128 + its number); everything was cleaned up first' },
] as const;

type ExitCodeTable = typeof EXIT_CODES;
export const ExitCode = Object.fromEntries(EXIT_CODES.map((e) => [e.name, e.code])) as {
  [E in ExitCodeTable[number] as E['name']]: E['code'];
};
export type ExitCode = ExitCodeTable[number]['code'];

/** One line for `--help`: the codes a command (run, or the saved-trace commands; default any) can return. */
export function exitCodesLine(command?: 'run' | 'saved'): string {
  const codes = EXIT_CODES.filter((e) => !command || e.for === 'all' || e.for === command);
  return `Exit codes: ${codes.map((e) => `${e.code === 130 ? '128+N' : e.code} ${e.meaning.split(/[:(;]/)[0]!.trim()}`).join('; ')}. See docs/cli.md.`;
}

/** docs/cli.md's exit-code table. */
export function exitCodesMarkdown(): string {
  return ['| code | meaning |', '| --- | --- |', ...EXIT_CODES.map((e) => `| ${e.code === 130 ? '129, 130, 131, 143' : e.code} | ${e.meaning} |`)].join('\n') + '\n';
}
