// Turns the system's refusals (Node errno errors: EACCES, ENOENT, ENOSPC...) into one-line user errors.
// A refused open or a full disk is not a bug in trace-compare: the user gets what failed, on which path,
// and the documented exit code (docs/cli.md), never "internal error" and a stack trace.

import { UserError, ExitCode } from './errors.js';
import { ParseError, type ParseErrorCode } from '../parsers/errors.js';
import { RunError, type RunErrorCode } from './runners/errors.js';

/** ParseError codes that mean the input itself is at fault: exit 2, like an unreadable file. */
const INPUT_CODES = new Set<ParseErrorCode>(['RUNSC_NO_BOOT_LOG', 'RUNSC_LOG_DIR_UNREADABLE']);

/** The exit code of each runner refusal (docs/cli.md). */
const RUN_EXIT: Record<RunErrorCode, number> = {
  BAD_REQUEST: ExitCode.Usage,
  NOT_AVAILABLE: ExitCode.MissingRuntime,
  RUNTIME_FAILED: ExitCode.RuntimeFailed,
  HOST_UNREADABLE: ExitCode.Failure,
};
import { escapeControls } from './report/escape.js';

interface Refusal {
  reason: string;
  exitCode: number;
}

/** Known errno codes: what to tell the user, and the exit code (2 = the input or a path given is at fault). */
const REFUSALS: Record<string, Refusal> = {
  EACCES: { reason: 'permission denied', exitCode: ExitCode.Usage },
  EPERM: { reason: 'operation not permitted', exitCode: ExitCode.Usage },
  ENOENT: { reason: 'no such file or directory', exitCode: ExitCode.Usage },
  ENOTDIR: { reason: 'a component of the path is not a directory', exitCode: ExitCode.Usage },
  EISDIR: { reason: 'is a directory, expected a file', exitCode: ExitCode.Usage },
  ELOOP: { reason: 'too many symbolic links', exitCode: ExitCode.Usage },
  ENAMETOOLONG: { reason: 'file name too long', exitCode: ExitCode.Usage },
  ENXIO: { reason: 'no such device or address (a socket or a FIFO with no writer?)', exitCode: ExitCode.Usage },
  ENOSPC: { reason: 'no space left on device', exitCode: ExitCode.Failure },
  EDQUOT: { reason: 'disk quota exceeded', exitCode: ExitCode.Failure },
  EFBIG: { reason: 'file too large', exitCode: ExitCode.Failure },
  EROFS: { reason: 'read-only file system', exitCode: ExitCode.Failure },
  EIO: { reason: 'input/output error', exitCode: ExitCode.Failure },
  EMFILE: { reason: 'too many open files (raise ulimit -n)', exitCode: ExitCode.Failure },
  ENFILE: { reason: 'too many open files in the system', exitCode: ExitCode.Failure },
  ENOMEM: { reason: 'out of memory', exitCode: ExitCode.Failure },
  EPIPE: { reason: 'the reading end of the pipe was closed', exitCode: ExitCode.Failure },
  ECONNRESET: { reason: 'the reading end of the pipe was closed', exitCode: ExitCode.Failure },
};

/** What the failed call was doing, in words: `open` → "open", `scandir` → "list the directory". */
const ACTIONS: Record<string, string> = {
  open: 'open',
  read: 'read',
  write: 'write',
  stat: 'read',
  lstat: 'read',
  fstat: 'read',
  access: 'read',
  scandir: 'list the directory',
  opendir: 'list the directory',
  mkdir: 'create the directory',
  mkdtemp: 'create a temporary directory in',
  unlink: 'remove',
  rmdir: 'remove',
  rm: 'remove',
  rename: 'rename',
  copyfile: 'copy',
  symlink: 'link',
  spawn: 'run',
};

/**
 * The user error for a system refusal, or null when `err` is not one (a bug stays a bug).
 * A UserError is returned as it is; an errno error wrapped as another error's `cause` is looked at too.
 * Exit codes: 2 for EACCES, EPERM, ENOENT, ENOTDIR, EISDIR, ELOOP, ENAMETOOLONG, ENXIO (a path given cannot be
 * used); 1 for ENOSPC, EDQUOT, EFBIG, EROFS, EIO, EMFILE, ENFILE, ENOMEM, EPIPE and any other errno error.
 */
export function userErrorOf(err: unknown): UserError | null {
  if (err instanceof UserError) return err;
  // A parser's coded refusal of an input the user gave (a runsc log dir without boot logs).
  if (err instanceof ParseError && INPUT_CODES.has(err.code)) return new UserError(err.message, ExitCode.Usage, err.context.hint);
  // A runner's coded refusal: the exit code is chosen here, by the CLI, not by the runner.
  if (err instanceof RunError) return new UserError(err.message, RUN_EXIT[err.code], err.context.hint);
  const e = errnoOf(err) ?? errnoOf((err as { cause?: unknown } | null)?.cause);
  if (!e) return null;
  const known = REFUSALS[e.code];
  const reason = known?.reason ?? describe(e);
  return new UserError(`${what(e)}: ${reason}`, known?.exitCode ?? ExitCode.Failure);
}

type ErrnoError = NodeJS.ErrnoException & { code: string; dest?: string };

/** Node's system errors carry an `E...` code with an errno or a syscall; `ERR_...` codes are Node's own (bugs). */
function errnoOf(err: unknown): ErrnoError | null {
  if (!(err instanceof Error)) return null;
  const e = err as NodeJS.ErrnoException;
  if (typeof e.code !== 'string' || !/^E[A-Z0-9]+$/.test(e.code)) return null;
  return e.errno !== undefined || e.syscall !== undefined ? (e as ErrnoError) : null;
}

/** "cannot open /x/y", "cannot write to standard output", or the syscall when nothing better is known. */
function what(e: ErrnoError): string {
  const action = e.syscall ? (ACTIONS[e.syscall] ?? e.syscall) : 'use';
  if (e.path === undefined) return e.syscall ? `${action} failed` : 'a system call failed';
  // A path is the user's or the trace's text: its control characters are shown, not obeyed.
  return escapeControls(`cannot ${action} ${e.path}${e.dest !== undefined ? ` to ${e.dest}` : ''}`);
}

/** Node's message is "CODE: description, syscall 'path'": keep the description. */
function describe(e: ErrnoError): string {
  const m = /^E[A-Z0-9]+: ([^,]+)/.exec(e.message);
  return `${m ? m[1] : 'system error'} (${e.code})`;
}
