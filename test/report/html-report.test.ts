// `--format html` (issue #11) on the real three-way `uname -r` run kept in fixtures/compare/run-uname, read by
// `trace-compare diff` as a user would: one self-contained page, its figures the JSON's and the markdown's, the
// charts' marks carrying them, hostile text escaped, manifests that mean the argv exactly; then the page in a
// real Chromium (Debian's): no console error, no request beyond the file itself, marks drawn, a screenshot kept.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa, execaSync } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { escapeHtml, podYaml, renderComparisonHtml, renderLessonHtml, runtimeClassYaml, yamlString } from '../../src/report/html-report.js';
import { renderLesson, type LessonReport } from '../../src/report/lesson-report.js';
import type { Comparison, EnvironmentReport } from '../../src/compare.js';
import { fixtureComparison } from '../helpers/fixture-comparison.js';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/trace-compare.js');
const RUN = path.join(root, 'fixtures/compare/run-uname');
const boot = readdirSync(path.join(RUN, 'gvisor')).find((f) => f.endsWith('.boot.txt'))!;
const LOGS = [
  `host=${RUN}/host/strace.log`, `host=${RUN}/host/perf.txt`,
  `runc=${RUN}/runc/strace.log`, `runc=${RUN}/runc/perf.txt`,
  `gvisor=${RUN}/gvisor/${boot}`, `gvisor=${RUN}/gvisor/perf.txt`,
];
const CHROMIUM = '/usr/bin/chromium';
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

interface Row { syscall: string; calls: number; errors: number; hostKernelCalls: number | null }
interface Json { environments: (EnvironmentReport & { syscalls: Row[] })[] }

let html = '';
let markdown = '';
let json: Json;
const dir = mkdtempSync(path.join(os.tmpdir(), 'tc-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  if (!existsSync(path.join(root, 'dist/src/cli.js'))) await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root });
  const diff = async (format: string) => {
    const r = await execa('node', [bin, 'diff', ...LOGS, '--format', format], { cwd: root, env: { NO_COLOR: '1' } });
    return r.stdout;
  };
  [html, markdown] = await Promise.all([diff('html'), diff('markdown')]);
  json = JSON.parse(await diff('json')) as Json;
});

const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
const strip = (s: string) => unescape(s.replace(/<[^>]*>/g, '').trim());

/** The rows of the HTML table of class `cls`: each row's cells as text. */
function htmlTable(page: string, cls: string): string[][] {
  const t = new RegExp(`<table class="${cls}">([\\s\\S]*?)</table>`).exec(page)![1]!;
  return [...t.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) => strip(c[1]!)));
}

/** The markdown table whose header starts with `first`: rows of cells (the header included). */
function markdownTableRows(text: string, first: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${first} |`));
  const rows: string[][] = [];
  for (let i = start; i < lines.length && lines[i]!.startsWith('|'); i++) {
    if (i === start + 1) continue; // the alignment row
    rows.push(lines[i]!.slice(2, -2).split(' | ').map((c) => c.replace(/\\\|/g, '|').replace(/\\\\/g, '\\')));
  }
  return rows;
}

describe('diff --format html on the real three-way uname run', () => {
  it('is one self-contained page: no script, nothing to fetch, a CSP that forbids both', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`);
    expect(html).not.toMatch(/<script|<link|<iframe|<img|@import|url\(/i);
    expect(html).not.toMatch(/\s(src|href|xlink:href)=/);
    // The only URLs are SVG's namespace names, which are never fetched.
    expect([...new Set(html.match(/https?:\/\/[^\s"'<>]+/g))].sort()).toEqual(['http://www.w3.org/1999/xlink', 'http://www.w3.org/2000/svg']);
    expect(html).toContain('@media print');
  });

  it("the environment and syscall tables hold markdown's cells, which are JSON's figures", () => {
    const envs = json.environments;
    expect(htmlTable(html, 'environments')).toEqual(markdownTableRows(markdown, 'environment'));
    const sys = htmlTable(html, 'syscalls');
    const md = markdownTableRows(markdown, 'syscall');
    // Markdown's syscall table has the class and gVisor columns; the page adds the man2 line after the name.
    expect(sys.map((r) => [r[0], ...r.slice(2)])).toEqual(md);
    const head = sys[0]!;
    for (const row of sys.slice(1)) {
      envs.forEach((e) => {
        const r = e.syscalls.find((s) => s.syscall === row[0]);
        const shown = row[head.indexOf(`${e.name} (calls → host kernel)`)];
        expect(shown, `${e.name} ${row[0]}`).toBe(r ? `${r.calls} → ${r.hostKernelCalls}` : '-');
      });
    }
    expect(sys.length - 1).toBe(new Set(envs.flatMap((e) => e.syscalls.map((s) => s.syscall))).size);
    // The environment table's totals are JSON's.
    for (const [i, e] of envs.entries()) {
      const row = htmlTable(html, 'environments')[i + 1]!;
      expect(row[0]).toBe(e.name);
      expect(row[5]).toBe(`${e.totals.calls} / ${e.totals.distinct}`);
      expect(row[6]).toBe(String(e.totals.hostKernelCalls));
    }
  });

  it("the charts are Vega SVG whose marks carry JSON's figures: calls, calls entering the host kernel, the runtime's own calls, classes", () => {
    const charts = new Map([...html.matchAll(/<figure class="chart" data-chart="([^"]+)">([\s\S]*?)<\/figure>/g)].map((m) => [m[1]!, m[2]!]));
    expect([...charts.keys()].sort()).toEqual(['calls', 'classes', 'classes-host-kernel', 'host-kernel', 'runtime']);
    const marks = (svg: string, measure: string) =>
      [...svg.matchAll(new RegExp(`aria-label="${measure}: (\\d+); (?:syscall|class): ([^;"]+); environment: ([^"]+)"`, 'g'))].map((m) => `${m[3]} ${m[2]} ${m[1]}`).sort();
    const want = (field: 'calls' | 'hostKernelCalls') =>
      json.environments.flatMap((e) => e.syscalls.map((s) => `${e.name} ${s.syscall} ${s[field]}`));
    // Every syscall any environment issued is plotted (21 here, under the chart's 25), 0 where one did not issue it.
    const names = new Set(json.environments.flatMap((e) => e.syscalls.map((s) => s.syscall)));
    const zeroFill = (got: string[]) => got.filter((x) => !x.endsWith(' 0') || want('calls').some((w) => w === x));
    expect(zeroFill(marks(charts.get('calls')!, 'calls issued'))).toEqual(want('calls').sort());
    expect(marks(charts.get('calls')!, 'calls issued')).toHaveLength(names.size * json.environments.length);
    const entered = marks(charts.get('host-kernel')!, 'entered the host kernel \\(perf sys_enter\\)');
    for (const w of want('hostKernelCalls')) expect(entered).toContain(w);
    const gv = json.environments.find((e) => e.name === 'gvisor')!;
    const ownTop = gv.hostKernel!.roles!.filter((r) => r.kind === 'runtime').flatMap((r) => r.syscalls)
      .reduce((m, s) => m.set(s.syscall, (m.get(s.syscall) ?? 0) + s.calls), new Map<string, number>());
    const top = [...ownTop].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 10).map(([s, n]) => `gvisor ${s} ${n}`).sort();
    const runtimeSvgs = [...html.matchAll(/data-chart="runtime">([\s\S]*?)<\/figure>/g)].map((m) => m[1]!).join('');
    expect(marks(runtimeSvgs, 'host syscalls').filter((x) => x.startsWith('gvisor '))).toEqual(top);
    // Class roll-ups: JSON's byClass calls.
    const classes = marks(charts.get('classes')!, 'calls issued');
    for (const e of json.environments) {
      for (const k of (e as unknown as { classRollup: { byClass: { class: string; calls: number }[] } }).classRollup.byClass) {
        if (!k.class.startsWith('%%')) expect(classes).toContain(`${e.name} ${k.class} ${k.calls}`);
      }
    }
  });

  it('annotations: each syscall row has its man2 line, strace class and gVisor mark as JSON has them', () => {
    const sys = htmlTable(html, 'syscalls');
    const annotated = (json as unknown as { annotations: { syscalls: { syscall: string; annotation: { description: string | null; manPage: string | null } }[] } }).annotations;
    for (const a of annotated.syscalls) {
      const row = sys.find((r) => r[0] === a.syscall)!;
      expect(row[1]).toBe(a.annotation.description === null ? '' : `${a.annotation.description} ${a.annotation.manPage}`);
    }
    expect(html).toContain('gVisor support');
  });

  it('the RuntimeClass and Pod manifests for the pods (none for the host; no Pod for saved logs, whose command is unknown)', () => {
    const k8s = unescape(/<pre class="manifest" data-kind="RuntimeClass">([\s\S]*?)<\/pre>/.exec(html)![1]!);
    expect(k8s).toContain('apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: "gvisor"\nhandler: "runsc"\n');
    expect(k8s).toContain('name: "runc"\nhandler: "runc"\n');
    expect(k8s).not.toContain('"host"');
    expect(html).toContain('The command is not known from saved logs: no Pod manifest.');
  });
});

const HOSTILE = '<script>alert(1)</script>"\'&\x1b[2J<img src=x onerror=alert(2)>]]>';

function hostileComparison(): Comparison {
  const e = (name: string, runtime: EnvironmentReport['runtime']): EnvironmentReport => ({
    name, runtime, sources: [`/t/${HOSTILE}.log`], kernelRelease: `6.1${HOSTILE}`, kernelReleaseSource: 'workload', exitCode: 1,
    stdout: `${HOSTILE}\n`, stderr: `err ${HOSTILE}\n`,
    syscalls: [{ syscall: `open${HOSTILE}`, calls: 2, errors: 1, hostKernelCalls: runtime === 'runsc' ? 0 : 2 }],
    totals: { calls: 2, distinct: 1, hostKernelCalls: runtime === 'runsc' ? 0 : 2 },
    hostKernel: {
      syscalls: [{ syscall: `fu${HOSTILE}`, calls: 3 }],
      roles: [{ label: `Sentry ${HOSTILE}`, kind: 'runtime', processes: 1, calls: 3, syscalls: [{ syscall: `fu${HOSTILE}`, calls: 3 }] }],
      processes: [{ pid: 9, comm: `ex${HOSTILE}`, role: 'runtime', what: 'x' }], workloadSeen: 2, workloadEntered: 0, lostEvents: 0,
    },
    unparsed: 0,
    detail: { syscalls: [{ syscall: `open${HOSTILE}`, errnos: { ENOENT: 1 }, first: { file: `/t/${HOSTILE}`, line: 3 }, firstErrno: { ENOENT: { file: `/t/${HOSTILE}`, line: 3 } } }], paths: [{ path: `/etc/${HOSTILE}`, syscalls: ['openat'], calls: 1, errnos: {}, first: { file: `/t/${HOSTILE}`, line: 2 } }], pathsDropped: 0 },
  });
  return { command: ['printf', HOSTILE, 'it\'s "quoted"\nnewline: # not a comment'], environments: [e('host', 'host'), e(`pod${HOSTILE}`, 'runsc')] };
}

describe('hostile text (the workload\'s output, file, process and syscall names)', () => {
  it('is escaped everywhere on the page: no element, attribute or control character comes from it', async () => {
    const page = await renderComparisonHtml(hostileComparison());
    expect(page).not.toMatch(/<script|<img|onerror=(?!alert\(2\)&gt;)/);
    expect(page.replace(/\n/g, '')).not.toMatch(CONTROL);
    expect(page).toContain(escapeHtml(`open${HOSTILE}`));
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    // Controls are shown as in the other formats (\x1b), then HTML-escaped.
    expect(escapeHtml('a\x1b[2J<')).toBe('a\\x1b[2J&lt;');
  });

  it('manifests: every argv word, name and quote is a YAML string that means exactly it (checked by PyYAML when installed)', async () => {
    const c = hostileComparison();
    const pod = podYaml({ ...c.environments[1]!, confinement: { profile: 'RuntimeDefault', seccomp: 'x', capabilities: [], limits: { pids: 1024, memoryBytes: 2 ** 30, cpus: 0.5 }, namespaces: [], userNamespace: false, noNewPrivileges: true, notes: [] } }, c.command!);
    expect(pod).toContain('memory: "1Gi"');
    expect(pod).toContain('cpu: "0.5"');
    expect(yamlString('a\u0085b\x7f\u2028')).toBe('"a\\u0085b\\u007f\\u2028"');
    const py = execaSync('python3', ['-c', 'import yaml'], { reject: false });
    if (py.exitCode !== 0) {
      console.warn('PyYAML absent: the manifests\' YAML is not parsed back');
      return;
    }
    const docs = [pod, runtimeClassYaml(c.environments[1]!)];
    const parsed = JSON.parse(execaSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps([yaml.safe_load(d) for d in sys.stdin.read().split("\\n---\\n")]))'], { input: docs.join('\n---\n') }).stdout) as [
      { spec: { runtimeClassName: string; containers: { command: string[]; args: string[] }[] } }, { handler: string; metadata: { name: string } },
    ];
    expect([...parsed[0].spec.containers[0]!.command, ...parsed[0].spec.containers[0]!.args]).toEqual(c.command);
    expect(parsed[0].spec.runtimeClassName).toBe(c.environments[1]!.name);
    expect(parsed[1]).toMatchObject({ handler: 'runsc', metadata: { name: c.environments[1]!.name } });
  });
});

describe('summary --format html', () => {
  it("holds markdown's table", async () => {
    const log = `${root}/fixtures/strace/${readdirSync(path.join(root, 'fixtures/strace')).find((f) => f.endsWith('.log'))!}`;
    const [h, m] = await Promise.all(['html', 'markdown'].map(async (f) => (await execa('node', [bin, 'summary', log, '--format', f], { cwd: root })).stdout));
    expect(htmlTable(h!, 'summary')).toEqual(markdownTableRows(m!, m!.slice(2, m!.indexOf(' |'))).map((r) => r.map((c) => c.replace(/^\*\*(.*)\*\*$/, '$1'))));
  });
});

async function lessonOfFixture(): Promise<LessonReport> {
  const c = await fixtureComparison();
  return {
    title: 'A lesson <of> two "commands"',
    description: 'The same run twice, as a lesson renders it.',
    commands: [
      { title: 'The kernel release', argv: ['uname', '-r'], note: 'Compare the release.', comparison: c },
      { title: 'Again', argv: ['uname', '-r'], comparison: c },
    ],
  };
}

describe('a lesson page', () => {
  it("its overview holds the markdown overview's cells", async () => {
    const r = await lessonOfFixture();
    const page = await renderLessonHtml(r);
    const md = renderLesson(r, 'markdown');
    expect(htmlTable(page, 'overview')).toEqual(markdownTableRows(md, '#'));
    expect(page.match(/<section class="command"/g)).toHaveLength(2);
    // One Pod per pod environment and command, named by the command's place in the lesson.
    expect(page).toContain('name: &quot;lesson-2-gvisor&quot;');
  });
});

const browserMissing = existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (apt-get install chromium): the page is not opened in a browser`;
if (browserMissing) console.warn(browserMissing);

describe.skipIf(browserMissing !== null)('in Chromium (Debian\'s, headless)', () => {
  it('opens with no console error and no request beyond itself; the charts have their marks; the numbers shown are JSON\'s; prints; a screenshot is kept', async () => {
    const { chromium } = await import('playwright-core');
    // Kept for a look after the run, in the checkout's git-ignored tmp/ (overwritten each run), not in the
    // system temp dir, where nothing would remove them and `trace-compare cleanup` takes trace-compare-* for a run's.
    const shots = path.join(root, 'tmp', 'html-report');
    mkdirSync(shots, { recursive: true });
    const pages: [string, string][] = [
      ['diff-uname', html],
      ['hostile', await renderComparisonHtml(hostileComparison())],
      ['lesson', await renderLessonHtml(await lessonOfFixture())],
    ];
    const profile = mkdtempSync(path.join(os.tmpdir(), 'tc-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      for (const [name, text] of pages) {
        const file = path.join(dir, `${name}.html`);
        writeFileSync(file, text);
        const page = await context.newPage();
        const problems: string[] = [];
        const requests: string[] = [];
        page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
        page.on('request', (r) => requests.push(r.url()));
        await page.goto(`file://${file}`, { waitUntil: 'load' });
        expect(problems, name).toEqual([]);
        expect(requests, name).toEqual([`file://${file}`]);
        // No element came from the data: the page's only elements are the report's own.
        expect(await page.locator('script, img, iframe, object, embed').count(), name).toBe(0);
        // Each chart is drawn: Vega's bar marks are SVG paths with a size, one per data row.
        for (const fig of await page.locator('figure.chart').all()) {
          const bars = fig.locator('g.mark-rect path');
          expect(await bars.count(), name).toBeGreaterThan(0);
          const box = await bars.first().boundingBox();
          expect(box && box.height > 0, name).toBe(true);
        }
        if (name === 'diff-uname') {
          // What the browser shows is JSON's: every syscall cell, as rendered text.
          const shown = await page.$$eval('table.syscalls tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => (c as HTMLElement).innerText.trim())));
          for (const row of shown) {
            for (const [i, e] of json.environments.entries()) {
              const r = e.syscalls.find((s) => s.syscall === row[0]);
              expect(row[row.length - json.environments.length + i]).toBe(r ? `${r.calls} → ${r.hostKernelCalls}` : '-');
            }
          }
          expect(await page.locator('figure.chart').count()).toBe(6);
        }
        if (name === 'hostile') {
          expect(await page.locator('table.syscalls tbody th').first().innerText()).toBe(`open${HOSTILE.replace('\x1b', '\\x1b')}`);
        }
        await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
        // Printed: the print style applies (smaller type, no page width limit), and the PDF renders.
        await page.emulateMedia({ media: 'print' });
        expect(await page.evaluate(() => getComputedStyle(document.body).fontSize)).toBe('13.3333px');
        const pdf = await page.pdf({ format: 'A4' });
        expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
        await page.close();
      }
      console.info(`screenshots kept in ${shots}`);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 120_000);
});
