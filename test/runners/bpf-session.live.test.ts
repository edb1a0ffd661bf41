// The count session's own protocol, live: its program compiled once (bpftrace --aot) and then taken from the
// cache, this process's registration, and a session another process registered first refused.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bpfCounter, startCount } from '../../src/runners/bpf-session.js';
import { readCounts } from '../../src/runners/bpf-count.js';
import { has } from '../helpers/live.js';

const isRoot = process.getuid?.() === 0;
const counter = bpfCounter();
const skip = !isRoot ? 'needs root (bpftrace loads BPF programs)'
  : !counter ? `missing ${['bpftrace', 'bpftrace-aotrt', 'setpriv', 'stdbuf'].filter((t) => !has(t)).join(', ') || 'x86_64'}`
    : null;

let dir: string;
const saved = process.env.XDG_CACHE_HOME;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tc-session-test-'));
  process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
});
afterEach(() => {
  if (saved === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!!skip)(`count session${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('compiles its program once, then runs the cached one; it counts what this process starts once ready', async () => {
    const first = startCount(counter!, path.join(dir, 'a.txt'), dir);
    await first.ready;
    const cache = path.join(dir, 'cache', 'trace-compare');
    const programs = readdirSync(cache).filter((f) => f.endsWith('.aot'));
    expect(programs).toHaveLength(1);
    await first.kill();

    const second = startCount(counter!, path.join(dir, 'b.txt'), dir);
    // Taken from the cache: the program beside the data file is the cached one, before bpftrace could write it.
    expect(readFileSync(path.join(dir, 'b.txt.aot'))).toEqual(readFileSync(path.join(cache, programs[0]!)));
    await second.ready;
    const child = spawn('/bin/true', [], { stdio: 'ignore' });
    await new Promise((r) => child.once('close', r));
    await second.stop();
    await second.kill();
    const counts = await readCounts(second.file, child.pid!);
    expect(counts.execs.map((x) => x.filename)).toEqual(['/bin/true']);
    expect(counts.counts.some((c) => c.syscall === 'exit_group' && c.comm === 'true')).toBe(true);
    expect(counts.lostEvents).toBe(0);
    expect(counts.fullMaps).toEqual([]);
  }, 60_000);

  it('a damaged cached program fails its session and is compiled again by the next', async () => {
    const first = startCount(counter!, path.join(dir, 'a.txt'), dir);
    await first.ready;
    await first.kill();
    const cache = path.join(dir, 'cache', 'trace-compare');
    const programs = () => readdirSync(cache).filter((f) => f.endsWith('.aot'));
    const [program] = programs();
    writeFileSync(path.join(cache, program!), 'not a program');
    const bad = startCount(counter!, path.join(dir, 'b.txt'), dir);
    await expect(bad.ready).rejects.toThrow(/bpftrace exited/);
    await bad.kill();
    expect(programs()).toEqual([]);
    const again = startCount(counter!, path.join(dir, 'c.txt'), dir);
    await again.ready;
    await again.kill();
    expect(programs()).toEqual([program]);
  }, 60_000);

  it('refuses a session another process registered with first', async () => {
    // A process that registers again and again: it is the script's first caller once the probes are attached.
    const squatter = spawn(process.execPath, ['-e', "for (;;) { try { require('fs').ftruncateSync(2 ** 31 - 1, 7); } catch {} }"], { stdio: 'ignore' });
    try {
      const session = startCount(counter!, path.join(dir, 'c.txt'), dir);
      await expect(session.ready).rejects.toThrow(new RegExp(`another process \\(${squatter.pid}\\) took bpftrace's count session first`));
      await session.kill();
    } finally {
      squatter.kill('SIGKILL');
    }
  }, 60_000);
});
