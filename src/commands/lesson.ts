// `trace-compare lesson FILE`: runs each command of a lesson file across the chosen environments, one after
// the other, with run's own core (planRun, measureCommand), and writes one report of them all.
//
// A lesson file is JSON (docs/html.md): {"title", "description"?, "commands": [{"title", "argv": [...], "note"?}]}.
// argv is an argument vector, never a shell string: a pipeline is spelled ["sh", "-c", "..."] on purpose.

import { open } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { ExitCode, UserError, exitCodesLine } from '../errors.js';
import { writeOut } from '../output.js';
import { renderLesson, type Lesson, type LessonCommand, type LessonReport } from '../report/lesson-report.js';
import { renderLessonHtml } from '../report/html-report.js';
import { shellCommand } from '../report/layout.js';
import { escapeControls } from '../report/escape.js';
import { declareOptions, type ArgsOf } from './options.js';
import type { Comparison } from '../compare.js';
import { RUN_OPTIONS, type OptionSpec } from './run-options.js';
import { checkTimeout, measureCommand, parseCommandOptions, planRun } from './run.js';
import { withStopSignals } from './stop-signals.js';

/**
 * Every run option applies to a lesson's commands alike (environments, confinement, limits, variables,
 * perf, the report format), so each is run's own entry; only --timeout is per command.
 */
export const LESSON_OPTIONS = {
  ...RUN_OPTIONS,
  timeout: { ...RUN_OPTIONS.timeout, describe: 'seconds each command of the lesson may take (as run\'s --timeout; at most 2147483); then the lesson stops, exit 124' },
  'from-json': {
    type: 'string', value: 'FILE',
    describe: 'render a lesson report saved with --format json again, in --format, instead of running a lesson file: one run, every format with the same figures',
  },
} as const satisfies Record<string, OptionSpec>;

export type LessonArgs = ArgsOf<typeof LESSON_OPTIONS>;

/** A lesson file larger than this is not a lesson (a list of commands is a few kilobytes). */
const MAX_LESSON_BYTES = 1 << 20;
/** A saved report holds every environment's figures and details: about 100 kB per environment and command. */
const MAX_REPORT_BYTES = 256 << 20;

export function lessonYargs(y: Argv): Argv {
  return declareOptions(y, LESSON_OPTIONS)
    .usage('trace-compare lesson FILE [--pod NAME]... [--format table|markdown|json|html] [options]\ntrace-compare lesson --from-json REPORT.json [--format ...]')
    .example('trace-compare lesson lessons/seed.json --format html > lesson.html', 'the seed\'s lesson: host, runc and gVisor')
    .example('trace-compare lesson --from-json lesson.json --format markdown', 'a saved JSON report rendered again')
    .epilogue(`A lesson file is JSON: {"title": ..., "description": ..., "commands": [{"title": ..., "argv": [...], "note": ...}]}. ${exitCodesLine('run')}`)
    // Options only: the lesson file is a positional.
    .strictOptions()
    .help();
}

/** `argv`: what follows `lesson` on the command line. Resolves to the exit code. */
export async function runLesson(argv: string[], early: NodeJS.Signals | null = null): Promise<number> {
  return withStopSignals(early, (controller) => lesson(argv, controller));
}

async function lesson(argv: string[], controller: AbortController): Promise<number> {
  const args = await parseCommandOptions<LessonArgs>(argv, lessonYargs, 'see trace-compare lesson --help');
  if (args === null) return ExitCode.Ok;
  const files = args._.map(String);
  if (args['from-json'] !== undefined) {
    if (files.length) throw new UserError('--from-json renders a saved report: give no lesson file', ExitCode.Usage);
    await writeReport(savedReport(await readBounded(args['from-json'], MAX_REPORT_BYTES, 'lesson report'), args['from-json']), args);
    return ExitCode.Ok;
  }
  if (files.length !== 1) throw new UserError(files.length ? `one lesson file, not ${files.length}` : 'no lesson file', ExitCode.Usage, 'e.g. trace-compare lesson lessons/seed.json');
  checkTimeout(args.timeout);
  const file = files[0]!;
  const spec = parseLesson(await readBounded(file, MAX_LESSON_BYTES, 'lesson file'), file);
  const plan = await planRun(args);

  const done: LessonReport['commands'] = [];
  const codes: number[] = [];
  for (const [i, cmd] of spec.commands.entries()) {
    if (controller.signal.aborted) return ExitCode.Interrupted;
    process.stderr.write(`trace-compare: lesson ${i + 1}/${spec.commands.length}: ${escapeControls(cmd.title)} (${shellCommand(cmd.argv)})\n`);
    // Each command its own controller, aborted with the lesson's reason: an environment that fails aborts
    // its command's runs only, and the runs' abort listeners go with the command.
    const own = new AbortController();
    const forward = () => own.abort(controller.signal.reason);
    controller.signal.addEventListener('abort', forward, { once: true });
    let measured;
    try {
      // No stdin: a lesson's commands read an empty one, the same in every environment.
      measured = await measureCommand(plan, cmd.argv, { controller: own, deadline: Date.now() + args.timeout * 1000, stdinFile: null });
    } catch (e) {
      process.stderr.write(`trace-compare: lesson command ${i + 1} (${escapeControls(cmd.title)}) could not run\n`);
      throw e;
    } finally {
      controller.signal.removeEventListener('abort', forward);
    }
    if (measured.comparison === null) return measured.code;
    done.push({ ...cmd, comparison: measured.comparison });
    codes.push(measured.code);
  }
  const report: LessonReport = { title: spec.title, ...(spec.description !== undefined ? { description: spec.description } : {}), commands: done };
  await writeReport(report, args);
  return worstCode(codes);
}

async function writeReport(report: LessonReport, args: LessonArgs): Promise<void> {
  await writeOut(args.format === 'html' ? await renderLessonHtml(report) : renderLesson(report, args.format, { wide: args.wide }));
}

/**
 * A report `lesson --format json` wrote, back as the model it was rendered from: each command's JSON is its
 * Comparison (command, environments) plus what the renderers derive again (annotations, differences).
 */
export function savedReport(text: string, file: string): LessonReport {
  const bad = (what: string): never => {
    throw new UserError(`${file}: not a lesson report of trace-compare lesson --format json: ${what}`, ExitCode.Usage);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    bad((e as Error).message);
  }
  const r = v as { title?: unknown; description?: unknown; commands?: unknown };
  if (typeof r !== 'object' || r === null || typeof r.title !== 'string' || !Array.isArray(r.commands)) bad('no title or commands');
  const commands = (r.commands as Record<string, unknown>[]).map((c, i) => {
    if (typeof c?.title !== 'string' || !Array.isArray(c.argv) || !Array.isArray(c.environments)) bad(`commands[${i}] has no title, argv or environments`);
    const { title, argv, note, command, environments } = c as { title: string; argv: string[]; note?: string; command: string[] | null; environments: Comparison['environments'] };
    return { title, argv, ...(typeof note === 'string' ? { note } : {}), comparison: { command, environments } };
  });
  return { title: r.title as string, ...(typeof r.description === 'string' ? { description: r.description } : {}), commands };
}

/** The lesson's exit code: its most serious command's, in the order run's codes are checked. */
function worstCode(codes: number[]): number {
  for (const c of [ExitCode.Interrupted, ExitCode.Timeout, ExitCode.RuntimeFailed, ExitCode.Incomplete]) if (codes.includes(c)) return c;
  return ExitCode.Ok;
}

/**
 * A file's text, at most `max` bytes: a regular file, a pipe or /dev/stdin (`zcat report.json.gz | ... --from-json
 * /dev/stdin`), never a directory.
 */
async function readBounded(file: string, max: number, what: string): Promise<string> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new UserError(`cannot read ${what} ${file}: ${(e as Error).message}`, ExitCode.Usage);
  }
  try {
    if ((await fh.stat()).isDirectory()) throw new UserError(`${file}: a directory, not a ${what}`, ExitCode.Usage);
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const chunk of fh.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
      n += chunk.length;
      if (n > max) throw new UserError(`${file}: more than ${max} bytes is too large for a ${what}`, ExitCode.Usage);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await fh.close();
  }
}

/** Checks a lesson file's JSON against its shape, naming the first thing wrong (`commands[2].argv: ...`). */
export function parseLesson(text: string, file = 'lesson'): Lesson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: not JSON: ${(e as Error).message}`, ExitCode.Usage);
  }
  const bad = (where: string, what: string): never => {
    throw new UserError(`${file}: ${where}: ${what}`, ExitCode.Usage, 'a lesson file is {"title": "...", "description": "...", "commands": [{"title": "...", "argv": ["uname", "-r"], "note": "..."}]}');
  };
  const object = (v: unknown, where: string, keys: string[]): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(where, 'must be an object');
    const o = v as Record<string, unknown>;
    const extra = Object.keys(o).find((k) => !keys.includes(k));
    if (extra !== undefined) bad(where, `unknown key ${JSON.stringify(extra)} (known: ${keys.join(', ')})`);
    return o;
  };
  const text_ = (v: unknown, where: string, optional = false): string | undefined => {
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || v.trim() === '') bad(where, 'must be a non-empty string');
    return v as string;
  };
  const top = object(value, 'the lesson', ['title', 'description', 'commands']);
  const title = text_(top.title, 'title')!;
  const description = text_(top.description, 'description', true);
  if (!Array.isArray(top.commands) || top.commands.length === 0) bad('commands', 'must be a non-empty array');
  const commands = (top.commands as unknown[]).map((c, i): LessonCommand => {
    const where = `commands[${i}]`;
    const o = object(c, where, ['title', 'argv', 'note']);
    const argv = o.argv;
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) bad(`${where}.argv`, 'must be a non-empty array of strings (an argument vector, not a shell string)');
    if ((argv as string[])[0] === '') bad(`${where}.argv`, 'the program name is empty');
    const note = text_(o.note, `${where}.note`, true);
    return { title: text_(o.title, `${where}.title`)!, argv: argv as string[], ...(note !== undefined ? { note } : {}) };
  });
  return { title, ...(description !== undefined ? { description } : {}), commands };
}
