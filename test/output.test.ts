// Standard output that fails (issue #6): a full disk is one line and exit 1, a reader that goes away
// (`| head`) is quiet, exit 0, and stops the work at once; no write waits forever for a 'drain'.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/trace-compare.js');
const output = path.join(root, 'dist/src/output.js');
const fx = (p: string) => path.join(root, 'fixtures', p);
const hasDevFull = existsSync('/dev/full');

interface Ended {
  code: number | null;
  stderr: string;
  stdout: string;
  ms: number;
}

/** Runs node ARGS with stdout on /dev/full. */
async function toDevFull(args: string[]): Promise<Ended> {
  const fd = openSync('/dev/full', 'w');
  try {
    const t0 = Date.now();
    const child = spawn('node', args, { cwd: root, stdio: ['ignore', fd, 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, stderr, stdout: '', ms: Date.now() - t0 };
  } finally {
    closeSync(fd);
  }
}

/** Runs node ARGS, reads `keep` bytes of its stdout, then closes the pipe as `head -c` does. */
async function intoShortReader(args: string[], keep: number): Promise<Ended> {
  const t0 = Date.now();
  const child = spawn('node', args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  let stdout = Buffer.alloc(0);
  child.stdout.on('data', (d: Buffer) => {
    stdout = Buffer.concat([stdout, d]);
    if (stdout.length >= keep) child.stdout.destroy();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stderr, stdout: stdout.subarray(0, keep).toString(), ms: Date.now() - t0 };
}

let dir: string;
let big: string;
beforeAll(async () => {
  if (!existsSync(output)) await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root });
  dir = mkdtempSync(path.join(os.tmpdir(), 'tc-output-'));
  // 1.5 million calls: parsing them all takes many seconds, so a prompt exit shows the work stopped.
  big = path.join(dir, 'big.log');
  writeFileSync(big, '1234 getpid() = 1234\n'.repeat(1_500_000));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasDevFull)('standard output on a full disk (/dev/full)', () => {
  const oneLine = 'trace-compare: cannot write the report to standard output: no space left on device (ENOSPC)\n';

  it.each([
    [['summary', fx('strace/plain.log')]],
    [['summary', fx('strace/plain.log'), '--format', 'json']],
    [['parse', fx('strace/plain.log')]],
    [['diff', `host=${fx('strace/plain.log')}`, '--format', 'markdown']],
  ])('%j: exit 1, one line on stderr, no stack', async (args) => {
    const r = await toDevFull([bin, ...args]);
    expect(r.stderr).toBe(oneLine);
    expect(r.code).toBe(1);
  });

  it('writeOut rejects with the UserError (exit code 1), and so does every later write', async () => {
    const script = `
      const { writeOut } = await import(${JSON.stringify(output)});
      const seen = [];
      for (const text of ['a\\n', 'b\\n']) {
        try { await writeOut(text); seen.push('ok'); } catch (e) { seen.push(e.name + ' ' + e.exitCode + ' ' + e.message); }
      }
      process.stderr.write(JSON.stringify(seen));`;
    const r = await toDevFull(['--input-type=module', '-e', script]);
    const msg = 'UserError 1 cannot write the report to standard output: no space left on device (ENOSPC)';
    expect(JSON.parse(r.stderr)).toEqual([msg, msg]);
    expect(r.code).toBe(0);
  });
});

describe('a reader that closes early (| head -c 100)', () => {
  it.each([
    [['parse', 'BIG']],
    [['parse', 'BIG', '--format', 'json']],
    [['parse', 'BIG', '--format', 'table']],
  ])('%j: exit 0 at once, nothing on stderr', async (args) => {
    const r = await intoShortReader([bin, ...args.map((a) => (a === 'BIG' ? big : a))], 100);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toHaveLength(100);
    // Parsing all 1.5 million lines takes far longer: the command stopped when its reader went away.
    expect(r.ms).toBeLessThan(8000);
  });

  it('summary and diff into a closed pipe: exit 0, quiet', async () => {
    for (const args of [['summary', fx('strace/plain.log')], ['diff', `host=${fx('strace/plain.log')}`]]) {
      const r = await intoShortReader([bin, ...args], 10);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  });

  it('writeOut settles on every write after EPIPE, and outputClosed() says the output was cut', async () => {
    // 64 KiB writes into a pipe the reader closes after 100 bytes: each write must settle (no lost 'drain').
    const script = `
      const { writeOut, outputClosed } = await import(${JSON.stringify(output)});
      const before = outputClosed();
      for (let i = 0; i < 200; i++) await writeOut('x'.repeat(65536));
      process.stderr.write(JSON.stringify({ before, after: outputClosed() }));`;
    const r = await intoShortReader(['--input-type=module', '-e', script], 100);
    expect(JSON.parse(r.stderr)).toEqual({ before: false, after: true });
    expect(r.code).toBe(0);
  });

  it('a slow reader gets everything, in order (back-pressure, then the next write)', async () => {
    const script = `
      const { writeOut, outputClosed } = await import(${JSON.stringify(output)});
      for (let i = 0; i < 64; i++) await writeOut(String(i % 10).repeat(256 * 1024));
      process.stderr.write(String(outputClosed()));`;
    const child = spawn('node', ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    // Slow: after each chunk the reader pauses for 5 ms, so the child meets back-pressure again and again.
    // (Draining a paused stream from a timer lost the tail now and then: the reader's race, not the writer's.)
    child.stdout.on('data', (c: Buffer) => {
      chunks.push(c);
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 5);
    });
    const [code] = (await once(child, 'close')) as [number | null];
    const all = Buffer.concat(chunks).toString();
    expect(code).toBe(0);
    expect(stderr).toBe('false');
    expect(all).toHaveLength(64 * 256 * 1024);
    for (let i = 0; i < 64; i++) expect(all[i * 256 * 1024]).toBe(String(i % 10));
  });
});
