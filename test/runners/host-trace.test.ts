import { describe, it, expect } from 'vitest';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePerfTrace } from '../../parsers/perf-trace.js';
import { attributeHostKernel, type AttributionHint } from '../../src/attribution.js';
import { mergeSchedEvents, parseSchedLine, type SchedEvent } from '../../src/runners/host-trace.js';

// A live `perf trace` fixture with its sched lines taken out (what `perf trace -i` replays), and those
// lines turned into perf script's events: merging them back must give the same attribution.
const FORK = /^\s*(\d+\.\d+) \(\s*\): .*?\/(\d+) sched:sched_process_fork\(parent_comm: "(.*)", parent_pid: (\d+) \(.*\), child_comm: "(.*)", child_pid: (\d+) /;
const EXEC = /^\s*(\d+\.\d+) \(\s*\): .*?\/(\d+) sched:sched_process_exec\(filename: "(.*)", pid: (\d+) \(.*\), old_pid: (\d+) /;

function split(text: string): { replay: string; sched: SchedEvent[] } {
  const keep: string[] = [];
  const sched: SchedEvent[] = [];
  for (const line of text.split('\n')) {
    const f = FORK.exec(line);
    const x = EXEC.exec(line);
    const ns = (ms: string) => Math.round(Number(ms) * 1e6);
    if (f) sched.push({ tid: Number(f[2]), ns: ns(f[1]!), kind: 'fork', parentComm: f[3]!, parentPid: Number(f[4]), childComm: f[5]!, childPid: Number(f[6]) });
    else if (x) sched.push({ tid: Number(x[2]), ns: ns(x[1]!), kind: 'exec', filename: x[3]!, pid: Number(x[4]), oldPid: Number(x[5]) });
    else keep.push(line);
  }
  return { replay: keep.join('\n'), sched };
}

const attribute = (file: string, hint: AttributionHint) => attributeHostKernel(parsePerfTrace(createReadStream(file), { file }), hint);

describe('sched events merged into a replayed perf trace', () => {
  const cases: [string, AttributionHint][] = [
    ['host-sh-sched', { runtime: 'host', command: ['sh', '-c', 'x'] }],
    ['runsc-uname-sched', { runtime: 'runsc', command: ['/bin/uname', '-r'] }],
  ];
  for (const [name, hint] of cases) {
    it(`${name}: the same attribution as the live trace`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tc-merge-'));
      try {
        const live = `fixtures/perf/${name}.txt`;
        const { replay, sched } = split(readFileSync(live, 'utf8'));
        expect(sched.length).toBeGreaterThan(0);
        writeFileSync(join(dir, 'replay.txt'), replay);
        await mergeSchedEvents(join(dir, 'replay.txt'), sched, 0, join(dir, 'merged.txt'));
        const merged = readFileSync(join(dir, 'merged.txt'), 'utf8');
        expect(merged.split('\n').filter((l) => l.includes(' sched:sched_process_')).length).toBe(sched.length);
        expect(await attribute(join(dir, 'merged.txt'), hint)).toEqual(await attribute(live, hint));
        // Nothing but the sched lines added: the replayed lines come through byte for byte.
        expect(merged.split('\n').filter((l) => !l.includes(' sched:sched_process_')).join('\n')).toBe(replay);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('reads perf script lines, comms with spaces included', () => {
    expect(parseSchedLine('25078  4995.486043077: sched:sched_process_fork: comm=my prog pid=25078 child_comm=my prog child_pid=25080')).toEqual({
      tid: 25078, ns: 4995486043077, kind: 'fork', parentComm: 'my prog', parentPid: 25078, childComm: 'my prog', childPid: 25080,
    });
    expect(parseSchedLine('25082  4995.493420999: sched:sched_process_exec: filename=/usr/bin/find pid=25082 old_pid=25082')).toEqual({
      tid: 25082, ns: 4995493420999, kind: 'exec', filename: '/usr/bin/find', pid: 25082, oldPid: 25082,
    });
    expect(parseSchedLine('25082  4995.493420999: raw_syscalls:sys_enter: NR 0')).toBeNull();
  });
});
