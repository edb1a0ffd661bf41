// Every run still holding resources (containers, processes, temp dirs), so a SIGINT handler can
// tear them all down before the CLI exits.

export interface LiveResource {
  /** For messages: which environment / container. */
  label: string;
  /** The run's private temp dir and container id (null on host), for diagnostics and tests. */
  tempDir: string;
  containerId: string | null;
  /** Idempotent: deletes the container, kills the processes, removes the temp files. */
  teardown(reason: 'interrupted' | 'exit'): Promise<void>;
}

const live = new Set<LiveResource>();

export function register(r: LiveResource): () => void {
  live.add(r);
  return () => live.delete(r);
}

export function liveResources(): readonly LiveResource[] {
  return [...live];
}

/** Tears down everything still registered; never throws. */
export async function cleanupAll(reason: 'interrupted' | 'exit' = 'interrupted'): Promise<void> {
  await Promise.allSettled([...live].map((r) => r.teardown(reason)));
}

/**
 * On SIGINT/SIGTERM: tear down every live run, then exit 130 (SIGINT) or 143 (SIGTERM). A second
 * signal while cleaning up is ignored: leaving containers behind would be worse than waiting.
 * Returns a function that removes the handlers.
 */
export function installSignalCleanup(opts: { beforeExit?: (signal: NodeJS.Signals) => void } = {}): () => void {
  let cleaning = false;
  const handler = (signal: NodeJS.Signals) => {
    if (cleaning) return;
    cleaning = true;
    opts.beforeExit?.(signal);
    void cleanupAll('interrupted').finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
