// Every difference between environments, relative to the first one (normally the host), each with
// the evidence it rests on. Pure: it reads a Comparison and nothing else; the report renders it.

import { MAX_PATHS, type Comparison, type EnvironmentReport, type Evidence, type PathUse, type SyscallDetail } from './compare.js';

export type DifferenceKind =
  /** An environment failed (exit != 0, signal, timeout, runtime error, incomplete trace): its stderr. */
  | 'failed'
  /** Exit status, signal or timeout differ from the baseline's. */
  | 'exit'
  /** stdout differs from the baseline's. */
  | 'stdout'
  /** A syscall both issued returned different errnos (or different error counts). */
  | 'errors'
  /** A syscall only some environments issued. */
  | 'only-in'
  /** A path one environment named and the other did not. */
  | 'path-only-in'
  /** A path both named, with different results (e.g. opened on the host, ENOENT in a pod). */
  | 'path-result';

export interface DifferenceEvidence extends Evidence {
  environment: string;
}

export interface Difference {
  kind: DifferenceKind;
  syscall?: string;
  path?: string;
  /** Per environment named by the finding, what it did: exit status, errno counts, calls... */
  environments: Record<string, DifferenceSide>;
  /** Trace lines the finding rests on (file:line in the kept logs). Empty when the figure has none. */
  evidence: DifferenceEvidence[];
  /** The finding in one sentence, as the table and markdown print it. */
  text: string;
}

export interface DifferenceSide {
  exitCode?: number | null;
  ended?: string | null;
  incomplete?: string[];
  /** First lines of stderr, as written (escaped only when rendered). */
  stderr?: string[];
  stdout?: string | null;
  calls?: number;
  errors?: number;
  errnos?: Record<string, number>;
}

/** Lines of stderr quoted for a failed environment. */
export const STDERR_LINES = 5;
/** Characters of stdout quoted in an output difference. */
const STDOUT_QUOTE = 60;

/** Whether an environment failed: a non-zero exit, a signal, a timeout, a runtime error or a trace cut short. */
export function failed(e: EnvironmentReport): boolean {
  return (e.exitCode !== null && e.exitCode !== 0) || e.ended !== undefined || (e.incomplete?.length ?? 0) > 0;
}

export function differences(c: Comparison): Difference[] {
  const envs = c.environments;
  const out: Difference[] = [];
  for (const e of envs) {
    if (!failed(e)) continue;
    const stderr = firstLines(e.stderr ?? '', STDERR_LINES);
    out.push({
      kind: 'failed',
      environments: {
        [e.name]: {
          exitCode: e.exitCode,
          ended: e.ended ?? null,
          ...(e.incomplete?.length ? { incomplete: e.incomplete } : {}),
          ...(e.stderr !== undefined && e.stderr !== null ? { stderr } : {}),
        },
      },
      evidence: [],
      text:
        `${e.name} failed: ${statusText(e)}` +
        (e.incomplete?.length ? `; incomplete: ${e.incomplete.join('; ')}` : '') +
        (e.stderr === undefined || e.stderr === null ? '' : stderr.length ? `; stderr: ${stderr.join(' ⏎ ')}` : '; stderr empty'),
    });
  }
  const base = envs[0];
  if (!base) return out;
  for (const e of envs.slice(1)) {
    if (statusText(e) !== statusText(base)) {
      out.push({
        kind: 'exit',
        environments: { [base.name]: statusSide(base), [e.name]: statusSide(e) },
        evidence: [],
        text: `exit: ${base.name} ${statusText(base)}, ${e.name} ${statusText(e)}`,
      });
    }
    if (base.stdout !== null && e.stdout !== null && base.stdout !== e.stdout) {
      out.push({
        kind: 'stdout',
        environments: { [base.name]: { stdout: base.stdout }, [e.name]: { stdout: e.stdout } },
        evidence: [],
        text: `stdout: ${base.name} ${quoteOutput(base.stdout)}, ${e.name} ${quoteOutput(e.stdout)}`,
      });
    }
    out.push(...syscallDifferences(base, e), ...pathDifferences(base, e));
  }
  return out;
}

function statusSide(e: EnvironmentReport): DifferenceSide {
  return { exitCode: e.exitCode, ended: e.ended ?? null };
}

/** `exit 0`, `exit 2`, `exit 137 (timeout)`, `timeout`, `killed by SIGKILL`. */
export function statusText(e: EnvironmentReport): string {
  if (e.exitCode === null) return e.ended ?? 'exit not seen';
  return `exit ${e.exitCode}${e.ended ? ` (${e.ended})` : ''}`;
}

function firstLines(text: string, n: number): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.slice(0, n);
}

function quoteOutput(s: string): string {
  if (s === '') return 'empty';
  const t = s.replace(/\n$/, '');
  return JSON.stringify(t.length > STDOUT_QUOTE ? t.slice(0, STDOUT_QUOTE - 1) + '…' : t);
}

function syscallDetail(e: EnvironmentReport, name: string): SyscallDetail | undefined {
  return e.detail?.syscalls.find((d) => d.syscall === name);
}

/** `0 errors`, `1 × EINVAL`, `13 × ENOENT, 1 × EACCES`; error counts alone when errnos were not kept. */
export function errnoText(errors: number, errnos: Record<string, number> | undefined): string {
  if (errors === 0) return '0 errors';
  if (!errnos || Object.keys(errnos).length === 0) return `${errors} error${errors === 1 ? '' : 's'}`;
  return Object.entries(errnos)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([name, n]) => `${n} × ${name}`)
    .join(', ');
}

function sameErrnos(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function syscallDifferences(base: EnvironmentReport, e: EnvironmentReport): Difference[] {
  const newErrno: Difference[] = [];
  const counts: Difference[] = [];
  const only: Difference[] = [];
  const names = [...new Set([...base.syscalls.map((r) => r.syscall), ...e.syscalls.map((r) => r.syscall)])].sort();
  for (const name of names) {
    const a = base.syscalls.find((r) => r.syscall === name);
    const b = e.syscalls.find((r) => r.syscall === name);
    const da = syscallDetail(base, name);
    const db = syscallDetail(e, name);
    if (!a || !b) {
      const [has, row, d] = a ? [base, a, da] : [e, b!, db];
      only.push({
        kind: 'only-in',
        syscall: name,
        environments: { [base.name]: { calls: a?.calls ?? 0 }, [e.name]: { calls: b?.calls ?? 0 } },
        evidence: d ? [{ environment: has.name, ...d.first }] : [],
        text: `${name}: only ${has.name} issued it (${row.calls} call${row.calls === 1 ? '' : 's'}${row.errors ? `, ${errnoText(row.errors, d?.errnos)}` : ''})`,
      });
      continue;
    }
    const ea = da?.errnos;
    const eb = db?.errnos;
    const differ = ea && eb ? !sameErrnos(ea, eb) : a.errors !== b.errors;
    if (!differ) continue;
    const evidence: DifferenceEvidence[] = [];
    // Cite the first call of each errno one side returned and the other did not (else of each errno).
    for (const [env, d, other] of [[base, da, eb], [e, db, ea]] as const) {
      if (!d) continue;
      const fresh = Object.keys(d.errnos).filter((k) => !other || !(k in other));
      for (const k of fresh.length ? fresh : Object.keys(d.errnos)) evidence.push({ environment: env.name, ...d.firstErrno[k]! });
    }
    const novel = Boolean(ea && eb && (Object.keys(eb).some((k) => !(k in ea)) || Object.keys(ea).some((k) => !(k in eb))));
    (novel || (a.errors === 0) !== (b.errors === 0) ? newErrno : counts).push({
      kind: 'errors',
      syscall: name,
      environments: {
        [base.name]: { calls: a.calls, errors: a.errors, ...(ea ? { errnos: ea } : {}) },
        [e.name]: { calls: b.calls, errors: b.errors, ...(eb ? { errnos: eb } : {}) },
      },
      evidence,
      text: `${name}: ${base.name} ${errnoText(a.errors, ea)} in ${a.calls}, ${e.name} ${errnoText(b.errors, eb)} in ${b.calls}`,
    });
  }
  return [...newErrno, ...counts, ...only];
}

function pathResult(u: PathUse): string {
  const failures = Object.values(u.errnos).reduce((n, k) => n + k, 0);
  return failures === 0 ? `ok ×${u.calls}` : failures === u.calls ? errnoText(failures, u.errnos) : `ok ×${u.calls - failures}, ${errnoText(failures, u.errnos)}`;
}

function pathDifferences(base: EnvironmentReport, e: EnvironmentReport): Difference[] {
  if (!base.detail || !e.detail) return [];
  const results: Difference[] = [];
  const out: Difference[] = [];
  const pa = new Map(base.detail.paths.map((u) => [u.path, u]));
  const pb = new Map(e.detail.paths.map((u) => [u.path, u]));
  // A path beyond the bound may have been named but not kept: say "not among the kept paths" then.
  const absent = (d: { pathsDropped: number }) => (d.pathsDropped > 0 ? `did not name it among its first ${MAX_PATHS} paths` : 'never named it');
  const side = (u: PathUse) => ({ calls: u.calls, errors: Object.values(u.errnos).reduce((n, k) => n + k, 0), errnos: u.errnos });
  for (const [path, u] of pa) {
    const v = pb.get(path);
    if (v) {
      const okA = Object.keys(u.errnos).length === 0;
      const okB = Object.keys(v.errnos).length === 0;
      if (okA !== okB || !sameErrnos(errnoKinds(u), errnoKinds(v))) {
        results.push({
          kind: 'path-result',
          path,
          syscall: u.syscalls[0]!,
          environments: { [base.name]: side(u), [e.name]: side(v) },
          evidence: [{ environment: base.name, ...u.first }, { environment: e.name, ...v.first }],
          text: `${path} (${u.syscalls.join('/')}): ${base.name} ${pathResult(u)}, ${e.name} ${pathResult(v)}`,
        });
      }
      continue;
    }
    out.push(onlyPath(path, u, base, e, absent(e.detail)));
  }
  for (const [path, v] of pb) if (!pa.has(path)) out.push(onlyPath(path, v, e, base, absent(base.detail)));
  return [...results, ...out];
}

/** Which errnos, not how many: a loader probing a path twice is not a difference. */
function errnoKinds(u: PathUse): Record<string, number> {
  return Object.fromEntries(Object.keys(u.errnos).map((k) => [k, 1]));
}

function onlyPath(path: string, u: PathUse, has: EnvironmentReport, other: EnvironmentReport, otherSaid: string): Difference {
  const errors = Object.values(u.errnos).reduce((n, k) => n + k, 0);
  return {
    kind: 'path-only-in',
    path,
    syscall: u.syscalls[0]!,
    environments: { [has.name]: { calls: u.calls, errors, errnos: u.errnos }, [other.name]: { calls: 0 } },
    evidence: [{ environment: has.name, ...u.first }],
    text: `${path}: only ${has.name} named it (${u.syscalls.join('/')}, ${pathResult(u)}); ${other.name} ${otherSaid}`,
  };
}
