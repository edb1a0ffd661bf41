// The one error a parser throws: a stable `code`, a one-line `message` and the `context` it happened in
// (csv-parse's CsvError is the model). Which exit code an error means is the CLI's choice, never a parser's.

export type ParseErrorCode =
  /** The text holds no table (or trace) of the kind asked for: strace-c found no `-c` header. */
  | 'UNKNOWN_FORMAT'
  /** The input ended inside a table: no closing rule or no `total` row. */
  | 'UNTERMINATED'
  /** A cell or row is not what its column (or the table's end) calls for. */
  | 'UNEXPECTED_TOKEN'
  /** A runsc `--debug-log=DIR/` directory could not be listed. */
  | 'RUNSC_LOG_DIR_UNREADABLE'
  /** A runsc `--debug-log=DIR/` directory holds no `*.boot.txt` log. */
  | 'RUNSC_NO_BOOT_LOG';

/** Where an error happened: the input, and within it a place when there is one (1-based line and column). */
export interface ParseErrorContext {
  file: string;
  line?: number;
  column?: number;
  /** What the parser expected there. */
  expected?: string;
  /** What the user can do about it, one line. */
  hint?: string;
}

export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    readonly code: ParseErrorCode,
    message: string,
    readonly context: ParseErrorContext,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** An error at a place in the input: `file:line:column: expected`. */
  static at(code: ParseErrorCode, file: string, line: number, column: number, expected: string): ParseError {
    return new ParseError(code, `${file}:${line}:${column}: ${expected}`, { file, line, column, expected });
  }
}
