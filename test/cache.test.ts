// The cache of installed programs' outputs: private, never through a symlink, keyed by the program's file.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileKey, readCached, writeCached } from '../src/cache.js';
import { installedTable } from '../src/annotations/gvisor.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tc-cache-test-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('cache', () => {
  it('reads back what it wrote, in a dir only this user can enter', async () => {
    const c = path.join(dir, 'c');
    expect(readCached('a.json', c)).toBeNull();
    writeCached('a.json', '{"x":1}', c);
    expect(readCached('a.json', c)).toBe('{"x":1}');
    writeCached('a.json', '{"x":2}', c);
    expect(readCached('a.json', c)).toBe('{"x":2}');
  });

  it('follows no symlink and uses no dir others can write or read', async () => {
    const c = path.join(dir, 'c');
    mkdirSync(c, { mode: 0o700 });
    writeFileSync(path.join(dir, 'elsewhere'), 'planted');
    symlinkSync(path.join(dir, 'elsewhere'), path.join(c, 'a.json'));
    expect(readCached('a.json', c)).toBeNull();
    writeCached('a.json', 'new', c);
    expect(readFileSync(path.join(dir, 'elsewhere'), 'utf8')).toBe('planted');

    const open = path.join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    writeCached('b.json', 'x', open);
    expect(readCached('b.json', open)).toBeNull();
    const linked = path.join(dir, 'linked');
    symlinkSync(c, linked);
    expect(readCached('a.json', linked)).toBeNull();
  });

  it("a program's key changes when its file is rewritten", async () => {
    const f = path.join(dir, 'prog');
    writeFileSync(f, 'one');
    const k = fileKey(f);
    expect(fileKey(f)).toBe(k);
    writeFileSync(f, 'two');
    expect(fileKey(f)).not.toBe(k);
  });
});

describe("runsc's table, cached", () => {
  const saved = { PATH: process.env.PATH, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
  afterEach(() => {
    process.env.PATH = saved.PATH;
    if (saved.XDG_CACHE_HOME === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved.XDG_CACHE_HOME;
  });

  it('asks runsc once per binary: again when the binary changes', async () => {
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    const calls = path.join(dir, 'calls');
    const fake = (support: string) => {
      const help = JSON.stringify({ linux: { amd64: { syscalls: { 63: { name: 'uname', support } } } } });
      writeFileSync(path.join(bin, 'runsc'), `#!/bin/sh\necho "$1" >> '${calls}'\n[ "$1" = --version ] && echo 'runsc version 0.0~test' || echo '${help}'\n`, { mode: 0o755 });
    };
    process.env.PATH = `${bin}:${saved.PATH}`;
    process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
    fake('Full Support');
    const first = await installedTable();
    const second = await installedTable();
    expect(second).toEqual(first);
    expect(first?.syscalls.uname?.support).toBe('Full Support');
    expect(readFileSync(calls, 'utf8').trim().split('\n').sort()).toEqual(['--version', 'help']);
    fake('Partial Support');
    const third = await installedTable();
    expect(third?.syscalls.uname?.support).toBe('Partial Support');
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toHaveLength(4);
  });
});
