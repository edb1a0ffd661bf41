// Reports lines no parser understood: on stderr, as FILE:LINE and what was expected, with a count at the end.

import type { TraceEvent, UnparsedEvent } from './events.js';

const SAMPLE = 80;

export class Diagnostics {
  private count = 0;
  private readonly perFile = new Map<string, number>();

  constructor(private readonly write: (line: string) => void = (l) => process.stderr.write(l + '\n')) {}

  /** Passes events through, reporting each unparsed one as it streams by. */
  async *watch(events: AsyncIterable<TraceEvent>): AsyncGenerator<TraceEvent> {
    for await (const e of events) {
      if (e.kind === 'unparsed') this.report(e);
      yield e;
    }
  }

  report(e: UnparsedEvent): void {
    this.count++;
    this.perFile.set(e.file, (this.perFile.get(e.file) ?? 0) + 1);
    const what = e.truncated
      ? `line of ${e.length ?? '?'} bytes is longer than the limit; skipped`
      : e.reason;
    this.write(`${e.file}:${e.line}: ${what}: ${JSON.stringify(sample(e.text))}`);
  }

  get unparsed(): number {
    return this.count;
  }

  /** The closing count, or nothing when every line was understood. */
  summaryLine(): string | null {
    if (this.count === 0) return null;
    const files = [...this.perFile].map(([f, n]) => `${f}: ${n}`).join(', ');
    return `trace-compare: ${this.count} line${this.count === 1 ? '' : 's'} not understood (${files}); everything else was parsed`;
  }
}

function sample(text: string): string {
  return text.length > SAMPLE ? text.slice(0, SAMPLE) + '…' : text;
}
