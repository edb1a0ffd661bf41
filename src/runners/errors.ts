// The runners' refusals, coded (csv-parse's model: code, message, context). The exit code each maps
// to is chosen by the CLI alone (src/user-errors.ts), never here.

export type RunErrorCode =
  /** The request cannot be run as given: an unknown environment, no command, a bad limit or rootfs. */
  | 'BAD_REQUEST'
  /** A runtime or tracer is not installed, or root is needed. */
  | 'NOT_AVAILABLE'
  /** A runtime ran and failed (the kernel-release probe). */
  | 'RUNTIME_FAILED'
  /** A host file the pod needs could not be read or resolved (symlink loops, missing libraries). */
  | 'HOST_UNREADABLE';

export class RunError extends Error {
  override readonly name = 'RunError';
  constructor(
    readonly code: RunErrorCode,
    message: string,
    readonly context: { hint?: string } = {},
  ) {
    super(message);
  }
}
