// docs/cli.md's options and exit-code tables are generated from the tables the code uses (one
// declaration each): this fails while they are out of step; `npm run docs` brings them back.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fillGenerated } from '../scripts/gen-cli-docs.js';
import { RUN_OPTIONS, runFlags } from '../src/commands/run-options.js';
import { EXIT_CODES, ExitCode } from '../src/errors.js';

describe('one declaration of each option and exit code', () => {
  it('docs/cli.md holds the generated tables as they are now', () => {
    const text = readFileSync('docs/cli.md', 'utf8');
    expect(fillGenerated(text)).toBe(text);
  });
  it('every option is a flag the splitter knows, --no-X for booleans on by default', () => {
    const flags = runFlags();
    for (const name of Object.keys(RUN_OPTIONS)) expect(flags.has(`--${name}`), name).toBe(true);
    expect(flags.get('--no-host')).toBe(false);
    expect(flags.get('--timeout')).toBe(true);
  });
  it('ExitCode is the table', () => {
    for (const e of EXIT_CODES) expect(ExitCode[e.name]).toBe(e.code);
  });
});

describe('main() in process (the CLI is importable; nothing runs on import)', () => {
  it('bad run options are usage errors before anything starts', async () => {
    const { main } = await import('../src/cli.js');
    const { userErrorOf } = await import('../src/user-errors.js');
    for (const argv of [['--timeout', 'Infinity', 'true'], ['--pids', 'lots', 'true'], ['--env', 'novalue', 'true'], ['--pod', 'nope', 'true']]) {
      // The runners' coded refusals become user errors (and their exit codes) in the CLI alone.
      await expect(main(argv), argv.join(' ')).rejects.toSatisfy((e: unknown) => userErrorOf(e)?.exitCode === ExitCode.Usage);
    }
  });
  it('subcommands reach their command: lesson without a file, doctor and pods with bad options are usage errors', async () => {
    const { main } = await import('../src/cli.js');
    const { userErrorOf } = await import('../src/user-errors.js');
    await expect(main(['lesson'])).rejects.toSatisfy((e: unknown) => userErrorOf(e)?.exitCode === ExitCode.Usage);
    for (const argv of [['doctor', '--format', 'yaml'], ['pods', '--cri-endpoint']]) {
      await expect(main(argv), argv.join(' ')).rejects.toSatisfy((e: unknown) => userErrorOf(e)?.exitCode === ExitCode.Usage);
    }
  });
});
