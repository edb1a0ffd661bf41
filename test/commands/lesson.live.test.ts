// `trace-compare lesson` on the real runtimes, through runLesson in a process of its own: a two-command lesson
// (uname -r; ionice, whose ioprio_get gVisor does not implement) run on the host, in runc and in gVisor, one
// JSON report; its markdown and html rendered again from that JSON carry the same figures. Needs root, runc,
// runsc, strace and perf; skips saying which is missing.
import { describe, it, expect, beforeAll } from 'vitest';
import { execa, execaSync } from 'execa';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gvisorRelease, has } from '../helpers/live.js';
import { savedReport } from '../../src/commands/lesson.js';
import { overviewRows, renderLesson } from '../../src/report/lesson-report.js';
import { renderLessonHtml } from '../../src/report/html-report.js';
import type { EnvironmentReport } from '../../src/compare.js';

const root = path.resolve(import.meta.dirname, '../..');
const missing = [...(process.getuid?.() === 0 ? [] : ['root']), ...['runc', 'runsc', 'strace', 'perf'].filter((c) => !has(c))];
const reason = `lesson live tests skipped: need ${missing.join(', ')} (run as root after scripts/setup.sh)`;
if (missing.length) console.warn(reason);

/** runLesson as the CLI will call it, in a node process of its own (its stdout is the report). */
const RUN_LESSON = "import('./dist/src/commands/lesson.js').then(async (m) => { process.exitCode = await m.runLesson(process.argv.slice(1)); })";

interface Command { title: string; argv: string[]; environments: EnvironmentReport[]; differences: { kind: string; syscall?: string }[] }

describe.skipIf(missing.length > 0)('trace-compare lesson (real runtimes)', () => {
  let tmp: string;
  let runs: string;
  beforeAll(() => {
    if (!existsSync(path.join(root, 'dist/src/commands/lesson.js'))) execaSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tc-lesson-test-'));
    // The runs' own TMPDIR, as run.live.test.ts has it: whatever they leave behind shows up there.
    runs = mkdtempSync(path.join(os.tmpdir(), 'tc-lesson-runs-'));
    return () => {
      rmSync(tmp, { recursive: true, force: true });
      rmSync(runs, { recursive: true, force: true });
    };
  });

  it('runs each command on the host, in runc and in gVisor and reports them all; markdown and html from the same JSON agree', async () => {
    const file = path.join(tmp, 'lesson.json');
    writeFileSync(file, JSON.stringify({
      title: 'Two commands',
      commands: [
        { title: 'The kernel release', argv: ['uname', '-r'], note: 'who answers uname' },
        { title: 'An unimplemented syscall', argv: ['ionice'] },
      ],
    }));
    const r = await execa('node', ['-e', RUN_LESSON, file, '--pod', 'runc', '--pod', 'gvisor', '--format', 'json'], {
      reject: false, stdin: 'ignore', cwd: root, env: { NO_COLOR: '1', TMPDIR: runs },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('lesson 1/2: The kernel release (uname -r)');
    expect(r.stderr).toContain('lesson 2/2: An unimplemented syscall (ionice)');
    const report = JSON.parse(r.stdout) as { title: string; commands: Command[] };
    expect(report.commands.map((c) => c.title)).toEqual(['The kernel release', 'An unimplemented syscall']);
    for (const c of report.commands) expect(c.environments.map((e) => e.name)).toEqual(['host', 'runc', 'gvisor']);

    const [uname, ionice] = report.commands as [Command, Command];
    const [host, runc, gvisor] = uname.environments as [EnvironmentReport, EnvironmentReport, EnvironmentReport];
    expect(host.kernelRelease).toBe(os.release());
    expect(runc.kernelRelease).toBe(os.release());
    expect(gvisor.kernelRelease).toBe(await gvisorRelease());
    expect(gvisor.syscalls.find((s) => s.syscall === 'uname')!.hostKernelCalls).toBe(0);
    expect(runc.syscalls.find((s) => s.syscall === 'uname')!.hostKernelCalls).toBe(1);

    // ionice asks ioprio_get, which runsc's table lists as Unimplemented: an error in gVisor (EPERM or ENOSYS,
    // as runsc's note says), a value on the host.
    const io = (e: EnvironmentReport) => e.syscalls.find((s) => s.syscall === 'ioprio_get')!;
    const [ih, , ig] = ionice.environments as [EnvironmentReport, EnvironmentReport, EnvironmentReport];
    expect(ih.exitCode).toBe(0);
    expect(io(ih).errors).toBe(0);
    expect(ig.exitCode).not.toBe(0);
    expect(io(ig).errors).toBe(io(ig).calls);
    expect(Object.keys(ig.detail!.syscalls.find((s) => s.syscall === 'ioprio_get')!.errnos)).toEqual([expect.stringMatching(/^(EPERM|ENOSYS)$/)]);
    expect(io(ig).annotation!.gvisor.support).toBe('Unimplemented');
    expect(ionice.differences.some((d) => d.kind === 'errors' && d.syscall === 'ioprio_get')).toBe(true);

    // The same figures in markdown and html, rendered again from this JSON (--from-json's path).
    const again = savedReport(r.stdout, 'report.json');
    const rows = overviewRows(again);
    const md = renderLesson(again, 'markdown');
    const html = await renderLessonHtml(again);
    for (const row of rows) {
      expect(md).toContain(`| ${row.join(' | ')} |`);
      expect(html).toContain(`<td>${row[2]}</td><td>${row[3]}</td>`);
    }
    const figure = (e: EnvironmentReport) => `${e.totals.calls} / ${e.totals.distinct}`;
    expect(rows.map((x) => x[5])).toEqual(report.commands.flatMap((c) => c.environments.map(figure)));

    // Nothing left behind: no temp dir, container or process of the lesson's runs.
    expect(readdirSync(runs)).toEqual([]);
    expect(execaSync('runc', ['list', '-q'], { reject: false }).stdout.trim()).toBe('');
    expect(execaSync('runsc', ['list', '-q'], { reject: false }).stdout.trim()).toBe('');
  }, 300_000);
});
