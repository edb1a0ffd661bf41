// Annotations, class roll-ups and gVisor's fan-out in the report model and its outputs, on the real three-way
// `uname -r` run kept in fixtures/compare/run-uname, read as `trace-compare diff` reads it.
import { describe, it, expect, beforeAll } from 'vitest';
import { buildDiff } from '../../src/commands/diff.js';
import { Diagnostics } from '../../src/diagnostics.js';
import { syscallUnion, type Comparison } from '../../src/compare.js';
import { renderComparison } from '../../src/report/comparison-report.js';
import { annotator, classText, gvisorMark, isUnionClass } from '../../src/annotations/index.js';
import { classesOf, GOFER_ROLES, SENTRY_ROLES } from '../../src/annotations/rollup.js';
import type { ComparisonAnnotations } from '../../src/annotations/comparison.js';
import { displayWidth } from '../../src/report/layout.js';
import { RUN } from '../helpers/fixture-comparison.js';

const ARGS = ['host', 'runc'].flatMap((e) => [`${e}=${RUN}/${e}/strace.log`, `${e}=${RUN}/${e}/perf.txt`]).concat([`gvisor=${RUN}/gvisor`, `gvisor=${RUN}/gvisor/perf.txt`]);

let c: Comparison;
let json: Comparison & { annotations: ComparisonAnnotations };
let md: string;

beforeAll(async () => {
  c = await buildDiff(ARGS, new Diagnostics(() => {}));
  json = JSON.parse(renderComparison(c, 'json'));
  md = renderComparison(c, 'markdown');
});

describe('annotations in the model', () => {
  it('every row of every environment carries its annotation, with the versions it came from', async () => {
    const notes = await annotator();
    for (const e of json.environments) {
      expect(e.annotationSources).toEqual(notes.sources);
      for (const r of e.syscalls) expect(r.annotation, `${e.name} ${r.syscall}`).toEqual(notes.annotate(r.syscall));
    }
    expect(json.annotations.sources.manPages).toEqual({ package: 'manpages-dev', version: expect.any(String) });
    expect(json.annotations.sources.strace.ref).toBe('v6.1');
    expect(json.annotations.sources.gvisor.runscVersion).toMatch(/\S/);
  });

  it('the union the reports print is annotated, and the calls gVisor does not fully implement are marked', () => {
    expect(json.annotations.syscalls.map((s) => s.syscall)).toEqual(syscallUnion(c.environments));
    const marked = json.annotations.notFullyInGvisor.map((s) => s.syscall);
    expect(marked).toEqual(json.annotations.syscalls.filter((s) => s.annotation.gvisor.support !== 'Full Support').map((s) => s.syscall));
    // The fixture's rseq returned ENOSYS under gVisor: runsc's table says Partial Support, not on all platforms.
    expect(json.annotations.notFullyInGvisor.find((s) => s.syscall === 'rseq')).toMatchObject({ calls: { host: 1, runc: 1, gvisor: 1 }, annotation: { gvisor: { support: 'Partial Support' } } });
  });
});

describe('roll-ups by class', () => {
  it('class sets sum to the totals; each class is the sum of the rows in it', () => {
    for (const e of json.environments) {
      const r = e.classRollup!;
      expect(r.byClassSet.reduce((n, s) => n + s.calls, 0), e.name).toBe(e.totals.calls);
      expect(r.byClassSet.reduce((n, s) => n + (s.hostKernelCalls ?? 0), 0), e.name).toBe(e.totals.hostKernelCalls);
      expect(r.byClassSet.reduce((n, s) => n + s.syscalls, 0)).toBe(e.totals.distinct);
      for (const k of r.byClass) {
        const rows = e.syscalls.filter((s) => classesOf(s.annotation).includes(k.class));
        expect(k, `${e.name} ${k.class}`).toEqual({
          class: k.class, syscalls: rows.length, calls: rows.reduce((n, s) => n + s.calls, 0), hostKernelCalls: rows.reduce((n, s) => n + (s.hostKernelCalls ?? 0), 0),
        });
      }
    }
  });
});

describe("gVisor's fan-out", () => {
  it('only under gVisor; its figures are the roles\' host calls and the app\'s calls of this run', () => {
    for (const e of json.environments) {
      if (e.runtime !== 'runsc') {
        expect(e.fanOut).toBeNull();
        continue;
      }
      const f = e.fanOut!;
      const roleCalls = (labels: string[]) => e.hostKernel!.roles!.filter((r) => labels.includes(r.label)).reduce((n, r) => n + r.calls, 0);
      expect(f.appCalls).toBe(e.totals.calls);
      expect(f.sentry.calls).toBe(roleCalls(SENTRY_ROLES));
      expect(f.gofer.calls).toBe(roleCalls(GOFER_ROLES));
      expect(f.sentry.calls).toBeGreaterThan(0);
      expect(f.gofer.calls).toBeGreaterThan(0);
      expect(f.sentry.perAppCall).toBe(Math.round((f.sentry.calls / f.appCalls) * 10) / 10);
      expect(f.appFileCalls).toBe(e.classRollup!.byClass.find((k) => k.class === '%file')!.calls);
      for (const k of f.byClass) {
        expect(k.appCalls).toBe(e.classRollup!.byClass.find((x) => x.class === k.class)?.calls ?? 0);
        expect(k.sentryTop.reduce((n, t) => n + t.calls, 0)).toBeLessThanOrEqual(k.sentryCalls);
      }
    }
  });
});

describe('markdown and table show the same numbers as the JSON', () => {
  it('each syscall row: name, class, gVisor mark, then each environment\'s calls → host kernel', () => {
    for (const s of json.annotations.syscalls) {
      const cells = json.environments.map((e) => {
        const r = e.syscalls.find((x) => x.syscall === s.syscall);
        return r ? `${r.calls} → ${r.hostKernelCalls}` : '-';
      });
      expect(md).toContain(`| ${s.syscall} | ${classText(s.annotation)} | ${gvisorMark(s.annotation)} | ${cells.join(' | ')} |`);
      expect(md).toContain(s.annotation.description === null ? `- ${s.syscall}: no man2 page in` : `- ${s.syscall} (${s.annotation.manPage}): ${s.annotation.description}`);
    }
    for (const s of json.annotations.notFullyInGvisor) expect(md).toContain(`- ${s.syscall} (${s.annotation.gvisor.support}): ${s.annotation.gvisor.note}`);
    expect(md).toContain(`runsc ${json.annotations.sources.gvisor.runscVersion}`);
  });

  it('the class roll-up rows and the fan-out', () => {
    const classes = new Set(json.environments.flatMap((e) => e.classRollup!.byClass.map((k) => k.class)).filter((k) => !isUnionClass(k)));
    for (const k of classes) {
      const cells = json.environments.map((e) => {
        const r = e.classRollup!.byClass.find((x) => x.class === k);
        return r ? `${r.calls} → ${r.hostKernelCalls}` : '-';
      });
      expect(md).toContain(`| ${k} | ${cells.join(' | ')} |`);
    }
    expect(md).toContain(`| all | ${json.environments.map((e) => `${e.totals.calls} → ${e.totals.hostKernelCalls}`).join(' | ')} |`);
    const g = json.environments.find((e) => e.fanOut)!;
    expect(md).toContain(`the Sentry made ${g.fanOut!.sentry.calls} host syscalls (${g.fanOut!.sentry.perAppCall} per app syscall) and the gofer ${g.fanOut!.gofer.calls}`);
    const file = g.fanOut!.byClass.find((k) => k.class === '%file')!;
    expect(md).toContain(`| %file | ${file.appCalls} | ${file.sentryCalls}: ${file.sentryTop.map((t) => `${t.syscall} ${t.calls}`).join(', ')} | ${file.goferCalls}: `);
  });

  it('the table keeps to 100 columns with the annotation columns, and marks what gVisor does not fully implement', () => {
    const table = renderComparison(c, 'table');
    for (const line of table.split('\n')) expect(displayWidth(line), line).toBeLessThanOrEqual(100);
    expect(table).toMatch(/│ rseq\s+│ -\s+│ partial │/);
    expect(table).toContain('Syscalls the workload issued that gVisor does not fully implement');
  });
});
