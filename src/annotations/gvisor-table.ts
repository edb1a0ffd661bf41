// gVisor's syscall table as `runsc help syscalls --format=json` prints it (amd64), keyed by name. Pure: used by
// scripts/make-annotations.ts to write data/gvisor-amd64.json and by gvisor.ts to read an installed runsc.

export interface GvisorEntry {
  /** amd64 syscall number. */
  nr: number;
  /** As runsc prints it: `Full Support`, `Partial Support`, `Unimplemented`. */
  support: string;
  note: string;
  urls?: string[];
}

export interface GvisorTable {
  /** `runsc --version`'s first line's version: `0.0~20221219.0`. */
  runscVersion: string;
  /** Where this copy was read: the installed runsc (`installed /usr/bin/runsc`) or the committed data. */
  from: string;
  /** By gVisor's syscall name. */
  syscalls: Record<string, GvisorEntry>;
}

/** The shape `runsc help syscalls --format=json` prints. */
interface RunscHelpJson {
  linux?: { amd64?: { syscalls?: Record<string, { name: string; support: string; note?: string; urls?: string[] }> } };
}

/** The amd64 table of runsc's JSON help, keyed by name. Shared by the generator and the run-time reader. */
export function tableFromRunscHelp(json: unknown, runscVersion: string, from: string): GvisorTable {
  const rows = (json as RunscHelpJson).linux?.amd64?.syscalls;
  if (!rows || typeof rows !== 'object') throw new Error('runsc help syscalls: no linux.amd64.syscalls table');
  const syscalls: Record<string, GvisorEntry> = {};
  for (const nr of Object.keys(rows).sort((a, b) => Number(a) - Number(b))) {
    const r = rows[nr]!;
    syscalls[r.name] = { nr: Number(nr), support: r.support, note: r.note ?? '', ...(r.urls?.length ? { urls: r.urls } : {}) };
  }
  return { runscVersion, from, syscalls };
}

/** `runsc version 0.0~20221219.0` (first line of `runsc --version`) -> `0.0~20221219.0`. */
export function runscVersionOf(output: string): string {
  const first = output.split('\n')[0]!.trim();
  return /^runsc version (\S+)/.exec(first)?.[1] ?? first;
}
