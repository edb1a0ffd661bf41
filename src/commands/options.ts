// How every command declares its options: one typed table per command (vitest's cli-config is the model).
// A table drives the yargs parser (declareOptions), the parsed type (ArgsOf), `--help`, and its table in
// docs/cli.md (optionsMarkdown; scripts/gen-cli-docs.ts, a test keeps it in step).

import type { Argv } from 'yargs';

/** `value`: how docs name the option's value (`--pod NAME`). */
interface OptionBase { describe: string; value?: string }
export type OptionSpec =
  | (OptionBase & { type: 'boolean'; default: boolean })
  | (OptionBase & { type: 'number'; default: number })
  | (OptionBase & { type: 'string'; array?: false; choices?: readonly string[]; default?: string })
  | (OptionBase & { type: 'string'; array: true });

export type OptionTable = Record<string, OptionSpec>;

type ValueOf<S> = S extends { type: 'boolean' } ? boolean
  : S extends { type: 'number' } ? number
    : S extends { array: true } ? string[]
      : S extends { choices: readonly (infer C)[] } ? C
        : string;
type WithDefault<T> = { [K in keyof T]: T[K] extends { default: unknown } ? K : never }[keyof T];

/** The parsed options of a table: what has a default is always set, the rest may be absent. */
export type ArgsOf<T extends OptionTable> =
  { [K in WithDefault<T>]: ValueOf<T[K]> } & { [K in Exclude<keyof T, WithDefault<T>>]?: ValueOf<T[K]> };

/** Declares every option of `table` on a yargs builder. */
export function declareOptions<Y>(y: Argv<Y>, table: OptionTable): Argv<Y> {
  for (const [name, spec] of Object.entries(table)) {
    const { value: _value, ...rest } = spec;
    y = y.option(name, { ...rest, ...('choices' in spec && spec.choices ? { choices: [...spec.choices] } : {}) }) as Argv<Y>;
  }
  return y;
}

/** The flags as written on the command line, and whether each takes a value (`--no-X` for booleans on by default). */
export function flagsOf(table: OptionTable): Map<string, boolean> {
  const flags = new Map<string, boolean>([['--help', false], ['-h', false]]);
  for (const [name, spec] of Object.entries(table)) {
    flags.set(`--${name}`, spec.type !== 'boolean');
    if (spec.type === 'boolean' && spec.default) flags.set(`--no-${name}`, false);
  }
  return flags;
}

/** A table's rows for docs/cli.md. */
export function optionsMarkdown(table: OptionTable): string {
  const rows = Object.entries(table).map(([name, spec]) => {
    const flag = spec.type === 'boolean' && spec.default ? `--no-${name}` : `--${name}`;
    const value = spec.type === 'boolean' ? '' : ` ${spec.value ?? name.toUpperCase()}`;
    const def = 'default' in spec && spec.type !== 'boolean' && spec.default !== undefined ? ` (default: ${spec.default})` : '';
    return `| \`${flag}${value}\` | ${spec.describe.replace(/\|/g, '\\|')}${def} |`;
  });
  return ['| option | meaning |', '| --- | --- |', ...rows].join('\n') + '\n';
}

/** Entries more than one command shares, declared once. */
export const SHARED_OPTIONS = {
  'cri-endpoint': {
    type: 'string', value: 'URL',
    describe: 'the CRI runtime\'s socket (default: the private containerd of scripts/setup-cri.sh when it runs, else unix:///run/containerd/containerd.sock)',
  },
  tableOrJson: { type: 'string', value: 'FORMAT', choices: ['table', 'json'] as const, default: 'table', describe: 'output format: table or json' },
} as const satisfies Record<string, OptionSpec>;
