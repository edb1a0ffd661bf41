// The options of the commands that read saved traces (parse, summary, diff), each declared once: the tables
// drive yargs in cli.ts, the parsed types, `--help`, and docs/cli.md (scripts/gen-cli-docs.ts).

import type { TraceSource } from '../../parsers/events.js';
import { REPORT_FORMATS } from '../format.js';
import { ExitCode } from '../errors.js';
import type { OptionSpec } from './options.js';

export const PARSE_FORMATS = ['jsonl', 'json', 'table'] as const;
export type ParseFormat = (typeof PARSE_FORMATS)[number];
const TRACE_SOURCES = ['strace', 'runsc', 'perf'] as const satisfies readonly TraceSource[];

const strict = {
  type: 'boolean', default: false,
  describe: `exit ${ExitCode.ParseErrors} when any input line was not understood, or an input held no syscall`,
} as const satisfies OptionSpec;

const reportFormat = {
  type: 'string', value: 'FORMAT', choices: REPORT_FORMATS, default: 'table', describe: `output format: ${REPORT_FORMATS.join(', ')}`,
} as const satisfies OptionSpec;

export const PARSE_OPTIONS = {
  format: { type: 'string', value: 'FORMAT', choices: PARSE_FORMATS, default: 'jsonl', describe: `output format: ${PARSE_FORMATS.join(', ')}` },
  'input-format': { type: 'string', value: 'SOURCE', choices: TRACE_SOURCES, describe: `skip detection: ${TRACE_SOURCES.join(', ')}` },
  args: { type: 'boolean', default: false, describe: 'add each strace call\'s arguments as a typed tree (argTree)' },
  strict,
} as const satisfies Record<string, OptionSpec>;

export const SUMMARY_OPTIONS = { format: reportFormat, strict } as const satisfies Record<string, OptionSpec>;

export const DIFF_OPTIONS = { format: reportFormat, strict } as const satisfies Record<string, OptionSpec>;
