// The CLI: subcommands parse, summary, diff, lesson, doctor, pods, cleanup and run; `trace-compare CMD ARGS... [--pod NAME]` means run. main() is importable; runCli() is what bin/trace-compare.js runs.

import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ExitCode, UserError, exitCodesLine } from './errors.js';
import { Diagnostics } from './diagnostics.js';
import { runParse } from './commands/parse.js';
import { runSummary } from './commands/summary.js';
import { runDiff } from './commands/diff.js';
import { runCompare, runYargs, splitRunArgs } from './commands/run.js';
import { routeOf } from './route.js';
import { discardPrestarted } from './runners/bpf-session.js';
import { lessonYargs, runLesson } from './commands/lesson.js';
import { DOCTOR_OPTIONS, runDoctor } from './commands/doctor.js';
import { PODS_OPTIONS, runPods } from './commands/pods.js';
import { CLEANUP_OPTIONS, runCleanup } from './commands/cleanup.js';
import { declareOptions, type ArgsOf, type OptionTable } from './commands/options.js';
import { DIFF_OPTIONS, PARSE_OPTIONS, SUMMARY_OPTIONS } from './commands/saved-options.js';
import { userErrorOf } from './user-errors.js';
import { cleanupAll, signalExitCode } from './runners/registry.js';
import { releaseEarlySignals } from './early-signals.js';

/** Parses `argv` (without node and the script) and runs the command; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  const route = routeOf(argv);
  // Synchronously up to runCompare's own handlers: no moment in which a stop signal kills a run.
  const early = releaseEarlySignals();
  if (route === 'run') return runCompare(splitRunArgs(argv), early);
  if (route === 'run-word') return runCompare(splitRunArgs(argv.slice(1)), early);
  if (route === 'lesson') return runLesson(argv.slice(1), early);
  if (early) return signalExitCode(early);

  // yargs drops a bare "-" from positional lists; /dev/stdin is the same input and survives it.
  if (first === 'parse' || first === 'summary' || first === 'diff') argv = argv.map((a, i) => (i > 0 && a === '-' ? '/dev/stdin' : a));

  let code: number = ExitCode.Ok;
  // A command that is its option table and a function giving the exit code: yargs' builder and handler.
  const exitCodeCommand = <T extends OptionTable>(options: T, run: (a: ArgsOf<T>) => Promise<number>) => [
    (y: Argv) => declareOptions(y, options),
    async (argv: unknown) => {
      code = await run(argv as ArgsOf<T>);
    },
  ] as const;
  const diag = new Diagnostics();
  const finish = (strict: boolean) => {
    const line = diag.summaryLine();
    if (line) process.stderr.write(line + '\n');
    if (strict && diag.strictFailure) code = ExitCode.ParseErrors;
  };

  await yargs(argv)
    .scriptName('trace-compare')
    .usage(
      '$0 CMD [ARGS...] [--pod NAME]...   run CMD on the host and in sandboxes, trace, compare\n' +
        '$0 <parse|summary|diff> ...        work on saved traces',
    )
    .command(
      'parse [files..]',
      'print the events of strace, runsc --strace or perf trace logs (- or nothing: stdin)',
      (y) => declareOptions(y, PARSE_OPTIONS).positional('files', { type: 'string', array: true, describe: 'trace files; strace -ff sets are read together' }),
      async (argv) => {
        const a = argv as unknown as ArgsOf<typeof PARSE_OPTIONS> & { files?: string[] };
        await runParse(a.files ?? [], a.format, diag, a['input-format'], a.args);
        finish(a.strict);
      },
    )
    .command(
      'summary [files..]',
      'the strace -c table (calls, errors, time) from a saved or piped trace',
      (y) => declareOptions(y, SUMMARY_OPTIONS).positional('files', { type: 'string', array: true, describe: 'trace files (- or nothing: stdin)' }),
      async (argv) => {
        const a = argv as unknown as ArgsOf<typeof SUMMARY_OPTIONS> & { files?: string[] };
        await runSummary(a.files ?? [], a.format, diag);
        finish(a.strict);
      },
    )
    .command(
      'diff <logs..>',
      'compare saved logs side by side: [LABEL=]FILE, each strace text, a runsc --strace debug log or perf trace output',
      (y) => declareOptions(y, DIFF_OPTIONS).positional('logs', { type: 'string', array: true, demandOption: true }),
      async (argv) => {
        const a = argv as unknown as ArgsOf<typeof DIFF_OPTIONS> & { logs: string[] };
        await runDiff(a.logs, a.format, diag);
        finish(a.strict);
      },
    )
    .command(
      'doctor',
      'check each link from runtime binary to a running pod (containerd, RuntimeClass handler, sandbox image, kernel release); says what fixes a broken one',
      ...exitCodeCommand(DOCTOR_OPTIONS, runDoctor),
    )
    .command(
      'pods',
      'the pod sandboxes and containers runs with --backend cri created that still exist (like crictl pods / crictl ps)',
      ...exitCodeCommand(PODS_OPTIONS, runPods),
    )
    .command(
      'cleanup',
      'remove what runs killed with SIGKILL left: processes, containers, cgroups, mounts, temp dirs (runs still going are left alone)',
      ...exitCodeCommand(CLEANUP_OPTIONS, runCleanup),
    )
    .command('run', 'run a command on the host and in sandboxes (same as giving the command directly); see `run --help`', (y) =>
      runYargs(y),
    )
    .command('lesson FILE', 'run a lesson (a list of commands) in every environment, one report; see `lesson --help`', (y) => lessonYargs(y))
    .example('$0 uname -r --pod gvisor', 'host vs gVisor: which kernel answers uname')
    .example('strace -f uname -r 2>&1 | $0 summary -', 'strace -c from a piped trace')
    .example('$0 diff host=host.log gvisor=runsc.boot.txt --format markdown', 'tables for training material')
    .epilogue(`${exitCodesLine()} Colours: off with NO_COLOR.`)
    .demandCommand(1, 'Give a command to run, or one of: parse, summary, diff. See --help.')
    .strict()
    .help()
    .version()
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(msg ?? 'invalid arguments', ExitCode.Usage, 'see trace-compare --help');
    })
    .parseAsync();
  return code;
}

/**
 * The entry point (bin/trace-compare.js): runs main() with the process-wide guards a CLI needs and turns
 * every error into one line and its exit code. Importing this module runs nothing (zx's model), so tests
 * call main() in process.
 */
export async function runCli(argv: string[] = hideBin(process.argv)): Promise<void> {
  // A closed terminal (SIGHUP) makes writes to stderr fail; losing a message must not kill the cleanup.
  process.stderr.on('error', () => undefined);
  // A bug that escapes every promise still ends the runs before node exits: no container outlives us.
  process.on('uncaughtException', (e) => {
    process.stderr.write(`trace-compare: internal error: ${e.message}\n`);
    if (process.env.TRACE_COMPARE_DEBUG) process.stderr.write(`${e.stack ?? ''}\n`);
    void cleanupAll('exit').finally(() => process.exit(ExitCode.Failure));
  });
  try {
    process.exitCode = await main(argv);
  } catch (caught: unknown) {
    // The system's refusals (EACCES, ENOSPC, EMFILE...) are the user's situation, not a bug.
    const err = userErrorOf(caught) ?? caught;
    if (err instanceof UserError) {
      process.stderr.write(`trace-compare: ${err.message}\n`);
      if (err.hint) process.stderr.write(`  ${err.hint}\n`);
      process.exitCode = err.exitCode;
    } else {
      const e = err instanceof Error ? err : new Error(String(err));
      process.stderr.write(`trace-compare: internal error: ${e.message}\n`);
      if (process.env.TRACE_COMPARE_DEBUG) process.stderr.write(`${e.stack ?? ''}\n`);
      process.exitCode = ExitCode.Failure;
    }
  } finally {
    await discardPrestarted();
  }
}
