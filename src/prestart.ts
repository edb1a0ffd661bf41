// Called by the entry point before the CLI loads: the host-kernel count's bpftrace takes ~0.3 s to start
// (LLVM's and clang's initialisation, the compile), about as long as node takes to load the CLI and make the
// pods' rootfs, so a command that may trace starts it first.
// The first command that traces takes it (runners/bpf-count.ts shareCount); the CLI ends it if none does.

import { mayTrace } from './route.js';
import { prestartCount } from './runners/bpf-session.js';

export function prestartFor(argv: string[]): void {
  if (mayTrace(argv)) prestartCount();
}
