// The committed annotation data against its sources on this machine: the man pages as `man` renders them,
// the installed strace's own class filters, the installed runsc's table. A source that is absent or of
// another version skips its check and says why (the data names the version it was made from).
import { describe, it, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import man2 from '../../src/annotations/data/man2.json' with { type: 'json' };
import strace from '../../src/annotations/data/strace-classes.json' with { type: 'json' };
import { COMMITTED_TABLE, installedTable } from '../../src/annotations/gvisor.js';
import { committedAnnotator, annotatorWith, NOT_IN_TABLE } from '../../src/annotations/index.js';
import { manPages, nameSection } from '../../scripts/make-annotations.js';
import { has } from '../helpers/live.js';

const MAN = man2.pages as Record<string, { page: string; description: string }>;
const CLASSES = strace.syscalls as Record<string, { nr: number; classes: string[] }>;

function installedVersion(pkg: string): string | null {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** The NAME section `man` prints, on one line: `sigaction, rt_sigaction - examine and change a signal action`. */
function manNameLine(name: string): string | null {
  const r = spawnSync('man', ['-P', 'cat', '2', name], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '2000', LANG: 'C.UTF-8', MAN_KEEP_FORMATTING: '' } });
  if (r.status !== 0) return null;
  const lines = r.stdout.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'NAME');
  const body: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (/^\S/.test(l)) break;
    body.push(l.trim());
  }
  return body.join(' ').replace(/\s+/g, ' ').trim();
}

const manVersion = installedVersion('manpages-dev');
const manSkip = !has('man') ? 'man is not installed' : manVersion === null ? 'manpages-dev is not installed'
  : manVersion !== man2.source.version ? `manpages-dev ${manVersion} is installed, the data is from ${man2.source.version}: run scripts/make-annotations.ts` : null;

describe('man2 descriptions', () => {
  // rt_sigaction and newfstatat are redirects (upstream `.so man2/sigaction.2`; Debian ships them as symlinks, newfstatat -> fstatat -> stat).
  const SAMPLE = ['read', 'openat', 'rt_sigaction', 'newfstatat', 'pread64', 'uname', 'exit_group', 'readv', 'sched_setaffinity', 'socket', 'clone3'];
  it.skipIf(manSkip !== null)(`match the NAME line man prints for ${SAMPLE.join(', ')}${manSkip ? ` (skipped: ${manSkip})` : ''}`, () => {
    for (const name of SAMPLE) {
      const line = manNameLine(name);
      expect(line, name).not.toBeNull();
      const entry = MAN[name]!;
      expect(line!.endsWith(` - ${entry.description}`), `${name}: man says "${line}", data "${entry.description}"`).toBe(true);
      // The page the line is from: its first name is the page's (sigaction for rt_sigaction).
      expect(entry.page.replace(/\(2\)$/, ''), name).toBe(line!.split(/[, ]/)[0]);
    }
    expect(MAN['rt_sigaction']!.page).toBe('sigaction(2)');
    expect(MAN['newfstatat']!.page).toBe('stat(2)');
  });

  it('syscalls with no man2 page are listed, and their annotation says so with null', () => {
    expect(man2.missing).toContain('rseq');
    expect(committedAnnotator().annotate('rseq')).toMatchObject({ description: null, manPage: null });
  });

  it('the generator follows a roff `.so` redirect and reads a NAME line split over lines', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tc-man-'));
    try {
      mkdirSync(path.join(dir, 'man2'));
      writeFileSync(path.join(dir, 'man2', 'real.2.gz'), gzipSync('.TH real 2\n.\\" comment\n.SH NAME\nreal, alias \\-\nthe \\fBreal\\fP page\\[em]split\n.SH SYNOPSIS\n'));
      writeFileSync(path.join(dir, 'man2', 'alias.2.gz'), gzipSync('.so man2/real.2\n'));
      expect(manPages(path.join(dir, 'man2'), ['alias', 'real', 'none'])).toEqual({
        pages: { alias: { page: 'real(2)', description: 'the real page—split' }, real: { page: 'real(2)', description: 'the real page—split' } },
        missing: ['none'],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(nameSection('.SH NAME\nsigaction, rt_sigaction \\- examine and change a signal action\n')).toEqual({ names: ['sigaction', 'rt_sigaction'], description: 'examine and change a signal action' });
  });
});

describe('strace classes', () => {
  const straceVersion = has('strace') ? /version (\S+)/.exec(execFileSync('strace', ['-V'], { encoding: 'utf8' }))?.[1] ?? null : null;
  const skip = straceVersion === null ? 'strace is not installed' : `v${straceVersion}` !== strace.source.ref
    ? `strace ${straceVersion} is installed, the data is from ${strace.source.ref}` : null;
  // A workload that touches files, descriptors, memory, processes, signals, credentials and (nss) sockets.
  const WORKLOAD = ['/bin/sh', '-c', 'id -u >/dev/null; ls -l / >/dev/null; cat /etc/hostname >/dev/null'];
  const CHECKED = ['%file', '%desc', '%memory', '%process', '%signal', '%network', '%creds', '%fstat', '%stat', '%lstat', '%pure', '%clock'];
  const names = (filter: string | null): Set<string> | null => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tc-strace-'));
    try {
      const log = path.join(dir, 'log');
      const r = spawnSync('strace', ['-f', '-qq', ...(filter ? ['-e', `trace=${filter}`] : []), '-o', log, ...WORKLOAD], { encoding: 'utf8' });
      if (r.status !== 0) return null;
      return new Set([...readFileSync(log, 'utf8').matchAll(/^\d+\s+(?:<\.\.\. )?(\w+)[( ]/gm)].map((m) => m[1]!));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  it.skipIf(skip !== null)(`the installed strace's -e trace=%CLASS selects exactly the syscalls the data puts in that class${skip ? ` (skipped: ${skip})` : ''}`, (ctx) => {
    const all = names(null);
    if (all === null) return ctx.skip('strace could not trace here (ptrace not allowed)');
    for (const cls of CHECKED) {
      const want = [...all].filter((n) => CLASSES[n]?.classes.includes(cls)).sort();
      expect([...names(cls)!].sort(), cls).toEqual(want);
    }
  });

  it('classes come from the flags strace defines; unknown names are null, classless ones []', () => {
    expect(strace.flags).toMatchObject({ TD: '%desc', TF: '%file', TN: '%network', TP: '%process', TM: '%memory', TS: '%signal', TI: '%ipc', TC: '%creds', TCL: '%clock' });
    const a = committedAnnotator();
    expect(a.annotate('openat').classes).toEqual(['%desc', '%file']);
    expect(a.annotate('uname').classes).toEqual([]);
    expect(a.annotate('no_such_call').classes).toBeNull();
  });
});

describe("gVisor's table", () => {
  it('the committed table has 350 amd64 entries: 219 Full Support, 49 Partial Support, 82 Unimplemented', () => {
    const rows = Object.values(COMMITTED_TABLE.syscalls);
    const n = (s: string) => rows.filter((r) => r.support === s).length;
    expect([rows.length, n('Full Support'), n('Partial Support'), n('Unimplemented')]).toEqual([350, 219, 49, 82]);
  });

  it('matches the installed runsc when it is the same version (else the newer table is what reports use)', async (ctx) => {
    const installed = await installedTable();
    if (!installed) return ctx.skip('no runsc installed: reports use the committed table');
    if (installed.runscVersion !== COMMITTED_TABLE.runscVersion) return ctx.skip(`runsc ${installed.runscVersion} is installed, the data is from ${COMMITTED_TABLE.runscVersion}`);
    expect(installed.syscalls).toEqual(COMMITTED_TABLE.syscalls);
  });

  it('joins names by amd64 number, and a syscall missing from the table is ENOSYS', () => {
    const a = annotatorWith(COMMITTED_TABLE);
    expect(a.annotate('_sysctl').gvisor.support).toBe('Unimplemented'); // gVisor calls 156 `sysctl`
    expect(a.annotate('pselect6').gvisor.support).toBe('Full Support'); // gVisor's `pselect`
    expect(a.annotate('rseq').gvisor).toEqual({ support: 'Partial Support', note: 'Not supported on all platforms.' });
    expect(a.annotate('openat2').gvisor.support).toBe(NOT_IN_TABLE);
    expect(a.annotate('openat2').gvisor.note).toContain('ENOSYS');
    expect(a.sources.gvisor).toEqual({ runscVersion: '0.0~20221219.0', from: 'committed data (src/annotations/data/gvisor-amd64.json)' });
  });
});
