// Stop signals that arrive while the CLI is still loading (node's start and the module graph can take
// over a second on a busy machine): recorded instead of killing node, then handed to the command. No
// imports, so the entry point can install it before loading anything else.

const STOP = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
let received: NodeJS.Signals | null = null;
const record = (signal: NodeJS.Signals) => {
  received ??= signal;
};

/** Called first by bin/trace-compare.js. */
export function holdEarlySignals(): void {
  for (const s of STOP) process.on(s, record);
}

/** Stops holding; returns the first signal that arrived meanwhile, if any. */
export function releaseEarlySignals(): NodeJS.Signals | null {
  for (const s of STOP) process.off(s, record);
  return received;
}
