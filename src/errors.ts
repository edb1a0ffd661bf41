// Typed errors: a user mistake prints one clear line, never a stack trace.

export type ParseErrorCode =
  | 'UNRECOGNISED_LINE'
  | 'LINE_TOO_LONG'
  | 'UNTERMINATED'
  | 'UNEXPECTED_TOKEN'
  | 'UNKNOWN_FORMAT'
  | 'BINARY_DATA';

export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    readonly code: ParseErrorCode,
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly expected: string,
  ) {
    super(`${file}:${line}:${column}: ${expected}`);
  }
}

/** A mistake the user can fix: bad flags, missing file, missing runtime. Exit code says which. */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.Usage,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Exit codes scripts can rely on; documented in docs/cli.md. */
export const ExitCode = {
  Ok: 0,
  /** A generic failure that is not the user's fault. */
  Failure: 1,
  /** Bad command line or unreadable input. */
  Usage: 2,
  /** `--strict` and some input lines were not understood. */
  ParseErrors: 3,
  /** A runtime (runc, runsc, strace, perf) is missing or not usable here. */
  MissingRuntime: 4,
  /** A runtime failed to create or run the sandbox. */
  RuntimeFailed: 5,
  /** The comparison was printed, but an environment's figures are incomplete (the report says why). */
  Incomplete: 6,
  /** `--timeout` ended a run. */
  Timeout: 124,
  /** Interrupted by SIGINT (128 + 2). */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
