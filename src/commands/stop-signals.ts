// How a command that starts sandboxes meets a stop signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT): its work is
// aborted, so everything it started is torn down, and it exits 128+N. Used by run, lesson and doctor.

import { onStopSignals, signalExitCode } from '../runners/registry.js';

/** The abort reason of a stop signal (an environment that fails aborts the others with its error). */
export const SIGNALLED = Symbol('signalled');

/**
 * Runs `body` with a controller that a stop signal (or one received while the CLI was loading: `early`)
 * aborts with SIGNALLED; resolves to body's exit code, or 128+N when a signal came.
 */
export async function withStopSignals(early: NodeJS.Signals | null, body: (controller: AbortController) => Promise<number>): Promise<number> {
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const offSignals = onStopSignals((signal) => {
    if (received === null) process.stderr.write(`\ntrace-compare: interrupted by ${signal}, cleaning up...\n`);
    received ??= signal;
    controller.abort(SIGNALLED);
  });
  if (early) {
    process.stderr.write(`\ntrace-compare: interrupted by ${early}, cleaning up...\n`);
    received = early;
    controller.abort(SIGNALLED);
  }
  try {
    const code = await body(controller);
    return received ? signalExitCode(received) : code;
  } finally {
    offSignals();
  }
}
