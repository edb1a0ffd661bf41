// Writes docs/cli.md's generated parts from the tables they describe: each command's options (RUN_OPTIONS,
// PARSE_OPTIONS, ...) and the exit codes (EXIT_CODES). Run `npm run docs` after changing either; test/cli-docs.test.ts fails
// while the docs are out of step.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUN_OPTIONS } from '../src/commands/run-options.js';
import { DIFF_OPTIONS, PARSE_OPTIONS, SUMMARY_OPTIONS } from '../src/commands/saved-options.js';
import { CLEANUP_OPTIONS } from '../src/commands/cleanup.js';
import { optionsMarkdown } from '../src/commands/options.js';
import { LESSON_OPTIONS } from '../src/commands/lesson.js';
import { DOCTOR_OPTIONS } from '../src/commands/doctor.js';
import { PODS_OPTIONS } from '../src/commands/pods.js';
import { exitCodesMarkdown } from '../src/errors.js';

export const GENERATED = {
  'run-options': () => optionsMarkdown(RUN_OPTIONS),
  'parse-options': () => optionsMarkdown(PARSE_OPTIONS),
  'summary-options': () => optionsMarkdown(SUMMARY_OPTIONS),
  'diff-options': () => optionsMarkdown(DIFF_OPTIONS),
  'cleanup-options': () => optionsMarkdown(CLEANUP_OPTIONS),
  'lesson-options': () => optionsMarkdown(LESSON_OPTIONS),
  'doctor-options': () => optionsMarkdown(DOCTOR_OPTIONS),
  'pods-options': () => optionsMarkdown(PODS_OPTIONS),
  'exit-codes': exitCodesMarkdown,
} as const;

/** `text` with each `<!-- generated:NAME -->...<!-- /generated:NAME -->` block filled anew. */
export function fillGenerated(text: string): string {
  let out = text;
  for (const [name, make] of Object.entries(GENERATED)) {
    const re = new RegExp(`(<!-- generated:${name} -->\\n)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    if (!re.test(out)) throw new Error(`docs/cli.md has no <!-- generated:${name} --> block`);
    out = out.replace(re, (_m, open: string, close: string) => `${open}${make()}${close}`);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/cli.md');
  writeFileSync(file, fillGenerated(readFileSync(file, 'utf8')));
}
