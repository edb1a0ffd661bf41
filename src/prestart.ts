// Called by the entry point before the CLI loads: the host-kernel count's session is ready ~60 ms after its
// spawn (bpftrace-aotrt loading the cached program; ~0.3 s more when it is compiled first), while node takes
// ~150 ms to load the CLI, so a command that may trace starts it first and never waits for it.
// The first command that traces takes it (runners/bpf-count.ts shareCount); the CLI ends it if none does.

import { mayTrace } from './route.js';
import { prestartCount } from './runners/bpf-session.js';

export function prestartFor(argv: string[]): void {
  if (mayTrace(argv)) prestartCount();
}
