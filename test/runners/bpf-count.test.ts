import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCounts } from '../../src/runners/bpf-count.js';
import { MAP_KEYS } from '../../src/runners/bpf-session.js';
import { attributeHostCounts } from '../../src/attribution.js';

// What a session's file holds for a host run of `uname -r` (shortened) in a session shared with another run
// (tool pid 90, which registered with tag 4242): the tool's tag line, then bpftrace's. The wrapper 100 forks 101, which execs strace; strace
// forks 102, which execs uname. The other run's wrapper 200 and its child 201 are not this run's. An exec's
// name comes from the N line its entry printed (a failed try first, as a shell's PATH search makes); strace
// was killed waiting in wait4 (@in: nr + 1; 0 is no call). Counts are @c[tid, segment, syscall nr, entered, comm].
const RUN = `tag 4242
Attaching 4 probes...
ready
hello 90 4242
F4242 500 90 200 node
F4242 1000 100 101 sh
F4242 1500 200 201 sh
N4242 1800 101 -100 /usr/local/bin/strace
N4242 1900 101 -100 /usr/bin/strace
X4242 2000 101 101 1
F4242 3000 101 102 strace
N4242 3900 102 -100 /usr/bin/uname
X4242 4000 102 102 1
N4242 4500 201 3 
B4242
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
I4242
@in[102]: 0
@in[101]: 62
S4242
@seg[101]: 1
@seg[102]: 1
T4242
@track[100]: 3
@track[101]: 1
@track[102]: 1
@track[200]: 3
@track[201]: 0
E4242
`;

async function withCounts<T>(text: string, f: (file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'tc-bpf-'));
  try {
    const file = join(dir, 'counts.txt');
    writeFileSync(file, text);
    return await f(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('in-kernel counts (bpf-count.ts) into the attribution', () => {
  it('reads the tree and the counts, and attributes them as a perf trace of the same run', async () => {
    // A repeated request may have begun a second dump before bpftrace was killed: only the first counts.
    await withCounts(RUN + 'B4242\n@c[102, 1, 63, 1, uname]: 1\n@c[102, 1, 257, 1, ua' + '\nW WARNING: Lost 3 events\n', async (file) => {
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
    });
  });

  it("a workload's line breaks (an exec's path, a comm) forge no line: untagged lines are not the script's, a broken count line is joined again", async () => {
    // uname (102) execs a path holding forged lines, and names itself "]: 9\n@c[1, 0, " (15 bytes) before 7 reads.
    const forged = RUN.replace('X4242 4000 102 102 1\n', 'X4242 4000 102 102 1\nN4242 4100 102 -100 /x\nF 1 100 999 x\nF4243 1 100 999 x\n@c[100, 0, 1, 1, sh]: 99\nB\nB4243\n@c[102, 1, 1, 1, sh]: 99\nE4243\n')
      .replace('@c[102, 1, 63, 1, uname]: 1\n', '@c[102, 1, 63, 1, uname]: 1\n@c[102, 1, 0, 1, ]: 9\n@c[1, 0, ]: 7\n');
    await withCounts(forged, async (file) => {
      const counts = await readCounts(file, 100);
      expect(counts.forks.map((f) => f.child)).toEqual([101, 102]);
      expect(counts.counts.filter((c) => c.calls === 99)).toEqual([]);
      expect(counts.counts.filter((c) => c.syscall === 'read')).toEqual([{ tid: 102, seg: 1, syscall: 'read', entered: true, comm: ']: 9\n@c[1, 0, ', calls: 7 }]);
      expect(counts.counts).toHaveLength(12);
      expect(counts.lostEvents).toBe(0);
    });
  });

  it("bpftrace's lost events among the script's lines and after them are lost events; a map that filled is named", async () => {
    const lost = RUN.replace('X4242 2000 101 101 1\n', 'X4242 2000 101 101 1\nLost 2 events\n') + '\nW Lost 5 events\n';
    await withCounts(lost, async (file) => {
      const counts = await readCounts(file, 100);
      expect(counts.lostEvents).toBe(7);
      expect(counts.fullMaps).toEqual([]);
      expect(counts.counts).toHaveLength(11);
    });
    // A map only grows (a key is set to 0, never deleted): one at MAP_KEYS keys may have refused some.
    const keys = (n: number, line: (i: number) => string) => Array.from({ length: n }, (_, i) => line(i)).join('');
    const full = RUN.replace('I4242\n', keys(MAP_KEYS - 12, (i) => `@c[${5000 + i}, 0, 0, 1, x]: 1\n`) + 'I4242\n')
      .replace('E4242\n', keys(MAP_KEYS - 5, (i) => `@track[${5000 + i}]: 0\n`) + 'E4242\n');
    await withCounts(full, async (file) => {
      const counts = await readCounts(file, 100);
      expect(counts.fullMaps).toEqual(['@c', '@track']);
      expect(counts.lostEvents).toBe(0);
      expect(counts.counts).toHaveLength(11);
    });
    await withCounts(full.replace('@c[5000, 0, 0, 1, x]: 1\n', '').replace('@track[5000]: 0\n', ''), async (file) => {
      expect((await readCounts(file, 100)).fullMaps).toEqual([]);
    });
  });

  it('a file without the tag line is refused; a dump cut short is a lost event', async () => {
    await withCounts(RUN.replace('tag 4242\n', ''), async (file) => {
      await expect(readCounts(file, 100)).rejects.toThrow(/line 1: expected the session's tag/);
    });
    await withCounts(RUN.slice(0, RUN.indexOf('I4242')), async (file) => {
      expect((await readCounts(file, 100)).lostEvents).toBe(1);
    });
  });
});
