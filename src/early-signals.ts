// Stop signals that arrive while the CLI is still loading (node's start and the module graph can take
// over a second on a busy machine): recorded instead of killing node, then handed to the command. It
// imports only registry.ts (node:os alone), so the entry point installs it before loading the CLI.

import { STOP_SIGNALS } from './runners/registry.js';
let received: NodeJS.Signals | null = null;
const record = (signal: NodeJS.Signals) => {
  received ??= signal;
};

/** Called first by bin/trace-compare.js. */
export function holdEarlySignals(): void {
  for (const s of STOP_SIGNALS) process.on(s, record);
}

/** Stops holding; returns the first signal that arrived meanwhile, if any. */
export function releaseEarlySignals(): NodeJS.Signals | null {
  for (const s of STOP_SIGNALS) process.off(s, record);
  return received;
}
