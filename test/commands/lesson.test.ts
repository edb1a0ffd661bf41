// `trace-compare lesson` without runtimes: the lesson file's shape, the option table (run's own entries), and
// the report of a lesson built from the real three-way uname fixture, in every format, with the same figures;
// a saved JSON report renders again (--from-json) to the same markdown.
import { describe, it, expect } from 'vitest';
import { LESSON_OPTIONS, parseLesson, savedReport } from '../../src/commands/lesson.js';
import { RUN_OPTIONS } from '../../src/commands/run-options.js';
import { UserError } from '../../src/errors.js';
import { overviewRows, renderLesson, type LessonReport } from '../../src/report/lesson-report.js';
import { renderLessonHtml } from '../../src/report/html-report.js';
import { fixtureComparison } from '../helpers/fixture-comparison.js';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

const root = path.resolve(import.meta.dirname, '../..');
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

describe('lesson file', () => {
  it('the seed lesson parses: titles, argument vectors, notes', () => {
    const l = parseLesson(readFileSync(path.join(root, 'lessons/seed.json'), 'utf8'), 'lessons/seed.json');
    expect(l.commands.length).toBeGreaterThanOrEqual(7);
    expect(l.commands[0]).toMatchObject({ title: 'The kernel release', argv: ['uname', '-r'] });
    for (const c of l.commands) expect(c.argv.every((a) => typeof a === 'string')).toBe(true);
  });

  it.each([
    ['not json', /not JSON/],
    ['[]', /the lesson: must be an object/],
    ['{"title": "t"}', /commands: must be a non-empty array/],
    ['{"title": "t", "commands": []}', /commands: must be a non-empty array/],
    ['{"title": "t", "commands": [{"title": "a", "argv": "uname -r"}]}', /commands\[0\]\.argv: must be a non-empty array of strings \(an argument vector, not a shell string\)/],
    ['{"title": "t", "commands": [{"title": "a", "argv": ["uname", 1]}]}', /commands\[0\]\.argv/],
    ['{"title": "t", "commands": [{"title": "a", "argv": [""]}]}', /program name is empty/],
    ['{"title": "t", "commands": [{"title": "a", "argv": ["true"], "cmd": "x"}]}', /commands\[0\]: unknown key "cmd"/],
    ['{"title": "", "commands": [{"title": "a", "argv": ["true"]}]}', /title: must be a non-empty string/],
  ])('%s is refused, saying where', (text, message) => {
    expect(() => parseLesson(text, 'l.json')).toThrow(UserError);
    expect(() => parseLesson(text, 'l.json')).toThrow(message);
  });
});

describe('LESSON_OPTIONS', () => {
  it("is run's table: the same entries (one copy each), --timeout described per command, and --from-json", () => {
    for (const [name, spec] of Object.entries(RUN_OPTIONS)) {
      if (name !== 'timeout') expect(LESSON_OPTIONS[name as keyof typeof LESSON_OPTIONS], name).toBe(spec);
    }
    expect(LESSON_OPTIONS.timeout.default).toBe(RUN_OPTIONS.timeout.default);
    expect(LESSON_OPTIONS.timeout.describe).toMatch(/each command/);
    expect(LESSON_OPTIONS.format.choices).toContain('html');
    expect(LESSON_OPTIONS['from-json'].type).toBe('string');
  });
});

async function lesson(): Promise<LessonReport> {
  const c = await fixtureComparison();
  return {
    title: 'Which kernel \x1b[2J answers?',
    description: 'A lesson of the fixture run.',
    commands: [{ title: 'The kernel release', argv: ['uname', '-r'], note: 'Compare the release.', comparison: c }],
  };
}

describe('the lesson report', () => {
  it('overview: per command and environment the kernel release, exit, syscalls issued and reached host kernel of the comparison', async () => {
    const r = await lesson();
    const rows = overviewRows(r);
    expect(rows.map((x) => x[2])).toEqual(['host', 'runc', 'gvisor']);
    for (const [i, e] of r.commands[0]!.comparison.environments.entries()) {
      expect(rows[i]!.slice(3, 7)).toEqual([
        e.kernelRelease, String(e.exitCode), `${e.totals.calls} / ${e.totals.distinct}`, String(e.totals.hostKernelCalls),
      ]);
    }
    expect(rows[0]![7]).toBe('(baseline)');
    expect(Number(rows[2]![7])).toBeGreaterThan(0);
  });

  it('json holds each command as run --format json prints it; --from-json renders it again to the same markdown and html', async () => {
    const r = await lesson();
    const json = renderLesson(r, 'json');
    const parsed = JSON.parse(json) as { title: string; commands: { title: string; argv: string[]; environments: unknown[]; differences: unknown[]; annotations: unknown }[] };
    expect(parsed.title).toBe(r.title);
    expect(parsed.commands[0]).toMatchObject({ title: 'The kernel release', argv: ['uname', '-r'], note: 'Compare the release.' });
    expect(parsed.commands[0]!.differences.length).toBeGreaterThan(0);
    const again = savedReport(json, 'saved.json');
    expect(renderLesson(again, 'markdown')).toBe(renderLesson(r, 'markdown'));
    expect(await renderLessonHtml(again)).toBe(await renderLessonHtml(r));
    expect(() => savedReport('{"title": "x"}', 'x.json')).toThrow(/not a lesson report/);
  });

  it('table and markdown: the title, the note and the command, trace text escaped', async () => {
    for (const format of ['table', 'markdown'] as const) {
      const text = renderLesson(await lesson(), format);
      expect(text.replace(/\x1b\[[0-9;]*m/g, '').replace(/\n/g, '')).not.toMatch(CONTROL);
      expect(text).toContain('Which kernel \\x1b[2J answers?');
      expect(text).toContain('Compare the release.');
      expect(text).toContain('uname -r');
    }
  });
});

/** runLesson as the CLI will call it, in a node process of its own. */
const RUN_LESSON = "import('./dist/src/commands/lesson.js').then(async (m) => { process.exitCode = await m.runLesson(process.argv.slice(1)); })";

describe('lesson --from-json', () => {
  it('renders a saved report from a file or a pipe, as the renderers do; a directory or a non-report is a usage error', async () => {
    if (!existsSync(path.join(root, 'dist/src/commands/lesson.js'))) await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tc-lesson-'));
    try {
      const r = await lesson();
      const file = path.join(dir, 'report.json');
      writeFileSync(file, renderLesson(r, 'json'));
      const run = (args: string[]) => execa('node', ['-e', RUN_LESSON, '--', ...args], { cwd: root, reject: false, stdin: 'ignore', env: { NO_COLOR: '1' } });
      const fromFile = await run(['--from-json', file, '--format', 'markdown']);
      expect(fromFile.exitCode, fromFile.stderr).toBe(0);
      expect(fromFile.stdout + '\n').toBe(renderLesson(r, 'markdown'));
      // A shell's pipe (node's own stdin pipes are sockets, which /dev/stdin cannot open).
      const fromPipe = await execa('sh', ['-c', 'cat "$1" | node -e "$2" -- --from-json /dev/stdin --format html', 'sh', file, RUN_LESSON], { cwd: root, reject: false });
      expect(fromPipe.exitCode, fromPipe.stderr).toBe(0);
      expect(fromPipe.stdout + '\n').toBe(await renderLessonHtml(r));
      for (const [args, message] of [[['--from-json', dir], /a directory/], [['--from-json', path.join(root, 'lessons/seed.json')], /not a lesson report/], [['--from-json', file, 'x.json'], /give no lesson file/]] as const) {
        const bad = await run([...args]);
        expect(bad.exitCode).not.toBe(0);
        expect(bad.stderr).toMatch(message);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
