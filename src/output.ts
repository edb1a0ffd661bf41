// Writes to stdout honouring back-pressure. A reader that went away (`| head`) is normal: later output is
// dropped quietly and outputClosed() says so, so a command can stop early. Any other write error (a full
// disk, EIO) is a UserError: one line, exit 1. Every write settles (written, failed or closed), so no
// caller waits forever for a 'drain' that a broken pipe never sends.

import { UserError, ExitCode } from './errors.js';

const out = process.stdout;
let closed = false;
let failure: UserError | null = null;

/** The reader closed its end: EPIPE (or the socket twin ECONNRESET), or the stream was torn down after it. */
const READER_GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

function noteError(err: NodeJS.ErrnoException): void {
  if (failure !== null) return;
  if (READER_GONE.has(err.code ?? '')) {
    closed = true;
    return;
  }
  const reason = err.code && /^E[A-Z0-9]+: ([^,]+)/.exec(err.message)?.[1];
  failure = new UserError(`cannot write the report to standard output: ${reason ? `${reason} (${err.code})` : err.message}`, ExitCode.Failure);
}

// Without a listener, a write error on stdout is thrown from an event: a stack trace instead of a message.
out.on('error', noteError);
out.on('close', () => {
  closed = true;
});

/** True once standard output's reader went away: what was written after that was dropped. */
export function outputClosed(): boolean {
  return closed && failure === null;
}

/**
 * Writes `text`; settles once it is written (the next write may go: back-pressure), or dropped because the
 * reader went away. Rejects with a UserError (exit 1) on any other write error, and on every write after it.
 */
export function writeOut(text: string): Promise<void> {
  if (failure !== null) return Promise.reject(failure);
  if (closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    out.write(text, (err) => {
      if (err) noteError(err);
      if (failure !== null) reject(failure);
      else resolve();
    });
  });
}
