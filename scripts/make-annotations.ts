// Writes src/annotations/data/*.json, the syscall annotations, each from its real source with that source's
// version beside the data (nothing typed by hand; no network):
//   man2.json            the NAME line of each man2 page of Debian's manpages-dev (version from dpkg-query)
//   strace-classes.json  strace's syscall classes (%file, %desc, ...) from its x86_64 syscallent table, read
//                        with `git show REF:PATH` from a clone of github.com/strace/strace (tag and commit kept)
//   gvisor-amd64.json    `runsc help syscalls --format=json` of the installed runsc (its `runsc --version` kept)
//
//   npx tsc -p tsconfig.json && node dist/scripts/make-annotations.js --strace-git DIR [--strace-ref v6.1] \
//     [--man-dir /usr/share/man/man2] [--runsc runsc]
//
// The strace tag matches Debian's strace package (6.1 in bookworm). Run again after upgrading any source.

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, realpathSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { runscVersionOf, tableFromRunscHelp } from '../src/annotations/gvisor-table.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, 'src/annotations/data');
const SELF = 'scripts/make-annotations.ts';

/** The x86_64 table and the table of numbers 424+ it includes (strace's src/linux/x86_64/syscallent.h). */
const STRACE_TABLES = ['src/linux/x86_64/syscallent.h', 'src/linux/generic/syscallent-common.h'];
const STRACE_SHORTHANDS = 'src/sysent_shorthand_defs.h';
const STRACE_CLASS_NAMES = 'src/basic_filters.c';

function args(): { straceGit: string; straceRef: string; manDir: string; runsc: string } {
  const a = process.argv.slice(2);
  const opt = (name: string, def?: string) => {
    const i = a.indexOf(name);
    if (i >= 0 && a[i + 1]) return a[i + 1]!;
    if (def === undefined) throw new Error(`usage: make-annotations --strace-git DIR [--strace-ref v6.1] [--man-dir DIR] [--runsc PATH]; ${name} is missing`);
    return def;
  };
  return { straceGit: opt('--strace-git'), straceRef: opt('--strace-ref', 'v6.1'), manDir: opt('--man-dir', '/usr/share/man/man2'), runsc: opt('--runsc', 'runsc') };
}

function sh(cmd: string, argv: string[]): string {
  return execFileSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20 });
}

// ---- strace: syscall number, name and flags from syscallent; flag -> TRACE_* -> class name from the source.

interface StraceClasses {
  /** Shorthand flag (TD) -> class name (%desc), for the class flags only. */
  flags: Record<string, string>;
  syscalls: Record<string, { nr: number; classes: string[] }>;
}

export function parseStrace(show: (file: string) => string): StraceClasses {
  // `# define TD	TRACE_DESC` in the non-test branch (the test branch defines them all as 0).
  const defs = show(STRACE_SHORTHANDS).split('#else')[1] ?? '';
  const shorthand = new Map<string, string>();
  for (const m of defs.matchAll(/^#\s*define\s+(\w+)\s+(TRACE_\w+)\s*$/gm)) shorthand.set(m[1]!, m[2]!);
  // `{ TRACE_DESC, "%desc" },` in qualify_syscall_class: strace's own names; %net is an alias of %network.
  const className = new Map<string, string>();
  for (const m of show(STRACE_CLASS_NAMES).matchAll(/\{\s*(TRACE_\w+),\s*"(%[^"]+)"\s*\}/g)) {
    const prev = className.get(m[1]!);
    if (!prev || m[2]!.length > prev.length) className.set(m[1]!, m[2]!);
  }
  const flags: Record<string, string> = {};
  for (const [flag, trace] of shorthand) {
    const name = className.get(trace);
    if (name) flags[flag] = name;
  }
  const syscalls: StraceClasses['syscalls'] = {};
  for (const file of STRACE_TABLES) {
    // `[  2] = { 3,	TD|TF,		SEN(open),			"open"			},` (`[BASE_NR + 424]` in the common table)
    for (const m of show(file).matchAll(/^\[(?:BASE_NR \+ )?\s*(\d+)\]\s*=\s*\{\s*\d+,\s*([\w|]+),\s*SEN\(\w+\),\s*"(\w+)"/gm)) {
      const classes = m[2]!.split('|').map((f) => flags[f]).filter((c): c is string => c !== undefined);
      syscalls[m[3]!] = { nr: Number(m[1]), classes };
    }
  }
  return { flags, syscalls };
}

// ---- man pages: the NAME section of NAME.2.gz, following Debian's symlinks and roff `.so` redirects.

/** The page a name's file really holds: symlinks resolved (Debian turns upstream `.so` lines into them), then `.so`. */
function pageSource(file: string, manRoot: string): { file: string; text: string } {
  let real = realpathSync(file);
  for (let hops = 0; hops < 5; hops++) {
    const text = gunzipSync(readFileSync(real)).toString('utf8');
    const so = /^\.so\s+(\S+)\s*$/m.exec(text.split('\n').filter((l) => !l.startsWith('.\\"')).slice(0, 3).join('\n'));
    if (!so) return { file: real, text };
    const target = path.join(manRoot, so[1]!);
    real = realpathSync(existsSync(target) ? target : target + '.gz');
  }
  throw new Error(`${file}: .so redirects loop`);
}

/** roff to plain text, for the escapes man2 NAME lines use. */
function plainRoff(s: string): string {
  return s
    .replace(/\\f(\[[^\]]*\]|\(..|.)/g, '')
    .replace(/\\\[em\]|\\\(em/g, '—')
    .replace(/\\\[en\]|\\\(en/g, '–')
    .replace(/\\-/g, '-')
    .replace(/\\&/g, '')
    .replace(/\\ /g, ' ')
    .replace(/\\e/g, '\\')
    .replace(/\s+/g, ' ')
    .trim();
}

/** `sigaction, rt_sigaction \- examine and change a signal action` -> names and description. */
export function nameSection(text: string): { names: string[]; description: string } | null {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^\.SH\s+"?NAME"?\s*$/.test(l));
  if (start < 0) return null;
  const body: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (/^\.S[HS]\b/.test(l)) break;
    if (l.startsWith('.\\"')) continue;
    body.push(l.replace(/^\.\w+\s*/, ''));
  }
  // A trailing backslash continues the line.
  const joined = body.join('\n').replace(/\\\n/g, '').replace(/\n/g, ' ');
  const dash = joined.indexOf('\\-');
  if (dash < 0) return null;
  return {
    names: plainRoff(joined.slice(0, dash)).split(',').map((n) => n.trim()).filter(Boolean),
    description: plainRoff(joined.slice(dash + 2)),
  };
}

export function manPages(manDir: string, names: string[]): { pages: Record<string, { page: string; description: string }>; missing: string[] } {
  const root = path.dirname(manDir);
  const files = new Set(readdirSync(manDir));
  const pages: Record<string, { page: string; description: string }> = {};
  const missing: string[] = [];
  for (const name of [...new Set(names)].sort()) {
    const f = files.has(`${name}.2.gz`) ? `${name}.2.gz` : files.has(`${name}.2`) ? `${name}.2` : null;
    if (!f) {
      missing.push(name);
      continue;
    }
    const src = pageSource(path.join(manDir, f), root);
    const section = nameSection(src.text);
    if (!section) throw new Error(`${src.file}: no NAME line`);
    pages[name] = { page: `${path.basename(src.file).replace(/\.2(\.gz)?$/, '')}(2)`, description: section.description };
  }
  return { pages, missing };
}

function write(file: string, data: unknown): void {
  writeFileSync(path.join(OUT, file), JSON.stringify(data, null, 1) + '\n');
  console.log(`wrote src/annotations/data/${file}`);
}

function main(): void {
  const o = args();
  const git = (argv: string[]) => sh('git', ['--git-dir', o.straceGit, ...argv]);
  const commit = git(['rev-parse', `${o.straceRef}^{commit}`]).trim();
  const strace = parseStrace((file) => git(['show', `${commit}:${file}`]));
  write('strace-classes.json', {
    source: {
      what: "strace's syscall classes (-e trace=%CLASS), per x86_64 syscall",
      repository: 'https://github.com/strace/strace',
      ref: o.straceRef,
      commit,
      files: [...STRACE_TABLES, STRACE_SHORTHANDS, STRACE_CLASS_NAMES],
      generatedBy: SELF,
    },
    flags: strace.flags,
    syscalls: strace.syscalls,
  });

  const runscVersion = runscVersionOf(sh(o.runsc, ['--version']));
  const table = tableFromRunscHelp(JSON.parse(sh(o.runsc, ['help', 'syscalls', '--format=json'])), runscVersion, 'committed data (src/annotations/data/gvisor-amd64.json)');
  write('gvisor-amd64.json', {
    source: { what: "gVisor's own syscall support table, amd64", command: 'runsc help syscalls --format=json', runscVersion, generatedBy: SELF },
    ...table,
  });

  const version = sh('dpkg-query', ['-W', '-f=${Version}', 'manpages-dev']).trim();
  const { pages, missing } = manPages(o.manDir, [...Object.keys(strace.syscalls), ...Object.keys(table.syscalls)]);
  write('man2.json', {
    source: { what: 'the NAME line of each syscall\'s man2 page', package: 'manpages-dev', version, dir: o.manDir, generatedBy: SELF },
    pages,
    missing,
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) main();
