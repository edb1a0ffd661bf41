#!/usr/bin/env node
// The bundled build (dist/bundle/, scripts/bundle.ts) when it was made after the build it comes from, else
// the build itself: a `tsc` alone never runs stale code.
import { statSync } from 'node:fs';

const mtime = (p) => statSync(new URL(p, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const built = mtime('../dist/src/entry.js');
await import(built > 0 && mtime('../dist/bundle/trace-compare.mjs') >= built ? '../dist/bundle/trace-compare.mjs' : '../dist/src/entry.js');
