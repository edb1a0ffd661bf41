// Text layout for a terminal: display width without colour codes, word wrapping with a hanging indent,
// and POSIX shell quoting of an argument vector for the command header.

import { escapeControls } from './escape.js';

/** Default width of `--format table`: an ordinary terminal. */
export const DEFAULT_WIDTH = 100;

const SGR = /\x1b\[[0-9;]*m/g;

/** Columns a line takes on a terminal: SGR colour codes take none, every other code point one. */
export function displayWidth(text: string): number {
  let n = 0;
  for (const _ of text.replace(SGR, '')) n++;
  return n;
}

/**
 * Wraps plain text (no colour codes) to `width` columns: at spaces when it can, inside a word longer
 * than a line when it must. Lines after the first start with `indent`.
 */
export function wrap(text: string, width: number, indent = ''): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = out.length === 0 ? '' : indent;
    let empty = true; // no word on this line yet
    for (const word of para.split(' ')) {
      let w = word;
      if (!empty && displayWidth(line) + 1 + displayWidth(w) <= width) {
        line += ' ' + w;
        continue;
      }
      if (!empty) {
        out.push(line);
        line = indent;
      }
      // A word longer than the room left: cut it.
      while (displayWidth(line) + displayWidth(w) > width) {
        const fit = Math.max(1, width - displayWidth(line));
        const cps = [...w];
        out.push(line + cps.slice(0, fit).join(''));
        w = cps.slice(fit).join('');
        line = indent;
      }
      line += w;
      empty = false;
    }
    out.push(line);
  }
  return out;
}

/** Characters a POSIX shell word may hold unquoted (and `=`, `@`, `%` which mean nothing there). */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/**
 * One argument as a shell would need it typed: bare when only safe characters, else in single quotes
 * (`'` written `'\''`); an argument holding control characters is written `$'...'` with them escaped,
 * so the header can be pasted back and never drives the terminal.
 */
export function shellQuote(arg: string): string {
  if (SAFE.test(arg)) return arg;
  if (CONTROL.test(arg)) {
    const body = arg.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\t/g, '\\t');
    return `$'${escapeControls(body)}'`;
  }
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `sh -c 'ls / | wc -l'`: the argument vector as a POSIX shell command line. */
export function shellCommand(argv: string[]): string {
  return argv.map(shellQuote).join(' ');
}
