// execa is ~170 KB of the CLI's ~1 MB of code, and a run's usual path no longer spawns through it (a run's
// process and ld.so --list use node's own spawn): it is loaded when a rarer path first needs it (perf's
// fallback, cleanup, CRI, doctor, --install-missing), not with the CLI, whose load a run waits for.

/** execa, loaded on first use (then node's module cache answers). */
export async function loadExeca(): Promise<typeof import('execa').execa> {
  return (await import('execa')).execa;
}
