// Every run still holding resources (containers, processes, temp dirs), so a SIGINT handler can
// tear them all down before the CLI exits.

import { constants } from 'node:os';
import { rmSync } from 'node:fs';

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

/**
 * A run's registration, as every runner makes it: dispose() tears the run down once, then removes its
 * temp dir (unless kept); a stop signal calls onInterrupt first, so the outcome says it was interrupted.
 */
export function registerRun(r: {
  label: string; tempDir: string; containerId: string | null;
  /** Read when the run is disposed of (a run started before the options were parsed learns it later). */
  keepTemp: boolean | (() => boolean);
  teardown: () => Promise<void>; onInterrupt: () => void;
}): { dispose: () => Promise<void>; unregister: () => void } {
  let disposed: Promise<void> | null = null;
  const dispose = (): Promise<void> => {
    disposed ??= (async () => {
      await r.teardown();
      const keep = typeof r.keepTemp === 'function' ? r.keepTemp() : r.keepTemp;
      // Synchronous: a pod's rootfs (~1,200 entries) goes in ~20 ms, where a promise per entry took ~50.
      if (!keep) rmSync(r.tempDir, { recursive: true, force: true, maxRetries: 3 });
    })();
    return disposed;
  };
  const unregister = register({
    label: r.label,
    tempDir: r.tempDir,
    containerId: r.containerId,
    teardown: async (reason) => {
      if (reason === 'interrupted') r.onInterrupt();
      await dispose();
    },
  });
  return { dispose, unregister };
}

export function liveResources(): readonly LiveResource[] {
  return [...live];
}

/** Tears down everything still registered; never throws. */
export async function cleanupAll(reason: 'interrupted' | 'exit' = 'interrupted'): Promise<void> {
  await Promise.allSettled([...live].map((r) => r.teardown(reason)));
}

/**
 * The signals that end a run the way Ctrl-C does: a closed terminal or dropped SSH (SIGHUP) and
 * SIGQUIT (Ctrl-\\) would otherwise kill node at once and leave every container and process behind.
 * SIGKILL cannot be caught: `trace-compare cleanup` removes what it leaves (docs/cli.md).
 */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/** A shell's exit status for death by `signal`: 128 + its number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

/** Calls `handler` on each stop signal; returns a function that removes it. */
export function onStopSignals(handler: (signal: NodeJS.Signals) => void): () => void {
  for (const sig of STOP_SIGNALS) process.on(sig, handler);
  return () => {
    for (const sig of STOP_SIGNALS) process.off(sig, handler);
  };
}

/**
 * On a stop signal: tear down every live run, then exit 128+N. A second signal while cleaning up is
 * ignored: leaving containers behind would be worse than waiting. Returns a function that removes
 * the handlers.
 */
export function installSignalCleanup(opts: { beforeExit?: (signal: NodeJS.Signals) => void } = {}): () => void {
  let cleaning = false;
  return onStopSignals((signal) => {
    if (cleaning) return;
    cleaning = true;
    opts.beforeExit?.(signal);
    void cleanupAll('interrupted').finally(() => process.exit(signalExitCode(signal)));
  });
}
