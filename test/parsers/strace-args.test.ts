import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { execa } from 'execa';
import { parseArgs, renderArg, MAX_DEPTH, type ArgNode } from '../../parsers/strace-args.js';
import { decodeLiteral } from '../../parsers/strace-scan.js';
import { parseStraceText } from '../../parsers/strace.js';

const DIR = 'fixtures/strace';

/** The argument text of the first complete call of `name` in a real fixture whose line matches `filter`. */
function realArgs(file: string, name: string, filter: RegExp = /./): string {
  const re = new RegExp(`(?:^|\\s|>)${name}\\((.*)\\)\\s+= `);
  for (const line of readFileSync(`${DIR}/${file}`, 'utf8').split('\n')) {
    const m = re.exec(line);
    if (m && filter.test(line)) return m[1]!;
  }
  throw new Error(`no complete ${name}(...) line matching ${filter} in ${file}`);
}

function* walk(n: ArgNode): Generator<ArgNode> {
  yield n;
  const kids: ArgNode[] =
    n.kind === 'flags' ? n.flags
    : n.kind === 'struct' ? n.fields
    : n.kind === 'array' ? n.items
    : n.kind === 'call' ? n.args
    : n.kind === 'annotated' ? [n.value]
    : n.kind === 'fd' ? [n.fd]
    : n.kind === 'field' ? [n.value]
    : n.kind === 'changed' ? [n.before, n.after]
    : n.kind === 'arrow' ? [n.from, n.to]
    : [];
  for (const k of kids) yield* walk(k);
}

const num = (text: string, value: number) => ({ kind: 'number', text, value });
const hex = (text: string) => ({ kind: 'hex', text, value: Number.parseInt(text, 16) });
const c = (name: string) => ({ kind: 'constant', name });
const str = (value: string, truncated = false) => ({ kind: 'string', value, truncated });
const field = (name: string, value: unknown) => ({ kind: 'field', name, value });

describe('parseArgs on real strace 6.1 lines', () => {
  it('plain: constants, strings, flags', () => {
    const args = realArgs('plain.log', 'openat', /ld\.so\.cache/);
    expect(args).toBe('AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC');
    expect(parseArgs(args)).toEqual([
      c('AT_FDCWD'),
      str('/etc/ld.so.cache'),
      { kind: 'flags', flags: [c('O_RDONLY'), c('O_CLOEXEC')] },
    ]);
  });

  it('execve: argv array and the envp pointer with its /* N vars */ comment', () => {
    const [path, argv, envp] = parseArgs(realArgs('plain.log', 'execve'));
    expect(path).toEqual(str('/usr/bin/uname'));
    expect(argv).toEqual({ kind: 'array', items: [str('uname'), str('-r')] });
    expect(envp).toMatchObject({ kind: 'annotated', value: { kind: 'hex' }, comment: '2 vars' });
  });

  it('-X raw: numbers and hex only', () => {
    expect(parseArgs(realArgs('X-raw.log', 'openat', /ld\.so\.cache/))).toEqual([
      num('-100', -100), str('/etc/ld.so.cache'), hex('0x80000'),
    ]);
    const mmap = parseArgs(realArgs('X-raw.log', 'mmap'));
    expect(mmap[0]).toEqual({ kind: 'null' });
    expect(mmap.slice(2)).toEqual([hex('0x3'), hex('0x22'), num('-1', -1), num('0', 0)]);
  });

  it('-X verbose: raw values with their names in comments', () => {
    expect(parseArgs(realArgs('X-verbose.log', 'openat', /ld\.so\.cache/))).toEqual([
      { kind: 'annotated', value: num('-100', -100), comment: 'AT_FDCWD' },
      str('/etc/ld.so.cache'),
      { kind: 'annotated', value: hex('0x80000'), comment: 'O_RDONLY|O_CLOEXEC' },
    ]);
  });

  it('-y: fd and AT_FDCWD decorated with paths', () => {
    const [dir, , , ] = parseArgs(realArgs('y.log', 'openat', /ld\.so\.cache/));
    expect(dir).toMatchObject({ kind: 'fd', fd: c('AT_FDCWD') });
    expect((dir as { path: string }).path).toMatch(/^\/tmp\//);
    expect(parseArgs(realArgs('y.log', 'read', /hostname/))[0]).toEqual({
      kind: 'fd', fd: num('3', 3), decoration: '/etc/hostname', path: '/etc/hostname',
    });
  });

  it('-yy: TCP endpoints with ->, UNIX socket pairs, a device suffix, [128 => 16]', () => {
    const accept = parseArgs(realArgs('yy-sockets.log', 'getsockname', /->/));
    expect(accept[0]).toMatchObject({ kind: 'fd', fd: num('5', 5), resource: { type: 'TCP' } });
    expect((accept[0] as { resource: { detail: string } }).resource.detail).toMatch(/^127\.0\.0\.1:\d+->127\.0\.0\.1:\d+$/);
    expect(accept[1]).toMatchObject({
      kind: 'struct',
      fields: [
        field('sa_family', c('AF_INET')),
        field('sin_port', { kind: 'call', name: 'htons', args: [{ kind: 'number' }] }),
        field('sin_addr', { kind: 'call', name: 'inet_addr', args: [str('127.0.0.1')] }),
      ],
    });
    expect(accept[2]).toEqual({ kind: 'array', items: [{ kind: 'changed', before: num('128', 128), after: num('16', 16) }] });

    const pair = parseArgs(realArgs('yy-sockets.log', 'socketpair'));
    expect(pair[3]).toMatchObject({
      kind: 'array',
      items: [
        { kind: 'fd', resource: { type: 'UNIX-STREAM' } },
        { kind: 'fd', resource: { type: 'UNIX-STREAM' } },
      ],
    });
    expect(parseArgs(realArgs('yy-sockets.log', 'fcntl', /char 1:3/))[0]).toEqual({
      kind: 'fd', fd: num('0', 0), decoration: '/dev/null<char 1:3>', path: '/dev/null', device: 'char 1:3',
    });
  });

  it('IPv6 sockaddr: htonl, inet_pton with &sin6_addr', () => {
    const [, addr] = parseArgs(realArgs('ipv6.log', 'connect'));
    expect(addr).toMatchObject({ kind: 'struct' });
    const fields = (addr as { fields: ArgNode[] }).fields;
    expect(fields).toContainEqual(field('sin6_flowinfo', { kind: 'call', name: 'htonl', args: [num('0', 0)] }));
    expect(fields).toContainEqual({
      kind: 'call', name: 'inet_pton', args: [c('AF_INET6'), str('::1'), { kind: 'address-of', target: 'sin6_addr' }],
    });
  });

  it('-v: full structs, makedev(), time comments, the whole environment', () => {
    const [, , st] = parseArgs(realArgs('v.log', 'newfstatat', /st_atime/));
    const f = (st as { fields: Array<{ name: string; value: ArgNode }> }).fields;
    expect(f.find((x) => x.name === 'st_dev')!.value).toMatchObject({ kind: 'call', name: 'makedev' });
    expect(f.find((x) => x.name === 'st_mode')!.value).toEqual({ kind: 'flags', flags: [c('S_IFREG'), num('0644', 0o644)] });
    expect(f.find((x) => x.name === 'st_atime')!.value).toMatchObject({ kind: 'annotated', value: { kind: 'number' } });
    expect(parseArgs(realArgs('v.log', 'execve'))[2]).toEqual({
      kind: 'array', items: [str('PATH=/usr/bin:/bin'), str('LANG=C.UTF-8')],
    });
  });

  it('abbreviated structs end in an ellipsis; 8192*1024 is a number', () => {
    const [, , , lim] = parseArgs(realArgs('plain.log', 'prlimit64'));
    expect(lim).toEqual({
      kind: 'struct',
      fields: [field('rlim_cur', num('8192*1024', 8192 * 1024)), field('rlim_max', c('RLIM64_INFINITY'))],
    });
    const [, , st] = parseArgs(realArgs('plain.log', 'newfstatat'));
    expect((st as { fields: ArgNode[] }).fields.at(-1)).toEqual({ kind: 'ellipsis' });
  });

  it('-s 8: truncated strings, in argv too', () => {
    const [, argv] = parseArgs(realArgs('s8.log', 'execve'));
    expect(argv).toEqual({ kind: 'array', items: [str('cat'), str('/etc/os-', true)] });
  });

  it('escapes: octal (default) and hex (-x prints a non-printable string all in hex, like -xx) decode to the same bytes', () => {
    const plain = parseArgs(realArgs('plain.log', 'read', /ELF/))[1] as { value: string; truncated: boolean };
    const xx = parseArgs(realArgs('xx.log', 'read', /x7f\\x45/))[1] as { value: string; truncated: boolean };
    const x = parseArgs(realArgs('x.log', 'read', /x7f/))[1] as { value: string };
    expect(plain.value.slice(0, 4)).toBe('\x7fELF');
    expect(plain.truncated).toBe(true);
    expect(xx.value.slice(0, 8)).toBe('\x7fELF\x02\x01\x01\x03');
    expect(x.value).toBe(plain.value);
    expect(xx.value.length).toBe(32);
    const escaped = 'a\\tb\\n\\\\\\"\\0\\1770\\x41';
    expect(decodeLiteral(escaped, 0, escaped.length, 'latin1')).toBe('a\tb\n\\"\0\x7f0A');
  });

  it('one literal decoder: non-ASCII reads the same in the args tree and in the output a write announces', async () => {
    // strace escapes the bytes in octal; a hand-edited trace may hold the characters themselves.
    for (const lit of ['\\303\\251t\\303\\251', 'été', '\\303\\251t\\303\\251 \\360\\237\\231\\202', 'été 🙂']) {
      const want = lit.includes('\\360') || lit.includes('🙂') ? 'été 🙂' : 'été';
      const bytes = Buffer.byteLength(want) + 1;
      const node = parseArgs(`1, "${lit}\\n", ${bytes}`)[1] as { kind: string; value: string };
      expect(node.kind).toBe('string');
      expect(Buffer.from(node.value, 'latin1').toString('utf8')).toBe(`${want}\n`);
      expect(decodeLiteral(lit)).toBe(want);
      const events = await parseStraceText(`write(1, "${lit}\\n", ${bytes} <unfinished ...>\n${want}\n<... write resumed>) = ${bytes}\n`);
      expect(events.filter((e) => e.kind === 'output').map((e) => (e.kind === 'output' ? e.text : ''))).toEqual([`${want}\n`]);
    }
  });

  it('signal sets: ~[...], [...], ~[] and the empty mask', () => {
    expect(parseArgs(realArgs('bg-wait.log', 'rt_sigprocmask', /SIG_SETMASK, \[\], ~\[KILL/))).toEqual([
      c('SIG_SETMASK'),
      { kind: 'array', items: [] },
      { kind: 'bitset', negated: true, items: ['KILL', 'STOP', 'RTMIN', 'RT_1'] },
      num('8', 8),
    ]);
    expect(parseArgs(realArgs('threads.log', 'rt_sigprocmask', /~\[\]/))[1]).toEqual({ kind: 'bitset', negated: true, items: [] });
    expect(parseArgs('SIG_UNBLOCK, [CHLD], NULL, 8')[1]).toEqual({ kind: 'bitset', negated: false, items: ['CHLD'] });
  });

  it('clone: named arguments at top level; wait4 status expressions stay raw', () => {
    expect(parseArgs(realArgs('fork.log', 'clone'))).toMatchObject([
      field('child_stack', { kind: 'null' }),
      field('flags', { kind: 'flags' }),
      field('child_tidptr', { kind: 'hex' }),
    ]);
    expect(parseArgs(realArgs('bg-wait.log', 'wait4', /WIFEXITED/))[1]).toEqual({
      kind: 'array',
      items: [{ kind: 'struct', fields: [{ kind: 'raw', text: 'WIFEXITED(s) && WEXITSTATUS(s) == 0' }] }],
    });
  });

  it('the seed as pasted: [/* 26 vars */] and makedev(136, 0)', () => {
    const seed = readFileSync(`${DIR}/seed-uname-flattened.txt`, 'utf8');
    expect(parseArgs('"/bin/uname", ["uname", "-r"], [/* 26 vars */]')[2]).toEqual({
      kind: 'array', items: [{ kind: 'comment', text: '26 vars' }],
    });
    const st = /fstat\(1, (\{[^}]*\})\)/.exec(seed)![1]!;
    expect(parseArgs(st)[0]).toMatchObject({
      kind: 'struct',
      fields: [{}, field('st_rdev', { kind: 'call', name: 'makedev', args: [num('136', 136), num('0', 0)] }), { kind: 'ellipsis' }],
    });
  });

  it('an unfinished call\'s trailing ", " gives no empty item', () => {
    expect(parseArgs('CLOCK_REALTIME, 0, {tv_sec=5, tv_nsec=0}, ')).toHaveLength(3);
  });

  it('every call in every fixture parses; raw nodes only for wait statuses and restart_syscall', () => {
    const re = /(?:^|\s|>)([a-z_0-9]+)\((.*)\)\s+= /;
    let calls = 0;
    const raws = new Set<string>();
    for (const f of readdirSync(DIR).filter((f) => f.endsWith('.log') || /^ff\.\d+$/.test(f))) {
      for (const line of readFileSync(`${DIR}/${f}`, 'utf8').split('\n')) {
        const m = re.exec(line);
        if (!m || line.includes('resumed>')) continue;
        calls++;
        const tree = parseArgs(m[2]!);
        // Printing the tree back and parsing again gives the same tree.
        expect(parseArgs(tree.map(renderArg).join(', '))).toEqual(tree);
        for (const a of tree) for (const n of walk(a)) if (n.kind === 'raw') raws.add(n.text.replace(/\d+/g, 'N'));
      }
    }
    expect(calls).toBeGreaterThan(4000);
    for (const r of raws) expect(r).toMatch(/^(WIF(EXITED|SIGNALED)\(s\) && .*|<\.\.\. resuming interrupted \w+ \.\.\.>)$/);
  });

  it('a live strace run with -yy -X verbose -xx -v parses without raw nodes', async () => {
    const r = await execa('strace', ['-yy', '-X', 'verbose', '-xx', '-v', '-s', '16', 'cat', '/etc/hostname'], {
      reject: false, env: { PATH: '/usr/bin:/bin' }, extendEnv: false,
    });
    let calls = 0;
    for (const line of r.stderr.split('\n')) {
      const m = /^([a-z_0-9]+)\((.*)\)\s+= /.exec(line);
      if (!m) continue;
      calls++;
      const tree = parseArgs(m[2]!);
      for (const a of tree) for (const n of walk(a)) expect(n.kind, line).not.toBe('raw');
      if (line.startsWith('openat(')) expect(tree[0]).toMatchObject({ kind: 'fd', fd: { kind: 'annotated', comment: 'AT_FDCWD' } });
    }
    expect(calls).toBeGreaterThan(20);
  });
});

describe('parseArgs never throws', () => {
  it('on random strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
      expect(Array.isArray(parseArgs(s))).toBe(true);
    }), { numRuns: 5000 });
  });

  it('on random strings built from strace\'s own syntax characters', () => {
    const piece = fc.constantFrom(
      '{', '}', '[', ']', '(', ')', '<', '>', '"', '\\', ',', ' ', '|', '=', '=>', '->', '...', '/*', '*/', '~', '&', '@',
      '0x1f', '-1', '0644', 'NULL', 'AT_FDCWD', 'st_mode=', 'makedev(', '\\x4', '\\177', 'TCP:[', '*', '<<',
    );
    fc.assert(fc.property(fc.array(piece, { maxLength: 60 }), (ps) => {
      const s = ps.join('');
      const tree = parseArgs(s);
      expect(Array.isArray(tree)).toBe(true);
      // Whatever came out can be printed.
      tree.map(renderArg).join(', ');
    }), { numRuns: 5000 });
  });
});

describe('deep nesting is bounded (issue #6: the stack overflowed at ~970 levels)', () => {
  const kidsOf = (n: ArgNode): ArgNode[] =>
    n.kind === 'array' ? n.items : n.kind === 'struct' ? n.fields : n.kind === 'call' ? n.args : n.kind === 'field' ? [n.value] : [];
  const depthOf = (n: ArgNode): number => 1 + Math.max(0, ...kidsOf(n).map(depthOf));
  const rawsOf = (tree: ArgNode[]) => tree.flatMap((n) => [...walk(n)]).filter((n) => n.kind === 'raw');

  it('MAX_DEPTH levels parse as a tree; one more makes the innermost item raw with reason too-deep', () => {
    const ok = parseArgs('['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH));
    expect(rawsOf(ok)).toEqual([]);
    const deeper = parseArgs('['.repeat(MAX_DEPTH + 1) + ']'.repeat(MAX_DEPTH + 1));
    expect(rawsOf(deeper)).toEqual([{ kind: 'raw', text: '[]', reason: 'too-deep' }]);
  });

  for (const depth of [1000, 100_000]) {
    it(`depth ${depth} of arrays, structs and calls: no throw, bounded tree, text kept whole`, () => {
      const texts = [
        '3, X, ' + '['.repeat(depth) + ']'.repeat(depth),
        '{a='.repeat(depth) + '1' + '}'.repeat(depth),
        'g('.repeat(depth) + ')'.repeat(depth) + ', 7',
      ];
      for (const text of texts) {
        const tree = parseArgs(text);
        const raws = rawsOf(tree);
        expect(raws).toHaveLength(1);
        expect(raws[0]).toMatchObject({ reason: 'too-deep' });
        expect(tree.map(renderArg).join(', ')).toBe(text);
      }
      if (depth === 1000) for (const text of texts) expect(Math.max(...parseArgs(text).map(depthOf))).toBeLessThanOrEqual(MAX_DEPTH + 2);
    });

    it(`depth ${depth} of => chains and a=b= fields: the item is kept raw`, () => {
      for (const text of ['1 => '.repeat(depth) + '2', 'a='.repeat(depth) + '2']) {
        expect(parseArgs(text)).toEqual([{ kind: 'raw', text, reason: 'too-deep' }]);
      }
    });
  }

  it('parse --args: a line nested 1000 and 100000 deep, then a normal line: exit 0, every line parsed', async () => {
    const deep = (d: number) => `1 ioctl(3, X, ${'['.repeat(d)}${']'.repeat(d)}) = 0\n`;
    const input = deep(1000) + deep(100_000) + '1 close(3) = 0\n';
    const r = await execa('node', ['bin/trace-compare.js', 'parse', '--args', '-'], { input, reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const events = r.stdout.split('\n').map((l) => JSON.parse(l) as { name: string; argTree: ArgNode[] });
    expect(events.map((e) => e.name)).toEqual(['ioctl', 'ioctl', 'close']);
    expect(rawsOf(events[1]!.argTree)).toMatchObject([{ reason: 'too-deep' }]);
    expect(events[2]!.argTree).toEqual([num('3', 3)]);
  });
});
