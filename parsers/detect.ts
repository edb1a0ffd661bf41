// Tells a trace's format from its first lines, so `trace-compare diff FILE...` needs no flag.
// Each line votes for the formats whose line grammar it matches; the format with most votes wins
// (ties in the order below). A line of program output mixed into an strace log votes for nothing.

import { open } from 'node:fs/promises';

export type DetectedFormat = 'strace' | 'runsc' | 'perf' | 'strace-c';

// runsc debug log: glog head `I1125 14:48:48.044429    1981 strace.go:561] `.
const RUNSC = /^[DIWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ [^\s\]]+:\d+\] /;
// perf trace: `     3.099 ( 0.018 ms): ` / `         ? (         ): ` / `LOST 3 events!`.
const PERF = /^\s*(?:\d+\.\d+|\?) \((?:\s*\d+\.\d+ ms|\s*)\): |^LOST \d+ events!$/;
// strace -c table: its header and its dashed rule.
const STRACE_C = /^% time\s+(?:seconds|wall secs)\s+usecs\/call\s+calls\s+errors\s+syscall\s*$|^-{6} -{11} -{11} -{9} -{9} -{10,}/;
// strace: optional `[pid N] ` or `N ` prefix (with -Y's `<comm>`), optional timestamp, -n's
// `[ 59] `, -i's `[00007f..] `, then a call, a resume, a signal, an exit, or strace's own message.
const STRACE =
  /^\s*(?:\[pid\s+\d+(?:<[^>]*>)?\] |\d+(?:<[^>]*>)?\s+)?(?:\d{2}:\d{2}:\d{2}(?:\.\d+)?\s+|\d+\.\d+\s+)?(?:\[\s*\d+\] )?(?:\[[0-9a-f?]+\] )?(?:[a-z_][a-z0-9_]*\(|<\.\.\. [a-z_0-9]+ resumed>|\+\+\+ (?:exited|killed)|--- SIG|\? \(|<detached)|^strace: /;

const ORDER: DetectedFormat[] = ['runsc', 'perf', 'strace-c', 'strace'];

export function detectFormat(firstLines: string[]): DetectedFormat | null {
  const votes: Record<DetectedFormat, number> = { runsc: 0, perf: 0, 'strace-c': 0, strace: 0 };
  for (const raw of firstLines) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    if (RUNSC.test(line)) votes.runsc++;
    else if (PERF.test(line)) votes.perf++;
    else if (STRACE_C.test(line)) votes['strace-c'] += 2; // a table has few lines that look like it
    else if (STRACE.test(line)) votes.strace++;
  }
  let best: DetectedFormat | null = null;
  for (const f of ORDER) if (votes[f] > 0 && (best === null || votes[f] > votes[best])) best = f;
  return best;
}

/**
 * The first lines of a file, reading at most `maxBytes` (a huge file costs one small read).
 * A last partial line is dropped unless the file ends there.
 */
export async function peekLines(path: string, maxLines = 40, maxBytes = 64 * 1024): Promise<string[]> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(maxBytes);
    const { bytesRead } = await fh.read(buf, 0, maxBytes, 0);
    const text = buf.toString('utf8', 0, bytesRead);
    const lines = text.split('\n');
    if (bytesRead === maxBytes) lines.pop();
    else if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(0, maxLines);
  } finally {
    await fh.close();
  }
}

/** Detects the format of a file from its first lines. */
export async function detectFileFormat(path: string): Promise<DetectedFormat | null> {
  return detectFormat(await peekLines(path));
}
