import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCounts } from '../../src/runners/bpf-count.js';
import { END_OF_COUNTS } from '../../src/runners/bpf-session.js';
import { attributeHostCounts } from '../../src/attribution.js';

// What bpftrace prints for a host run of `uname -r` (shortened) in a session shared with another run (tool
// pid 90): the wrapper 100 forks 101, which execs strace; strace forks 102, which execs uname. The other
// run's wrapper 200 and its child 201 are not this run's. An exec's name comes from the N line its entry
// printed (a failed try first, as a shell's PATH search makes); strace was killed waiting in wait4 (@in:
// nr + 1). Counts are @c[tid, segment, syscall nr, entered, comm].
const RUN = `ready 90 /tmp/trace-compare-x/
F 500 90 200 node
F 1000 100 101 sh
F 1500 200 201 sh
N 1800 101 -100 /usr/local/bin/strace
N 1900 101 -100 /usr/bin/strace
X 2000 101 101 1
F 3000 101 102 strace
N 3900 102 -100 /usr/bin/uname
X 4000 102 102 1
N 4500 201 3 


@c[100, 0, 61, 1, sh]: 1
@c[101, 0, 59, 1, sh]: 1
@c[101, 1, 59, 1, strace]: 1
@c[101, 1, 101, 1, strace]: 40
@c[102, 0, 101, 1, strace]: 1
@c[102, 1, 59, 1, uname]: 1
@c[102, 1, 63, 1, uname]: 1
@c[102, 1, 257, 1, uname]: 3
@c[102, 1, 257, 0, uname]: 2
@c[102, 1, 231, 1, a, b]: 1
@c[200, 1, 59, 1, sh]: 1
@c[201, 0, 63, 1, sh]: 7
@in[101]: 62
@seg[101]: 1
@seg[102]: 1
@zz_end_of_counts: 1
`;

describe('in-kernel counts (bpf-count.ts) into the attribution', () => {
  it("the dump's last line is the sentinel map the script sets", () => {
    expect(RUN.trimEnd().split('\n').pop()).toBe(END_OF_COUNTS);
  });

  it('reads the tree and the counts, and attributes them as a perf trace of the same run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-bpf-'));
    try {
      const file = join(dir, 'counts.txt');
      // A repeated SIGUSR1 may have begun a second dump before bpftrace was killed: only the first counts.
      writeFileSync(file, RUN + '\n\n@c[102, 1, 63, 1, uname]: 1\n@c[102, 1, 257, 1, ua' + '\nW WARNING: Lost 3 events\n');
      const counts = await readCounts(file, 100);
      expect(counts.rootTid).toBe(100);
      expect(counts.forks).toHaveLength(2);
      expect(counts.execs[1]).toEqual({ ns: 4000, pid: 102, oldPid: 102, seg: 1, filename: '/usr/bin/uname' });
      expect(counts.execs[0]!.filename).toBe('/usr/bin/strace');
      expect(counts.counts.find((c) => c.comm === 'a, b')).toMatchObject({ syscall: 'exit_group', calls: 1 });
      expect(counts.counts.filter((c) => c.tid === 101 && c.syscall === 'wait4')).toEqual([{ tid: 101, seg: 1, syscall: 'wait4', entered: true, comm: 'strace', calls: 1 }]);
      expect(counts.lostEvents).toBe(3);
      const v = attributeHostCounts(counts, { runtime: 'host', command: ['uname', '-r'], tracedBy: 'strace' });
      expect(v.workload).toEqual([
        { syscall: 'openat', calls: 5, entered: 3 },
        { syscall: 'execve', calls: 1, entered: 1 },
        { syscall: 'exit_group', calls: 1, entered: 1 },
        { syscall: 'uname', calls: 1, entered: 1 },
      ]);
      expect(v.roles.map((r) => [r.label, r.kind, r.calls])).toEqual([['tracer strace', 'tool', 43], ['status wrapper sh', 'tool', 2]]);
      expect(v.processes.map((p) => p.label)).toEqual(['status wrapper sh', 'status wrapper sh → tracer strace', 'tracer strace → workload']);
      expect(v.lostEvents).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
