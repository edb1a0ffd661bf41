// `trace-compare summary`: the strace -c table, computed from a saved or piped trace.

import { Diagnostics, newTally, tally } from '../diagnostics.js';
import { openInputs } from '../input.js';
import { SummaryBuilder } from '../summary.js';
import { renderSummary } from '../report/summary-report.js';
import type { ReportFormat } from '../format.js';
import { writeOut } from '../output.js';
import type { TraceEvent } from '../../parsers/events.js';

export async function runSummary(files: string[], format: ReportFormat, diag: Diagnostics): Promise<void> {
  const builder = new SummaryBuilder();
  for (const input of await openInputs(files)) {
    const t = newTally();
    const each = new SummaryBuilder();
    // Reported inline rather than through diag.watch(): one generator step less per event on the hot path.
    const take = (e: TraceEvent): void => {
      if (e.kind === 'unparsed') diag.report(e);
      tally(t, e);
      builder.add(e);
      if (e.kind === 'message') each.add(e);
    };
    if (input.countCalls) {
      // strace: its calls counted as the parser completes them (no event each), the other events in batches.
      for await (const batch of input.countCalls(builder.sink(t))) for (let i = 0; i < batch.length; i++) take(batch[i]!);
    } else {
      for await (const e of input.events) take(e);
    }
    // An input with no call and no -c table: say so, and why (a trace sent to the terminal, not the pipe).
    if (t.syscalls === 0 && !each.found) diag.noSyscallIn(input.file, t, input.format);
  }
  const summary = builder.result();
  // The HTML renderer (vega) is loaded only for --format html: 170 ms of start-up the other formats do not need.
  await writeOut(format === 'html' ? (await import('../report/html-report.js')).renderSummaryHtml(summary) : renderSummary(summary, format));
}
