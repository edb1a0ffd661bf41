import { describe, it, expect } from 'vitest';
import { splitRunArgs } from '../../src/commands/run-args.js';

describe('splitRunArgs', () => {
  it('takes our options out wherever they stand and keeps the command in order', () => {
    expect(splitRunArgs(['uname', '-r', '--pod', 'gvisor'])).toEqual({ options: ['--pod', 'gvisor'], command: ['uname', '-r'] });
    expect(splitRunArgs(['--pod=runc', 'cat', '/etc/hostname', '--pod', 'gvisor', '--format', 'json'])).toEqual({
      options: ['--pod=runc', '--pod', 'gvisor', '--format', 'json'],
      command: ['cat', '/etc/hostname'],
    });
  });

  it('passes everything after -- untouched', () => {
    expect(splitRunArgs(['--pod', 'gvisor', '--', 'ls', '--format=long', '--pod'])).toEqual({
      options: ['--pod', 'gvisor'],
      command: ['ls', '--format=long', '--pod'],
    });
  });

  it('leaves -h to the command once the command has started', () => {
    expect(splitRunArgs(['ls', '-h'])).toEqual({ options: [], command: ['ls', '-h'] });
    expect(splitRunArgs(['--help'])).toEqual({ options: ['--help'], command: [] });
  });

  it('never splits or joins words: arguments with spaces and shell characters stay one argument', () => {
    expect(splitRunArgs(['sh', '-c', 'echo hi; rm -rf /nope', '--no-host']).command).toEqual(['sh', '-c', 'echo hi; rm -rf /nope']);
  });
});
