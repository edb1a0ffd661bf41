import { describe, it, expect } from 'vitest';
import { mayTrace, routeOf } from '../src/route.js';

describe('routeOf: which command an argument vector runs', () => {
  it('a command or a run option first is a run; subcommands are their own', () => {
    expect(routeOf(['uname', '-r'])).toBe('run');
    expect(routeOf(['--pod', 'gvisor', '--', 'ls'])).toBe('run');
    expect(routeOf(['run', 'uname'])).toBe('run-word');
    expect(routeOf(['lesson', 'seed.json'])).toBe('lesson');
    for (const sub of ['parse', 'summary', 'diff', 'doctor', 'pods', 'cleanup', 'help']) expect(routeOf([sub])).toBe('other');
    expect(routeOf(['--help'])).toBe('other');
    expect(routeOf([])).toBe('other');
  });
});

describe.skipIf(process.getuid?.() !== 0)('mayTrace: whether the entry point starts the host-kernel count early (as root)', () => {
  it('runs and lessons may trace; --no-perf, help and other commands do not', () => {
    expect(mayTrace(['uname', '-r', '--pod', 'gvisor'])).toBe(true);
    expect(mayTrace(['run', 'uname', '-r'])).toBe(true);
    expect(mayTrace(['lesson', 'seed.json'])).toBe(true);
    expect(mayTrace(['uname', '-r', '--no-perf'])).toBe(false);
    expect(mayTrace(['run', '--help'])).toBe(false);
    expect(mayTrace(['summary', 'x.log'])).toBe(false);
    // After --, every argument is the command's own: `--help` there is the command's.
    expect(mayTrace(['--pod', 'runc', '--', 'ls', '--help'])).toBe(true);
  });
});
